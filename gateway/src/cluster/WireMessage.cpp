#include "cluster/WireMessage.h"

#include <charconv>

namespace wsgw::cluster {

std::string encodeWire(std::string_view node, int64_t member_id, std::string_view payload)
{
    std::string out;
    out.reserve(payload.size() + node.size() + 24);
    out += "1 ";
    out += node;
    out += ' ';
    out += std::to_string(member_id);
    out += '\n';
    out += payload;
    return out;
}

std::optional<WireMessage> decodeWire(std::string_view bytes)
{
    if (bytes.size() < 2 || bytes[0] != '1' || bytes[1] != ' ')
        return std::nullopt;
    size_t space = bytes.find(' ', 2);
    size_t newline = bytes.find('\n', 2);
    if (space == std::string_view::npos || newline == std::string_view::npos || space > newline || space == 2)
        return std::nullopt;
    WireMessage message;
    message.node = bytes.substr(2, space - 2);
    const char* first = bytes.data() + space + 1;
    const char* last = bytes.data() + newline;
    auto [end, ec] = std::from_chars(first, last, message.member_id);
    if (ec != std::errc() || end != last)
        return std::nullopt;
    message.payload = bytes.substr(newline + 1);
    return message;
}

std::string appChannel(std::string_view prefix, std::string_view app)
{
    std::string out(prefix);
    out += ":app:";
    out += app;
    return out;
}

std::optional<std::string_view> appOfChannel(std::string_view prefix, std::string_view channel)
{
    if (channel.size() <= prefix.size() + 5 || channel.substr(0, prefix.size()) != prefix ||
        channel.substr(prefix.size(), 5) != ":app:")
        return std::nullopt;
    return channel.substr(prefix.size() + 5);
}

std::string databaseKey(std::string_view prefix)
{
    return std::string(prefix) + ":db";
}

std::string nodeKey(std::string_view prefix, std::string_view node)
{
    return std::string(prefix) + ":node:" + std::string(node);
}

} // namespace wsgw::cluster
