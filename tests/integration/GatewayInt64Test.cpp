// The real wsgw binary with member ids at and near the ends of int64 (issue 9
// item 4): SPEC §1 "JSON values round-trip exactly", so a push's member_id
// reaches subscribers byte for byte and a member id that is INT64_MAX logs in.

#include "support/Http.h"
#include "support/TestGateway.h"
#include "support/Wait.h"
#include "support/WsClient.h"

#include <gtest/gtest.h>

#include <string>

using namespace wsgw::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* kInt64Max = "9223372036854775807";

/// A push body with MEMBER_ID written exactly as given (no int64 in between).
std::string pushWithMember(const std::string& member_id, const std::string& text)
{
    return R"({"app":"match","member_id":)" + member_id + R"(,"text":")" + text + "\"}";
}

/// What a subscriber of match receives for that push: the same bytes in the SPEC key order.
std::string deliveredWithMember(const std::string& member_id, const std::string& text)
{
    return R"({"app":"match","member_id":)" + member_id + R"(,"text":")" + text + "\"}";
}

/// A gateway with the public app match and the stored member INT64_MAX.
class GatewayInt64Test : public ::testing::Test
{
protected:
    void SetUp() override
    {
        gateway = std::make_unique<TestGateway>();
        match_key = gateway->addApp("match");
        auto added = gateway->admin({"member", "add", kInt64Max, "--token", "token-of-max-xyz"});
        ASSERT_EQ(added.exit_code, 0) << added.err;
    }

    std::unique_ptr<WsClient> subscribedStranger()
    {
        auto client = std::make_unique<WsClient>(gateway->port());
        EXPECT_EQ(client->auth(-1, ""), reply(200, "hello stranger"));
        EXPECT_EQ(client->subscribe("match"), reply(200, "subscribe match success"));
        return client;
    }

    std::unique_ptr<TestGateway> gateway;
    std::string match_key;
};

} // namespace

// SPEC §1 Push: a negative member_id is a broadcast, delivered with member_id as
// sent, however far it is beyond what a double holds exactly (2^53).
TEST_F(GatewayInt64Test, NegativeMemberIdsReachSubscribersExactly)
{
    auto a = subscribedStranger();
    auto b = subscribedStranger();
    const char* ids[] = {"-1152921504606846977", "-9007199254740993", "-9223372036854775807", "-9223372036854775808"};
    for (const char* id : ids)
    {
        auto result = push(gateway->port(), pushWithMember(id, id), match_key);
        EXPECT_EQ(result.status, 202) << id << " -> " << result.body;
        if (result.status != 202)
            continue;
        EXPECT_EQ(a->receiveText(), deliveredWithMember(id, id));
        EXPECT_EQ(b->receiveText(), deliveredWithMember(id, id));
    }
}

// SPEC §1 Push: a member_id beyond int64 is a wrong type (400), not a clamped or wrapped id.
TEST_F(GatewayInt64Test, MemberIdBeyondInt64IsRefused)
{
    auto a = subscribedStranger();
    for (const char* id : {"9223372036854775808", "-9223372036854775809", "18446744073709551617"})
    {
        auto result = push(gateway->port(), pushWithMember(id, "x"), match_key);
        EXPECT_EQ(result.status, 400) << id;
        EXPECT_NE(result.body.find("field 'member_id' must be an integer within int64"), std::string::npos)
            << id << " -> " << result.body;
    }
    EXPECT_FALSE(a->receive(200ms));
}

// SPEC §2: a member id is a positive 64-bit integer, INT64_MAX included: it logs in
// and a push targeted at it reaches only that member.
TEST_F(GatewayInt64Test, MemberInt64MaxLogsInAndReceivesItsPushes)
{
    WsClient max_member(gateway->port());
    max_member.sendText(std::string(R"({"member_id":)") + kInt64Max + R"(,"token":"token-of-max-xyz"})");
    EXPECT_EQ(max_member.receiveText(), reply(200, std::string("hello ") + kInt64Max));
    EXPECT_EQ(max_member.subscribe("match"), reply(200, "subscribe match success"));
    auto stranger = subscribedStranger();

    auto result = push(gateway->port(), pushWithMember(kInt64Max, "for max"), match_key);
    EXPECT_EQ(result.status, 202) << result.body;
    EXPECT_EQ(max_member.receiveText(), deliveredWithMember(kInt64Max, "for max"));
    EXPECT_FALSE(stranger->receive(200ms));

    WsClient wrong(gateway->port());
    wrong.sendText(std::string(R"({"member_id":)") + kInt64Max + R"(,"token":"wrong"})");
    EXPECT_EQ(wrong.receiveText(), reply(401, "unauthorized"));
}

// SPEC §1 Client → server: any negative member_id is the anonymous form, INT64_MIN
// included; beyond int64 it is not a member id at all (missing auth message).
TEST_F(GatewayInt64Test, AuthWithExtremeNegativeIdsIsAnonymous)
{
    for (const char* id : {"-9007199254740993", "-9223372036854775807", "-9223372036854775808"})
    {
        WsClient client(gateway->port());
        client.sendText(std::string(R"({"member_id":)") + id + R"(,"token":""})");
        EXPECT_EQ(client.receiveText(), reply(200, "hello stranger")) << id;
    }
    WsClient beyond(gateway->port());
    beyond.sendText(R"({"member_id":-9223372036854775809,"token":""})");
    EXPECT_EQ(beyond.receiveText(), reply(400, "missing auth message"));
    EXPECT_EQ(beyond.receiveClose(), 1008);
}
