// Protocol: byte-exact golden strings for every SPEC §1 reply, and strict
// decoding of client messages and push bodies.

#include "protocol/ClientMessage.h"
#include "protocol/JsonWriter.h"
#include "protocol/PushRequest.h"
#include "protocol/ServerMessage.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

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
        // SPEC §6: JWT session expiry and a re-auth for another member.
        {Reply::TokenExpired, "",
         R"({"app":"gateway","member_id":-1,"text":"{\"code\":401,\"message\":\"token expired\"}"})"},
        {Reply::BadAuthMessage, "",
         R"({"app":"gateway","member_id":-1,"text":"{\"code\":400,\"message\":\"bad auth message\"}"})"},
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

// SPEC §6 re-auth: after the first message, an auth message is told by its shape.
TEST(ClientMessageTest, AuthShapedMessages)
{
    for (const char* text : {R"({"member_id":42,"token":"t"})", R"({"member_id":-1,"token":""})", R"({"member_id":0})",
                             R"({"token":"t","member_id":"x"})", R"({"member_id":null})"})
        EXPECT_TRUE(isAuthShaped(text)) << text;
    for (const char* text : {R"({"app":"match"})", R"({"app":"match","member_id":42})", R"({"token":"t"})", "[]",
                             "not json", R"({"member_id":42)", ""})
        EXPECT_FALSE(isAuthShaped(text)) << text;
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

// Issue 9 item 4, SPEC §1 "JSON values round-trip exactly": every int64 member_id
// is decoded exactly, in pushes and in auth messages, however far beyond 2^53.
TEST(PushRequestTest, MemberIdsRoundTripExactlyAcrossInt64)
{
    const int64_t ids[] = {-1152921504606846977,
                           -9007199254740993,
                           -9223372036854775807,
                           std::numeric_limits<int64_t>::min(),
                           std::numeric_limits<int64_t>::max(),
                           9007199254740993,
                           -1,
                           0,
                           1};
    for (int64_t id : ids)
    {
        auto body = decodePushBody(R"({"app":"m","member_id":)" + std::to_string(id) + R"(,"text":"x"})");
        ASSERT_TRUE(body.ok) << id;
        ASSERT_TRUE(body.items[0].ok) << id << ": " << body.items[0].error;
        EXPECT_EQ(body.items[0].push.member_id, id);
        EXPECT_EQ(serverMessage("m", body.items[0].push.member_id, "x"),
                  R"({"app":"m","member_id":)" + std::to_string(id) + R"(,"text":"x"})");
    }
}

TEST(ClientMessageTest, AuthMemberIdsAreExactAcrossInt64)
{
    auto max = parseAuth(R"({"member_id":9223372036854775807,"token":"t"})");
    EXPECT_EQ(max.kind, AuthRequest::Kind::Member);
    EXPECT_EQ(max.member_id, std::numeric_limits<int64_t>::max());
    for (int64_t id : {int64_t{-9007199254740993}, int64_t{-1152921504606846977}, int64_t{-9223372036854775807},
                       std::numeric_limits<int64_t>::min()})
    {
        auto auth = parseAuth(R"({"member_id":)" + std::to_string(id) + R"(,"token":""})");
        EXPECT_EQ(auth.kind, AuthRequest::Kind::Anonymous) << id;
        EXPECT_EQ(auth.member_id, id);
    }
}

// Issue 9 item 4: the decoders on the edges the strict reader draws.
TEST(PushRequestTest, MemberIdEdgeCases)
{
    struct Case
    {
        const char* member_id;
        bool ok;
        int64_t value;
    };
    const Case cases[] = {
        {"-0", true, 0}, // an integer: 0, a broadcast like -1
        {"null", true, -1},
        {"9223372036854775808", false, 0},
        {"-9223372036854775809", false, 0},
        {"1e3", false, 0},
        {"1.0", false, 0},
        {R"("123")", false, 0},
        {"true", false, 0},
        {"[1]", false, 0},
    };
    for (const auto& c : cases)
    {
        auto body = decodePushBody(std::string(R"({"app":"m","text":"x","member_id":)") + c.member_id + "}");
        ASSERT_TRUE(body.ok) << c.member_id;
        EXPECT_EQ(body.items[0].ok, c.ok) << c.member_id;
        if (c.ok)
            EXPECT_EQ(body.items[0].push.member_id, c.value) << c.member_id;
        else
            EXPECT_EQ(body.items[0].error, "field 'member_id' must be an integer within int64") << c.member_id;
    }
    EXPECT_EQ(parseAuth(R"({"member_id":-0,"token":"x"})").kind, AuthRequest::Kind::Missing);
}

// The text arrives decoded (escapes, surrogate pairs) and goes out re-serialised, equal as JSON.
TEST(PushRequestTest, TextIsDecodedAndReserialised)
{
    auto body = decodePushBody(
        R"({"app":"m","text":"\"q\" \\ \/ \n \u00e9 \ud83d\ude00 \u0001","member_id":-9223372036854775808})");
    ASSERT_TRUE(body.ok);
    ASSERT_TRUE(body.items[0].ok) << body.items[0].error;
    EXPECT_EQ(body.items[0].push.text, "\"q\" \\ / \n \xC3\xA9 \xF0\x9F\x98\x80 \x01");
    EXPECT_EQ(serverMessage("m", body.items[0].push.member_id, body.items[0].push.text),
              "{\"app\":\"m\",\"member_id\":-9223372036854775808,\"text\":\"\\\"q\\\" \\\\ / \\n \xC3\xA9 "
              "\xF0\x9F\x98\x80 \\u0001\"}");
}

// The whole body is refused when any of it is not strict JSON, batches included.
TEST(PushRequestTest, InvalidJsonAnywhereRefusesTheBody)
{
    const std::string bad[] = {
        R"({"app":"m","text":"x"} trailing)",
        R"({"app":"m","text":"x",})",
        R"([{"app":"m","text":"x"},])",
        R"([{"app":"m","text":"x"},{"app":"m","text":"\ud800"}])",
        "[{\"app\":\"m\",\"text\":\"\xFF\"}]",
        R"({"app":"m","text":"x","member_id":01})",
        R"({"app":"m","text":"x","extra":[1,2,}]})",
        R"([{"app":"m","text":"x"})",
        R"({"app":"m","text":"x"} // comment)",
        "",
    };
    for (const auto& text : bad)
    {
        auto body = decodePushBody(text);
        EXPECT_FALSE(body.ok) << text;
        EXPECT_TRUE(body.items.empty()) << text;
        EXPECT_EQ(body.error, "body is not valid JSON (UTF-8, nesting up to 16)") << text;
    }
}

// Unknown keys may hold any JSON value, nested up to the limit (the body's own levels count).
TEST(PushRequestTest, UnknownKeysOfAnyTypeAreSkipped)
{
    auto single = decodePushBody(R"({"app":"m","x":{"a":[1,true,null,"s",{"b":-1.5e3}]},"text":"t","y":[]})");
    ASSERT_TRUE(single.ok);
    ASSERT_TRUE(single.items[0].ok);
    EXPECT_EQ(single.items[0].push.text, "t");
    auto nested = [](size_t arrays) { return std::string(arrays, '[') + std::string(arrays, ']'); };
    // The object is level 1, so 15 arrays inside it reach 16.
    EXPECT_TRUE(decodePushBody(R"({"app":"m","text":"t","x":)" + nested(15) + "}").ok);
    EXPECT_FALSE(decodePushBody(R"({"app":"m","text":"t","x":)" + nested(16) + "}").ok);
    // In a batch the array is level 1 and each object level 2.
    EXPECT_TRUE(decodePushBody(R"([{"app":"m","text":"t","x":)" + nested(14) + "}]").ok);
    EXPECT_FALSE(decodePushBody(R"([{"app":"m","text":"t","x":)" + nested(15) + "}]").ok);
}

// Valid JSON that is not a push object is a bad item, in a batch as alone.
TEST(PushRequestTest, NonObjectsAreBadItems)
{
    for (const char* text : {"5", R"("push")", "null"})
    {
        auto body = decodePushBody(text);
        ASSERT_TRUE(body.ok) << text;
        ASSERT_EQ(body.items.size(), 1u);
        EXPECT_EQ(body.items[0].error, "a push must be a JSON object with app, text and optional member_id");
    }
    auto batch = decodePushBody(R"([1,"x",[],{"app":"m","text":"t"},null])");
    ASSERT_TRUE(batch.ok);
    ASSERT_EQ(batch.items.size(), 5u);
    EXPECT_FALSE(batch.items[2].ok);
    EXPECT_TRUE(batch.items[3].ok);
    EXPECT_FALSE(batch.items[4].ok);
    // Duplicate keys: the last one wins.
    auto twice = decodePushBody(R"({"app":"a","app":"b","text":"t","member_id":1,"member_id":2})");
    ASSERT_TRUE(twice.items[0].ok);
    EXPECT_EQ(twice.items[0].push.app, "b");
    EXPECT_EQ(twice.items[0].push.member_id, 2);
}

TEST(ClientMessageTest, StrictJsonAndExtraKeys)
{
    auto extra = parseAuth(R"( {"member_id":7,"meta":{"k":[1,2]},"token":"t\u0041"} )");
    EXPECT_EQ(extra.kind, AuthRequest::Kind::Member);
    EXPECT_EQ(extra.token, "tA");
    for (const char* text : {R"({"member_id":7,"token":"t",})", R"({"member_id":07,"token":"t"})",
                             R"({"member_id":7,"token":"\ud800"})", "{\"member_id\":7,\"token\":\"\xC0\xAF\"}"})
        EXPECT_EQ(parseAuth(text).kind, AuthRequest::Kind::Missing) << text;
    EXPECT_EQ(parseSubscribe(R"({"app":"match","app":"im"})").app, "im");
    EXPECT_EQ(parseSubscribe(R"({"app":"match",})").action, SubscribeRequest::Action::Bad);
    EXPECT_EQ(parseSubscribe(R"({"app":"m\u0061tch"})").app, "match");
}

// SPEC §7: publish needs a text; rpc a seqno of at most 64 characters (text may be absent).
TEST(ClientMessageTest, PublishAndRpcForms)
{
    auto publish = parseSubscribe(R"({"app":"chat","action":"publish","text":"hi \"you\""})");
    EXPECT_EQ(publish.action, SubscribeRequest::Action::Publish);
    EXPECT_EQ(publish.app, "chat");
    EXPECT_EQ(publish.text, "hi \"you\"");
    EXPECT_EQ(parseSubscribe(R"({"app":"chat","action":"publish"})").action, SubscribeRequest::Action::Bad);
    EXPECT_EQ(parseSubscribe(R"({"app":"chat","action":"publish","text":1})").action, SubscribeRequest::Action::Bad);
    auto rpc = parseSubscribe(R"({"app":"x","action":"rpc","seqno":"42","text":"cmd"})");
    EXPECT_EQ(rpc.action, SubscribeRequest::Action::Rpc);
    EXPECT_EQ(rpc.seqno, "42");
    EXPECT_EQ(rpc.text, "cmd");
    EXPECT_EQ(parseSubscribe(R"({"app":"x","action":"rpc","seqno":"1"})").action, SubscribeRequest::Action::Rpc);
    EXPECT_EQ(parseSubscribe(R"({"app":"x","action":"rpc","text":"cmd"})").action, SubscribeRequest::Action::Bad);
    EXPECT_EQ(parseSubscribe(R"({"app":"x","action":"rpc","seqno":7,"text":"cmd"})").action,
              SubscribeRequest::Action::Bad);
    EXPECT_EQ(parseSubscribe(R"({"app":"x","action":"rpc","seqno":")" + std::string(64, 's') + R"("})").action,
              SubscribeRequest::Action::Rpc);
    EXPECT_EQ(parseSubscribe(R"({"app":"x","action":"rpc","seqno":")" + std::string(65, 's') + R"("})").action,
              SubscribeRequest::Action::Bad);
}

// SPEC §7: the RPC frame keeps the original's three keys first.
TEST(ServerMessageTest, RpcReplyShape)
{
    EXPECT_EQ(rpcReply("x", 42, "a\"b", "s-1", 200),
              R"({"app":"x","member_id":42,"text":"a\"b","seqno":"s-1","code":200})");
    EXPECT_EQ(rpcReply("x", -1, "", "9", 504), R"({"app":"x","member_id":-1,"text":"","seqno":"9","code":504})");
    EXPECT_EQ(
        gatewayReply(Reply::PublishTooFast, "chat"),
        R"({"app":"gateway","member_id":-1,"text":"{\"code\":429,\"message\":\"publish chat refused: too many messages\"}"})");
}
