#include "transport/Handshake.h"

#include <Poco/Base64Encoder.h>
#include <Poco/SHA1Engine.h>

#include <sstream>

namespace wsgw::transport {

namespace {

constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool isBase64Char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

char toLowerAscii(char c)
{
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b)
{
    if (a.size() != b.size())
    {
        return false;
    }
    for (size_t i = 0; i < a.size(); ++i)
    {
        if (toLowerAscii(a[i]) != toLowerAscii(b[i]))
        {
            return false;
        }
    }
    return true;
}

std::string_view trimOws(std::string_view text)
{
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    {
        text.remove_suffix(1);
    }
    return text;
}

} // namespace

std::string computeAccept(std::string_view client_key)
{
    Poco::SHA1Engine sha1;
    sha1.update(client_key.data(), static_cast<unsigned>(client_key.size()));
    sha1.update(kAcceptGuid.data(), static_cast<unsigned>(kAcceptGuid.size()));
    const Poco::DigestEngine::Digest& digest = sha1.digest();

    std::ostringstream out;
    Poco::Base64Encoder encoder(out);
    encoder.write(reinterpret_cast<const char*>(digest.data()), static_cast<std::streamsize>(digest.size()));
    encoder.close();
    return out.str();
}

bool isValidClientKey(std::string_view key)
{
    // 16 bytes = 5 groups of 3 bytes (20 characters) + 1 byte (2 characters and "==").
    if (key.size() != 24 || key[22] != '=' || key[23] != '=')
    {
        return false;
    }
    for (size_t i = 0; i < 22; ++i)
    {
        if (!isBase64Char(key[i]))
        {
            return false;
        }
    }
    return true;
}

bool headerHasToken(std::string_view header_value, std::string_view token)
{
    if (token.empty())
    {
        return false;
    }
    while (true)
    {
        const size_t comma = header_value.find(',');
        if (equalsIgnoreCase(trimOws(header_value.substr(0, comma)), token))
        {
            return true;
        }
        if (comma == std::string_view::npos)
        {
            return false;
        }
        header_value.remove_prefix(comma + 1);
    }
}

} // namespace wsgw::transport
