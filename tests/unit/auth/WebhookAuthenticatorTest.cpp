// What the authorizer is sent and what its answers mean (SPEC §6), without a
// network: WebhookAuthenticator::requestBody and ::interpret.

#include "auth/WebhookAuthenticator.h"

#include "auth/Authenticator.h"

#include <gtest/gtest.h>

using namespace wsgw::auth;
using wsgw::outbound::CallResult;

namespace {

CallResult answered(int status, std::string body = {})
{
    CallResult r;
    r.outcome = CallResult::Outcome::Answered;
    r.status = status;
    r.body = std::move(body);
    return r;
}

} // namespace

TEST(WebhookAuthenticatorTest, RequestBodyHasTheFourMembers)
{
    Login login;
    login.member_id = -9223372036854775807LL;
    login.token = "t\"o\\k";
    login.address = "2001:db8::1";
    std::string headers = R"({"user-agent":"x"})";
    login.headers = &headers;
    EXPECT_EQ(
        WebhookAuthenticator::requestBody(login),
        R"({"member_id":-9223372036854775807,"token":"t\"o\\k","address":"2001:db8::1","headers":{"user-agent":"x"}})");
    login.headers = nullptr;
    EXPECT_EQ(WebhookAuthenticator::requestBody(login),
              R"({"member_id":-9223372036854775807,"token":"t\"o\\k","address":"2001:db8::1","headers":{}})");
}

TEST(WebhookAuthenticatorTest, TwoHundredAccepts)
{
    for (const std::string body : {"", "  \n", "{}", R"({"other":1})"})
    {
        auto v = WebhookAuthenticator::interpret(answered(200, body));
        EXPECT_EQ(v.status, Verdict::Status::Accepted) << body;
        EXPECT_TRUE(v.apps.empty()) << body;
        EXPECT_EQ(v.token_id, 0) << body;
        EXPECT_EQ(v.expires_at_ms, 0) << body;
    }
    auto v = WebhookAuthenticator::interpret(answered(200, R"({"apps":["vip","a","vip"]})"));
    EXPECT_EQ(v.status, Verdict::Status::Accepted);
    EXPECT_EQ(v.apps, (std::vector<std::string>{"a", "vip"}));
}

TEST(WebhookAuthenticatorTest, UnreadableGrantsAreUnavailable)
{
    for (const std::string body :
         {"not json", "[1]", R"({"apps":"vip"})", R"({"apps":[1]})", R"({"apps":["bad name"]})"})
        EXPECT_EQ(WebhookAuthenticator::interpret(answered(200, body)).status, Verdict::Status::Unavailable) << body;
}

TEST(WebhookAuthenticatorTest, StatusesMeanWhatSpecSays)
{
    for (int status : {401, 403, 404})
        EXPECT_EQ(WebhookAuthenticator::interpret(answered(status)).status, Verdict::Status::Rejected) << status;
    for (int status : {201, 204, 301, 400, 429, 500, 502, 503})
        EXPECT_EQ(WebhookAuthenticator::interpret(answered(status)).status, Verdict::Status::Unavailable) << status;
    CallResult timeout;
    timeout.outcome = CallResult::Outcome::TimedOut;
    EXPECT_EQ(WebhookAuthenticator::interpret(timeout).status, Verdict::Status::Unavailable);
    CallResult failed;
    failed.outcome = CallResult::Outcome::Failed;
    EXPECT_EQ(WebhookAuthenticator::interpret(failed).status, Verdict::Status::Unavailable);
}

namespace {

/// A method that answers with a fixed verdict, or later (nullopt) when PENDING.
class Fixed : public Authenticator
{
public:
    Fixed(Verdict::Status status, bool pending = false) : status_(status), pending_(pending) {}
    std::optional<Verdict> check(const Login&, const Later&) override
    {
        ++calls;
        if (pending_)
            return std::nullopt;
        Verdict v;
        v.status = status_;
        v.reason = "fixed";
        return v;
    }
    int calls = 0;

private:
    Verdict::Status status_;
    bool pending_;
};

} // namespace

TEST(AuthenticatorsTest, FirstMethodThatDoesNotRejectDecides)
{
    Authenticators chain;
    auto first = std::make_unique<Fixed>(Verdict::Status::Rejected);
    auto second = std::make_unique<Fixed>(Verdict::Status::Accepted);
    auto third = std::make_unique<Fixed>(Verdict::Status::Unavailable);
    auto *a = first.get(), *b = second.get(), *c = third.get();
    chain.add(std::move(first));
    chain.add(std::move(second));
    chain.add(std::move(third));
    auto v = chain.check(Login{}, [](Verdict&&) {});
    ASSERT_TRUE(v);
    EXPECT_EQ(v->status, Verdict::Status::Accepted);
    EXPECT_EQ(a->calls, 1);
    EXPECT_EQ(b->calls, 1);
    EXPECT_EQ(c->calls, 0);
}

TEST(AuthenticatorsTest, AllRejectOrOneAnswersLater)
{
    Authenticators rejecting;
    rejecting.add(std::make_unique<Fixed>(Verdict::Status::Rejected));
    rejecting.add(std::make_unique<Fixed>(Verdict::Status::Rejected));
    auto v = rejecting.check(Login{}, [](Verdict&&) {});
    ASSERT_TRUE(v);
    EXPECT_EQ(v->status, Verdict::Status::Rejected);
    Authenticators later;
    later.add(std::make_unique<Fixed>(Verdict::Status::Rejected));
    later.add(std::make_unique<Fixed>(Verdict::Status::Accepted, true));
    EXPECT_FALSE(later.check(Login{}, [](Verdict&&) {}));
}
