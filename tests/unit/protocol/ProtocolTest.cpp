// Protocol: byte-exact golden strings for every SPEC §1 reply, and strict
// decoding of client messages and push bodies.

#include "protocol/ClientMessage.h"
#include "protocol/JsonWriter.h"
#include "protocol/PushRequest.h"
#include "protocol/ServerMessage.h"

#include <gtest/gtest.h>

using namespace wsgw::protocol;

// SPEC §1 Server → client: every gateway reply, byte for byte.
TEST(ServerMessageTest, GatewayRepliesMatchTheOriginalByteForByte)
{
    struct Case
    {
        Reply reply;
        const char* subject;
        const char* expected;
    };
    const Case cases[] = {
        {Reply::MissingAuth, "",
         R"({"app":"gateway","member_id":-1,"text":"{\"code\":400,\"message\":\"missing auth message\"}"})"},
        {Reply::HelloStranger, "",
         R"({"app":"gateway","member_id":-1,"text":"{\"code\":200,\"message\":\"hello stranger\"}"})"},
        {Reply::HelloMember, "123456",
         R"({"app":"gateway","member_id":-1,"text":"{\"code\":200,\"message\":\"hello 123456\"}"})"},
        {Reply::Unauthorized, "",
         R"({"app":"gateway","member_id":-1,"text":"{\"code\":401,\"message\":\"unauthorized\"}"})"},
        {Reply::BadSubscribe, "",
         R"({"app":"gateway","member_id":-1,"text":"{\"code\":400,\"message\":\"bad subscribe message\"}"})"},
        {Reply::SubscribeSuccess, "match",
         R"({"app":"gateway","member_id":-1,"text":"{\"code\":200,\"message\":\"subscribe match success\"}"})"},
        {Reply::SubscribeForbidden, "im",
         R"({"app":"gateway","member_id":-1,"text":"{\"code\":403,\"message\":\"subscribe im forbidden\"}"})"},
        {Reply::SubscribeNotFound, "nosuch",
         R"({"app":"gateway","member_id":-1,"text":"{\"code\":404,\"message\":\"subscribe nosuch not found\"}"})"},
        {Reply::UnsubscribeSuccess, "match",
         R"({"app":"gateway","member_id":-1,"text":"{\"code\":200,\"message\":\"unsubscribe match success\"}"})"},
    };
    for (const auto& c : cases)
        EXPECT_EQ(gatewayReply(c.reply, c.subject), c.expected);
}

// SPEC §1 Push: subscribers receive the push's three fields in that key order.
TEST(ServerMessageTest, PushKeepsKeyOrderAndEscapesText)
{
    EXPECT_EQ(serverMessage("match", -1, R"({"hello":"world"})"),
              R"({"app":"match","member_id":-1,"text":"{\"hello\":\"world\"}"})");
    EXPECT_EQ(serverMessage("im", 42, "line\nnext\t\x01 é"),
              "{\"app\":\"im\",\"member_id\":42,\"text\":\"line\\nnext\\t\\u0001 é\"}");
}

TEST(JsonWriterTest, NestsAndSeparates)
{
    JsonWriter json;
    json.beginObject().key("a").value(1).key("b").beginArray().value("x").value(true).null().endArray();
    json.key("c").beginObject().endObject().endObject();
    EXPECT_EQ(json.str(), R"({"a":1,"b":["x",true,null],"c":{}})");
}

TEST(ClientMessageTest, AuthForms)
{
    auto member = parseAuth(R"({"member_id":123456,"token":"654321"})");
    EXPECT_EQ(member.kind, AuthRequest::Kind::Member);
    EXPECT_EQ(member.member_id, 123456);
    EXPECT_EQ(member.token, "654321");
    EXPECT_EQ(parseAuth(R"({"member_id":-1,"token":""})").kind, AuthRequest::Kind::Anonymous);
    EXPECT_EQ(parseAuth(R"({"member_id":-1})").kind, AuthRequest::Kind::Anonymous);
    auto no_token = parseAuth(R"({"member_id":5})");
    EXPECT_EQ(no_token.kind, AuthRequest::Kind::Member);
    EXPECT_TRUE(no_token.token.empty());
}

// SPEC §1: not JSON, member_id absent or 0 -> missing auth message. Types are strict.
TEST(ClientMessageTest, MissingAuthCases)
{
    const char* cases[] = {
        "",
        "hello",
        "[]",
        "{}",
        R"({"member_id":0,"token":"x"})",
        R"({"token":"x"})",
        R"({"member_id":"123","token":"x"})",
        R"({"member_id":1.5,"token":"x"})",
        R"({"member_id":1e3,"token":"x"})",
        R"({"member_id":true,"token":"x"})",
        R"({"member_id":18446744073709551617,"token":"x"})",
        R"({"member_id":9223372036854775808,"token":"x"})",
        R"({"member_id":-9223372036854775809,"token":"x"})",
        R"({"member_id":5,"token":5})",
        R"({"member_id":5,"token":"x"} trailing)",
        R"({"app":"match"})",
    };
    for (const char* text : cases)
        EXPECT_EQ(parseAuth(text).kind, AuthRequest::Kind::Missing) << text;
}

TEST(ClientMessageTest, SubscribeForms)
{
    auto sub = parseSubscribe(R"({"app":"match"})");
    EXPECT_EQ(sub.action, SubscribeRequest::Action::Subscribe);
    EXPECT_EQ(sub.app, "match");
    auto unsub = parseSubscribe(R"({"app":"match","action":"unsubscribe"})");
    EXPECT_EQ(unsub.action, SubscribeRequest::Action::Unsubscribe);
    EXPECT_EQ(parseSubscribe(R"({"app":"m","action":"subscribe"})").action, SubscribeRequest::Action::Subscribe);
    const char* bad[] = {"",
                         "x",
                         "[]",
                         "{}",
                         R"({"app":""})",
                         R"({"app":5})",
                         R"({"app":"a b"})",
                         R"({"app":"m","action":"explode"})",
                         R"({"app":"m","action":1})"};
    for (const char* text : bad)
        EXPECT_EQ(parseSubscribe(text).action, SubscribeRequest::Action::Bad) << text;
}

TEST(PushRequestTest, SingleAndBatch)
{
    auto single = decodePushBody(R"({"app":"match","member_id":-1,"text":"{\"hello\":\"world\"}"})");
    ASSERT_TRUE(single.ok);
    EXPECT_FALSE(single.batch);
    ASSERT_EQ(single.items.size(), 1u);
    EXPECT_TRUE(single.items[0].ok);
    EXPECT_EQ(single.items[0].push.text, R"({"hello":"world"})");
    EXPECT_FALSE(single.items[0].push.targetsMember());

    auto absent = decodePushBody(R"({"app":"match","text":"x"})");
    EXPECT_EQ(absent.items[0].push.member_id, -1); // absent member_id is a broadcast, sent as -1

    auto batch = decodePushBody(R"([{"app":"a","text":"1","member_id":7},{"app":"a"},5])");
    ASSERT_TRUE(batch.ok);
    EXPECT_TRUE(batch.batch);
    ASSERT_EQ(batch.items.size(), 3u);
    EXPECT_TRUE(batch.items[0].ok);
    EXPECT_TRUE(batch.items[0].push.targetsMember());
    EXPECT_EQ(batch.items[1].error, "missing field 'text'");
    EXPECT_FALSE(batch.items[2].ok);
}

TEST(PushRequestTest, BadBodiesSayWhatIsWrong)
{
    EXPECT_FALSE(decodePushBody("not json").ok);
    EXPECT_FALSE(decodePushBody("[]").ok);
    EXPECT_FALSE(decodePushBody(std::string(100, '[') + std::string(100, ']')).ok); // nesting limit
    struct Case
    {
        const char* body;
        const char* error;
    };
    const Case cases[] = {
        {R"({"text":"x"})", "missing field 'app'"},
        {R"({"app":"m"})", "missing field 'text'"},
        {R"({"app":1,"text":"x"})", "field 'app' must be a string"},
        {R"({"app":"m","text":{"a":1}})", "field 'text' must be a string"},
        {R"({"app":"m","text":"x","member_id":"5"})", "field 'member_id' must be an integer within int64"},
        {R"({"app":"m","text":"x","member_id":18446744073709551617})",
         "field 'member_id' must be an integer within int64"},
    };
    for (const auto& c : cases)
    {
        auto body = decodePushBody(c.body);
        ASSERT_TRUE(body.ok) << c.body;
        EXPECT_FALSE(body.items[0].ok) << c.body;
        EXPECT_EQ(body.items[0].error, c.error) << c.body;
    }
}
