#include "hub/PeerLimits.h"

namespace wsgw::hub {

std::string PeerLimits::key(const in6_addr& peer)
{
    return std::string(reinterpret_cast<const char*>(peer.s6_addr), sizeof(peer.s6_addr));
}

void PeerLimits::forgetIfIdle(std::unordered_map<std::string, Peer>::iterator it)
{
    // Entries cost memory only while a peer is connected or inside a failure window.
    const auto& peer = it->second;
    bool window_over = std::chrono::steady_clock::now() - peer.window_start >= config_.auth_failure_window;
    if (peer.connections == 0 && (peer.failures == 0 || window_over))
        peers_.erase(it);
}

PeerLimits::Admission PeerLimits::admit(const in6_addr& peer)
{
    std::lock_guard lock(mutex_);
    if (config_.max_connections && total_ >= config_.max_connections)
        return Admission::TooManyConnections;
    auto& entry = peers_[key(peer)];
    if (config_.max_connections_per_ip && entry.connections >= config_.max_connections_per_ip)
        return Admission::TooManyFromPeer;
    ++entry.connections;
    ++total_;
    return Admission::Admitted;
}

void PeerLimits::release(const in6_addr& peer)
{
    std::lock_guard lock(mutex_);
    auto it = peers_.find(key(peer));
    if (it == peers_.end() || it->second.connections == 0)
        return;
    --it->second.connections;
    --total_;
    forgetIfIdle(it);
}

bool PeerLimits::authBlocked(const in6_addr& peer)
{
    if (!config_.auth_failures_per_ip)
        return false;
    std::lock_guard lock(mutex_);
    auto it = peers_.find(key(peer));
    if (it == peers_.end())
        return false;
    if (std::chrono::steady_clock::now() - it->second.window_start >= config_.auth_failure_window)
        return false;
    return it->second.failures >= config_.auth_failures_per_ip;
}

void PeerLimits::authFailed(const in6_addr& peer)
{
    if (!config_.auth_failures_per_ip)
        return;
    std::lock_guard lock(mutex_);
    auto& entry = peers_[key(peer)];
    auto now = std::chrono::steady_clock::now();
    if (now - entry.window_start >= config_.auth_failure_window)
    {
        entry.window_start = now;
        entry.failures = 0;
    }
    ++entry.failures;
}

} // namespace wsgw::hub
