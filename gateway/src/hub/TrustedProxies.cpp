#include "hub/TrustedProxies.h"

#include "config/Settings.h"

#include <arpa/inet.h>
#include <cstring>

namespace wsgw::hub {

namespace {

constexpr std::string_view kKey = "http.trusted_proxies";

bool isBlank(char c)
{
    return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view text)
{
    while (!text.empty() && isBlank(text.front()))
        text.remove_prefix(1);
    while (!text.empty() && isBlank(text.back()))
        text.remove_suffix(1);
    return text;
}

/// inet_pton on a view; longer than any address text = not an address.
std::optional<in6_addr> parseV6(std::string_view text)
{
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN)
        return std::nullopt;
    in6_addr out{};
    if (::inet_pton(AF_INET6, std::string(text).c_str(), &out) != 1)
        return std::nullopt;
    return out;
}

/// Dotted quad only (glibc's inet_pton refuses short forms and leading zeros), v4-mapped.
std::optional<in6_addr> parseV4(std::string_view text)
{
    if (text.empty() || text.size() >= INET_ADDRSTRLEN)
        return std::nullopt;
    in_addr v4{};
    if (::inet_pton(AF_INET, std::string(text).c_str(), &v4) != 1)
        return std::nullopt;
    in6_addr out{};
    out.s6_addr[10] = 0xff;
    out.s6_addr[11] = 0xff;
    std::memcpy(&out.s6_addr[12], &v4, 4);
    return out;
}

bool isPort(std::string_view text)
{
    if (text.empty() || text.size() > 5)
        return false;
    unsigned value = 0;
    for (char c : text)
    {
        if (c < '0' || c > '9')
            return false;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    return value <= 65535;
}

/// Decimal prefix length, no sign, no leading zero: nullopt if not one or over MAX.
std::optional<unsigned> parsePrefix(std::string_view text, unsigned max)
{
    if (text.empty() || text.size() > 3 || (text.size() > 1 && text.front() == '0'))
        return std::nullopt;
    unsigned value = 0;
    for (char c : text)
    {
        if (c < '0' || c > '9')
            return std::nullopt;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > max)
        return std::nullopt;
    return value;
}

in6_addr masked(const in6_addr& address, unsigned prefix)
{
    in6_addr out = address;
    for (unsigned bit = prefix; bit < 128; ++bit)
        out.s6_addr[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
    return out;
}

std::string format(const in6_addr& address)
{
    char text[INET6_ADDRSTRLEN] = {};
    if (IN6_IS_ADDR_V4MAPPED(&address))
        ::inet_ntop(AF_INET, &address.s6_addr[12], text, sizeof(text));
    else
        ::inet_ntop(AF_INET6, &address, text, sizeof(text));
    return text;
}

[[noreturn]] void fail(std::string_view entry, std::string_view why)
{
    throw config::Error(std::string(kKey) + ": '" + std::string(entry) + "' " + std::string(why));
}

} // namespace

TrustedProxies TrustedProxies::parse(std::string_view list)
{
    TrustedProxies out;
    size_t pos = 0;
    while (pos < list.size())
    {
        if (isBlank(list[pos]))
        {
            ++pos;
            continue;
        }
        size_t end = pos;
        while (end < list.size() && !isBlank(list[end]))
            ++end;
        std::string_view entry = list.substr(pos, end - pos);
        pos = end;

        if (entry.find(',') != std::string_view::npos)
            fail(entry, "is not an address or CIDR: separate entries with spaces, not commas");
        size_t slash = entry.find('/');
        std::string_view address_text = entry.substr(0, slash);
        bool v6 = address_text.find(':') != std::string_view::npos;
        auto address = v6 ? parseV6(address_text) : parseV4(address_text);
        if (!address)
            fail(entry, "is not an IPv4 or IPv6 address or CIDR (e.g. 10.0.0.0/8, 2001:db8::/32, 192.0.2.7)");
        const unsigned max = v6 ? 128 : 32;
        unsigned prefix = max;
        if (slash != std::string_view::npos)
        {
            auto parsed = parsePrefix(entry.substr(slash + 1), max);
            if (!parsed)
                fail(entry, "has a bad prefix length: it must be 0 to " + std::to_string(max));
            prefix = *parsed;
        }
        Network network{*address, v6 ? prefix : 96 + prefix};
        in6_addr base = masked(network.base, network.prefix);
        // A set host bit is most often a typo for a single host or another
        // network; trusting the wrong range is worse than refusing to start.
        if (std::memcmp(&base, &network.base, sizeof(base)) != 0)
            fail(entry, "has host bits set (the network is " + format(base) + "/" + std::to_string(prefix) + ")");
        out.networks_.push_back(network);
    }
    return out;
}

std::optional<in6_addr> TrustedProxies::parseAddress(std::string_view text)
{
    text = trim(text);
    if (text.empty())
        return std::nullopt;
    if (text.front() == '[')
    {
        size_t close = text.find(']');
        if (close == std::string_view::npos)
            return std::nullopt;
        std::string_view rest = text.substr(close + 1);
        if (!rest.empty() && (rest.front() != ':' || !isPort(rest.substr(1))))
            return std::nullopt;
        return parseV6(text.substr(1, close - 1));
    }
    size_t colon = text.find(':');
    if (colon == std::string_view::npos)
        return parseV4(text);
    if (text.find(':', colon + 1) == std::string_view::npos)
    {
        // One colon: IPv4 with a port (an IPv6 address has at least two).
        if (!isPort(text.substr(colon + 1)))
            return std::nullopt;
        return parseV4(text.substr(0, colon));
    }
    return parseV6(text);
}

bool TrustedProxies::contains(const in6_addr& address) const noexcept
{
    for (const auto& network : networks_)
    {
        unsigned whole = network.prefix / 8;
        if (std::memcmp(address.s6_addr, network.base.s6_addr, whole) != 0)
            continue;
        unsigned bits = network.prefix % 8;
        if (bits == 0)
            return true;
        auto mask = static_cast<uint8_t>(0xffu << (8 - bits));
        if ((address.s6_addr[whole] & mask) == network.base.s6_addr[whole])
            return true;
    }
    return false;
}

in6_addr TrustedProxies::resolve(const in6_addr& tcp_peer, const std::vector<std::string>& forwarded_for) const
{
    // SPEC §5: only a trusted proxy's X-Forwarded-For is read at all.
    if (!contains(tcp_peer))
        return tcp_peer;
    in6_addr client = tcp_peer; // the last trusted hop so far
    for (auto value = forwarded_for.rbegin(); value != forwarded_for.rend(); ++value)
    {
        std::string_view list = *value;
        size_t end = list.size();
        while (true)
        {
            size_t comma = end == 0 ? std::string_view::npos : list.rfind(',', end - 1);
            size_t begin = comma == std::string_view::npos ? 0 : comma + 1;
            std::string_view element = trim(list.substr(begin, end - begin));
            if (!element.empty())
            {
                auto address = parseAddress(element);
                if (!address)
                    return client; // garbage: believe nothing from here leftwards
                client = *address;
                if (!contains(client))
                    return client; // the first untrusted hop is the client
            }
            if (comma == std::string_view::npos)
                break;
            end = comma;
        }
    }
    return client;
}

} // namespace wsgw::hub
