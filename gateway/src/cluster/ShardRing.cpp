#include "cluster/ShardRing.h"

#include <charconv>
#include <set>
#include <stdexcept>

namespace wsgw::cluster {

namespace {

uint64_t mix(uint64_t x)
{
    // splitmix64's finaliser: every input bit moves every output bit.
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

} // namespace

uint64_t stableHash(std::string_view text)
{
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (unsigned char c : text)
    {
        hash ^= c;
        hash *= 0x100000001b3ULL;
    }
    return mix(hash);
}

std::vector<ServerAddress> parseServerList(std::string_view text)
{
    std::vector<ServerAddress> servers;
    std::set<std::string> seen;
    size_t position = 0;
    while (position < text.size())
    {
        size_t start = text.find_first_not_of(" \t", position);
        if (start == std::string_view::npos)
            break;
        size_t end = text.find_first_of(" \t", start);
        std::string_view entry = text.substr(start, end == std::string_view::npos ? text.size() - start : end - start);
        position = start + entry.size();
        ServerAddress server;
        std::string_view port_text;
        if (entry.front() == '[')
        {
            size_t close = entry.find(']');
            if (close == std::string_view::npos)
                throw std::invalid_argument("'" + std::string(entry) + "' has no closing ]");
            server.host = std::string(entry.substr(1, close - 1));
            if (close + 1 < entry.size())
            {
                if (entry[close + 1] != ':')
                    throw std::invalid_argument("'" + std::string(entry) + "': expected :PORT after ]");
                port_text = entry.substr(close + 2);
            }
        }
        else
        {
            size_t colon = entry.rfind(':');
            if (colon != std::string_view::npos && entry.find(':') != colon)
                throw std::invalid_argument("'" + std::string(entry) + "': write an IPv6 address as [ADDRESS]:PORT");
            server.host = std::string(entry.substr(0, colon));
            if (colon != std::string_view::npos)
                port_text = entry.substr(colon + 1);
        }
        if (server.host.empty())
            throw std::invalid_argument("'" + std::string(entry) + "' names no host");
        if (!port_text.empty() || entry.back() == ':')
        {
            int port = 0;
            auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
            if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port < 1 || port > 65535)
                throw std::invalid_argument("'" + std::string(entry) + "': the port must be 1 to 65535");
            server.port = port;
        }
        if (!seen.insert(server.text()).second)
            throw std::invalid_argument("'" + std::string(entry) + "' is listed twice");
        servers.push_back(std::move(server));
    }
    return servers;
}

ShardRing::ShardRing(std::vector<ServerAddress> servers) : servers_(std::move(servers))
{
    for (const auto& server : servers_)
        seeds_.push_back(stableHash(server.text()));
}

size_t ShardRing::shardOf(std::string_view app) const
{
    if (servers_.size() <= 1)
        return 0;
    const uint64_t key = stableHash(app);
    size_t best = 0;
    uint64_t best_weight = 0;
    for (size_t i = 0; i < seeds_.size(); ++i)
    {
        uint64_t weight = mix(key ^ seeds_[i]);
        if (i == 0 || weight > best_weight)
        {
            best = i;
            best_weight = weight;
        }
    }
    return best;
}

} // namespace wsgw::cluster
