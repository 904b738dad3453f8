// The real wsgw and wsgw-admin binaries with JWT logins (SPEC §6): tokens
// minted by `wsgw-admin token jwt`, the apps claim, expiry while connected,
// re-auth, and the login in the upgrade URL. Every test ends by showing that
// a bystander on the same gateway is still served.

#include "support/Http.h"
#include "support/TestGateway.h"
#include "support/WsClient.h"

#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <Poco/Timestamp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <memory>

using namespace wsgw::test;
using namespace std::chrono_literals;

namespace {

const std::string kSecret = "integration-secret-0123456789";
constexpr int64_t kMember = 4242;
constexpr int64_t kOther = 7;

class GatewayJwtTest : public ::testing::Test
{
protected:
    void SetUp() override { start({}); }

    /// (Re)starts the gateway with the JWT secret and EXTRA settings.
    void start(TestGateway::Settings extra)
    {
        bystander.reset();
        gateway.reset();
        extra.emplace("auth.jwt_secret", kSecret);
        gateway = std::make_unique<TestGateway>(std::move(extra));
        push_key = gateway->addApp("match");
        room_key = gateway->addApp("room", "--members");
        vip_key = gateway->addApp("vip", "--private");
        bystander = std::make_unique<WsClient>(gateway->port());
        ASSERT_EQ(bystander->auth(-1, ""), reply(200, "hello stranger"));
        ASSERT_EQ(bystander->subscribe("match"), reply(200, "subscribe match success"));
    }

    /// `wsgw-admin token jwt MEMBER ARGS...` against this gateway's configuration.
    std::string mint(int64_t member, const std::vector<std::string>& args = {})
    {
        std::vector<std::string> command = {"token", "jwt", std::to_string(member)};
        command.insert(command.end(), args.begin(), args.end());
        auto result = gateway->admin(command);
        EXPECT_EQ(result.exit_code, 0) << result.err;
        auto token = result.out;
        while (!token.empty() && token.back() == '\n')
            token.pop_back();
        return token;
    }

    /// The gateway still serves others: a broadcast reaches the bystander.
    void expectServingOthers()
    {
        auto result = push(gateway->port(), R"({"app":"match","text":"still here"})", push_key);
        EXPECT_EQ(result.status, 202) << result.body;
        EXPECT_EQ(bystander->receiveText(), R"({"app":"match","member_id":-1,"text":"still here"})");
    }

    std::string pushTo(const std::string& app, const std::string& key, int64_t member, const std::string& text)
    {
        auto result = push(
            gateway->port(),
            R"({"app":")" + app + R"(","member_id":)" + std::to_string(member) + R"(,"text":")" + text + "\"}", key);
        return result.body;
    }

    std::unique_ptr<TestGateway> gateway;
    std::unique_ptr<WsClient> bystander;
    std::string push_key;
    std::string room_key;
    std::string vip_key;
};

/// An HS256 token with any claims, for what the CLI will not mint.
std::string handMade(int64_t member, int64_t exp_offset_s)
{
    Poco::JWT::Token token;
    token.setSubject(std::to_string(member));
    token.payload().set("exp", Poco::Timestamp().epochTime() + exp_offset_s);
    return Poco::JWT::Signer(kSecret).sign(token, Poco::JWT::Signer::ALGO_HS256);
}

} // namespace

// SPEC §6: a JWT member need not exist in SQLite; on a members app it is a member like any other.
TEST_F(GatewayJwtTest, CliTokenLogsInAsThatMember)
{
    auto token = mint(kMember);
    WsClient client(gateway->port());
    EXPECT_EQ(client.auth(kMember, token), reply(200, "hello 4242"));
    EXPECT_EQ(client.subscribe("room"), reply(200, "subscribe room success"));
    EXPECT_EQ(client.subscribe("vip"), reply(403, "subscribe vip forbidden"));
    EXPECT_NE(pushTo("room", room_key, kMember, "for you").find("queued for 1 connection"), std::string::npos);
    EXPECT_EQ(client.receiveText(), R"({"app":"room","member_id":4242,"text":"for you"})");
    // A new snapshot does not close a JWT session for "member removed": it has no token row.
    gateway->addApp("later");
    EXPECT_EQ(client.fence(), fenceReply());
    // The same token for another member id is refused (sub), and that connection stays anonymous.
    WsClient impostor(gateway->port());
    EXPECT_EQ(impostor.auth(kOther, token), reply(401, "unauthorized"));
    EXPECT_EQ(impostor.subscribe("room"), reply(403, "subscribe room forbidden"));
    expectServingOthers();
}

TEST_F(GatewayJwtTest, AppsClaimGrantsPrivateApp)
{
    WsClient granted(gateway->port());
    EXPECT_EQ(granted.auth(kMember, mint(kMember, {"--apps", "vip,match"})), reply(200, "hello 4242"));
    EXPECT_EQ(granted.subscribe("vip"), reply(200, "subscribe vip success"));
    EXPECT_NE(pushTo("vip", vip_key, -1, "secret").find("queued for 1 connection"), std::string::npos);
    EXPECT_EQ(granted.receiveText(), R"({"app":"vip","member_id":-1,"text":"secret"})");
    // The grant is the session's, not the member's: another session of the member has none.
    WsClient plain(gateway->port());
    EXPECT_EQ(plain.auth(kMember, mint(kMember)), reply(200, "hello 4242"));
    EXPECT_EQ(plain.subscribe("vip"), reply(403, "subscribe vip forbidden"));
    expectServingOthers();
}

TEST_F(GatewayJwtTest, ExpiredTokenIsUnauthorized)
{
    WsClient client(gateway->port());
    EXPECT_EQ(client.auth(kMember, handMade(kMember, -60)), reply(401, "unauthorized"));
    EXPECT_EQ(client.subscribe("room"), reply(403, "subscribe room forbidden"));
    EXPECT_EQ(client.subscribe("match"), reply(200, "subscribe match success"));
    expectServingOthers();
}

TEST_F(GatewayJwtTest, SessionEndsWhenTokenExpires)
{
    start({{"auth.jwt_leeway_ms", "0"}});
    WsClient client(gateway->port());
    EXPECT_EQ(client.auth(kMember, mint(kMember, {"--ttl", "2"})), reply(200, "hello 4242"));
    EXPECT_EQ(client.subscribe("room"), reply(200, "subscribe room success"));
    // SPEC §6: the reply, then close 1008 — within the ttl plus one sweep.
    EXPECT_EQ(client.receiveText(5s), reply(401, "token expired"));
    EXPECT_EQ(client.receiveClose(2s), 1008);
    auto metrics = httpRequest(gateway->statPort(), "GET", "/metrics").body;
    EXPECT_NE(metrics.find("wsgw_token_expired_closes 1\n"), std::string::npos) << metrics;
    expectServingOthers();
}

TEST_F(GatewayJwtTest, ReauthBeforeExpiryKeepsSessionOpen)
{
    // One loop: both connections are swept in the same pass.
    start({{"auth.jwt_leeway_ms", "0"}, {"server.threads", "1"}});
    // Minted first, so only a few round trips lie between the short token's mint and the re-auth.
    auto long_token = mint(kMember, {"--ttl", "600"});
    auto short_token = mint(kMember, {"--ttl", "3"});
    WsClient renewed(gateway->port());
    EXPECT_EQ(renewed.auth(kMember, short_token), reply(200, "hello 4242"));
    WsClient control(gateway->port());
    EXPECT_EQ(control.auth(kMember, short_token), reply(200, "hello 4242"));
    // SPEC §6: re-auth at any time for the same member answers hello and replaces the expiry.
    EXPECT_EQ(renewed.auth(kMember, long_token), reply(200, "hello 4242"));
    // The control, which did not re-auth, shows the old expiry has passed...
    EXPECT_EQ(control.receiveText(6s), reply(401, "token expired"));
    EXPECT_EQ(control.receiveClose(2s), 1008);
    // ...and the renewed session is still open and still the member.
    EXPECT_EQ(renewed.fence(), fenceReply());
    EXPECT_EQ(renewed.subscribe("room"), reply(200, "subscribe room success"));
    expectServingOthers();
}

TEST_F(GatewayJwtTest, ReauthWithFewerGrantsEndsThoseSubscriptions)
{
    WsClient client(gateway->port());
    EXPECT_EQ(client.auth(kMember, mint(kMember, {"--apps", "vip"})), reply(200, "hello 4242"));
    EXPECT_EQ(client.subscribe("vip"), reply(200, "subscribe vip success"));
    EXPECT_EQ(client.subscribe("room"), reply(200, "subscribe room success"));
    EXPECT_EQ(client.auth(kMember, mint(kMember)), reply(200, "hello 4242"));
    EXPECT_EQ(client.receiveText(), reply(403, "subscribe vip forbidden"));
    EXPECT_EQ(client.fence(), fenceReply()); // room stays
    EXPECT_NE(pushTo("vip", vip_key, -1, "gone").find("queued for 0 connections"), std::string::npos);
    expectServingOthers();
}

TEST_F(GatewayJwtTest, ReauthAsAnotherMemberIsRefusedAndChangesNothing)
{
    WsClient client(gateway->port());
    EXPECT_EQ(client.auth(kMember, mint(kMember, {"--apps", "vip"})), reply(200, "hello 4242"));
    EXPECT_EQ(client.subscribe("vip"), reply(200, "subscribe vip success"));
    EXPECT_EQ(client.auth(kOther, mint(kOther)), reply(400, "bad auth message"));
    EXPECT_EQ(client.auth(-1, ""), reply(400, "bad auth message"));
    // Still member 4242 with its grants: a push to 4242 arrives, one to 7 does not.
    EXPECT_NE(pushTo("vip", vip_key, kOther, "for seven").find("queued for 0 connections"), std::string::npos);
    EXPECT_NE(pushTo("vip", vip_key, kMember, "for 4242").find("queued for 1 connection"), std::string::npos);
    EXPECT_EQ(client.receiveText(), R"({"app":"vip","member_id":4242,"text":"for 4242"})");
    // An anonymous connection cannot become a member by re-auth either.
    EXPECT_EQ(bystander->auth(kMember, mint(kMember)), reply(400, "bad auth message"));
    EXPECT_EQ(bystander->subscribe("room"), reply(403, "subscribe room forbidden"));
    expectServingOthers();
}

TEST_F(GatewayJwtTest, FailedJwtLoginsCountAgainstTheLimiter)
{
    start({{"limits.auth_failures_per_member", "2"}});
    auto good = mint(kMember);
    for (int i = 0; i < 2; ++i)
    {
        WsClient guess(gateway->port());
        EXPECT_EQ(guess.auth(kMember, good + "x"), reply(401, "unauthorized"));
    }
    WsClient late(gateway->port());
    EXPECT_EQ(late.auth(kMember, good), reply(401, "unauthorized"));
    expectServingOthers();
}

// SPEC §6: the login in the upgrade URL; its reply is the first frame after the 101.
TEST_F(GatewayJwtTest, UrlLoginForMemberAnonymousAndWrongToken)
{
    WsClient member(gateway->port(), WsClient::Options::at("127.0.0.1", "/ws?member_id=4242&token=" + mint(kMember)));
    EXPECT_EQ(member.receiveText(), reply(200, "hello 4242"));
    EXPECT_EQ(member.subscribe("room"), reply(200, "subscribe room success"));

    WsClient stranger(gateway->port(), WsClient::Options::at("127.0.0.1", "/?member_id=-1"));
    EXPECT_EQ(stranger.receiveText(), reply(200, "hello stranger"));
    EXPECT_EQ(stranger.subscribe("match"), reply(200, "subscribe match success"));

    WsClient wrong(gateway->port(), WsClient::Options::at("127.0.0.1", "/ws?member_id=4242&token=nope"));
    EXPECT_EQ(wrong.receiveText(), reply(401, "unauthorized"));
    EXPECT_EQ(wrong.subscribe("room"), reply(403, "subscribe room forbidden")); // anonymous now
    EXPECT_EQ(wrong.subscribe("match"), reply(200, "subscribe match success"));

    // Stored tokens work too, URL-decoded.
    gateway->addMember(kOther, "a b+c/d");
    WsClient stored(gateway->port(), WsClient::Options::at("127.0.0.1", "/ws?token=a%20b%2Bc%2Fd&member_id=7"));
    EXPECT_EQ(stored.receiveText(), reply(200, "hello 7"));

    // A member_id that is not an integer is a missing auth message (SPEC §1); a
    // query without member_id leaves the login to the first message.
    WsClient garbled(gateway->port(), WsClient::Options::at("127.0.0.1", "/ws?member_id=abc&token=x"));
    EXPECT_EQ(garbled.receiveText(), reply(400, "missing auth message"));
    EXPECT_EQ(garbled.receiveClose(), 1008);
    WsClient later(gateway->port(), WsClient::Options::at("127.0.0.1", "/ws?v=2"));
    EXPECT_EQ(later.auth(kMember, mint(kMember)), reply(200, "hello 4242"));
    expectServingOthers();
}

// SPEC §6 settings: an unreadable key file, or both keys, stops the start with exit 78 naming the key.
TEST(GatewayJwtStartupTest, BadJwtConfigurationExits78)
{
    TempDir dir;
    const std::string base =
        "[server]\nport = 0\nstat_port = 0\naddress = 127.0.0.1\n[db]\npath = " + dir.file("wsgw.db") + "\n[auth]\n";
    struct Case
    {
        std::string auth;
        std::string named;
    };
    const Case cases[] = {
        {"jwt_public_key = " + dir.file("missing.pem") + "\n", "auth.jwt_public_key"},
        {"jwt_secret = s\njwt_public_key = " + dir.file("missing.pem") + "\n", "auth.jwt_secret and"},
    };
    for (const auto& c : cases)
    {
        const auto ini = dir.file("wsgw.ini");
        std::ofstream(ini) << base << c.auth;
        auto result = runCommand({wsgwBinary(), "--config", ini});
        EXPECT_EQ(result.exit_code, 78) << c.auth << result.err;
        EXPECT_NE(result.err.find(c.named), std::string::npos) << result.err;
    }
}
