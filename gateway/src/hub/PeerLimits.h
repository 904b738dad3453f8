#pragma once
/// Limits per client address and in total (SPEC §5, issue 6): connections at
/// once, and failed logins per time window. Consulted once per connection
/// event, never per delivery. Any thread (one mutex).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <netinet/in.h>
#include <string>
#include <unordered_map>

namespace wsgw::hub {

class PeerLimits
{
public:
    struct Config
    {
        size_t max_connections = 0;        ///< 0 = unlimited
        size_t max_connections_per_ip = 0; ///< 0 = unlimited
        size_t auth_failures_per_ip = 0;   ///< 0 = unlimited
        std::chrono::milliseconds auth_failure_window{60000};
    };

    explicit PeerLimits(Config config) : config_(config) {}

    enum class Admission
    {
        Admitted,
        TooManyConnections, ///< the global cap
        TooManyFromPeer,    ///< the per-address cap
    };

    /// Counts a new connection from PEER unless a cap is reached.
    Admission admit(const in6_addr& peer);
    /// The connection from PEER has ended (after an Admitted admit()).
    void release(const in6_addr& peer);

    /// True while PEER has used up its failed-login budget for the current window:
    /// its logins are refused without checking the token.
    bool authBlocked(const in6_addr& peer);
    /// Records a failed login from PEER.
    void authFailed(const in6_addr& peer);

private:
    struct Peer
    {
        size_t connections = 0;
        size_t failures = 0;
        std::chrono::steady_clock::time_point window_start{};
    };
    static std::string key(const in6_addr& peer);
    void forgetIfIdle(std::unordered_map<std::string, Peer>::iterator it);

    Config config_;
    std::mutex mutex_;
    size_t total_ = 0;
    std::unordered_map<std::string, Peer> peers_;
};

} // namespace wsgw::hub
