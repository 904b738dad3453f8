// The real wsgw binary against real WebSocket clients: every SPEC §1 reply byte
// for byte, subscribe rules of §2, push replies and delivery, stat formats.

#include "support/Http.h"
#include "support/TestGateway.h"
#include "support/Wait.h"
#include "support/WsClient.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

using namespace wsgw::test;
using namespace std::chrono_literals;

namespace {

Poco::JSON::Object::Ptr parseObject(const std::string& text)
{
    Poco::JSON::Parser parser;
    return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

std::string pushBody(const std::string& app, int64_t member, const std::string& text)
{
    Poco::JSON::Object object(Poco::JSON_PRESERVE_KEY_ORDER);
    object.set("app", app);
    object.set("member_id", member);
    object.set("text", text);
    std::ostringstream out;
    object.stringify(out);
    return out.str();
}

/// A gateway with apps match (public), im (members), vip (private, member 7
/// granted) and members 7 and 8.
class GatewayProtocolTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        gateway = std::make_unique<TestGateway>();
        match_key = gateway->addApp("match");
        im_key = gateway->addApp("im", "--members");
        vip_key = gateway->addApp("vip", "--private");
        gateway->addMember(7, "token-of-seven-xyz");
        gateway->addMember(8, "token-of-eight-xyz");
        ASSERT_EQ(gateway->admin({"app", "grant", "vip", "7"}).exit_code, 0);
        // The gateway picks the changes up within its poll interval.
        ASSERT_TRUE(waitUntil([&] { return gateway->stat() == "im 0\nmatch 0\nvip 0\n"; })) << gateway->stat();
    }

    std::unique_ptr<WsClient> anonymous()
    {
        auto client = std::make_unique<WsClient>(gateway->port());
        EXPECT_EQ(client->auth(-1, ""), reply(200, "hello stranger"));
        return client;
    }

    std::unique_ptr<WsClient> member(int64_t id)
    {
        auto client = std::make_unique<WsClient>(gateway->port());
        std::string token = id == 7 ? "token-of-seven-xyz" : "token-of-eight-xyz";
        EXPECT_EQ(client->auth(id, token), reply(200, "hello " + std::to_string(id)));
        return client;
    }

    std::unique_ptr<TestGateway> gateway;
    std::string match_key, im_key, vip_key;
};

} // namespace

// SPEC §1: anonymous form of the auth message.
TEST_F(GatewayProtocolTest, AnonymousIsGreetedAsStranger)
{
    WsClient client(gateway->port());
    client.sendText(R"({"member_id":-1,"token":""})");
    EXPECT_EQ(client.receiveText(),
              R"({"app":"gateway","member_id":-1,"text":"{\"code\":200,\"message\":\"hello stranger\"}"})");
}

TEST_F(GatewayProtocolTest, MemberWithValidTokenIsGreetedById)
{
    WsClient client(gateway->port());
    client.sendText(R"({"member_id":7,"token":"token-of-seven-xyz"})");
    EXPECT_EQ(client.receiveText(),
              R"({"app":"gateway","member_id":-1,"text":"{\"code\":200,\"message\":\"hello 7\"}"})");
}

// SPEC §1: wrong token -> 401, the connection stays open as anonymous.
TEST_F(GatewayProtocolTest, WrongTokenIsUnauthorizedButStaysAnonymous)
{
    WsClient client(gateway->port());
    EXPECT_EQ(client.auth(7, "wrong"), reply(401, "unauthorized"));
    EXPECT_EQ(client.subscribe("match"), reply(200, "subscribe match success"));
    EXPECT_EQ(client.subscribe("im"), reply(403, "subscribe im forbidden"));
    WsClient unknown(gateway->port());
    EXPECT_EQ(unknown.auth(999, "whatever"), reply(401, "unauthorized"));
}

// SPEC §1: missing auth message -> reply, then close 1008.
TEST_F(GatewayProtocolTest, MissingAuthMessageRepliesThenCloses1008)
{
    const char* bad_first_messages[] = {"hello", R"({"member_id":0,"token":"x"})", R"({"token":"x"})",
                                        R"({"app":"match"})", R"({"member_id":"7","token":"x"})"};
    for (const char* text : bad_first_messages)
    {
        WsClient client(gateway->port());
        client.sendText(text);
        EXPECT_EQ(client.receiveText(), reply(400, "missing auth message")) << text;
        EXPECT_EQ(client.receiveClose(), 1008) << text;
        EXPECT_TRUE(client.waitForEof()) << text;
    }
}

// SPEC §1: late auth (after the window) gets the same reply and close.
TEST(GatewayAuthWindowTest, SilentClientIsClosedWhenWindowEnds)
{
    TestGateway gateway(TestGateway::Settings{{"ws.auth_window_ms", "300"}});
    WsClient silent(gateway.port());
    WsClient prompt(gateway.port());
    EXPECT_EQ(prompt.auth(-1, ""), reply(200, "hello stranger"));
    EXPECT_EQ(silent.receiveText(3s), reply(400, "missing auth message"));
    EXPECT_EQ(silent.receiveClose(), 1008);
    // The client that authenticated in time is not affected.
    prompt.sendFrame(wsgw::transport::Opcode::Ping, "still here");
    auto pong = prompt.receive();
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->kind, WsMessage::Kind::Pong);
    EXPECT_EQ(pong->payload, "still here");
    EXPECT_NE(httpRequest(gateway.statPort(), "GET", "/stat?format=json").body.find("\"auth_timeouts\":1"),
              std::string::npos);
}

TEST_F(GatewayProtocolTest, SubscribeReplies)
{
    auto client = anonymous();
    EXPECT_EQ(client->subscribe("match"), reply(200, "subscribe match success"));
    EXPECT_EQ(client->subscribe("im"), reply(403, "subscribe im forbidden"));
    EXPECT_EQ(client->subscribe("vip"), reply(403, "subscribe vip forbidden"));
    EXPECT_EQ(client->subscribe("nosuch"), reply(404, "subscribe nosuch not found"));
    for (const char* bad : {"not json", "{}", R"({"app":""})", R"({"app":5})", R"({"nope":"match"})"})
    {
        client->sendText(bad);
        EXPECT_EQ(client->receiveText(), reply(400, "bad subscribe message")) << bad;
    }
    client->sendText(R"({"app":"match","action":"unsubscribe"})");
    EXPECT_EQ(client->receiveText(), reply(200, "unsubscribe match success"));
}

// SPEC §2: members apps take any member; private apps need a grant.
TEST_F(GatewayProtocolTest, VisibilityDecidesWhoMaySubscribe)
{
    auto seven = member(7);
    auto eight = member(8);
    EXPECT_EQ(seven->subscribe("im"), reply(200, "subscribe im success"));
    EXPECT_EQ(eight->subscribe("im"), reply(200, "subscribe im success"));
    EXPECT_EQ(seven->subscribe("vip"), reply(200, "subscribe vip success"));
    EXPECT_EQ(eight->subscribe("vip"), reply(403, "subscribe vip forbidden"));
}

// SPEC §1 Push: every subscriber receives exactly the push's three fields.
TEST_F(GatewayProtocolTest, BroadcastReachesEverySubscriberByteForByte)
{
    auto a = anonymous();
    auto b = member(7);
    auto c = anonymous(); // not subscribed
    ASSERT_EQ(a->subscribe("match"), reply(200, "subscribe match success"));
    ASSERT_EQ(b->subscribe("match"), reply(200, "subscribe match success"));
    auto result = push(gateway->port(), R"({"app":"match","member_id":-1,"text":"{\"hello\":\"world\"}"})", match_key);
    EXPECT_EQ(result.status, 202);
    EXPECT_EQ(parseObject(result.body)->getValue<int>("recipients"), 2);
    const char* expected = R"({"app":"match","member_id":-1,"text":"{\"hello\":\"world\"}"})";
    EXPECT_EQ(a->receiveText(), expected);
    EXPECT_EQ(b->receiveText(), expected);
    EXPECT_EQ(c->fence(), fenceReply());
}

// SPEC §1 differences: absent member_id is a broadcast delivered as -1.
TEST_F(GatewayProtocolTest, PushWithoutMemberIdIsDeliveredAsMinusOne)
{
    auto a = anonymous();
    ASSERT_EQ(a->subscribe("match"), reply(200, "subscribe match success"));
    EXPECT_EQ(push(gateway->port(), R"({"app":"match","text":"x"})", match_key).status, 202);
    EXPECT_EQ(a->receiveText(), R"({"app":"match","member_id":-1,"text":"x"})");
}

// SPEC §1: member_id N > 0 targets member N's connections on every app.
TEST_F(GatewayProtocolTest, TargetedPushReachesOnlyThatMember)
{
    auto seven_a = member(7);
    auto seven_b = member(7);
    auto eight = member(8);
    auto stranger = anonymous();
    for (auto* c : {seven_a.get(), seven_b.get(), eight.get(), stranger.get()})
        ASSERT_EQ(c->subscribe("match"), reply(200, "subscribe match success"));
    auto result = push(gateway->port(), pushBody("match", 7, "for seven"), match_key);
    EXPECT_EQ(result.status, 202);
    EXPECT_EQ(parseObject(result.body)->getValue<int>("recipients"), 2);
    EXPECT_EQ(seven_a->receiveText(), R"({"app":"match","member_id":7,"text":"for seven"})");
    EXPECT_EQ(seven_b->receiveText(), R"({"app":"match","member_id":7,"text":"for seven"})");
    EXPECT_EQ(eight->fence(), fenceReply());
    EXPECT_EQ(stranger->fence(), fenceReply());

    ASSERT_EQ(eight->subscribe("im"), reply(200, "subscribe im success"));
    EXPECT_EQ(push(gateway->port(), pushBody("im", 8, "dm"), im_key).status, 202);
    EXPECT_EQ(eight->receiveText(), R"({"app":"im","member_id":8,"text":"dm"})");
    // A broadcast to a members app reaches every subscriber it allows (the original reached nobody).
    EXPECT_EQ(push(gateway->port(), pushBody("im", -1, "all"), im_key).status, 202);
    EXPECT_EQ(eight->receiveText(), R"({"app":"im","member_id":-1,"text":"all"})");
}

// SPEC §1: subscribing twice is not an error and does not deliver twice.
TEST_F(GatewayProtocolTest, DoubleSubscribeDeliversOnce)
{
    auto a = anonymous();
    EXPECT_EQ(a->subscribe("match"), reply(200, "subscribe match success"));
    EXPECT_EQ(a->subscribe("match"), reply(200, "subscribe match success"));
    EXPECT_EQ(push(gateway->port(), pushBody("match", -1, "once"), match_key).status, 202);
    EXPECT_EQ(a->receiveText(), R"({"app":"match","member_id":-1,"text":"once"})");
    EXPECT_EQ(a->fence(), fenceReply());
}

TEST_F(GatewayProtocolTest, UnsubscribedClientReceivesNoMore)
{
    auto a = anonymous();
    ASSERT_EQ(a->subscribe("match"), reply(200, "subscribe match success"));
    a->sendText(R"({"app":"match","action":"unsubscribe"})");
    ASSERT_EQ(a->receiveText(), reply(200, "unsubscribe match success"));
    EXPECT_EQ(
        parseObject(push(gateway->port(), pushBody("match", -1, "x"), match_key).body)->getValue<int>("recipients"), 0);
    EXPECT_EQ(a->fence(), fenceReply());
}

// SPEC §1: client messages are accepted in binary frames too.
TEST_F(GatewayProtocolTest, BinaryFramesAreAcceptedAsMessages)
{
    WsClient client(gateway->port());
    client.sendFrame(wsgw::transport::Opcode::Binary, R"({"member_id":-1,"token":""})");
    EXPECT_EQ(client.receiveText(), reply(200, "hello stranger"));
    client.sendFrame(wsgw::transport::Opcode::Binary, R"({"app":"match"})");
    EXPECT_EQ(client.receiveText(), reply(200, "subscribe match success"));
}

// SPEC §1 Push replies: each error code with a JSON body naming the problem.
TEST_F(GatewayProtocolTest, PushErrorsSayWhatIsWrong)
{
    struct Case
    {
        std::string body;
        std::string key;
        int status;
        std::string message_part;
    };
    const Case cases[] = {
        {"not json", match_key, 400, "not valid JSON"},
        {R"({"text":"x"})", match_key, 400, "missing field 'app'"},
        {R"({"app":"match"})", match_key, 400, "missing field 'text'"},
        {R"({"app":"match","text":5})", match_key, 400, "field 'text' must be a string"},
        {R"({"app":"match","text":"x","member_id":"7"})", match_key, 400, "member_id"},
        {R"({"app":"match","text":"x"})", "", 401, "missing push key"},
        {R"({"app":"match","text":"x"})", "wrong-key", 401, "wrong push key"},
        {R"({"app":"match","text":"x"})", im_key, 401, "wrong push key"}, // another app's key
        {R"({"app":"nosuch","text":"x"})", match_key, 404, "unknown app nosuch"},
        {"[]", match_key, 400, "empty batch"},
    };
    for (const auto& c : cases)
    {
        auto result = push(gateway->port(), c.body, c.key);
        EXPECT_EQ(result.status, c.status) << c.body;
        auto object = parseObject(result.body);
        EXPECT_EQ(object->getValue<int>("code"), c.status) << c.body;
        EXPECT_NE(object->getValue<std::string>("message").find(c.message_part), std::string::npos)
            << c.body << " -> " << result.body;
    }
    auto get = httpRequest(gateway->port(), "GET", "/push");
    EXPECT_EQ(get.status, 405);
    EXPECT_EQ(get.headers["Allow"], "POST");
}

// SPEC §5: push body over the limit -> 413, and the gateway goes on serving.
TEST(GatewayLimitsTest, OversizedPushBodyIs413)
{
    TestGateway gateway(TestGateway::Settings{
        {"push.max_body_bytes", "2048"}, {"push.require_key", "false"}, {"apps.unknown", "public"}});
    std::string text(4096, 'x');
    auto result = push(gateway.port(), R"({"app":"match","text":")" + text + "\"}", "");
    EXPECT_EQ(result.status, 413);
    EXPECT_NE(result.body.find("over the limit"), std::string::npos);
    EXPECT_EQ(push(gateway.port(), R"({"app":"match","text":"small"})", "").status, 202);
}

// SPEC §1 Push batch: 202 when all accepted, else 207 with per-item results.
TEST_F(GatewayProtocolTest, BatchPushReportsEachItem)
{
    auto a = anonymous();
    ASSERT_EQ(a->subscribe("match"), reply(200, "subscribe match success"));
    auto all = push(gateway->port(), R"([{"app":"match","text":"1"},{"app":"match","text":"2"}])", match_key);
    EXPECT_EQ(all.status, 202);
    EXPECT_EQ(a->receiveText(), R"({"app":"match","member_id":-1,"text":"1"})");
    EXPECT_EQ(a->receiveText(), R"({"app":"match","member_id":-1,"text":"2"})");

    auto mixed = push(gateway->port(),
                      R"([{"app":"match","text":"3"},{"app":"im","text":"x"},{"app":"match"},{"app":"zz","text":"x"}])",
                      match_key);
    EXPECT_EQ(mixed.status, 207);
    auto results = parseObject(mixed.body)->getArray("results");
    ASSERT_EQ(results->size(), 4u);
    EXPECT_EQ(results->getObject(0)->getValue<int>("code"), 202);
    EXPECT_EQ(results->getObject(0)->getValue<int>("recipients"), 1);
    EXPECT_EQ(results->getObject(1)->getValue<int>("code"), 401); // im needs im's key
    EXPECT_EQ(results->getObject(2)->getValue<int>("code"), 400);
    EXPECT_EQ(results->getObject(3)->getValue<int>("code"), 404);
    EXPECT_EQ(a->receiveText(), R"({"app":"match","member_id":-1,"text":"3"})");
}

// SPEC §1: push.require_key = false and apps.unknown = public reproduce the original.
TEST(GatewayCompatibilityTest, OpenSettingsBehaveLikeTheOriginal)
{
    TestGateway gateway(TestGateway::Settings{{"push.require_key", "false"}, {"apps.unknown", "public"}});
    WsClient client(gateway.port(), WsClient::Options::at("127.0.0.1", "/"));
    EXPECT_EQ(client.auth(-1, ""), reply(200, "hello stranger"));
    EXPECT_EQ(client.subscribe("anything"), reply(200, "subscribe anything success"));
    auto result = push(gateway.port(), R"({"app":"anything","member_id":-1,"text":"hi"})", "");
    EXPECT_EQ(result.status, 202);
    EXPECT_EQ(client.receiveText(), R"({"app":"anything","member_id":-1,"text":"hi"})");
    EXPECT_EQ(gateway.stat(), "anything 1\n");
}

// SPEC §1 stat: sorted, every registered app listed; §2 counting rules.
TEST_F(GatewayProtocolTest, StatCountsConnectionsForPublicAndMembersOtherwise)
{
    auto seven_a = member(7);
    auto seven_b = member(7);
    auto stranger = anonymous();
    for (auto* c : {seven_a.get(), seven_b.get(), stranger.get()})
        ASSERT_EQ(c->subscribe("match"), reply(200, "subscribe match success"));
    ASSERT_EQ(seven_a->subscribe("im"), reply(200, "subscribe im success"));
    ASSERT_EQ(seven_b->subscribe("im"), reply(200, "subscribe im success"));
    EXPECT_EQ(gateway->stat(), "im 1\nmatch 3\nvip 0\n");

    auto json = parseObject(httpRequest(gateway->statPort(), "GET", "/stat?format=json").body);
    EXPECT_EQ(json->getValue<int>("connections"), 3);
    EXPECT_EQ(json->getValue<int>("authenticated"), 2);
    EXPECT_EQ(json->getValue<int>("anonymous"), 1);
    auto apps = json->getArray("apps");
    ASSERT_EQ(apps->size(), 3u);
    EXPECT_EQ(apps->getObject(0)->getValue<std::string>("app"), "im");
    EXPECT_EQ(apps->getObject(0)->getValue<int>("connections"), 2);
    EXPECT_EQ(apps->getObject(0)->getValue<int>("subscribers"), 1);

    auto metrics = httpRequest(gateway->statPort(), "GET", "/metrics");
    EXPECT_EQ(metrics.status, 200);
    EXPECT_NE(metrics.body.find("wsgw_connections 3\n"), std::string::npos) << metrics.body;
    EXPECT_NE(metrics.body.find("wsgw_app_subscribers{app=\"match\"} 3\n"), std::string::npos);
    EXPECT_EQ(httpRequest(gateway->statPort(), "GET", "/healthz").status, 200);
    EXPECT_EQ(httpRequest(gateway->port(), "GET", "/healthz").status, 200);
    EXPECT_EQ(httpRequest(gateway->statPort(), "GET", "/nope").status, 404);
}

// RFC 6455 §4.2.2: a wrong version gets 426 naming the supported one.
TEST_F(GatewayProtocolTest, HandshakeErrors)
{
    auto upgrade = [&](const std::string& key, const std::string& version) {
        return rawRequest(gateway->port(),
                          "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: " +
                              key + "\r\nSec-WebSocket-Version: " + version + "\r\n\r\n",
                          1000);
    };
    auto wrong_version = upgrade("dGhlIHNhbXBsZSBub25jZQ==", "8");
    EXPECT_EQ(wrong_version.substr(0, 12), "HTTP/1.1 426") << wrong_version;
    EXPECT_NE(wrong_version.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos) << wrong_version;
    auto bad_key = upgrade("short", "13");
    EXPECT_EQ(bad_key.substr(0, 12), "HTTP/1.1 400") << bad_key;
    EXPECT_EQ(httpRequest(gateway->port(), "GET", "/").status, 426);
}

// RFC 6455 §5.5.2-3: pings are answered with the same payload.
TEST_F(GatewayProtocolTest, PingIsAnsweredWithPong)
{
    auto a = anonymous();
    a->sendFrame(wsgw::transport::Opcode::Ping, "abc");
    auto pong = a->receive();
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->kind, WsMessage::Kind::Pong);
    EXPECT_EQ(pong->payload, "abc");
}

// SPEC §1: the server pings idle connections and closes those silent for two intervals.
TEST(GatewayPingTest, IdleClientIsPingedThenClosed)
{
    TestGateway gateway(TestGateway::Settings{{"ws.ping_interval_ms", "200"}});
    WsClient client(gateway.port());
    EXPECT_EQ(client.auth(-1, ""), reply(200, "hello stranger"));
    auto ping = client.receive(3s);
    ASSERT_TRUE(ping);
    EXPECT_EQ(ping->kind, WsMessage::Kind::Ping);
    // Not answering: closed after two silent intervals.
    EXPECT_EQ(client.receiveClose(3s), 1008);
}

TEST(GatewayPingTest, ClientAnsweringPingsStaysConnected)
{
    TestGateway gateway(TestGateway::Settings{{"ws.ping_interval_ms", "100"}});
    WsClient client(gateway.port());
    EXPECT_EQ(client.auth(-1, ""), reply(200, "hello stranger"));
    auto until = std::chrono::steady_clock::now() + 1s; // ten intervals
    int pings = 0;
    while (std::chrono::steady_clock::now() < until)
    {
        auto message = client.receive(300ms);
        ASSERT_TRUE(message) << "connection ended";
        ASSERT_EQ(message->kind, WsMessage::Kind::Ping);
        client.sendFrame(wsgw::transport::Opcode::Pong, message->payload);
        ++pings;
    }
    EXPECT_GE(pings, 3);
}

// RFC 6455 §7.1: a client close is echoed and the server closes TCP.
TEST_F(GatewayProtocolTest, ClientCloseIsEchoed)
{
    auto a = anonymous();
    ASSERT_EQ(a->subscribe("match"), reply(200, "subscribe match success"));
    ASSERT_NE(gateway->stat().find("match 1\n"), std::string::npos); // so the check below can fail
    a->sendRaw(wsgw::transport::makeClientFrame(wsgw::transport::Opcode::Close, std::string("\x03\xe8", 2) + "bye", 1));
    EXPECT_EQ(a->receiveClose(), 1000);
    EXPECT_TRUE(a->waitForEof());
    EXPECT_TRUE(waitUntil([&] { return gateway->stat().find("match 0\n") != std::string::npos; }));
}

// SPEC §1: IPv4 and IPv6 on one dual-stack listener.
TEST(GatewayAddressTest, DualStackListenerServesIpv4AndIpv6)
{
    TestGateway gateway(TestGateway::Settings{{"server.address", "::"}});
    WsClient v4(gateway.port(), WsClient::Options::at("127.0.0.1"));
    EXPECT_EQ(v4.auth(-1, ""), reply(200, "hello stranger"));
    WsClient v6(gateway.port(), WsClient::Options::at("::1"));
    EXPECT_EQ(v6.auth(-1, ""), reply(200, "hello stranger"));
}
