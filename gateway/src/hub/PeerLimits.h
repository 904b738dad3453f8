#pragma once
/// Limits per client address and in total (SPEC §5): connections at once, and
/// failed logins per (address, member) and per address within a time window;
/// plus which address is the client's (trusted proxies). Consulted once per
/// connection event, never per delivery. Any thread (one mutex).

#include "hub/TrustedProxies.h"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <netinet/in.h>
#include <string>
#include <unordered_map>
#include <vector>

namespace wsgw::config {
struct Settings;
}

namespace wsgw::hub {

class PeerLimits
{
public:
    using Clock = std::function<std::chrono::steady_clock::time_point()>;

    struct Config
    {
        size_t max_connections = 0;          ///< 0 = unlimited
        size_t max_connections_per_ip = 0;   ///< 0 = unlimited
        size_t auth_failures_per_member = 0; ///< per (address, member) per window; 0 = unlimited
        size_t auth_failures_per_ip = 0;     ///< per address, all members together, per window; 0 = unlimited
        std::chrono::milliseconds auth_failure_window{60000};
        TrustedProxies trusted_proxies;
        Clock clock; ///< null = std::chrono::steady_clock::now; tests pass their own

        /// The limits of SETTINGS. Throws config::Error for a bad
        /// http.trusted_proxies. Startup only.
        static Config fromSettings(const config::Settings& settings);
    };

    explicit PeerLimits(Config config);

    enum class Admission
    {
        Admitted,
        TooManyConnections, ///< the global cap
        TooManyFromPeer,    ///< the per-address cap
    };

    /// Which failed-login budget a failure used up.
    enum class Lockout
    {
        None,
        Member,  ///< this (address, member) pair's: that member is refused from that address
        Address, ///< the address's: every member is refused from that address
    };

    /// The client address of a connection from TCP_PEER whose upgrade request
    /// carried the X-Forwarded-For values FORWARDED_FOR (SPEC §5; the rule is
    /// TrustedProxies::resolve). TCP_PEER itself unless a trusted proxy
    /// forwarded for someone else; then that address, with port 0 (unknown).
    /// Any thread; takes no lock.
    sockaddr_in6 clientAddress(const sockaddr_in6& tcp_peer, const std::vector<std::string>& forwarded_for) const;

    /// True if ADDRESS is one of http.trusted_proxies: a proxy carries many
    /// clients, so per-address caps on its TCP connections do not apply to it.
    /// Any thread; takes no lock.
    bool isTrustedProxy(const in6_addr& address) const noexcept { return config_.trusted_proxies.contains(address); }

    /// Counts a new connection from CLIENT unless a cap is reached.
    Admission admit(const in6_addr& client);
    /// The connection from CLIENT has ended (after an Admitted admit()).
    /// Releasing more than was admitted changes nothing.
    void release(const in6_addr& client);

    /// True while logins for MEMBER from CLIENT are refused without checking
    /// the token: the pair used up limits.auth_failures_per_member, or CLIENT
    /// used up limits.auth_failures_per_ip, in the window that began with the
    /// first of those failures. Other members from CLIENT are not affected by
    /// the first, and other addresses by neither.
    bool authBlocked(const in6_addr& client, int64_t member);
    /// Records a wrong token for MEMBER from CLIENT, a login that was checked
    /// (so not one authBlocked refused: that is no guess). Returns the budget
    /// this failure used up, None if it left both with room or one was used up already.
    Lockout authFailed(const in6_addr& client, int64_t member);

    /// Bookkeeping records held: addresses, (address, member) pairs and pending
    /// window ends. What the sweep keeps bounded by the failures of one window
    /// and the open connections, not by every address ever seen.
    size_t records();

private:
    /// An address as the limits count it: IPv4 (v4-mapped) whole, IPv6 by its /64.
    using Key = std::array<uint8_t, 16>;
    struct PairKey
    {
        Key address{};
        int64_t member = 0; ///< 0: the address's own budget (member ids are > 0)
        bool operator==(const PairKey&) const = default;
    };
    struct KeyHash
    {
        size_t operator()(const Key& key) const noexcept;
        size_t operator()(const PairKey& key) const noexcept;
    };
    using TimePoint = std::chrono::steady_clock::time_point;

    struct Address
    {
        size_t connections = 0;
        size_t failures = 0; ///< in the window that began at window_start; 0 = no window
        TimePoint window_start{};
    };
    struct Budget
    {
        size_t failures = 0;
        TimePoint window_start{};
    };
    /// A window that will end: records are swept in the order their windows began.
    struct WindowEnd
    {
        TimePoint start;
        PairKey key;
    };

    static Key keyOf(const in6_addr& client);
    TimePoint now() const;
    /// Ends every window that is over by NOW and drops records that hold
    /// nothing else. Amortised O(1): each window is queued and swept once.
    void sweep(TimePoint now);
    void forgetIfIdle(std::unordered_map<Key, Address, KeyHash>::iterator it);

    const Config config_;
    std::mutex mutex_;
    size_t total_ = 0;
    std::unordered_map<Key, Address, KeyHash> addresses_;
    std::unordered_map<PairKey, Budget, KeyHash> pairs_;
    std::deque<WindowEnd> windows_; ///< oldest first: one clock, one window length
};

} // namespace wsgw::hub
