// The HTTP request reader of the public port (SPEC §5): framing, limits, and
// the guarantee that how the bytes were split never changes what is read.

#include "transport/HttpRequestReader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using wsgw::transport::HttpLimits;
using wsgw::transport::HttpReadStatus;
using wsgw::transport::HttpRequestReader;

namespace {

struct Outcome
{
    HttpReadStatus status = HttpReadStatus::NeedMore;
    int error = 0;
    std::string method, uri, body;
    size_t consumed = 0;
    bool keep_alive = false;
};

/// Feeds INPUT to a reader in one piece.
Outcome readWhole(const std::string& input, HttpLimits limits = {})
{
    HttpRequestReader reader(&limits);
    Outcome out;
    out.status = reader.read(input);
    if (out.status == HttpReadStatus::Request)
    {
        out.method = reader.request().getMethod();
        out.uri = reader.request().getURI();
        out.body = reader.body();
        out.consumed = reader.consumed();
        out.keep_alive = reader.keepAlive();
    }
    else if (out.status == HttpReadStatus::Error)
        out.error = reader.error().status;
    return out;
}

/// Every request in INPUT, read as it arrives in pieces of STEP bytes.
std::vector<Outcome> readAll(const std::string& input, size_t step, HttpLimits limits = {})
{
    HttpRequestReader reader(&limits);
    std::vector<Outcome> outcomes;
    std::string buffer;
    size_t fed = 0;
    while (true)
    {
        auto status = reader.read(buffer);
        if (status == HttpReadStatus::NeedMore)
        {
            if (fed == input.size())
                break;
            size_t n = std::min(step, input.size() - fed);
            buffer.append(input, fed, n);
            fed += n;
            continue;
        }
        Outcome out;
        out.status = status;
        if (status == HttpReadStatus::Error)
        {
            out.error = reader.error().status;
            outcomes.push_back(out);
            break;
        }
        out.method = reader.request().getMethod();
        out.uri = reader.request().getURI();
        out.body = reader.body();
        out.consumed = reader.consumed();
        out.keep_alive = reader.keepAlive();
        outcomes.push_back(out);
        buffer.erase(0, reader.consumed());
        reader.next();
    }
    return outcomes;
}

} // namespace

TEST(HttpRequestReaderTest, ReadsARequestWithABody)
{
    auto out = readWhole("POST /push HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloEXTRA");
    ASSERT_EQ(out.status, HttpReadStatus::Request);
    EXPECT_EQ(out.method, "POST");
    EXPECT_EQ(out.uri, "/push");
    EXPECT_EQ(out.body, "hello");
    EXPECT_EQ(out.consumed, std::string("POST /push HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello").size());
    EXPECT_TRUE(out.keep_alive);
}

TEST(HttpRequestReaderTest, ChunkedBodyIsDecoded)
{
    auto out = readWhole("POST /push HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nTrailer: t\r\n\r\n");
    ASSERT_EQ(out.status, HttpReadStatus::Request);
    EXPECT_EQ(out.body, "abcdefg");
}

TEST(HttpRequestReaderTest, KeepAliveFollowsTheVersionAndConnectionHeader)
{
    EXPECT_FALSE(readWhole("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
    EXPECT_FALSE(readWhole("GET / HTTP/1.0\r\n\r\n").keep_alive);
    EXPECT_TRUE(readWhole("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
}

// SPEC §5: each malformed or smuggling-shaped request has its status.
TEST(HttpRequestReaderTest, GuardsAnswerWithTheirStatus)
{
    struct Case
    {
        std::string request;
        int status;
    };
    const Case cases[] = {
        {"GARBAGE\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nContent-Length : 5\r\n\r\nhello", 400}, // space before the colon
        {"GET / HTTP/1.1\r\nContent-Length\t: 5\r\n\r\nhello", 400},
        {"GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400},
        {"GET / HTTP/1.1\nHost: x\n\n", 400}, // bare LF
        {"GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
        {"GET / HTTP/2.0\r\n\r\n", 505},
        {"POST /push HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n", 413},
        {"POST /push HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
        {"POST /push HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", 400},
        {"POST /push HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n", 413},
        {"GET / HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n", 431},
        {"GET / HTTP/1.1\r\nX: " + std::string(9000, 'a') + "\r\n\r\n", 431},
    };
    for (const auto& c : cases)
    {
        auto out = readWhole(c.request);
        EXPECT_EQ(out.status, HttpReadStatus::Error) << c.request.substr(0, 80);
        EXPECT_EQ(out.error, c.status) << c.request.substr(0, 80);
    }
}

// SPEC §5: an oversized header block is refused before it is complete.
TEST(HttpRequestReaderTest, OversizedHeaderIsRefusedBeforeItEnds)
{
    HttpLimits limits;
    limits.max_header_bytes = 1024;
    auto out = readWhole("GET / HTTP/1.1\r\nX: " + std::string(2000, 'a'), limits);
    EXPECT_EQ(out.status, HttpReadStatus::Error);
    EXPECT_EQ(out.error, 431);
}

TEST(HttpRequestReaderTest, IncompleteRequestsNeedMore)
{
    HttpLimits limits;
    HttpRequestReader reader(&limits);
    EXPECT_EQ(reader.read(""), HttpReadStatus::NeedMore);
    EXPECT_FALSE(reader.started());
    EXPECT_EQ(reader.read("GET / HT"), HttpReadStatus::NeedMore);
    EXPECT_TRUE(reader.started());
    EXPECT_FALSE(reader.headerComplete());
    EXPECT_EQ(reader.read("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nab"), HttpReadStatus::NeedMore);
    EXPECT_TRUE(reader.headerComplete());
}

// SPEC §5: a body the handler does not use is framed and dropped, never read as the next request.
TEST(HttpRequestReaderTest, ABodyIsNeverTheNextRequest)
{
    std::string smuggled = "POST /push HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
    std::string input = "GET / HTTP/1.1\r\nContent-Length: " + std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled +
                        "GET /next HTTP/1.1\r\n\r\n";
    auto all = readAll(input, input.size());
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].uri, "/");
    EXPECT_EQ(all[0].body, smuggled);
    EXPECT_EQ(all[1].uri, "/next");
}

// The framing never depends on how the bytes were split (pipelined requests included).
TEST(HttpRequestReaderTest, SplitsDoNotChangeWhatIsRead)
{
    std::string input = "\r\nPOST /push HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
                        "POST /push HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n"
                        "GET /ws HTTP/1.1\r\nHost: y\r\n\r\n"
                        "GET / HTTP/1.1\r\nX : y\r\n\r\n";
    // Found by the fuzzer: a NUL in a later request must not fail the one before it.
    auto nul = readAll(std::string("GET / HTTP/1.1\r\n\r\nGET /\0 HTTP/1.1\r\n\r\n", 37), 1000);
    ASSERT_EQ(nul.size(), 2u);
    EXPECT_EQ(nul[0].status, HttpReadStatus::Request);
    EXPECT_EQ(nul[1].error, 400);
    auto whole = readAll(input, input.size());
    ASSERT_EQ(whole.size(), 4u);
    EXPECT_EQ(whole[0].body, "abc");
    EXPECT_EQ(whole[1].body, "xy");
    EXPECT_EQ(whole[2].uri, "/ws");
    EXPECT_EQ(whole[3].status, HttpReadStatus::Error);
    for (size_t step = 1; step < 40; ++step)
    {
        auto split = readAll(input, step);
        ASSERT_EQ(split.size(), whole.size()) << step;
        for (size_t i = 0; i < whole.size(); ++i)
        {
            EXPECT_EQ(split[i].status, whole[i].status) << step;
            EXPECT_EQ(split[i].error, whole[i].error) << step;
            EXPECT_EQ(split[i].uri, whole[i].uri) << step;
            EXPECT_EQ(split[i].body, whole[i].body) << step;
            EXPECT_EQ(split[i].consumed, whole[i].consumed) << step;
        }
    }
}

// Found by the fuzzer in CI: the chunk-size line and trailer limits were
// checked only while the line's end had not arrived, so a long trailer (or
// chunk extension) read in one piece passed and read in pieces failed.
TEST(HttpRequestReaderTest, ChunkLineAndTrailerLimitsDoNotDependOnTheSplit)
{
    HttpLimits limits;
    limits.max_header_bytes = 2048;
    const std::string head = "POST /push HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    struct Case
    {
        std::string input;
        HttpReadStatus status;
        int error;
    };
    std::vector<Case> cases = {
        {head + "0\r\nX: " + std::string(2100, 'a') + "\r\n\r\n", HttpReadStatus::Error, 431},
        {head + "0\r\nX: " + std::string(2000, 'a') + "\r\n\r\n", HttpReadStatus::Request, 0},
        {head + "1;" + std::string(1100, 'e') + "\r\nz\r\n0\r\n\r\n", HttpReadStatus::Error, 400},
        // Exactly the longest chunk-size line: its CR alone must not tip it over.
        {head + "1;" + std::string(1022, 'e') + "\r\nz\r\n0\r\n\r\n", HttpReadStatus::Request, 0},
    };
    for (const auto& c : cases)
    {
        for (size_t step : {c.input.size(), size_t{1}, size_t{7}, size_t{64}, size_t{1025}})
        {
            auto out = readAll(c.input, step, limits);
            ASSERT_EQ(out.size(), 1u) << step;
            EXPECT_EQ(out[0].status, c.status) << c.input.size() << " in pieces of " << step;
            EXPECT_EQ(out[0].error, c.error) << c.input.size() << " in pieces of " << step;
        }
    }
}
