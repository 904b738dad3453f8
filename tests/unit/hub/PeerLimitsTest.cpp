// hub::PeerLimits with an injected clock: connection caps, the failed-login
// budgets of SPEC §5 per (address, member) and per address, IPv6 /64
// grouping, the client address behind a trusted proxy, and the sweep that
// keeps memory bounded by one window's failures.

#include "hub/PeerLimits.h"

#include "config/Settings.h"
#include "hub/AddressCounter.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cstring>

using wsgw::hub::PeerLimits;
using wsgw::hub::TrustedProxies;
using Admission = PeerLimits::Admission;
using Lockout = PeerLimits::Lockout;
using namespace std::chrono_literals;

namespace {

in6_addr ip(const std::string& text)
{
    auto parsed = TrustedProxies::parseAddress(text);
    if (!parsed)
        throw std::invalid_argument("test address " + text);
    return *parsed;
}

/// 10.(n>>16).(n>>8).n: a distinct IPv4 address per N.
in6_addr v4(uint32_t n)
{
    return ip("10." + std::to_string((n >> 16) & 0xff) + "." + std::to_string((n >> 8) & 0xff) + "." +
              std::to_string(n & 0xff));
}

/// A clock the test moves by hand.
struct FakeClock
{
    std::chrono::steady_clock::time_point now = std::chrono::steady_clock::time_point{} + 1000h;
    PeerLimits::Clock function()
    {
        return [this] { return now; };
    }
};

PeerLimits::Config loginConfig(FakeClock& clock, size_t per_member, size_t per_ip)
{
    PeerLimits::Config config;
    config.auth_failures_per_member = per_member;
    config.auth_failures_per_ip = per_ip;
    config.auth_failure_window = 60s;
    config.clock = clock.function();
    return config;
}

} // namespace

TEST(PeerLimitsTest, ConnectionCapsPerAddressAndInTotal)
{
    PeerLimits::Config config;
    config.max_connections = 5;
    config.max_connections_per_ip = 2;
    PeerLimits limits(config);
    const in6_addr a = ip("198.51.100.1");
    const in6_addr b = ip("198.51.100.2");
    EXPECT_EQ(limits.admit(a), Admission::Admitted);
    EXPECT_EQ(limits.admit(a), Admission::Admitted);
    EXPECT_EQ(limits.admit(a), Admission::TooManyFromPeer);
    EXPECT_EQ(limits.admit(b), Admission::Admitted);
    EXPECT_EQ(limits.admit(b), Admission::Admitted);
    EXPECT_EQ(limits.admit(ip("198.51.100.3")), Admission::Admitted);
    EXPECT_EQ(limits.admit(ip("198.51.100.4")), Admission::TooManyConnections);
    // A refused admission holds no place; a release frees one.
    limits.release(a);
    EXPECT_EQ(limits.admit(ip("198.51.100.4")), Admission::Admitted);
    EXPECT_EQ(limits.admit(a), Admission::TooManyConnections);
    // Releasing what was never admitted changes nothing.
    limits.release(ip("192.0.2.99"));
    limits.release(ip("192.0.2.99"));
    EXPECT_EQ(limits.admit(ip("192.0.2.99")), Admission::TooManyConnections);
}

TEST(PeerLimitsTest, ZeroMeansUnlimitedAndKeepsNothing)
{
    PeerLimits limits(PeerLimits::Config{});
    for (uint32_t i = 0; i < 100; ++i)
    {
        EXPECT_EQ(limits.admit(ip("198.51.100.1")), Admission::Admitted);
        EXPECT_EQ(limits.authFailed(v4(i), 7), Lockout::None);
        EXPECT_FALSE(limits.authBlocked(v4(i), 7));
    }
    EXPECT_EQ(limits.records(), 1u); // the one address with connections
}

// SPEC §5: IPv6 counts by its /64; IPv4, v4-mapped included, by the whole address.
TEST(PeerLimitsTest, IPv6CountsByItsSlash64)
{
    PeerLimits::Config config;
    config.max_connections_per_ip = 2;
    PeerLimits limits(config);
    EXPECT_EQ(limits.admit(ip("2001:db8:1:2::a")), Admission::Admitted);
    EXPECT_EQ(limits.admit(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")), Admission::Admitted);
    EXPECT_EQ(limits.admit(ip("2001:db8:1:2::b")), Admission::TooManyFromPeer);
    EXPECT_EQ(limits.admit(ip("2001:db8:1:3::a")), Admission::Admitted); // another /64
    EXPECT_EQ(limits.admit(ip("10.0.0.1")), Admission::Admitted);
    EXPECT_EQ(limits.admit(ip("10.0.0.1")), Admission::Admitted);
    EXPECT_EQ(limits.admit(ip("::ffff:10.0.0.1")), Admission::TooManyFromPeer); // the same address
    EXPECT_EQ(limits.admit(ip("10.0.0.2")), Admission::Admitted);               // its /64 neighbour is not
    limits.release(ip("2001:db8:1:2::1234"));                                   // any address of the /64
    EXPECT_EQ(limits.admit(ip("2001:db8:1:2::c")), Admission::Admitted);
}

TEST(PeerLimitsTest, LoginBudgetIsPerAddressAndMember)
{
    FakeClock clock;
    PeerLimits limits(loginConfig(clock, 10, 0));
    const in6_addr nat = ip("198.51.100.1");
    for (int i = 1; i <= 10; ++i)
    {
        EXPECT_FALSE(limits.authBlocked(nat, 7)) << i;
        EXPECT_EQ(limits.authFailed(nat, 7), i == 10 ? Lockout::Member : Lockout::None) << i;
    }
    EXPECT_TRUE(limits.authBlocked(nat, 7));
    // Other members behind the same address, and member 7 elsewhere, are not affected.
    EXPECT_FALSE(limits.authBlocked(nat, 8));
    EXPECT_FALSE(limits.authBlocked(ip("198.51.100.2"), 7));
    EXPECT_FALSE(limits.authBlocked(ip("2001:db8::1"), 7));
    // The lockout lasts until the window that began at the first failure ends.
    clock.now += 59999ms;
    EXPECT_TRUE(limits.authBlocked(nat, 7));
    clock.now += 1ms;
    EXPECT_FALSE(limits.authBlocked(nat, 7));
    // A fresh window, a fresh budget.
    for (int i = 1; i < 10; ++i)
        EXPECT_EQ(limits.authFailed(nat, 7), Lockout::None);
    EXPECT_FALSE(limits.authBlocked(nat, 7));
}

// The window is fixed from its first failure: failures late in it do not stretch it.
TEST(PeerLimitsTest, WindowBeginsAtTheFirstFailure)
{
    FakeClock clock;
    PeerLimits limits(loginConfig(clock, 3, 0));
    const in6_addr client = ip("198.51.100.1");
    limits.authFailed(client, 7);
    clock.now += 50s;
    limits.authFailed(client, 7);
    limits.authFailed(client, 7);
    EXPECT_TRUE(limits.authBlocked(client, 7));
    clock.now += 10s; // 60 s after the first failure
    EXPECT_FALSE(limits.authBlocked(client, 7));
    EXPECT_EQ(limits.authFailed(client, 7), Lockout::None); // counts in a new window
}

// SPEC §5: limits.auth_failures_per_ip stops spraying guesses over many member ids.
TEST(PeerLimitsTest, SprayBudgetCoversEveryMemberOfTheAddress)
{
    FakeClock clock;
    PeerLimits limits(loginConfig(clock, 10, 5));
    const in6_addr sprayer = ip("198.51.100.1");
    for (int64_t member = 100; member < 105; ++member)
    {
        EXPECT_FALSE(limits.authBlocked(sprayer, member));
        EXPECT_EQ(limits.authFailed(sprayer, member), member == 104 ? Lockout::Address : Lockout::None);
    }
    EXPECT_TRUE(limits.authBlocked(sprayer, 1));
    EXPECT_TRUE(limits.authBlocked(sprayer, 100));
    EXPECT_FALSE(limits.authBlocked(ip("198.51.100.2"), 1));
    clock.now += 60s;
    EXPECT_FALSE(limits.authBlocked(sprayer, 1));
}

TEST(PeerLimitsTest, LoginBudgetsCountIPv6ByItsSlash64)
{
    FakeClock clock;
    PeerLimits limits(loginConfig(clock, 3, 5));
    limits.authFailed(ip("2001:db8:1:2::a"), 7);
    limits.authFailed(ip("2001:db8:1:2::b"), 7);
    limits.authFailed(ip("2001:db8:1:2:dead:beef:0:1"), 7);
    EXPECT_TRUE(limits.authBlocked(ip("2001:db8:1:2::c"), 7));
    EXPECT_FALSE(limits.authBlocked(ip("2001:db8:1:3::a"), 7));
    limits.authFailed(ip("2001:db8:1:2::d"), 8);
    limits.authFailed(ip("2001:db8:1:2::e"), 9);
    EXPECT_TRUE(limits.authBlocked(ip("2001:db8:1:2::f"), 10)); // the /64's spray budget
    EXPECT_FALSE(limits.authBlocked(ip("2001:db8:1:3::a"), 10));
    // IPv4 by the whole address: a neighbour is another client.
    limits.authFailed(ip("10.0.0.1"), 7);
    limits.authFailed(ip("10.0.0.1"), 7);
    limits.authFailed(ip("::ffff:10.0.0.1"), 7);
    EXPECT_TRUE(limits.authBlocked(ip("10.0.0.1"), 7));
    EXPECT_FALSE(limits.authBlocked(ip("10.0.0.2"), 7));
}

// SPEC §5: expired entries are swept, so memory does not grow with the number
// of distinct addresses, only with those inside one window.
TEST(PeerLimitsTest, SweepForgetsAddressesWhoseWindowEnded)
{
    FakeClock clock;
    PeerLimits limits(loginConfig(clock, 10, 200));
    constexpr uint32_t kAddresses = 50000;
    for (uint32_t i = 0; i < kAddresses; ++i)
        limits.authFailed(v4(i), 7);
    // Per address: its budget, its pair with member 7, and two window ends.
    EXPECT_EQ(limits.records(), 4 * kAddresses);
    // Half a window later a second wave from other addresses.
    clock.now += 30s;
    for (uint32_t i = kAddresses; i < 2 * kAddresses; ++i)
        limits.authFailed(v4(i), 7);
    EXPECT_EQ(limits.records(), 8 * kAddresses);
    // The first wave's window ends: any call sweeps it, the second wave stays.
    clock.now += 30s;
    EXPECT_FALSE(limits.authBlocked(v4(0), 7));
    EXPECT_EQ(limits.records(), 4 * kAddresses);
    EXPECT_FALSE(limits.authBlocked(v4(kAddresses), 7)); // one failure of 10: not blocked, but still counted
    clock.now += 30s;
    limits.admit(ip("192.0.2.1"));
    EXPECT_EQ(limits.records(), 1u); // the one connection
    limits.release(ip("192.0.2.1"));
    EXPECT_EQ(limits.records(), 0u);
}

// An address with a connection keeps its record when its window ends, and
// loses it with the last connection; a failure window outlives a connection.
TEST(PeerLimitsTest, SweepKeepsAddressesWithConnections)
{
    FakeClock clock;
    auto config = loginConfig(clock, 10, 200);
    config.max_connections_per_ip = 1;
    PeerLimits limits(config);
    const in6_addr a = ip("198.51.100.1");
    const in6_addr b = ip("198.51.100.2");
    ASSERT_EQ(limits.admit(a), Admission::Admitted);
    limits.authFailed(a, 7);
    limits.authFailed(b, 7);
    ASSERT_EQ(limits.admit(b), Admission::Admitted);
    limits.release(b); // b's failure window goes on
    clock.now += 60s;
    EXPECT_EQ(limits.admit(a), Admission::TooManyFromPeer); // a's connection is still counted
    EXPECT_EQ(limits.records(), 1u);
    limits.release(a);
    EXPECT_EQ(limits.records(), 0u);
}

TEST(PeerLimitsTest, ClientAddressBehindATrustedProxy)
{
    PeerLimits::Config config;
    config.trusted_proxies = TrustedProxies::parse("127.0.0.1/32");
    PeerLimits limits(config);
    sockaddr_in6 proxy{};
    proxy.sin6_family = AF_INET6;
    proxy.sin6_addr = ip("127.0.0.1");
    proxy.sin6_port = htons(40000);
    sockaddr_in6 forwarded = limits.clientAddress(proxy, {"203.0.113.7"});
    const in6_addr client = ip("203.0.113.7");
    EXPECT_EQ(std::memcmp(&forwarded.sin6_addr, &client, sizeof(in6_addr)), 0);
    EXPECT_EQ(forwarded.sin6_port, 0); // the client's own port is not known
    EXPECT_EQ(forwarded.sin6_family, AF_INET6);
    // No header, or an untrusted peer: the TCP peer, port included.
    sockaddr_in6 direct = limits.clientAddress(proxy, {});
    EXPECT_EQ(std::memcmp(&direct, &proxy, sizeof(proxy)), 0);
    sockaddr_in6 other = proxy;
    other.sin6_addr = ip("127.0.0.2");
    sockaddr_in6 untrusted = limits.clientAddress(other, {"203.0.113.7"});
    EXPECT_EQ(std::memcmp(&untrusted, &other, sizeof(other)), 0);
}

TEST(PeerLimitsTest, ConfigFromSettings)
{
    wsgw::config::Settings settings;
    settings.trusted_proxies = "10.0.0.0/8 ::1";
    settings.auth_failures_per_member = 3;
    auto config = PeerLimits::Config::fromSettings(settings);
    EXPECT_EQ(config.auth_failures_per_member, 3u);
    EXPECT_EQ(config.auth_failures_per_ip, 200u);
    EXPECT_EQ(config.max_connections_per_ip, settings.max_connections_per_ip);
    EXPECT_TRUE(config.trusted_proxies.contains(ip("10.1.2.3")));
    settings.trusted_proxies = "10.0.0.0/8 bad";
    EXPECT_THROW(PeerLimits::Config::fromSettings(settings), wsgw::config::Error);
}

// SPEC §5 / issue 10: open HTTP connections per address, IPv6 by its /64.
TEST(AddressCounterTest, CapsPerAddressAndGroupsIpv6By64)
{
    wsgw::hub::AddressCounter counter(2);
    in6_addr a{}, b{}, c{};
    ::inet_pton(AF_INET6, "2001:db8:1:2::1", &a);
    ::inet_pton(AF_INET6, "2001:db8:1:2:ffff::9", &b); // same /64
    ::inet_pton(AF_INET6, "2001:db8:1:3::1", &c);      // another /64
    EXPECT_TRUE(counter.tryAcquire(a));
    EXPECT_TRUE(counter.tryAcquire(b));
    EXPECT_FALSE(counter.tryAcquire(a));
    EXPECT_TRUE(counter.tryAcquire(c));
    counter.release(b);
    EXPECT_EQ(counter.count(a), 1u);
    EXPECT_TRUE(counter.tryAcquire(a));
    counter.release(a);
    counter.release(a);
    counter.release(a); // more releases than acquires change nothing
    EXPECT_EQ(counter.count(a), 0u);
    wsgw::hub::AddressCounter unlimited(0);
    for (int i = 0; i < 100; ++i)
        EXPECT_TRUE(unlimited.tryAcquire(a));
}
