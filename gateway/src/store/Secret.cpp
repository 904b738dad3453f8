#include "store/Secret.h"

#include <Poco/SHA2Engine.h>

#include <cerrno>
#include <sys/random.h>
#include <system_error>

namespace wsgw::store {

std::string generateSecret()
{
    std::array<uint8_t, 32> bytes{};
    size_t filled = 0;
    while (filled < bytes.size())
    {
        ssize_t n = ::getrandom(bytes.data() + filled, bytes.size() - filled, 0);
        if (n < 0)
        {
            if (errno == EINTR)
                continue;
            throw std::system_error(errno, std::generic_category(), "getrandom");
        }
        filled += static_cast<size_t>(n);
    }
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve(43);
    uint32_t acc = 0;
    int bits = 0;
    for (uint8_t byte : bytes)
    {
        acc = (acc << 8) | byte;
        bits += 8;
        while (bits >= 6)
        {
            bits -= 6;
            out.push_back(alphabet[(acc >> bits) & 0x3f]);
        }
    }
    if (bits > 0)
        out.push_back(alphabet[(acc << (6 - bits)) & 0x3f]);
    return out;
}

Digest sha256(std::string_view text)
{
    Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
    engine.update(text.data(), static_cast<unsigned>(text.size()));
    const auto& digest = engine.digest();
    Digest out{};
    for (size_t i = 0; i < out.size() && i < digest.size(); ++i)
        out[i] = digest[i];
    return out;
}

std::string toHex(const Digest& digest)
{
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(64);
    for (uint8_t byte : digest)
    {
        out.push_back(hex[byte >> 4]);
        out.push_back(hex[byte & 0xf]);
    }
    return out;
}

std::optional<Digest> digestFromHex(std::string_view hex)
{
    if (hex.size() != 64)
        return std::nullopt;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    };
    Digest out{};
    for (size_t i = 0; i < out.size(); ++i)
    {
        int hi = nibble(hex[2 * i]);
        int lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return std::nullopt;
        out[i] = static_cast<uint8_t>((hi << 4) | lo);
    }
    return out;
}

bool constantTimeEquals(const Digest& a, const Digest& b)
{
    volatile uint8_t diff = 0;
    for (size_t i = 0; i < a.size(); ++i)
        diff = diff | static_cast<uint8_t>(a[i] ^ b[i]);
    return diff == 0;
}

} // namespace wsgw::store
