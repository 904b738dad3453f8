// The real wsgw binary against the per-address limits of SPEC §5 (issue 9
// item 3): failed logins per (client address, member), the spray budget per
// address, and the client address behind a trusted proxy (X-Forwarded-For).
// After every bad thing, the gateway still serves everyone else.

#include "support/Http.h"
#include "support/TempDir.h"
#include "support/TestGateway.h"
#include "support/Wait.h"
#include "support/WsClient.h"

#include <gtest/gtest.h>

#include <fstream>

using namespace wsgw::test;
using namespace std::chrono_literals;
using wsgw::transport::Opcode;

namespace {

const std::string kTokenA = "token-of-member-a-xyz";
const std::string kTokenB = "token-of-member-b-xyz";
constexpr int64_t kMemberA = 7;
constexpr int64_t kMemberB = 8;

WsClient::Options forwardedFor(const std::string& value, const std::string& source = {})
{
    WsClient::Options options = WsClient::Options::from(source);
    options.extra_headers = "X-Forwarded-For: " + value + "\r\n";
    return options;
}

/// A gateway with members A and B and a public app `match`.
struct LimitsGateway
{
    explicit LimitsGateway(TestGateway::Settings settings = {}) : gateway(std::move(settings))
    {
        key = gateway.addApp("match");
        gateway.addMember(kMemberA, kTokenA);
        gateway.addMember(kMemberB, kTokenB);
    }

    std::string login(int64_t member, const std::string& token, WsClient::Options options = {})
    {
        WsClient client(gateway.port(), std::move(options));
        return client.auth(member, token);
    }

    /// SPEC §5: whatever happened before, a client from another address
    /// connects, subscribes and receives a push.
    void expectStillServing()
    {
        WsClient other(gateway.port(), WsClient::Options::from("127.0.0.9"));
        ASSERT_EQ(other.auth(kMemberB, kTokenB), reply(200, "hello 8"));
        ASSERT_EQ(other.subscribe("match"), reply(200, "subscribe match success"));
        auto result = push(gateway.port(), R"({"app":"match","member_id":-1,"text":"still serving"})", key);
        EXPECT_EQ(result.status, 202) << result.body;
        EXPECT_EQ(other.receiveText(), R"({"app":"match","member_id":-1,"text":"still serving"})");
    }

    TestGateway gateway;
    std::string key;
};

std::string unauthorized()
{
    return reply(401, "unauthorized");
}

} // namespace

// SPEC §5: wrong tokens for one member from one address lock out that member
// from that address only; other members behind the same address log in.
TEST(GatewayLoginLimitTest, WrongTokensLockOnlyThatMemberFromThatAddress)
{
    LimitsGateway g; // limits.auth_failures_per_member = 10 by default
    for (int i = 0; i < 10; ++i)
        ASSERT_EQ(g.login(kMemberA, "guess-" + std::to_string(i)), unauthorized()) << i;
    // Budget used up: A's right token is refused from this address without being checked...
    EXPECT_EQ(g.login(kMemberA, kTokenA), unauthorized());
    // ...B behind the same address is not affected...
    EXPECT_EQ(g.login(kMemberB, kTokenB), reply(200, "hello 8"));
    // ...and neither is A from another address.
    EXPECT_EQ(g.login(kMemberA, kTokenA, WsClient::Options::from("127.0.0.2")), reply(200, "hello 7"));
    // A refused login stays open as anonymous (SPEC §1) and may subscribe to public apps.
    WsClient refused(g.gateway.port());
    EXPECT_EQ(refused.auth(kMemberA, kTokenA), unauthorized());
    EXPECT_EQ(refused.subscribe("match"), reply(200, "subscribe match success"));
    // The lockout is logged once, naming the member and the client address.
    EXPECT_TRUE(waitUntil([&] {
        return g.gateway.log().find("10 wrong tokens for member 7 from 127.0.0.1:") != std::string::npos;
    })) << g.gateway.log();
    g.expectStillServing();
}

// SPEC §5: limits.auth_failures_per_ip stops one address spraying guesses
// over many member ids; other addresses are not affected.
TEST(GatewayLoginLimitTest, SprayOverManyMembersHitsTheAddressBudget)
{
    LimitsGateway g(TestGateway::Settings{{"limits.auth_failures_per_ip", "5"}});
    for (int64_t member = 100; member < 105; ++member)
        ASSERT_EQ(g.login(member, "guess"), unauthorized()) << member;
    EXPECT_EQ(g.login(kMemberB, kTokenB), unauthorized());
    EXPECT_EQ(g.login(kMemberA, kTokenA), unauthorized());
    EXPECT_EQ(g.login(kMemberB, kTokenB, WsClient::Options::from("127.0.0.2")), reply(200, "hello 8"));
    // Anonymous logins need no token and are never refused.
    EXPECT_EQ(g.login(-1, ""), reply(200, "hello stranger"));
    g.expectStillServing();
}

// SPEC §5: the lockout ends with the window that began at the first failure;
// logins refused meanwhile are not guesses and do not extend it.
TEST(GatewayLoginLimitTest, LockoutEndsWithTheWindow)
{
    LimitsGateway g(
        TestGateway::Settings{{"limits.auth_failures_per_member", "3"}, {"limits.auth_failure_window_ms", "3000"}});
    for (int i = 0; i < 3; ++i)
        ASSERT_EQ(g.login(kMemberA, "guess"), unauthorized());
    EXPECT_EQ(g.login(kMemberA, kTokenA), unauthorized());
    int refused = 0;
    EXPECT_TRUE(waitUntil(
        [&] {
            if (g.login(kMemberA, kTokenA) == reply(200, "hello 7"))
                return true;
            ++refused;
            return false;
        },
        15s));
    EXPECT_GT(refused, 0);
    g.expectStillServing();
}

// SPEC §5: behind a trusted proxy the client address is the X-Forwarded-For
// one; connections count per forwarded address. An untrusted peer's header is ignored.
TEST(GatewayTrustedProxyTest, ConnectionCapCountsTheForwardedAddress)
{
    LimitsGateway g(
        TestGateway::Settings{{"http.trusted_proxies", "127.0.0.1/32"}, {"limits.max_connections_per_ip", "2"}});
    WsClient first(g.gateway.port(), forwardedFor("203.0.113.7"));
    WsClient second(g.gateway.port(), forwardedFor("203.0.113.7"));
    EXPECT_THROW(WsClient(g.gateway.port(), forwardedFor("203.0.113.7")), std::runtime_error);
    // Another client behind the same proxy, and the proxy's own connections, get in.
    WsClient other_client(g.gateway.port(), forwardedFor("203.0.113.8"));
    WsClient proxy_itself(g.gateway.port());
    EXPECT_EQ(other_client.auth(-1, ""), reply(200, "hello stranger"));
    EXPECT_EQ(proxy_itself.auth(-1, ""), reply(200, "hello stranger"));
    // A spoofed entry left of the one the proxy appended is not believed.
    EXPECT_THROW(WsClient(g.gateway.port(), forwardedFor("198.51.100.1, 203.0.113.7")), std::runtime_error);

    // 127.0.0.2 is not a trusted proxy: its X-Forwarded-For is ignored, it counts as itself.
    WsClient untrusted1(g.gateway.port(), forwardedFor("203.0.113.7", "127.0.0.2"));
    WsClient untrusted2(g.gateway.port(), forwardedFor("203.0.113.9", "127.0.0.2"));
    EXPECT_THROW(WsClient(g.gateway.port(), forwardedFor("203.0.113.10", "127.0.0.2")), std::runtime_error);
    EXPECT_EQ(untrusted1.auth(-1, ""), reply(200, "hello stranger"));
    g.expectStillServing();
}

TEST(GatewayTrustedProxyTest, LoginLimitCountsTheForwardedAddress)
{
    LimitsGateway g(
        TestGateway::Settings{{"http.trusted_proxies", "127.0.0.1/32"}, {"limits.auth_failures_per_member", "3"}});
    for (int i = 0; i < 3; ++i)
        ASSERT_EQ(g.login(kMemberA, "guess", forwardedFor("203.0.113.20")), unauthorized());
    EXPECT_EQ(g.login(kMemberA, kTokenA, forwardedFor("203.0.113.20")), unauthorized());
    // Other clients behind the same proxy, and the proxy itself, are not locked out.
    EXPECT_EQ(g.login(kMemberA, kTokenA, forwardedFor("203.0.113.21")), reply(200, "hello 7"));
    EXPECT_EQ(g.login(kMemberA, kTokenA), reply(200, "hello 7"));

    // An untrusted peer cannot escape its budget by inventing X-Forwarded-For values.
    for (int i = 0; i < 3; ++i)
    {
        std::string invented = "198.51.100." + std::to_string(i + 1);
        ASSERT_EQ(g.login(kMemberA, "guess", forwardedFor(invented, "127.0.0.2")), unauthorized());
    }
    EXPECT_EQ(g.login(kMemberA, kTokenA, forwardedFor("198.51.100.99", "127.0.0.2")), unauthorized());
    g.expectStillServing();
}

// SPEC §5: logs use the client address.
TEST(GatewayTrustedProxyTest, ForcedDisconnectLogNamesTheClientAddress)
{
    LimitsGateway g(TestGateway::Settings{{"http.trusted_proxies", "127.0.0.0/8 ::1/128"}});
    {
        WsClient client(g.gateway.port(), forwardedFor("198.51.100.1, 203.0.113.50"));
        client.sendFrame(Opcode::Text, "x", true, 0x4); // RSV1 without an extension: 1002
        EXPECT_EQ(client.receiveClose(), 1002);
    }
    EXPECT_TRUE(waitUntil([&] {
        return g.gateway.log().find("closing connection 203.0.113.50 ") != std::string::npos;
    })) << g.gateway.log();
    EXPECT_EQ(g.gateway.log().find("198.51.100.1"), std::string::npos) << g.gateway.log();
    g.expectStillServing();
}

// A bad CIDR in http.trusted_proxies stops the start: exit 78, naming the key.
TEST(GatewayTrustedProxyTest, BadCidrIsAConfigurationError)
{
    for (const char* value : {"10.0.0.0/33", "10.1.2.3/8", "proxy.example", "2001:db8::/129", "127.0.0.1/32,::1"})
    {
        TempDir dir;
        std::string ini = dir.file("wsgw.ini");
        std::ofstream(ini) << "[server]\nport = 0\nstat_port = 0\naddress = 127.0.0.1\n[db]\npath = "
                           << dir.file("wsgw.db") << "\n[http]\ntrusted_proxies = 127.0.0.1/32 " << value << "\n";
        auto result = runCommand({wsgwBinary(), "--config", ini});
        EXPECT_EQ(result.exit_code, 78) << value << ": " << result.err;
        EXPECT_NE(result.err.find("http.trusted_proxies"), std::string::npos) << value << ": " << result.err;
        EXPECT_NE(result.err.find(value), std::string::npos) << value << ": " << result.err;
        EXPECT_EQ(result.err.find("listening"), std::string::npos) << value << ": " << result.err;
    }
}
