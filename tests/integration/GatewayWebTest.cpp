// The files served to browsers (issue 14): the client library at GET /wsgw.js
// on the public port (ETag, 304, caching, CORS for any origin) and the
// dashboard at GET / on the stat port, byte for byte the files in gateway/web/.
// The browser tests (tests/browser/) run them in Chromium.

#include "support/Http.h"
#include "support/TestGateway.h"
#include "support/WsClient.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using namespace wsgw::test;

namespace {

std::string sourceFile(const std::string& relative)
{
    std::ifstream in(std::string(WSGW_SOURCE_DIR) + "/" + relative, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace

TEST(GatewayWebTest, ClientLibraryIsServedWithCachingAndCors)
{
    TestGateway gateway;
    auto result = httpRequest(gateway.port(), "GET", "/wsgw.js", {}, {{"Origin", "http://example.test"}});
    ASSERT_EQ(result.status, 200);
    EXPECT_EQ(result.body, sourceFile("gateway/web/wsgw.js"));
    EXPECT_EQ(result.headers["Content-Type"], "text/javascript; charset=utf-8");
    // A page on another origin may import it as a module (a CORS fetch).
    EXPECT_EQ(result.headers["Access-Control-Allow-Origin"], "*");
    EXPECT_EQ(result.headers["Cache-Control"], "public, max-age=300");
    EXPECT_EQ(result.headers["X-Content-Type-Options"], "nosniff");
    const std::string etag = result.headers["ETag"];
    ASSERT_EQ(etag.size(), 18u) << etag;
    EXPECT_EQ(etag.front(), '"');
    EXPECT_EQ(etag.back(), '"');
    // The ETag names the content: the same on every request and every start.
    EXPECT_EQ(httpRequest(gateway.port(), "GET", "/wsgw.js?v=2").headers["ETag"], etag);
}

TEST(GatewayWebTest, ClientLibraryRevalidatesWith304)
{
    TestGateway gateway;
    const std::string etag = httpRequest(gateway.port(), "GET", "/wsgw.js").headers["ETag"];
    for (const std::string& header : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")})
    {
        auto result = httpRequest(gateway.port(), "GET", "/wsgw.js", {}, {{"If-None-Match", header}});
        EXPECT_EQ(result.status, 304) << header;
        EXPECT_EQ(result.body, "") << header;
        EXPECT_EQ(result.headers["ETag"], etag);
        EXPECT_EQ(result.headers["Access-Control-Allow-Origin"], "*");
    }
    auto changed = httpRequest(gateway.port(), "GET", "/wsgw.js", {}, {{"If-None-Match", "\"0123456789abcdef\""}});
    EXPECT_EQ(changed.status, 200);
    EXPECT_EQ(changed.body, sourceFile("gateway/web/wsgw.js"));

    // The 304 carries no body: the next request on the same connection is answered as such.
    std::string raw =
        rawRequest(gateway.port(), "GET /wsgw.js HTTP/1.1\r\nHost: x\r\nIf-None-Match: " + etag +
                                       "\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(raw.rfind("HTTP/1.1 304 Not Modified\r\n", 0), 0u) << raw;
    auto second = raw.find("HTTP/1.1 200 OK\r\n");
    ASSERT_NE(second, std::string::npos) << raw;
    EXPECT_EQ(raw.substr(second - 4, 4), "\r\n\r\n") << "bytes between the 304's headers and the next response";
}

TEST(GatewayWebTest, ClientLibraryHeadAndOtherMethods)
{
    TestGateway gateway;
    std::string raw = rawRequest(gateway.port(), "HEAD /wsgw.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(raw.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << raw;
    EXPECT_NE(raw.find("Content-Length: " + std::to_string(sourceFile("gateway/web/wsgw.js").size()) + "\r\n"),
              std::string::npos)
        << raw;
    EXPECT_EQ(raw.substr(raw.size() - 4), "\r\n\r\n") << "a HEAD response has no body";

    auto post = httpRequest(gateway.port(), "POST", "/wsgw.js", "x");
    EXPECT_EQ(post.status, 405);
    EXPECT_EQ(post.headers["Allow"], "GET, HEAD");
}

// SPEC §1: any path but /push is a WebSocket endpoint, /wsgw.js included.
TEST(GatewayWebTest, UpgradeOnTheClientLibraryPathIsStillAWebSocket)
{
    TestGateway gateway;
    WsClient client(gateway.port(), WsClient::Options::at("127.0.0.1", "/wsgw.js"));
    EXPECT_EQ(client.auth(-1, ""), reply(200, "hello stranger"));
}

TEST(GatewayWebTest, DashboardOnTheStatPort)
{
    TestGateway gateway;
    auto result = httpRequest(gateway.statPort(), "GET", "/");
    ASSERT_EQ(result.status, 200);
    EXPECT_EQ(result.body, sourceFile("gateway/web/dashboard.html"));
    EXPECT_EQ(result.headers["Content-Type"], "text/html; charset=utf-8");
    EXPECT_EQ(result.headers["Cache-Control"], "no-cache");
    // It may load nothing but itself and this port's /stat: air-gapped by construction.
    EXPECT_NE(result.headers["Content-Security-Policy"].find("default-src 'none'"), std::string::npos);
    EXPECT_NE(result.headers["Content-Security-Policy"].find("connect-src 'self'"), std::string::npos);
    auto again = httpRequest(gateway.statPort(), "GET", "/", {}, {{"If-None-Match", result.headers["ETag"]}});
    EXPECT_EQ(again.status, 304);

    // The public port has no page at /: it is a WebSocket endpoint.
    EXPECT_EQ(httpRequest(gateway.port(), "GET", "/").status, 426);
    auto unknown = httpRequest(gateway.statPort(), "GET", "/nosuch");
    EXPECT_EQ(unknown.status, 404);
    EXPECT_NE(unknown.body.find("the dashboard"), std::string::npos) << unknown.body;
}
