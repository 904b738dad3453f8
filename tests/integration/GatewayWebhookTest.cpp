// The real wsgw with an authorizer webhook (SPEC §6): a real HTTP server on
// port 0 inside the test plays the authorizer. Accept with and without apps,
// refusals, a down, slow or absent authorizer, the cache, the concurrency
// bound, what the request carries, URL logins, and that no loop waits for it.

#include "support/Http.h"
#include "support/TestGateway.h"
#include "support/WebhookServer.h"
#include "support/WsClient.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <thread>

using namespace wsgw::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int64_t kMember = 4242;
const std::string kGood = "opaque-session-token";

int64_t msSince(Clock::time_point start)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

Poco::JSON::Object::Ptr parseObject(const std::string& text)
{
    Poco::JSON::Parser parser;
    return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

/// The authorizer most tests use: kGood logs in kMember with the apps in
/// GRANTS; "down" answers 500; anything else 401.
class GatewayWebhookTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        authorizer = std::make_unique<WebhookServer>([this](const HookRequest& request) {
            auto body = parseObject(request.body);
            const auto token = body->getValue<std::string>("token");
            if (token == "down")
                return HookAnswer{500, "{}"};
            if (token == "slow")
                return HookAnswer{200, "", 1500ms};
            if (token == "forbidden")
                return HookAnswer{403, ""};
            if (token == "unknown")
                return HookAnswer{404, ""};
            if (token == "garbled")
                return HookAnswer{200, "{\"apps\":\"vip\"}"};
            if (token != kGood || body->getValue<int64_t>("member_id") != kMember)
                return HookAnswer{401, ""};
            return HookAnswer{200, grants};
        });
    }

    void start(TestGateway::Settings extra = {})
    {
        extra.emplace("auth.webhook_url", authorizer->url());
        gateway = std::make_unique<TestGateway>(std::move(extra));
        push_key = gateway->addApp("match");
        room_key = gateway->addApp("room", "--members");
        gateway->addApp("vip", "--private");
        bystander = std::make_unique<WsClient>(gateway->port());
        ASSERT_EQ(bystander->auth(-1, ""), reply(200, "hello stranger"));
        ASSERT_EQ(bystander->subscribe("match"), reply(200, "subscribe match success"));
    }

    /// The gateway still serves others: a broadcast reaches the bystander.
    void expectServingOthers(const std::string& text = "still here")
    {
        auto result = push(gateway->port(), R"({"app":"match","text":")" + text + "\"}", push_key);
        EXPECT_EQ(result.status, 202) << result.body;
        EXPECT_EQ(bystander->receiveText(), R"({"app":"match","member_id":-1,"text":")" + text + "\"}");
    }

    std::string metric(const std::string& name) { return metricValue(gateway->statPort(), name); }

    std::string grants;
    std::unique_ptr<WebhookServer> authorizer;
    std::unique_ptr<TestGateway> gateway;
    std::unique_ptr<WsClient> bystander;
    std::string push_key;
    std::string room_key;
};

} // namespace

// SPEC §6: 200 without a body accepts: a member on members apps, no private grant.
TEST_F(GatewayWebhookTest, OkWithoutAppsLogsInAsThatMember)
{
    start();
    WsClient client(gateway->port());
    EXPECT_EQ(client.auth(kMember, kGood), reply(200, "hello 4242"));
    EXPECT_EQ(client.subscribe("room"), reply(200, "subscribe room success"));
    EXPECT_EQ(client.subscribe("vip"), reply(403, "subscribe vip forbidden"));
    auto result = push(gateway->port(), R"({"app":"room","member_id":4242,"text":"for you"})", room_key);
    EXPECT_EQ(result.status, 202) << result.body;
    EXPECT_EQ(client.receiveText(), R"({"app":"room","member_id":4242,"text":"for you"})");
    EXPECT_EQ(authorizer->count(), 1u);
    EXPECT_EQ(metric("auth_webhook_calls"), "1");
    expectServingOthers();
}

// SPEC §6: {"apps":[…]} grants those private apps for this session only.
TEST_F(GatewayWebhookTest, OkWithAppsGrantsThemToTheSession)
{
    grants = R"({"apps":["vip"]})";
    start();
    WsClient client(gateway->port());
    EXPECT_EQ(client.auth(kMember, kGood), reply(200, "hello 4242"));
    EXPECT_EQ(client.subscribe("vip"), reply(200, "subscribe vip success"));
    expectServingOthers();
}

// SPEC §6: 401, 403 and 404 reject: the 401 reply, and the connection stays anonymous.
TEST_F(GatewayWebhookTest, RefusalsLeaveTheConnectionAnonymous)
{
    start();
    for (const std::string token : {"wrong", "forbidden", "unknown"})
    {
        WsClient client(gateway->port());
        EXPECT_EQ(client.auth(kMember, token), reply(401, "unauthorized")) << token;
        EXPECT_EQ(client.subscribe("room"), reply(403, "subscribe room forbidden")) << token;
        EXPECT_EQ(client.subscribe("match"), reply(200, "subscribe match success")) << token;
    }
    EXPECT_EQ(metric("auth_failures"), "3");
    expectServingOthers();
}

// SPEC §6: any other status means "down": 503 auth unavailable, then close 1011.
TEST_F(GatewayWebhookTest, ServerErrorMeansUnavailable)
{
    start();
    for (const std::string token : {"down", "garbled"})
    {
        WsClient client(gateway->port());
        EXPECT_EQ(client.auth(kMember, token), reply(503, "auth unavailable")) << token;
        EXPECT_EQ(client.receiveClose(), 1011) << token;
    }
    EXPECT_EQ(metric("auth_unavailable"), "2");
    expectServingOthers();
}

// SPEC §6: no answer within auth.webhook_timeout_ms is "down" too, at the timeout.
TEST_F(GatewayWebhookTest, SlowAuthorizerTimesOut)
{
    start({{"auth.webhook_timeout_ms", "300"}});
    WsClient client(gateway->port());
    const auto begin = Clock::now();
    EXPECT_EQ(client.auth(kMember, "slow"), reply(503, "auth unavailable"));
    const auto waited = msSince(begin);
    EXPECT_GE(waited, 280);
    EXPECT_LT(waited, 1400); // the authorizer answers after 1500 ms
    EXPECT_EQ(client.receiveClose(), 1011);
    expectServingOthers();
}

// SPEC §6: a refused connection is "down": nobody listens on the authorizer's port.
TEST_F(GatewayWebhookTest, AuthorizerNotListening)
{
    const std::string url = authorizer->url();
    authorizer.reset(); // its port is closed now
    TestGateway::Settings settings{{"auth.webhook_url", url}};
    gateway = std::make_unique<TestGateway>(settings);
    push_key = gateway->addApp("match");
    bystander = std::make_unique<WsClient>(gateway->port());
    ASSERT_EQ(bystander->auth(-1, ""), reply(200, "hello stranger"));
    ASSERT_EQ(bystander->subscribe("match"), reply(200, "subscribe match success"));
    WsClient client(gateway->port());
    EXPECT_EQ(client.auth(kMember, kGood), reply(503, "auth unavailable"));
    EXPECT_EQ(client.receiveClose(), 1011);
    expectServingOthers();
}

// SPEC §6: an accepted (member, token) is remembered: two logins, one call; with the cache off, two.
TEST_F(GatewayWebhookTest, AcceptedAnswersAreCached)
{
    start();
    for (int i = 0; i < 2; ++i)
    {
        WsClient client(gateway->port());
        EXPECT_EQ(client.auth(kMember, kGood), reply(200, "hello 4242"));
    }
    EXPECT_EQ(authorizer->count(), 1u);
    EXPECT_EQ(metric("auth_webhook_cache_hits"), "1");
    // Refusals are not cached: each wrong token is asked again.
    for (int i = 0; i < 2; ++i)
    {
        WsClient client(gateway->port());
        EXPECT_EQ(client.auth(kMember, "wrong"), reply(401, "unauthorized"));
    }
    EXPECT_EQ(authorizer->count(), 3u);
}

TEST_F(GatewayWebhookTest, CacheOffAsksEveryTime)
{
    start({{"auth.webhook_cache_ms", "0"}});
    for (int i = 0; i < 2; ++i)
    {
        WsClient client(gateway->port());
        EXPECT_EQ(client.auth(kMember, kGood), reply(200, "hello 4242"));
    }
    EXPECT_EQ(authorizer->count(), 2u);
}

// SPEC §6: at most auth.webhook_concurrency (64) calls in flight; the 65th login gets 503 at once.
TEST_F(GatewayWebhookTest, SixtyFifthConcurrentLoginIsUnavailableAtOnce)
{
    start({{"auth.webhook_cache_ms", "0"}});
    authorizer->hold();
    std::vector<std::unique_ptr<WsClient>> waiting;
    for (int i = 0; i < 64; ++i)
    {
        waiting.push_back(std::make_unique<WsClient>(gateway->port()));
        waiting.back()->sendText(R"({"member_id":4242,"token":")" + kGood + "\"}");
    }
    ASSERT_TRUE(authorizer->waitForInFlight(64)) << "in flight: " << authorizer->inFlight();
    WsClient extra(gateway->port());
    const auto begin = Clock::now();
    EXPECT_EQ(extra.auth(kMember, kGood), reply(503, "auth unavailable"));
    EXPECT_LT(msSince(begin), 500);
    EXPECT_EQ(extra.receiveClose(), 1011);
    EXPECT_EQ(authorizer->count(), 64u);
    // Meanwhile the gateway serves everyone else.
    expectServingOthers();
    authorizer->release();
    for (auto& client : waiting)
        EXPECT_EQ(client->receiveText(), reply(200, "hello 4242"));
}

// SPEC §6: the request carries member, token, client address and the upgrade's
// headers, names lower-case; cookie only when auth.webhook_forward_cookies.
TEST_F(GatewayWebhookTest, RequestCarriesAddressAndHeadersButNoCookie)
{
    start();
    WsClient::Options options;
    options.extra_headers = "X-Site-Session: abc\r\nCookie: sid=secret\r\n";
    WsClient client(gateway->port(), options);
    EXPECT_EQ(client.auth(kMember, kGood), reply(200, "hello 4242"));
    auto requests = authorizer->requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].method, "POST");
    EXPECT_EQ(requests[0].uri, "/auth");
    EXPECT_EQ(requests[0].headers["content-type"], "application/json");
    auto body = parseObject(requests[0].body);
    EXPECT_EQ(body->getValue<int64_t>("member_id"), kMember);
    EXPECT_EQ(body->getValue<std::string>("token"), kGood);
    EXPECT_EQ(body->getValue<std::string>("address"), "127.0.0.1");
    auto headers = body->getObject("headers");
    ASSERT_TRUE(headers);
    EXPECT_EQ(headers->getValue<std::string>("x-site-session"), "abc");
    EXPECT_EQ(headers->getValue<std::string>("upgrade"), "websocket");
    EXPECT_FALSE(headers->has("cookie"));
    EXPECT_FALSE(headers->has("X-Site-Session"));
}

TEST_F(GatewayWebhookTest, CookiesOnlyWhenAsked)
{
    start({{"auth.webhook_forward_cookies", "true"}});
    WsClient::Options options;
    options.extra_headers = "Cookie: sid=secret\r\n";
    WsClient client(gateway->port(), options);
    EXPECT_EQ(client.auth(kMember, kGood), reply(200, "hello 4242"));
    auto requests = authorizer->requests();
    ASSERT_EQ(requests.size(), 1u);
    auto headers = parseObject(requests[0].body)->getObject("headers");
    EXPECT_EQ(headers->getValue<std::string>("cookie"), "sid=secret");
}

// Behind a trusted proxy the address sent is the forwarded client's (SPEC §5).
TEST_F(GatewayWebhookTest, AddressIsTheForwardedClient)
{
    start({{"http.trusted_proxies", "127.0.0.0/8"}});
    WsClient::Options options;
    options.extra_headers = "X-Forwarded-For: 203.0.113.9\r\n";
    WsClient client(gateway->port(), options);
    EXPECT_EQ(client.auth(kMember, kGood), reply(200, "hello 4242"));
    auto requests = authorizer->requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(parseObject(requests[0].body)->getValue<std::string>("address"), "203.0.113.9");
}

// SPEC §6: stored tokens are tried first; the authorizer is not asked for them.
TEST_F(GatewayWebhookTest, StoredTokensNeedNoCall)
{
    start();
    gateway->addMember(77, "stored-token-of-77");
    WsClient client(gateway->port());
    EXPECT_EQ(client.auth(77, "stored-token-of-77"), reply(200, "hello 77"));
    EXPECT_EQ(authorizer->count(), 0u);
}

// SPEC §6: a URL login goes through the authorizer too; its reply is the first frame.
TEST_F(GatewayWebhookTest, UrlLoginThroughTheAuthorizer)
{
    start();
    WsClient member(gateway->port(), WsClient::Options::at("127.0.0.1", "/ws?member_id=4242&token=" + kGood));
    EXPECT_EQ(member.receiveText(), reply(200, "hello 4242"));
    EXPECT_EQ(member.subscribe("room"), reply(200, "subscribe room success"));
    WsClient wrong(gateway->port(), WsClient::Options::at("127.0.0.1", "/ws?member_id=4242&token=nope"));
    EXPECT_EQ(wrong.receiveText(), reply(401, "unauthorized"));
    WsClient anonymous(gateway->port(), WsClient::Options::at("127.0.0.1", "/ws?member_id=-1"));
    EXPECT_EQ(anonymous.receiveText(), reply(200, "hello stranger"));
    EXPECT_EQ(authorizer->count(), 2u);
    expectServingOthers();
}

// Messages sent right behind the login are answered after its reply, in order,
// under what the login decided (here: a members app the member may join).
TEST_F(GatewayWebhookTest, MessagesBehindTheLoginWaitForIt)
{
    start();
    authorizer->hold();
    WsClient client(gateway->port());
    client.sendText(R"({"member_id":4242,"token":")" + kGood + "\"}");
    client.sendText(R"({"app":"room"})");
    client.sendText(R"({"app":"match"})");
    ASSERT_TRUE(authorizer->waitForInFlight(1));
    // Nothing is answered while the authorizer thinks: the first reply must be the login's.
    EXPECT_FALSE(client.receive(200ms).has_value());
    authorizer->release();
    EXPECT_EQ(client.receiveText(), reply(200, "hello 4242"));
    EXPECT_EQ(client.receiveText(), reply(200, "subscribe room success"));
    EXPECT_EQ(client.receiveText(), reply(200, "subscribe match success"));
}

// DESIGN §3: no loop waits for the authorizer. With one loop, a login held for
// 2 s does not delay pushes to another client of that same loop.
TEST_F(GatewayWebhookTest, HeldAuthorizerDelaysNoPush)
{
    start({{"server.threads", "1"}, {"auth.webhook_timeout_ms", "5000"}});
    authorizer->hold();
    WsClient waiting(gateway->port());
    waiting.sendText(R"({"member_id":4242,"token":")" + kGood + "\"}");
    ASSERT_TRUE(authorizer->waitForInFlight(1));
    const auto held_since = Clock::now();
    int64_t worst = 0;
    int sent = 0;
    while (msSince(held_since) < 2000)
    {
        const auto begin = Clock::now();
        expectServingOthers("push " + std::to_string(sent++));
        worst = std::max(worst, msSince(begin));
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_GE(sent, 10);
    // Room for sanitizer builds; the login is held for 2,000 ms.
    EXPECT_LT(worst, 250) << "the slowest push took " << worst << " ms while the authorizer held a login";
    EXPECT_EQ(authorizer->inFlight(), 1u);
    authorizer->release();
    EXPECT_EQ(waiting.receiveText(), reply(200, "hello 4242"));
}

// A re-auth asks the authorizer again: its new grants replace the old ones,
// and a subscription they no longer allow ends with 403.
TEST_F(GatewayWebhookTest, ReauthReplacesTheGrants)
{
    grants = R"({"apps":["vip"]})";
    start({{"auth.webhook_cache_ms", "0"}});
    WsClient client(gateway->port());
    EXPECT_EQ(client.auth(kMember, kGood), reply(200, "hello 4242"));
    EXPECT_EQ(client.subscribe("vip"), reply(200, "subscribe vip success"));
    grants = "";
    EXPECT_EQ(client.auth(kMember, kGood), reply(200, "hello 4242"));
    EXPECT_EQ(client.receiveText(), reply(403, "subscribe vip forbidden"));
    // The authorizer being down during a re-auth answers 503 and keeps the session.
    EXPECT_EQ(client.auth(kMember, "down"), reply(503, "auth unavailable"));
    EXPECT_EQ(client.subscribe("room"), reply(200, "subscribe room success"));
}

// A bad authorizer URL or CA file is a configuration error at start (exit 78), naming the setting.
TEST(GatewayWebhookStartTest, BadSettingsAreConfigurationErrors)
{
    TempDir dir;
    const std::string base =
        "[server]\nport = 0\nstat_port = 0\naddress = 127.0.0.1\n[db]\npath = " + dir.file("wsgw.db") + "\n[auth]\n";
    const std::pair<std::string, std::string> cases[] = {
        {"webhook_url = ftp://127.0.0.1/auth\n", "auth.webhook_url"},
        {"webhook_url = not a url\n", "auth.webhook_url"},
        {"webhook_url = http:///auth\n", "auth.webhook_url"},
        {"webhook_url = https://127.0.0.1/auth\nwebhook_ca_file = " + dir.file("missing.pem") + "\n",
         "auth.webhook_ca_file"},
    };
    for (const auto& [auth, named] : cases)
    {
        const auto ini = dir.file("wsgw.ini");
        std::ofstream(ini) << base << auth;
        auto result = runCommand({wsgwBinary(), "--config", ini});
        EXPECT_EQ(result.exit_code, 78) << auth << result.err;
        EXPECT_NE(result.err.find(named), std::string::npos) << result.err;
    }
}
