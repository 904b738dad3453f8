// The public port on the event loops (issue 10, SPEC §5): idle and slow
// sockets delay nobody, requests are answered in order, a body is never a
// request, deadlines end at the upgrade, admission limits, and a start that
// cannot bind fails at once.

#include "support/Http.h"
#include "support/TempDir.h"
#include "support/TestGateway.h"
#include "support/Wait.h"
#include "support/WsClient.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace wsgw::test;
using namespace std::chrono_literals;

namespace {

std::string body(const std::string& app, const std::string& text)
{
    return R"({"app":")" + app + R"(","member_id":-1,"text":")" + text + "\"}";
}

/// A TCP connection to 127.0.0.1:PORT from SOURCE (another loopback address is another client).
int connectFrom(int port, const std::string& source)
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, source.c_str(), &local.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0)
        throw std::runtime_error("bind to " + source + " failed");
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof(remote)) != 0)
        throw std::runtime_error("connect failed");
    return fd;
}

/// Reads from FD until COUNT whole responses (headers + Content-Length body)
/// arrived or the connection ended; returns their status codes in order, and
/// in REST whatever came after them.
std::vector<int> readResponses(int fd, size_t count, std::string* rest = nullptr,
                               std::chrono::milliseconds timeout = 5s)
{
    std::string data;
    std::vector<int> statuses;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (statuses.size() < count)
    {
        size_t end = data.find("\r\n\r\n");
        if (end != std::string::npos)
        {
            size_t length = 0;
            auto at = data.find("Content-Length: ");
            if (at != std::string::npos && at < end)
                length = std::stoul(data.substr(at + 16));
            if (data.size() >= end + 4 + length)
            {
                statuses.push_back(std::stoi(data.substr(9, 3)));
                data.erase(0, end + 4 + length);
                continue;
            }
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
            break;
        char chunk[4096];
        ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0)
            break;
        data.append(chunk, static_cast<size_t>(n));
    }
    if (rest)
        *rest = data;
    return statuses;
}

std::string pushRequest(const std::string& text, const std::string& extra = {})
{
    auto b = body("match", text);
    return "POST /push HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(b.size()) + "\r\n" + extra + "\r\n" +
           b;
}

TestGateway::Settings open(TestGateway::Settings more = {})
{
    more.emplace("push.require_key", "false");
    more.emplace("apps.unknown", "public");
    return more;
}

} // namespace

// SPEC §5 / issue 10: thousands of sockets that send nothing or one header byte
// a second delay neither pushes nor upgrades of others; the slow ones get 408
// when their header deadline ends, the silent ones are closed when their idle
// timeout ends.
TEST(GatewayHttpLoopTest, IdleAndSlowSocketsDelayNobody)
{
    TestGateway gateway(
        open({{"http.header_timeout_ms", "4000"}, {"http.keep_alive_timeout_ms", "4000"}, {"server.threads", "2"}}));
    WsClient subscriber(gateway.port());
    ASSERT_EQ(subscriber.auth(-1, ""), reply(200, "hello stranger"));
    ASSERT_EQ(subscriber.subscribe("match"), reply(200, "subscribe match success"));

    // 2,000 silent sockets and 1,000 slow ones, from three other loopback
    // addresses (each address may hold 1,024 HTTP connections by default).
    std::vector<int> idle, slow;
    for (int i = 0; i < 1000; ++i)
    {
        idle.push_back(connectFrom(gateway.port(), "127.0.0.2"));
        idle.push_back(connectFrom(gateway.port(), "127.0.0.3"));
        slow.push_back(connectFrom(gateway.port(), "127.0.0.4"));
    }
    std::atomic<bool> dripping{true};
    std::thread drip([&] {
        const std::string header = "GET /ws HTTP/1.1\r\nHost: x\r\n";
        for (size_t byte = 0; dripping && byte < header.size(); ++byte)
        {
            for (int fd : slow)
                ::send(fd, &header[byte], 1, MSG_NOSIGNAL);
            for (int tick = 0; dripping && tick < 100; ++tick)
                std::this_thread::sleep_for(10ms); // the slow clients' pace: one byte a second
        }
    });

    std::chrono::nanoseconds worst_push{0}, worst_upgrade{0};
    for (int i = 0; i < 20; ++i)
    {
        auto started = std::chrono::steady_clock::now();
        ASSERT_EQ(push(gateway.port(), body("match", "p" + std::to_string(i)), "").status, 202);
        worst_push = std::max(worst_push, std::chrono::steady_clock::now() - started);
        EXPECT_EQ(subscriber.receiveText(), body("match", "p" + std::to_string(i)));

        started = std::chrono::steady_clock::now();
        WsClient other(gateway.port());
        worst_upgrade = std::max(worst_upgrade, std::chrono::steady_clock::now() - started);
        EXPECT_EQ(other.auth(-1, ""), reply(200, "hello stranger"));
    }
    // A few milliseconds each on a quiet machine; the bound leaves room for sanitizer builds.
    EXPECT_LT(worst_push, 500ms);
    EXPECT_LT(worst_upgrade, 500ms);

    // The slow ones get 408 at their header deadline; the silent ones are just closed.
    std::string rest;
    EXPECT_EQ(readResponses(slow.back(), 1, &rest, 10s), std::vector<int>{408});
    EXPECT_EQ(readResponses(idle.front(), 1, &rest, 10s), std::vector<int>{});
    EXPECT_EQ(rest, "");
    dripping = false;
    drip.join();
    auto closed = [](int fd) {
        char c;
        pollfd p{fd, POLLIN, 0};
        return ::poll(&p, 1, 0) == 1 && ::recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
    };
    EXPECT_TRUE(waitUntil(
        [&] {
            for (int fd : idle)
            {
                // Drain the 408 first; then EOF.
                char buffer[512];
                while (::recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT) > 0)
                {}
                if (!closed(fd))
                    return false;
            }
            return true;
        },
        10s));
    for (int fd : idle)
        ::close(fd);
    for (int fd : slow)
        ::close(fd);
}

// SPEC §5: a body the handler does not read is never parsed as the next request
// (a push smuggled inside a GET is not executed).
TEST(GatewayHttpLoopTest, ABodyIsNeverTheNextRequest)
{
    TestGateway gateway(open());
    WsClient subscriber(gateway.port());
    ASSERT_EQ(subscriber.auth(-1, ""), reply(200, "hello stranger"));
    ASSERT_EQ(subscriber.subscribe("match"), reply(200, "subscribe match success"));
    const std::string smuggled = pushRequest("smuggled");
    for (const char* path : {"/", "/healthz"})
    {
        int fd = connectTcp(gateway.port());
        std::string request = std::string("GET ") + path +
                              " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(smuggled.size()) +
                              "\r\n\r\n" + smuggled + "GET /healthz HTTP/1.1\r\n\r\n";
        ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
        std::string rest;
        auto statuses = readResponses(fd, 2, &rest);
        ::close(fd);
        // One answer for the GET (its body dropped), then the one for the request
        // after it; a smuggled push would have answered 202 in between.
        ASSERT_EQ(statuses.size(), 2u) << path;
        EXPECT_NE(statuses[0], 202);
        EXPECT_EQ(statuses[1], 200);
        EXPECT_EQ(rest, "");
    }
    // A fence: the first thing the subscriber receives is this push, not the smuggled one.
    ASSERT_EQ(push(gateway.port(), body("match", "fence"), "").status, 202);
    EXPECT_EQ(subscriber.receiveText(), body("match", "fence"));
}

// Keep-alive and pipelined requests are answered in order, also when the
// push is answered by the loops together (several loops).
TEST(GatewayHttpLoopTest, PipelinedRequestsAreAnsweredInOrder)
{
    TestGateway gateway(open({{"server.threads", "3"}}));
    std::vector<std::unique_ptr<WsClient>> subscribers;
    for (int i = 0; i < 6; ++i)
    {
        subscribers.push_back(std::make_unique<WsClient>(gateway.port()));
        ASSERT_EQ(subscribers.back()->auth(-1, ""), reply(200, "hello stranger"));
        ASSERT_EQ(subscribers.back()->subscribe("match"), reply(200, "subscribe match success"));
    }
    int fd = connectTcp(gateway.port());
    std::string requests = pushRequest("one") + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + pushRequest("two") +
                           "POST /push HTTP/1.1\r\nContent-Length: 3\r\n\r\nbad" + pushRequest("three");
    ::send(fd, requests.data(), requests.size(), MSG_NOSIGNAL);
    std::string rest;
    EXPECT_EQ(readResponses(fd, 5, &rest), (std::vector<int>{202, 200, 202, 400, 202}));
    ::close(fd);
    for (auto& s : subscribers)
    {
        EXPECT_EQ(s->receiveText(), body("match", "one"));
        EXPECT_EQ(s->receiveText(), body("match", "two"));
        EXPECT_EQ(s->receiveText(), body("match", "three"));
    }
}

// Issue 10: the request deadline ends with the upgrade; it can never write a
// 408 into what is by then a WebSocket stream.
TEST(GatewayHttpLoopTest, NoRequestDeadlineAfterTheUpgrade)
{
    TestGateway gateway(open({{"http.timeout_ms", "200"}, {"http.header_timeout_ms", "200"}}));
    WsClient client(gateway.port());
    // Longer than both deadlines: nothing may arrive, then the session works.
    EXPECT_FALSE(client.receive(700ms));
    EXPECT_EQ(client.auth(-1, ""), reply(200, "hello stranger"));
}

// SPEC §5: one address cannot occupy the port: its HTTP connections are capped
// (the others' are not), and one connection's request rate too.
TEST(GatewayHttpLoopTest, AdmissionLimitsPerAddressAndConnection)
{
    TestGateway gateway(open({{"http.max_connections_per_ip", "5"}, {"http.max_requests_per_s", "10"}}));
    std::vector<int> held;
    for (int i = 0; i < 5; ++i)
        held.push_back(connectFrom(gateway.port(), "127.0.0.5"));
    int refused = connectFrom(gateway.port(), "127.0.0.5");
    EXPECT_EQ(readResponses(refused, 1), std::vector<int>{503});
    ::close(refused);
    // Another address is served meanwhile.
    EXPECT_EQ(httpRequest(gateway.port(), "GET", "/healthz").status, 200);
    for (int fd : held)
        ::close(fd);
    // Once they are closed, the address is admitted again.
    EXPECT_TRUE(waitUntil([&] {
        int fd = connectFrom(gateway.port(), "127.0.0.5");
        std::string request = "GET /healthz HTTP/1.1\r\n\r\n";
        ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
        bool ok = readResponses(fd, 1) == std::vector<int>{200};
        ::close(fd);
        return ok;
    }));

    int fd = connectTcp(gateway.port());
    std::string burst;
    for (int i = 0; i < 12; ++i)
        burst += "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    ::send(fd, burst.data(), burst.size(), MSG_NOSIGNAL);
    auto statuses = readResponses(fd, 12);
    ::close(fd);
    ASSERT_EQ(statuses.size(), 11u); // ten answered, the eleventh refused, then the connection is closed
    EXPECT_EQ(statuses.back(), 429);
    EXPECT_EQ(httpRequest(gateway.port(), "GET", "/healthz").status, 200);
}

// SPEC §5: partial client messages count against one budget for the whole
// process; past it the connection that grows gets 1013, and others go on.
TEST(GatewayHttpLoopTest, PartialMessagesShareOneBudget)
{
    TestGateway gateway(open({{"limits.max_partial_bytes", "100000"}}));
    WsClient a(gateway.port());
    WsClient b(gateway.port());
    ASSERT_EQ(a.auth(-1, ""), reply(200, "hello stranger"));
    ASSERT_EQ(b.auth(-1, ""), reply(200, "hello stranger"));
    // Each sends the first 60,000 bytes of a 65,000-byte message, in a fragment.
    std::string part(60000, 'x');
    a.sendFrame(wsgw::transport::Opcode::Text, part, /*fin=*/false);
    // Held, within the budget: a ping in between is a fence (its pong comes first, no close).
    a.sendFrame(wsgw::transport::Opcode::Ping, "fence");
    auto pong = a.receive();
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->kind, WsMessage::Kind::Pong);
    b.sendFrame(wsgw::transport::Opcode::Text, part, /*fin=*/false);
    EXPECT_EQ(b.receiveClose(), 1013);
    // A finishes its message (not a valid subscribe: the 400 reply) and is still served.
    a.sendFrame(wsgw::transport::Opcode::Continuation, "y", /*fin=*/true);
    EXPECT_EQ(a.receiveText(), reply(400, "bad subscribe message"));
    WsClient c(gateway.port());
    EXPECT_EQ(c.auth(-1, ""), reply(200, "hello stranger"));
}

// SPEC §5 / issue 9: a port in use ends the start within a second, with one
// line that names the port and says what to do; it never hangs.
TEST(GatewayStartupTest, PortInUseFailsAtOnce)
{
    int taken = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    ASSERT_EQ(::bind(taken, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ASSERT_EQ(::listen(taken, 1), 0);
    socklen_t length = sizeof(address);
    ::getsockname(taken, reinterpret_cast<sockaddr*>(&address), &length);
    const int port = ntohs(address.sin_port);

    for (const char* key : {"port", "stat_port"})
    {
        TempDir dir;
        std::string ini = dir.file("wsgw.ini");
        {
            std::ofstream out(ini);
            const bool public_port = std::string(key) == "port";
            out << "[server]\naddress = 127.0.0.1\nstat_address = 127.0.0.1\nport = " << (public_port ? port : 0)
                << "\nstat_port = " << (public_port ? 0 : port) << "\n[db]\npath = " << dir.file("wsgw.db") << "\n";
        }
        auto started = std::chrono::steady_clock::now();
        auto result = runProcess({wsgwBinary(), "--config", ini}, {}, {}, 10s);
        auto took = std::chrono::steady_clock::now() - started;
        EXPECT_EQ(result.exit_code, 1) << key;
        EXPECT_LT(took, 1s) << key;
        EXPECT_NE(result.err.find("port " + std::to_string(port)), std::string::npos) << result.err;
        EXPECT_NE(result.err.find("already in use"), std::string::npos) << result.err;
    }
    ::close(taken);
}

// Out of file descriptors, accept(2) fails while the pending connection stays
// readable: the loop must rest the listener instead of spinning, go on serving
// its clients, and accept again once descriptors are free.
TEST(GatewayHttpLoopTest, OutOfDescriptorsRestsTheListener)
{
    TestGateway gateway(open(), {"/usr/bin/prlimit", "--nofile=64"});
    WsClient subscriber(gateway.port());
    ASSERT_EQ(subscriber.auth(-1, ""), reply(200, "hello stranger"));
    ASSERT_EQ(subscriber.subscribe("match"), reply(200, "subscribe match success"));
    std::vector<int> held;
    for (int i = 0; i < 80; ++i)
        held.push_back(connectTcp(gateway.port()));
    auto open_fds = [&] {
        size_t n = 0;
        for ([[maybe_unused]] const auto& entry :
             std::filesystem::directory_iterator("/proc/" + std::to_string(gateway.pid()) + "/fd"))
            ++n;
        return n;
    };
    ASSERT_TRUE(waitUntil([&] { return open_fds() >= 63; })); // at the limit: accept(2) fails with EMFILE

    auto cpu = [&] {
        std::ifstream stat("/proc/" + std::to_string(gateway.pid()) + "/stat");
        std::string field;
        for (int i = 0; i < 13 && stat >> field; ++i)
        {}
        long utime = 0, stime = 0;
        stat >> utime >> stime;
        return utime + stime; // clock ticks
    };
    long before = cpu();
    // A second of nothing to do but the pending accept: a spinning loop uses
    // all of it (about 100 ticks; the old code: 76), a resting one almost none.
    EXPECT_FALSE(subscriber.receive(1s));
    long spent = cpu() - before;
    subscriber.sendFrame(wsgw::transport::Opcode::Ping, "alive");
    auto pong = subscriber.receive();
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->kind, WsMessage::Kind::Pong);
    EXPECT_LT(spent, 30);
    EXPECT_NE(gateway.log().find("not accepting for 100 ms"), std::string::npos);

    for (int fd : held)
        ::close(fd);
    EXPECT_TRUE(waitUntil([&] { return httpRequest(gateway.port(), "GET", "/healthz").status == 200; }, 10s));
    ASSERT_EQ(push(gateway.port(), body("match", "after"), "").status, 202);
    EXPECT_EQ(subscriber.receiveText(), body("match", "after"));
}
