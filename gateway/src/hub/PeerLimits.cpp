#include "hub/PeerLimits.h"

#include "config/Settings.h"

#include <cstring>
#include <functional>
#include <string_view>

namespace wsgw::hub {

PeerLimits::Config PeerLimits::Config::fromSettings(const config::Settings& settings)
{
    Config config;
    config.max_connections = settings.max_connections;
    config.max_connections_per_ip = settings.max_connections_per_ip;
    config.auth_failures_per_member = settings.auth_failures_per_member;
    config.auth_failures_per_ip = settings.auth_failures_per_ip;
    config.auth_failure_window = settings.auth_failure_window;
    config.trusted_proxies = TrustedProxies::parse(settings.trusted_proxies);
    return config;
}

PeerLimits::PeerLimits(Config config) : config_(std::move(config))
{}

size_t PeerLimits::KeyHash::operator()(const Key& key) const noexcept
{
    return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
}

size_t PeerLimits::KeyHash::operator()(const PairKey& key) const noexcept
{
    return (*this)(key.address) ^ (std::hash<int64_t>{}(key.member) * 0x9e3779b97f4a7c15ull);
}

PeerLimits::Key PeerLimits::keyOf(const in6_addr& client)
{
    Key key{};
    std::memcpy(key.data(), client.s6_addr, key.size());
    // SPEC §5: IPv6 counts by its /64, the block one host or site usually gets,
    // so rotating through its own addresses buys nothing. IPv4 (v4-mapped) whole.
    if (!IN6_IS_ADDR_V4MAPPED(&client))
        std::memset(key.data() + 8, 0, 8);
    return key;
}

PeerLimits::TimePoint PeerLimits::now() const
{
    return config_.clock ? config_.clock() : std::chrono::steady_clock::now();
}

sockaddr_in6 PeerLimits::clientAddress(const sockaddr_in6& tcp_peer,
                                       const std::vector<std::string>& forwarded_for) const
{
    if (config_.trusted_proxies.empty() || forwarded_for.empty())
        return tcp_peer;
    in6_addr client = config_.trusted_proxies.resolve(tcp_peer.sin6_addr, forwarded_for);
    if (std::memcmp(&client, &tcp_peer.sin6_addr, sizeof(client)) == 0)
        return tcp_peer;
    sockaddr_in6 out{};
    out.sin6_family = AF_INET6;
    out.sin6_addr = client;
    return out;
}

void PeerLimits::sweep(TimePoint now)
{
    while (!windows_.empty() && now - windows_.front().start >= config_.auth_failure_window)
    {
        const WindowEnd& end = windows_.front();
        if (end.key.member == 0)
        {
            auto it = addresses_.find(end.key.address);
            // A window is queued once, when it begins, so the record's window is this one.
            if (it != addresses_.end() && it->second.failures > 0 && it->second.window_start == end.start)
            {
                it->second.failures = 0;
                forgetIfIdle(it);
            }
        }
        else
        {
            auto it = pairs_.find(end.key);
            if (it != pairs_.end() && it->second.window_start == end.start)
                pairs_.erase(it);
        }
        windows_.pop_front();
    }
}

void PeerLimits::forgetIfIdle(std::unordered_map<Key, Address, KeyHash>::iterator it)
{
    // An address costs memory only while it has connections or a failure window.
    if (it->second.connections == 0 && it->second.failures == 0)
        addresses_.erase(it);
}

PeerLimits::Admission PeerLimits::admit(const in6_addr& client)
{
    std::lock_guard lock(mutex_);
    sweep(now());
    if (config_.max_connections && total_ >= config_.max_connections)
        return Admission::TooManyConnections;
    auto& entry = addresses_[keyOf(client)];
    // Refused here means the entry had connections already: nothing new to forget.
    if (config_.max_connections_per_ip && entry.connections >= config_.max_connections_per_ip)
        return Admission::TooManyFromPeer;
    ++entry.connections;
    ++total_;
    return Admission::Admitted;
}

void PeerLimits::release(const in6_addr& client)
{
    std::lock_guard lock(mutex_);
    sweep(now());
    auto it = addresses_.find(keyOf(client));
    if (it == addresses_.end() || it->second.connections == 0)
        return;
    --it->second.connections;
    --total_;
    forgetIfIdle(it);
}

bool PeerLimits::authBlocked(const in6_addr& client, int64_t member)
{
    if (!config_.auth_failures_per_member && !config_.auth_failures_per_ip)
        return false;
    std::lock_guard lock(mutex_);
    sweep(now());
    const Key key = keyOf(client);
    if (config_.auth_failures_per_ip)
    {
        auto it = addresses_.find(key);
        if (it != addresses_.end() && it->second.failures >= config_.auth_failures_per_ip)
            return true;
    }
    if (config_.auth_failures_per_member && member > 0)
    {
        auto it = pairs_.find(PairKey{key, member});
        if (it != pairs_.end() && it->second.failures >= config_.auth_failures_per_member)
            return true;
    }
    return false;
}

PeerLimits::Lockout PeerLimits::authFailed(const in6_addr& client, int64_t member)
{
    if (!config_.auth_failures_per_member && !config_.auth_failures_per_ip)
        return Lockout::None;
    std::lock_guard lock(mutex_);
    const TimePoint at = now();
    sweep(at);
    const Key key = keyOf(client);
    Lockout lockout = Lockout::None;
    if (config_.auth_failures_per_member && member > 0)
    {
        auto& budget = pairs_[PairKey{key, member}];
        if (budget.failures == 0)
        {
            // The window begins with the first failure and is fixed: refusals do not extend it.
            budget.window_start = at;
            windows_.push_back({at, PairKey{key, member}});
        }
        if (budget.failures < config_.auth_failures_per_member && ++budget.failures == config_.auth_failures_per_member)
            lockout = Lockout::Member;
    }
    if (config_.auth_failures_per_ip)
    {
        auto& address = addresses_[key];
        if (address.failures == 0)
        {
            address.window_start = at;
            windows_.push_back({at, PairKey{key, 0}});
        }
        if (address.failures < config_.auth_failures_per_ip && ++address.failures == config_.auth_failures_per_ip)
            lockout = Lockout::Address;
    }
    return lockout;
}

size_t PeerLimits::records()
{
    std::lock_guard lock(mutex_);
    return addresses_.size() + pairs_.size() + windows_.size();
}

} // namespace wsgw::hub
