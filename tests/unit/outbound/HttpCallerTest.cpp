// outbound::HttpCaller against real HTTP(S) servers on port 0: answers,
// kept-alive connections, the deadline, refused connections, the in-flight
// bound, a stale kept-alive connection, oversized answers, and TLS
// verification (a test CA, and a certificate for another name).

#include "outbound/HttpCaller.h"

#include "outbound/AppBackends.h"
#include "support/Process.h"
#include "support/TempDir.h"
#include "support/WebhookServer.h"

#include <gtest/gtest.h>

#include <future>
#include <stdexcept>
#include <thread>

using namespace wsgw::outbound;
using namespace wsgw::test;
using namespace std::chrono_literals;

namespace {

Call post(const std::string& url, std::string body = "{}", std::chrono::milliseconds timeout = 2000ms)
{
    Call call;
    call.endpoint = std::make_shared<const Endpoint>(Endpoint::parse(url));
    call.body = std::move(body);
    call.timeout = timeout;
    return call;
}

/// Submits CALL and waits for its result (the test's thread may block; a loop never does).
CallResult callAndWait(HttpCaller& caller, Call call)
{
    auto promise = std::make_shared<std::promise<CallResult>>();
    auto future = promise->get_future();
    if (!caller.submit(std::move(call), [promise](CallResult&& result) { promise->set_value(std::move(result)); }))
        throw std::runtime_error("refused");
    if (future.wait_for(10s) != std::future_status::ready)
        throw std::runtime_error("no result within 10 s");
    return future.get();
}

HttpCaller::Options options(size_t in_flight = 4)
{
    HttpCaller::Options o;
    o.max_in_flight = in_flight;
    return o;
}

} // namespace

TEST(EndpointTest, ParsesAndRefuses)
{
    auto e = Endpoint::parse("https://auth.example:8443/check?x=1");
    EXPECT_TRUE(e.https);
    EXPECT_EQ(e.host, "auth.example");
    EXPECT_EQ(e.port, 8443);
    EXPECT_EQ(e.target, "/check?x=1");
    auto plain = Endpoint::parse("http://127.0.0.1");
    EXPECT_EQ(plain.port, 80);
    EXPECT_EQ(plain.target, "/");
    EXPECT_THROW(Endpoint::parse("ftp://h/x"), std::invalid_argument);
    EXPECT_THROW(Endpoint::parse("http:///x"), std::invalid_argument);
    EXPECT_THROW(Endpoint::parse("http://user:pw@h/x"), std::invalid_argument);
    EXPECT_THROW(Endpoint::parse("/relative"), std::invalid_argument);
}

TEST(HttpCallerTest, PostsAndReadsTheAnswerOnOneKeptAliveConnection)
{
    WebhookServer server([](const HookRequest& r) { return HookAnswer{201, "echo:" + r.body}; });
    HttpCaller caller(options());
    auto call = post(server.url("/hook?q=1"), R"({"a":1})");
    call.headers = {{"X-Test", "yes"}};
    auto first = callAndWait(caller, call);
    ASSERT_EQ(first.outcome, CallResult::Outcome::Answered) << first.error;
    EXPECT_EQ(first.status, 201);
    EXPECT_EQ(first.body, R"(echo:{"a":1})");
    auto second = callAndWait(caller, post(server.url("/hook?q=1")));
    ASSERT_EQ(second.outcome, CallResult::Outcome::Answered) << second.error;
    auto requests = server.requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[0].method, "POST");
    EXPECT_EQ(requests[0].uri, "/hook?q=1");
    EXPECT_EQ(requests[0].headers["x-test"], "yes");
    EXPECT_EQ(requests[0].headers["content-type"], "application/json");
    // One worker, one kept-alive connection: the same client port both times.
    EXPECT_EQ(requests[0].peer, requests[1].peer);
    EXPECT_EQ(caller.threads(), 1u);
    EXPECT_EQ(caller.inFlight(), 0u);
}

TEST(HttpCallerTest, DeadlineCoversTheWholeCall)
{
    WebhookServer server([](const HookRequest&) { return HookAnswer{200, "late", 1000ms}; });
    HttpCaller caller(options());
    const auto begin = std::chrono::steady_clock::now();
    auto result = callAndWait(caller, post(server.url(), "{}", 200ms));
    const auto took = std::chrono::steady_clock::now() - begin;
    EXPECT_EQ(result.outcome, CallResult::Outcome::TimedOut) << result.error;
    EXPECT_GE(took, 190ms);
    EXPECT_LT(took, 900ms);
}

TEST(HttpCallerTest, RefusedConnectionFails)
{
    std::string url;
    {
        WebhookServer gone([](const HookRequest&) { return HookAnswer{}; });
        url = gone.url();
    }
    HttpCaller caller(options());
    auto result = callAndWait(caller, post(url));
    EXPECT_EQ(result.outcome, CallResult::Outcome::Failed);
    EXPECT_FALSE(result.error.empty());
}

TEST(HttpCallerTest, RefusesOverTheBoundAtOnce)
{
    WebhookServer server([](const HookRequest&) { return HookAnswer{}; });
    server.hold();
    HttpCaller caller(options(2));
    std::atomic<int> done{0};
    EXPECT_TRUE(caller.submit(post(server.url()), [&](CallResult&&) { ++done; }));
    EXPECT_TRUE(caller.submit(post(server.url()), [&](CallResult&&) { ++done; }));
    EXPECT_FALSE(caller.submit(post(server.url()), [&](CallResult&&) { ++done; }));
    EXPECT_EQ(caller.inFlight(), 2u);
    ASSERT_TRUE(server.waitForInFlight(2));
    server.release();
    for (int i = 0; i < 500 && done < 2; ++i)
        std::this_thread::sleep_for(10ms);
    EXPECT_EQ(done.load(), 2);
    EXPECT_EQ(caller.inFlight(), 0u);
    EXPECT_TRUE(caller.submit(post(server.url()), [&](CallResult&&) { ++done; }));
}

// The server closed the idle kept-alive connection: the call goes out again on a fresh one.
TEST(HttpCallerTest, StaleKeptAliveConnectionIsRetriedOnce)
{
    WebhookServer::Options server_options;
    server_options.keep_alive = 100ms;
    WebhookServer server([](const HookRequest&) { return HookAnswer{200, "ok"}; }, server_options);
    HttpCaller caller(options(1));
    ASSERT_EQ(callAndWait(caller, post(server.url())).outcome, CallResult::Outcome::Answered);
    std::this_thread::sleep_for(400ms); // past the server's keep-alive: it closed the connection
    auto result = callAndWait(caller, post(server.url()));
    EXPECT_EQ(result.outcome, CallResult::Outcome::Answered) << result.error;
    EXPECT_EQ(server.count(), 2u);
}

TEST(HttpCallerTest, OversizedAnswerFails)
{
    WebhookServer server([](const HookRequest&) { return HookAnswer{200, std::string(100000, 'x')}; });
    auto o = options();
    o.max_response_bytes = 65536;
    HttpCaller caller(o);
    auto result = callAndWait(caller, post(server.url()));
    EXPECT_EQ(result.outcome, CallResult::Outcome::Failed);
    EXPECT_NE(result.error.find("65536"), std::string::npos) << result.error;
}

TEST(HttpCallerTest, StopDropsQueuedCallsAndRefusesNewOnes)
{
    WebhookServer server([](const HookRequest&) { return HookAnswer{}; });
    HttpCaller caller(options(4));
    caller.stop();
    EXPECT_FALSE(caller.submit(post(server.url()), [](CallResult&&) {}));
    EXPECT_EQ(caller.inFlight(), 0u);
}

class HttpsCallerTest : public ::testing::Test
{
protected:
    void SetUp() override { serve("DNS:localhost,IP:127.0.0.1"); }

    /// An https server with a self-signed certificate (its own CA) for NAMES.
    void serve(const std::string& names)
    {
        server.reset();
        auto r =
            runProcess({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", dir.file("key.pem"), "-out", dir.file("cert.pem"), "-days", "2", "-subj",
                        "/CN=wsgw-test", "-addext", "subjectAltName=" + names});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        WebhookServer::Options server_options;
        server_options.cert_file = dir.file("cert.pem");
        server_options.key_file = dir.file("key.pem");
        server = std::make_unique<WebhookServer>(
            [](const HookRequest&) {
                return HookAnswer{200, "secure"};
            },
            server_options);
    }

    TempDir dir;
    std::unique_ptr<WebhookServer> server;
};

TEST_F(HttpsCallerTest, TrustedCaAnswers)
{
    auto o = options();
    o.ca_file = dir.file("cert.pem");
    HttpCaller caller(o);
    auto result = callAndWait(caller, post(server->url()));
    ASSERT_EQ(result.outcome, CallResult::Outcome::Answered) << result.error;
    EXPECT_EQ(result.body, "secure");
}

TEST_F(HttpsCallerTest, UntrustedCertificateFails)
{
    HttpCaller caller(options());
    auto result = callAndWait(caller, post(server->url()));
    EXPECT_EQ(result.outcome, CallResult::Outcome::Failed) << result.body;
    EXPECT_NE(result.error.find("ertificate"), std::string::npos) << result.error;
    EXPECT_EQ(server->count(), 0u);
}

TEST_F(HttpsCallerTest, CertificateForAnotherNameFails)
{
    // A trusted certificate, but for another host than the one called.
    serve("DNS:auth.example");
    auto o = options();
    o.ca_file = dir.file("cert.pem");
    HttpCaller caller(o);
    auto result = callAndWait(caller, post(server->url()));
    EXPECT_EQ(result.outcome, CallResult::Outcome::Failed) << result.body;
    EXPECT_EQ(server->count(), 0u);
}

TEST(HttpsCallerSetupTest, UnreadableCaFileIsRefused)
{
    auto o = options();
    o.ca_file = "/nonexistent/ca.pem";
    EXPECT_THROW(HttpCaller caller(o), std::invalid_argument);
}

// SPEC §7's signature against the RFC 4231 HMAC-SHA256 test case 2.
TEST(SignatureTest, MatchesRfc4231)
{
    EXPECT_EQ(signature("Jefe", "what do ya want for nothing?"),
              "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
