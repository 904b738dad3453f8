// wsgw-redis-bench: publish + receive throughput of the two Redis clients the
// cluster broker could use, on the broker's terms: one publishing connection,
// one subscribed connection, pushes of a realistic size on one app channel,
// either one command at a time or pipelined in windows (what a batch or a busy
// node sends in one write). Measures from the first PUBLISH to the last message
// received.
//
//   redis-server --port 6390 --save '' --appendonly no &
//   build/bench/wsgw-redis-bench 127.0.0.1 6390 [MESSAGES] [BYTES]
//
// Candidates: hiredis (Debian 12: 0.14; its RESP reader under our own
// non-blocking sockets and epoll — cluster::RedisConnection, the broker's
// code) and Poco::Redis (Debian 12: Poco 1.11; blocking Client, AsyncReader
// thread for the subscription).

#include "cluster/RedisConnection.h"

#include <Poco/Delegate.h>
#include <Poco/Redis/Array.h>
#include <Poco/Redis/AsyncReader.h>
#include <Poco/Redis/Client.h>
#include <Poco/Redis/Command.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/epoll.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

int64_t nowMs()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

struct Result
{
    double seconds = 0;
    size_t received = 0;
};

/// hiredis reader on our epoll: both connections on one thread, as in the broker.
Result runHiredis(const std::string& host, int port, size_t messages, const std::string& payload, size_t window)
{
    using wsgw::cluster::RedisConnection;
    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    RedisConnection pub(host, port, ep, 1);
    RedisConnection sub(host, port, ep, 2);
    size_t received = 0;
    bool subscribed = false;
    sub.setPushHandler([&](const redisReply& reply) {
        if (reply.type != REDIS_REPLY_ARRAY || reply.elements < 3)
            return;
        auto kind = wsgw::cluster::replyText(reply.element[0]);
        if (kind == "message")
            ++received;
        else if (kind == "subscribe")
            subscribed = true;
    });
    if (!pub.connect(nowMs()) || !sub.connect(nowMs()))
    {
        std::fprintf(stderr, "cannot connect: %s %s\n", pub.error().c_str(), sub.error().c_str());
        std::exit(1);
    }
    sub.commandNoReply({"SUBSCRIBE", "bench:app:match"});
    sub.flush();
    epoll_event events[16];
    auto turn = [&] {
        int n = ::epoll_wait(ep, events, 16, 100);
        for (int i = 0; i < n; ++i)
            (events[i].data.u64 == 1 ? pub : sub).onEvent(events[i].events, nowMs());
    };
    while (!subscribed)
        turn();
    size_t sent = 0;
    size_t acked = 0;
    auto start = Clock::now();
    while (received < messages)
    {
        while (sent < messages && sent - acked < window)
        {
            pub.command({"PUBLISH", "bench:app:match", payload}, [&](const redisReply*) { ++acked; });
            ++sent;
        }
        pub.flush();
        turn();
    }
    Result result{std::chrono::duration<double>(Clock::now() - start).count(), received};
    ::close(ep);
    return result;
}

class Counter
{
public:
    void onMessage(const void*, Poco::Redis::RedisEventArgs& args)
    {
        auto message = args.message();
        if (!message || !message->isArray())
            return;
        auto& array = static_cast<Poco::Redis::Type<Poco::Redis::Array>&>(*message).value();
        if (array.size() < 3)
            return;
        auto kind = array.get<Poco::Redis::BulkString>(0);
        if (!kind.isNull() && kind.value() == "message")
            received.fetch_add(1, std::memory_order_relaxed);
        else if (!kind.isNull() && kind.value() == "subscribe")
            subscribed = true;
    }
    std::atomic<size_t> received{0};
    std::atomic<bool> subscribed{false};
};

/// Poco::Redis: a blocking Client publishes (sendCommands for a window); the
/// subscription is read by a thread of ours blocking in readReply(), or, with
/// ASYNC_READER, by Poco's AsyncReader (which sleeps 100 ms after every reply
/// it reads in Poco 1.11, so it is measured on a few messages only).
Result runPoco(const std::string& host, int port, size_t messages, const std::string& payload, size_t window,
               bool async_reader)
{
    Poco::Redis::Client pub;
    Poco::Redis::Client sub;
    pub.connect(host, port);
    sub.connect(host, port);
    Counter counter;
    Poco::Redis::AsyncReader reader(sub);
    std::thread own_reader;
    Poco::Redis::Array subscribe;
    subscribe << "SUBSCRIBE"
              << "bench:app:match";
    sub.execute<void>(subscribe);
    sub.flush();
    if (async_reader)
    {
        reader.redisResponse += Poco::delegate(&counter, &Counter::onMessage);
        reader.start();
    }
    else
    {
        own_reader = std::thread([&] {
            while (counter.received.load() < messages)
            {
                Poco::Redis::RedisEventArgs args(sub.readReply());
                counter.onMessage(nullptr, args);
            }
        });
    }
    while (!counter.subscribed)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    auto start = Clock::now();
    size_t sent = 0;
    while (sent < messages)
    {
        size_t count = std::min(window, messages - sent);
        if (count == 1)
        {
            Poco::Redis::Array command;
            command << "PUBLISH"
                    << "bench:app:match" << payload;
            pub.execute<Poco::Int64>(command);
        }
        else
        {
            std::vector<Poco::Redis::Array> commands(count);
            for (auto& command : commands)
                command << "PUBLISH"
                        << "bench:app:match" << payload;
            pub.sendCommands(commands);
        }
        sent += count;
    }
    while (counter.received.load() < messages)
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    Result result{std::chrono::duration<double>(Clock::now() - start).count(), counter.received.load()};
    if (async_reader)
        reader.stop();
    else
        own_reader.join();
    return result;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 3)
    {
        std::fprintf(stderr, "usage: %s HOST PORT [MESSAGES] [BYTES]\n", argv[0]);
        return 2;
    }
    std::string host = argv[1];
    int port = std::atoi(argv[2]);
    size_t messages = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 200000;
    size_t bytes = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 200;
    std::string payload = "1 0123456789abcdef -1\n{\"app\":\"match\",\"member_id\":-1,\"text\":\"";
    payload.resize(bytes > payload.size() + 2 ? bytes - 2 : payload.size(), 'x');
    payload += "\"}";

    std::printf("%-10s %8s %10s %14s\n", "client", "window", "messages", "messages/s");
    std::fflush(stdout);
    for (size_t window : {size_t{1}, size_t{64}, size_t{512}})
    {
        // Unpipelined is slow for both: fewer messages keep the run short.
        size_t count = window == 1 ? messages / 10 : messages;
        auto h = runHiredis(host, port, count, payload, window);
        std::printf("%-10s %8zu %10zu %14.0f\n", "hiredis", window, h.received, h.received / h.seconds);
        auto p = runPoco(host, port, count, payload, window, false);
        std::printf("%-10s %8zu %10zu %14.0f\n", "poco", window, p.received, p.received / p.seconds);
        std::fflush(stdout);
    }
    auto a = runPoco(host, port, 20, payload, 1, true);
    std::printf("%-10s %8d %10zu %14.0f   (Poco's AsyncReader: a 100 ms sleep after every reply)\n", "poco-async", 1,
                a.received, a.received / a.seconds);
    return 0;
}
