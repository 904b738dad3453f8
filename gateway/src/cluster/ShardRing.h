#pragma once
/// Which Redis server owns an app's channel (SPEC §9: apps are spread over the
/// cluster.redis servers by a hash of the name). Rendezvous hashing over a
/// hash that is the same on every build and machine: each app goes to the
/// server whose (server, app) hash is highest, so every node that lists the
/// same servers — in any order — picks the same one, and adding or removing
/// one server of N moves only about 1/N of the apps. Pure; any thread.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wsgw::cluster {

/// One Redis server of cluster.redis.
struct ServerAddress
{
    std::string host;
    int port = 6379;
    std::string text() const { return host + ":" + std::to_string(port); }
};

/// Parses cluster.redis: space-separated HOST:PORT (or [V6]:PORT, or HOST for
/// port 6379). Throws std::invalid_argument naming the bad entry; duplicates too.
std::vector<ServerAddress> parseServerList(std::string_view text);

/// 64-bit FNV-1a with a final avalanche: stable across builds and platforms.
uint64_t stableHash(std::string_view text);

class ShardRing
{
public:
    explicit ShardRing(std::vector<ServerAddress> servers);

    /// The index (into servers()) of the server owning APP. O(servers).
    size_t shardOf(std::string_view app) const;

    const std::vector<ServerAddress>& servers() const noexcept { return servers_; }
    size_t size() const noexcept { return servers_.size(); }

private:
    std::vector<ServerAddress> servers_;
    std::vector<uint64_t> seeds_; ///< stableHash of each server's text
};

} // namespace wsgw::cluster
