// http::PushService without sockets (SPEC §1 "Push"): what is checked before
// delivery, what is framed, and the reply bytes for each outcome.

#include "http/PushService.h"

#include "transport/FrameWriter.h"

#include <gtest/gtest.h>

using wsgw::http::PushService;

namespace {

struct Fixture
{
    Fixture()
    {
        wsgw::store::Snapshot::App match;
        match.push_key_hash = wsgw::store::sha256("match-key");
        snapshot.apps["match"] = match;
        wsgw::store::Snapshot::App other;
        other.push_key_hash = wsgw::store::sha256("other-key");
        snapshot.apps["other"] = other;
    }

    wsgw::config::Settings settings;
    wsgw::hub::Metrics metrics;
    wsgw::store::Snapshot snapshot;
};

} // namespace

TEST(PushServiceTest, AcceptedPushIsFramedOnceAndCounted)
{
    Fixture f;
    PushService service(f.settings, f.metrics, std::nullopt);
    auto prepared = service.prepare(R"({"app":"match","member_id":-1,"text":"hi"})", "match-key", f.snapshot);
    ASSERT_FALSE(prepared.immediate);
    ASSERT_EQ(prepared.pushes.size(), 1u);
    EXPECT_EQ(prepared.pushes[0].app, "match");
    EXPECT_EQ(prepared.pushes[0].member_id, -1);
    EXPECT_EQ(*prepared.pushes[0].frame, wsgw::transport::makeFrame(wsgw::transport::Opcode::Text,
                                                                    R"({"app":"match","member_id":-1,"text":"hi"})"));
    auto reply = service.finish(prepared, {3});
    EXPECT_EQ(reply.status, 202);
    EXPECT_EQ(reply.body, R"({"code":202,"message":"queued for 3 connections","recipients":3})");
    EXPECT_EQ(service.finish(prepared, {1}).body, R"({"code":202,"message":"queued for 1 connection","recipients":1})");
}

TEST(PushServiceTest, EachRefusalHasItsStatusAndMessage)
{
    Fixture f;
    PushService service(f.settings, f.metrics, std::nullopt);
    struct Case
    {
        const char* body;
        const char* key;
        int status;
        const char* message;
    };
    const Case cases[] = {
        {"not json", "match-key", 400, "body is not valid JSON"},
        {R"({"text":"x"})", "match-key", 400, "missing field 'app'"},
        {R"({"app":"match"})", "match-key", 400, "missing field 'text'"},
        {R"({"app":"nosuch","text":"x"})", "match-key", 404, "unknown app nosuch"},
        {R"({"app":"match","text":"x"})", "", 401, "missing push key"},
        {R"({"app":"match","text":"x"})", "other-key", 401, "wrong push key for app match"},
        {"[]", "match-key", 400, "empty batch"},
    };
    for (const auto& c : cases)
    {
        auto prepared = service.prepare(c.body, c.key, f.snapshot);
        EXPECT_TRUE(prepared.pushes.empty()) << c.body;
        auto reply = service.finish(prepared, {});
        EXPECT_EQ(reply.status, c.status) << c.body;
        EXPECT_NE(reply.body.find(c.message), std::string::npos) << reply.body;
        EXPECT_EQ(reply.body.rfind(R"({"code":)" + std::to_string(c.status) + R"(,"message":")", 0), 0u) << reply.body;
    }
}

// SPEC §1: a batch is checked item by item under the request's key; 207 when any item fails.
TEST(PushServiceTest, BatchReportsEveryItemInOrder)
{
    Fixture f;
    PushService service(f.settings, f.metrics, std::nullopt);
    auto prepared = service.prepare(
        R"([{"app":"match","text":"a"},{"app":"other","text":"b"},{"app":"match","member_id":7,"text":"c"}])",
        "match-key", f.snapshot);
    ASSERT_EQ(prepared.pushes.size(), 2u);
    EXPECT_EQ(prepared.pushes[1].member_id, 7);
    auto reply = service.finish(prepared, {4, 1});
    EXPECT_EQ(reply.status, 207);
    EXPECT_EQ(reply.body, R"x({"code":207,"message":"2 of 3 pushes accepted","results":[{"code":202,"recipients":4},)x"
                          R"x({"code":401,"message":"wrong push key for app other (wsgw-admin app rotate-key other )x"
                          R"x(makes a new one)"},{"code":202,"recipients":1}]})x");
    EXPECT_EQ(wsgw::hub::Metrics::get(f.metrics.pushes_accepted), 2u);
    EXPECT_EQ(wsgw::hub::Metrics::get(f.metrics.pushes_rejected), 1u);
}

// wsgw-admin push: the per-start admin key works for every app; no key is needed when the check is off.
TEST(PushServiceTest, AdminKeyAndOpenSettings)
{
    Fixture f;
    PushService with_admin(f.settings, f.metrics, wsgw::store::sha256("admin"));
    EXPECT_EQ(with_admin.prepare(R"({"app":"other","text":"x"})", "admin", f.snapshot).pushes.size(), 1u);
    f.settings.push_require_key = false;
    PushService open(f.settings, f.metrics, std::nullopt);
    EXPECT_EQ(open.prepare(R"({"app":"match","text":"x"})", "", f.snapshot).pushes.size(), 1u);
}
