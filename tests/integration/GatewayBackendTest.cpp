// The real wsgw and wsgw-admin with an app backend (SPEC §7, §8): a real HTTP
// server on port 0 plays the backend and checks every signature. Events for
// each way a subscription ends, batching, retry and drop, order; client
// publish off / on / through the backend; RPC and its errors; presence; and a
// backend that hangs while subscribers keep getting pushes.

#include "support/Http.h"
#include "support/TestGateway.h"
#include "support/Wait.h"
#include "support/WebhookServer.h"
#include "support/WsClient.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <thread>
#include <unistd.h>

using namespace wsgw::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

/// The backend's own check, written as a backend would: hex HMAC-SHA256 of the raw body.
std::string expectedSignature(const std::string& secret, const std::string& body)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &length);
    std::string hex = "sha256=";
    char byte[3];
    for (unsigned int i = 0; i < length; ++i)
    {
        std::snprintf(byte, sizeof(byte), "%02x", mac[i]);
        hex += byte;
    }
    return hex;
}

Poco::Dynamic::Var parse(const std::string& text)
{
    return Poco::JSON::Parser().parse(text);
}

std::string rpcFrame(const std::string& app, int64_t member, const std::string& text, const std::string& seqno,
                     int code)
{
    return R"({"app":")" + app + R"(","member_id":)" + std::to_string(member) + R"(,"text":")" + text +
           R"(","seqno":")" + seqno + R"(","code":)" + std::to_string(code) + "}";
}

class GatewayBackendTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        backend = std::make_unique<WebhookServer>([this](const HookRequest& request) {
            // Every call is signed with the app's secret.
            std::lock_guard lock(mutex);
            if (request.headers.count("x-wsgw-signature") == 0 ||
                request.headers.at("x-wsgw-signature") != expectedSignature(secret, request.body) ||
                request.headers.count("x-wsgw-app") == 0)
                ++bad_signatures;
            auto value = parse(request.body);
            if (value.type() == typeid(Poco::JSON::Array::Ptr))
            {
                auto batch = value.extract<Poco::JSON::Array::Ptr>();
                batches.push_back(batch->size());
                for (size_t i = 0; i < batch->size(); ++i)
                    events.push_back(batch->getObject(static_cast<unsigned>(i)));
                return HookAnswer{events_status, ""};
            }
            auto call = value.extract<Poco::JSON::Object::Ptr>();
            return answer ? answer(call) : HookAnswer{200, ""};
        });
    }

    void start(TestGateway::Settings settings = {}, const std::string& publish = "subscribers")
    {
        gateway = std::make_unique<TestGateway>(std::move(settings));
        push_key = gateway->addApp("chat");
        gateway->addApp("plain");
        auto set = gateway->admin(
            {"--json", "app", "set", "chat", "--webhook", backend->url("/backend"), "--client-publish", publish});
        ASSERT_EQ(set.exit_code, 0) << set.err;
        std::lock_guard lock(mutex);
        secret = parse(set.out).extract<Poco::JSON::Object::Ptr>()->getValue<std::string>("webhook_secret");
    }

    /// The events received so far, as "event app member" strings, in order.
    std::vector<std::string> eventLines()
    {
        std::lock_guard lock(mutex);
        std::vector<std::string> lines;
        for (const auto& e : events)
            lines.push_back(e->getValue<std::string>("event") + " " + e->getValue<std::string>("app") + " " +
                            std::to_string(e->getValue<int64_t>("member_id")));
        return lines;
    }

    size_t eventCount()
    {
        std::lock_guard lock(mutex);
        return events.size();
    }

    std::string metric(const std::string& name) { return metricValue(gateway->statPort(), name); }

    std::mutex mutex;
    std::string secret;
    std::vector<Poco::JSON::Object::Ptr> events;
    std::vector<size_t> batches;
    int events_status = 200;
    int bad_signatures = 0;
    std::function<HookAnswer(const Poco::JSON::Object::Ptr&)> answer;
    std::unique_ptr<WebhookServer> backend;
    std::unique_ptr<TestGateway> gateway;
    std::string push_key;
};

} // namespace

// SPEC §7: one event per subscription that starts or ends — the client's
// unsubscribe, a revocation, a disconnect — in order per connection, signed.
TEST_F(GatewayBackendTest, EventsForEveryWayASubscriptionEnds)
{
    start();
    gateway->addMember(7, "token-of-member-7");
    {
        WsClient client(gateway->port());
        EXPECT_EQ(client.auth(7, "token-of-member-7"), reply(200, "hello 7"));
        EXPECT_EQ(client.subscribe("chat"), reply(200, "subscribe chat success"));
        client.sendText(R"({"app":"chat","action":"unsubscribe"})");
        EXPECT_EQ(client.receiveText(), reply(200, "unsubscribe chat success"));
        EXPECT_EQ(client.subscribe("chat"), reply(200, "subscribe chat success"));
        EXPECT_EQ(client.subscribe("plain"), reply(200, "subscribe plain success")); // no backend: no event
        // Revocation: the app becomes private and 7 has no grant.
        ASSERT_EQ(gateway->admin({"app", "set", "chat", "--private"}).exit_code, 0);
        EXPECT_EQ(client.receiveText(), reply(403, "subscribe chat forbidden"));
        ASSERT_EQ(gateway->admin({"app", "set", "chat", "--public"}).exit_code, 0);
        EXPECT_EQ(client.subscribe("chat"), reply(200, "subscribe chat success"));
    } // disconnect
    ASSERT_TRUE(waitUntil([&] { return eventCount() >= 6; }, 5s)) << eventCount();
    EXPECT_EQ(eventLines(), (std::vector<std::string>{"subscribe chat 7", "unsubscribe chat 7", "subscribe chat 7",
                                                      "unsubscribe chat 7", "subscribe chat 7", "unsubscribe chat 7"}));
    std::lock_guard lock(mutex);
    EXPECT_EQ(bad_signatures, 0);
    const auto& first = events.front();
    EXPECT_EQ(first->getValue<std::string>("address"), "127.0.0.1");
    EXPECT_FALSE(first->getValue<std::string>("connection").empty());
    EXPECT_EQ(first->getValue<std::string>("connection"), events.back()->getValue<std::string>("connection"));
    EXPECT_GT(first->getValue<int64_t>("time_ms"), 1700000000000);
}

// SPEC §7: batches of at most 100 items; 150 subscriptions at once make at least two.
TEST_F(GatewayBackendTest, EventsGoInBatchesOfAtMostAHundred)
{
    start();
    std::vector<std::unique_ptr<WsClient>> clients;
    for (int i = 0; i < 150; ++i)
    {
        clients.push_back(std::make_unique<WsClient>(gateway->port()));
        clients.back()->sendText(R"({"member_id":-1,"token":""})");
        clients.back()->sendText(R"({"app":"chat"})");
    }
    for (auto& c : clients)
    {
        EXPECT_EQ(c->receiveText(), reply(200, "hello stranger"));
        EXPECT_EQ(c->receiveText(), reply(200, "subscribe chat success"));
    }
    ASSERT_TRUE(waitUntil([&] { return eventCount() >= 150; }, 5s)) << eventCount();
    std::lock_guard lock(mutex);
    EXPECT_GE(batches.size(), 2u);
    for (size_t n : batches)
        EXPECT_LE(n, 100u);
    EXPECT_EQ(events.size(), 150u);
}

// SPEC §7: a backend that refuses events gets them again with backoff until
// apps.webhook_retry_ms, then they are dropped and counted; later ones go through.
TEST_F(GatewayBackendTest, EventsAreRetriedThenDropped)
{
    events_status = 500;
    start({{"apps.webhook_retry_ms", "700"}});
    {
        WsClient client(gateway->port());
        EXPECT_EQ(client.auth(-1, ""), reply(200, "hello stranger"));
        EXPECT_EQ(client.subscribe("chat"), reply(200, "subscribe chat success"));
    }
    ASSERT_TRUE(waitUntil([&] { return metric("backend_events_dropped") == "2"; }, 5s))
        << metric("backend_events_dropped");
    {
        std::lock_guard lock(mutex);
        EXPECT_GE(batches.size(), 3u) << "tried at least three times";
        events.clear();
        events_status = 200;
    }
    WsClient later(gateway->port());
    EXPECT_EQ(later.auth(-1, ""), reply(200, "hello stranger"));
    EXPECT_EQ(later.subscribe("chat"), reply(200, "subscribe chat success"));
    ASSERT_TRUE(waitUntil([&] { return eventCount() >= 1; }, 5s));
    EXPECT_EQ(eventLines(), std::vector<std::string>{"subscribe chat -1"});
    // Counted once the gateway has the backend's answer, a moment after the backend saw it.
    EXPECT_TRUE(waitUntil([&] { return metric("backend_events_sent") == "1"; }, 5s)) << metric("backend_events_sent");
}

// Order per connection holds through many changes.
TEST_F(GatewayBackendTest, EventOrderPerConnection)
{
    start();
    WsClient client(gateway->port());
    EXPECT_EQ(client.auth(-1, ""), reply(200, "hello stranger"));
    std::vector<std::string> expected;
    for (int i = 0; i < 30; ++i)
    {
        EXPECT_EQ(client.subscribe("chat"), reply(200, "subscribe chat success"));
        client.sendText(R"({"app":"chat","action":"unsubscribe"})");
        EXPECT_EQ(client.receiveText(), reply(200, "unsubscribe chat success"));
        expected.push_back("subscribe chat -1");
        expected.push_back("unsubscribe chat -1");
    }
    ASSERT_TRUE(waitUntil([&] { return eventCount() >= expected.size(); }, 5s));
    EXPECT_EQ(eventLines(), expected);
}

// SPEC §7: client publish is off by default: 403.
TEST_F(GatewayBackendTest, PublishOffIsForbidden)
{
    start({}, "off");
    WsClient client(gateway->port());
    EXPECT_EQ(client.auth(-1, ""), reply(200, "hello stranger"));
    EXPECT_EQ(client.subscribe("chat"), reply(200, "subscribe chat success"));
    client.sendText(R"({"app":"chat","action":"publish","text":"hi"})");
    EXPECT_EQ(client.receiveText(), reply(403, "publish chat forbidden"));
}

// SPEC §7: without a backend a subscriber's publish is a broadcast push; a
// connection not subscribed cannot publish.
TEST_F(GatewayBackendTest, PublishWithoutBackendIsABroadcast)
{
    start();
    ASSERT_EQ(gateway->admin({"app", "set", "plain", "--client-publish", "subscribers"}).exit_code, 0);
    WsClient sender(gateway->port());
    WsClient listener(gateway->port());
    WsClient outsider(gateway->port());
    for (auto* c : {&sender, &listener, &outsider})
        EXPECT_EQ(c->auth(-1, ""), reply(200, "hello stranger"));
    EXPECT_EQ(sender.subscribe("plain"), reply(200, "subscribe plain success"));
    EXPECT_EQ(listener.subscribe("plain"), reply(200, "subscribe plain success"));
    sender.sendText(R"({"app":"plain","action":"publish","text":"{\"hello\":1}"})");
    const std::string frame = R"({"app":"plain","member_id":-1,"text":"{\"hello\":1}"})";
    EXPECT_EQ(listener.receiveText(), frame);
    EXPECT_EQ(sender.receiveText(), frame);
    EXPECT_EQ(sender.receiveText(), reply(200, "publish plain success"));
    outsider.sendText(R"({"app":"plain","action":"publish","text":"sneaky"})");
    EXPECT_EQ(outsider.receiveText(), reply(403, "publish plain forbidden"));
    EXPECT_EQ(listener.fence(), fenceReply()); // nothing else arrived
    EXPECT_EQ(metric("client_publishes"), "1");
}

// SPEC §7: with a backend, only its 200 lets a publish through; a 200 body
// {"text":…} rewrites it; 403 and 500 refuse; a timeout is "unavailable".
TEST_F(GatewayBackendTest, PublishThroughTheBackend)
{
    answer = [](const Poco::JSON::Object::Ptr& call) {
        auto text = call->getValue<std::string>("text");
        if (text == "rewrite")
            return HookAnswer{200, R"({"text":"rewritten"})"};
        if (text == "refuse")
            return HookAnswer{403, ""};
        if (text == "crash")
            return HookAnswer{500, ""};
        if (text == "slow")
            return HookAnswer{200, "", 1500ms};
        return HookAnswer{200, ""};
    };
    start({{"apps.webhook_timeout_ms", "400"}});
    WsClient sender(gateway->port());
    WsClient listener(gateway->port());
    for (auto* c : {&sender, &listener})
    {
        EXPECT_EQ(c->auth(-1, ""), reply(200, "hello stranger"));
        EXPECT_EQ(c->subscribe("chat"), reply(200, "subscribe chat success"));
    }
    sender.sendText(R"({"app":"chat","action":"publish","text":"as is"})");
    EXPECT_EQ(listener.receiveText(), R"({"app":"chat","member_id":-1,"text":"as is"})");
    sender.sendText(R"({"app":"chat","action":"publish","text":"rewrite"})");
    EXPECT_EQ(listener.receiveText(), R"({"app":"chat","member_id":-1,"text":"rewritten"})");
    EXPECT_EQ(sender.receiveText(), R"({"app":"chat","member_id":-1,"text":"as is"})");
    EXPECT_EQ(sender.receiveText(), reply(200, "publish chat success"));
    EXPECT_EQ(sender.receiveText(), R"({"app":"chat","member_id":-1,"text":"rewritten"})");
    EXPECT_EQ(sender.receiveText(), reply(200, "publish chat success"));
    sender.sendText(R"({"app":"chat","action":"publish","text":"refuse"})");
    EXPECT_EQ(sender.receiveText(), reply(403, "publish chat forbidden"));
    sender.sendText(R"({"app":"chat","action":"publish","text":"crash"})");
    EXPECT_EQ(sender.receiveText(), reply(403, "publish chat forbidden"));
    sender.sendText(R"({"app":"chat","action":"publish","text":"slow"})");
    EXPECT_EQ(sender.receiveText(), reply(503, "publish chat unavailable"));
    EXPECT_EQ(listener.fence(), fenceReply()); // the refused ones reached nobody
    std::lock_guard lock(mutex);
    EXPECT_EQ(bad_signatures, 0);
}

// SPEC §7: limits.client_messages_per_s per connection: over it, 429.
TEST_F(GatewayBackendTest, PublishRateLimit)
{
    start({{"limits.client_messages_per_s", "5"}});
    ASSERT_EQ(gateway->admin({"app", "set", "plain", "--client-publish", "subscribers"}).exit_code, 0);
    WsClient sender(gateway->port());
    EXPECT_EQ(sender.auth(-1, ""), reply(200, "hello stranger"));
    EXPECT_EQ(sender.subscribe("plain"), reply(200, "subscribe plain success"));
    for (int i = 0; i < 6; ++i)
        sender.sendText(R"({"app":"plain","action":"publish","text":"m"})");
    int ok = 0, limited = 0;
    for (int i = 0; i < 11; ++i)
    {
        auto text = sender.receiveText();
        if (text == reply(200, "publish plain success"))
            ++ok;
        else if (text == reply(429, "publish plain refused: too many messages"))
            ++limited;
    }
    EXPECT_EQ(ok, 5);
    EXPECT_EQ(limited, 1);
}

// SPEC §7 RPC: the backend's body in the reply frame, the original's three keys first.
TEST_F(GatewayBackendTest, RpcAnswersAndErrors)
{
    answer = [](const Poco::JSON::Object::Ptr& call) {
        auto text = call->getValue<std::string>("text");
        if (text == "crash")
            return HookAnswer{500, "boom"};
        if (text == "slow")
            return HookAnswer{200, "late", 1500ms};
        return HookAnswer{200, "re:" + text + ":" + call->getValue<std::string>("seqno") + ":" +
                                   std::to_string(call->getValue<int64_t>("member_id"))};
    };
    start({{"apps.webhook_timeout_ms", "400"}});
    gateway->addMember(7, "token-of-member-7");
    WsClient client(gateway->port());
    EXPECT_EQ(client.auth(7, "token-of-member-7"), reply(200, "hello 7"));
    client.sendText(R"({"app":"chat","action":"rpc","seqno":"a1","text":"ping"})");
    EXPECT_EQ(client.receiveText(), rpcFrame("chat", 7, "re:ping:a1:7", "a1", 200));
    client.sendText(R"({"app":"chat","action":"rpc","seqno":"a2","text":"crash"})");
    EXPECT_EQ(client.receiveText(), rpcFrame("chat", 7, "", "a2", 502));
    client.sendText(R"({"app":"chat","action":"rpc","seqno":"a3","text":"slow"})");
    EXPECT_EQ(client.receiveText(), rpcFrame("chat", 7, "", "a3", 504));
    // No backend: 403; an app the connection may not subscribe to: 403.
    client.sendText(R"({"app":"plain","action":"rpc","seqno":"a4","text":"x"})");
    EXPECT_EQ(client.receiveText(), rpcFrame("plain", 7, "", "a4", 403));
    ASSERT_EQ(gateway->admin({"app", "set", "chat", "--private"}).exit_code, 0);
    client.sendText(R"({"app":"chat","action":"rpc","seqno":"a5","text":"x"})");
    EXPECT_EQ(client.receiveText(), rpcFrame("chat", 7, "", "a5", 403));
    // A seqno longer than 64 characters is a bad message.
    client.sendText(R"({"app":"chat","action":"rpc","seqno":")" + std::string(65, 's') + R"(","text":"x"})");
    EXPECT_EQ(client.receiveText(), reply(400, "bad subscribe message"));
}

TEST_F(GatewayBackendTest, RpcRateLimit)
{
    start({{"limits.client_messages_per_s", "2"}});
    WsClient client(gateway->port());
    EXPECT_EQ(client.auth(-1, ""), reply(200, "hello stranger"));
    for (int i = 0; i < 3; ++i)
        client.sendText(R"({"app":"chat","action":"rpc","seqno":"s)" + std::to_string(i) + R"(","text":"x"})");
    std::vector<std::string> got;
    for (int i = 0; i < 3; ++i)
        got.push_back(client.receiveText());
    EXPECT_EQ(std::count(got.begin(), got.end(), rpcFrame("chat", -1, "", "s2", 429)), 1) << got[0] << got[1] << got[2];
}

// Two RPCs in flight are answered as their answers come: the seqno pairs them.
TEST_F(GatewayBackendTest, RpcsInFlightComeBackOutOfOrder)
{
    answer = [](const Poco::JSON::Object::Ptr& call) {
        auto seqno = call->getValue<std::string>("seqno");
        return HookAnswer{200, seqno, seqno == "first" ? 500ms : 0ms};
    };
    start();
    WsClient client(gateway->port());
    EXPECT_EQ(client.auth(-1, ""), reply(200, "hello stranger"));
    client.sendText(R"({"app":"chat","action":"rpc","seqno":"first","text":""})");
    client.sendText(R"({"app":"chat","action":"rpc","seqno":"second","text":""})");
    EXPECT_EQ(client.receiveText(), rpcFrame("chat", -1, "second", "second", 200));
    EXPECT_EQ(client.receiveText(), rpcFrame("chat", -1, "first", "first", 200));
}

// SPEC §8: GET /presence?app=NAME on the stat port; members sorted, truncated past the limit.
TEST_F(GatewayBackendTest, PresenceCountsAndTruncates)
{
    start({{"stat.presence_limit", "2"}});
    for (int64_t id : {30, 10, 20})
        gateway->addMember(id, "token-of-member-" + std::to_string(id));
    std::vector<std::unique_ptr<WsClient>> clients;
    for (int64_t id : {30, 10, 20, 10})
    {
        clients.push_back(std::make_unique<WsClient>(gateway->port()));
        EXPECT_EQ(clients.back()->auth(id, "token-of-member-" + std::to_string(id)),
                  reply(200, "hello " + std::to_string(id)));
        EXPECT_EQ(clients.back()->subscribe("chat"), reply(200, "subscribe chat success"));
    }
    clients.push_back(std::make_unique<WsClient>(gateway->port()));
    EXPECT_EQ(clients.back()->auth(-1, ""), reply(200, "hello stranger"));
    EXPECT_EQ(clients.back()->subscribe("chat"), reply(200, "subscribe chat success"));
    auto result = httpRequest(gateway->statPort(), "GET", "/presence?app=chat");
    EXPECT_EQ(result.status, 200);
    EXPECT_EQ(result.body, R"({"app":"chat","connections":5,"members":[10,20],"anonymous":1,"truncated":true})"
                           "\n");
    auto empty = httpRequest(gateway->statPort(), "GET", "/presence?app=plain");
    EXPECT_EQ(empty.body, R"({"app":"plain","connections":0,"members":[],"anonymous":0})"
                          "\n");
    EXPECT_EQ(httpRequest(gateway->statPort(), "GET", "/presence?app=nosuch").status, 404);
    EXPECT_EQ(httpRequest(gateway->statPort(), "GET", "/presence").status, 400);
}

// DESIGN §3: a backend that hangs for 10 s (its events held) delays no delivery:
// 1,000 subscribers keep getting pushes all that time while their 1,000 subscribe
// events wait.
TEST_F(GatewayBackendTest, HangingBackendDelaysNoPush)
{
    start({{"apps.webhook_timeout_ms", "15000"}});
    backend->hold();
    std::vector<std::unique_ptr<WsClient>> clients;
    for (int i = 0; i < 1000; ++i)
    {
        clients.push_back(std::make_unique<WsClient>(gateway->port()));
        clients.back()->sendText(R"({"member_id":-1,"token":""})");
        clients.back()->sendText(R"({"app":"chat"})");
    }
    for (auto& c : clients)
    {
        ASSERT_EQ(c->receiveText(), reply(200, "hello stranger"));
        ASSERT_EQ(c->receiveText(), reply(200, "subscribe chat success"));
    }
    ASSERT_TRUE(backend->waitForInFlight(1)) << "the first batch is with the backend";
    const auto held_since = Clock::now();
    int64_t worst = 0;
    int i = 0;
    for (; Clock::now() - held_since < 10s; ++i)
    {
        const auto begin = Clock::now();
        auto result = push(gateway->port(), R"({"app":"chat","text":"p)" + std::to_string(i) + "\"}", push_key);
        ASSERT_EQ(result.status, 202) << result.body;
        for (auto& c : clients)
            ASSERT_EQ(c->receiveText(), R"({"app":"chat","member_id":-1,"text":"p)" + std::to_string(i) + "\"}");
        worst = std::max<int64_t>(worst,
                                  std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin).count());
    }
    // Bounds with room for sanitizer builds (a plain build: tens of ms): what matters is
    // that no push waited for the backend's 10 s.
    EXPECT_GE(i, 5) << "pushes in 10 s";
    EXPECT_LT(worst, 2000) << "a push took " << worst << " ms to reach 1,000 subscribers";
    EXPECT_EQ(backend->inFlight(), 1u); // still held after 10 s: delivery never waited for it
    backend->release();
}

// The README's signature checks (examples/verify_signature.py and .mjs) accept a
// real call from the gateway and refuse it with another secret or body.
TEST_F(GatewayBackendTest, ReadmeSignatureChecksAcceptRealCalls)
{
    std::string body, signature;
    answer = [&](const Poco::JSON::Object::Ptr&) { return HookAnswer{200, "ok"}; };
    start();
    WsClient client(gateway->port());
    EXPECT_EQ(client.auth(-1, ""), reply(200, "hello stranger"));
    client.sendText(R"({"app":"chat","action":"rpc","seqno":"1","text":"sign me \u00e9"})");
    EXPECT_EQ(client.receiveText(), rpcFrame("chat", -1, "ok", "1", 200));
    for (const auto& request : backend->requests())
    {
        if (request.body.find("\"rpc\"") != std::string::npos)
        {
            body = request.body;
            signature = request.headers.at("x-wsgw-signature");
        }
    }
    ASSERT_FALSE(body.empty());
    std::string secret_copy;
    {
        std::lock_guard lock(mutex);
        secret_copy = secret;
    }
    const std::string dir = std::string(WSGW_SOURCE_DIR) + "/examples/";
    std::vector<std::vector<std::string>> checkers = {{"/usr/bin/python3", dir + "verify_signature.py"}};
    if (::access("/usr/bin/node", X_OK) == 0)
        checkers.push_back({"/usr/bin/node", dir + "verify_signature.mjs"});
    for (auto checker : checkers)
    {
        auto good = checker;
        good.insert(good.end(), {secret_copy, signature});
        EXPECT_EQ(runCommand(good, body).exit_code, 0) << checker[1];
        auto wrong_secret = checker;
        wrong_secret.insert(wrong_secret.end(), {secret_copy + "x", signature});
        EXPECT_EQ(runCommand(wrong_secret, body).exit_code, 1) << checker[1];
        auto tampered = checker;
        tampered.insert(tampered.end(), {secret_copy, signature});
        EXPECT_EQ(runCommand(tampered, body + " ").exit_code, 1) << checker[1];
    }
}
