#include "support/RedisServer.h"

#include "support/Wait.h"

#include <chrono>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace wsgw::test {

namespace {

constexpr const char* kRedisServer = "/usr/bin/redis-server";

/// A port nobody listens on now: bind 0, read it, close (redis has no --port 0).
int freePort()
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0)
    {
        ::close(fd);
        throw std::runtime_error("cannot bind a free port");
    }
    socklen_t length = sizeof(address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
}

void flatten(const redisReply* reply, std::vector<std::string>& out)
{
    switch (reply->type)
    {
    case REDIS_REPLY_ARRAY:
        for (size_t i = 0; i < reply->elements; ++i)
            flatten(reply->element[i], out);
        break;
    case REDIS_REPLY_INTEGER:
        out.push_back(std::to_string(reply->integer));
        break;
    case REDIS_REPLY_NIL:
        out.emplace_back();
        break;
    default:
        out.emplace_back(reply->str, reply->len);
    }
}

} // namespace

bool RedisServer::available()
{
    return ::access(kRedisServer, X_OK) == 0;
}

RedisServer::RedisServer(std::string password) : password_(std::move(password))
{
    // Another process may take the port between our probe and redis's bind: retry.
    for (int attempt = 0; attempt < 5; ++attempt)
    {
        port_ = freePort();
        if (launch())
            return;
    }
    throw std::runtime_error("redis-server did not start (see " + dir_.file("redis.log") + ")");
}

RedisServer::~RedisServer()
{
    stop();
}

bool RedisServer::launch()
{
    std::vector<std::string> args{
        kRedisServer, "--port", std::to_string(port_), "--bind",      "127.0.0.1", "--save", "", "--appendonly",
        "no",         "--dir",  dir_.path().string(),  "--daemonize", "no"};
    if (!password_.empty())
        args.insert(args.end(), {"--requirepass", password_});
    Process::Options options;
    options.stdout_path = dir_.file("redis.log");
    options.stderr_path = dir_.file("redis.log");
    process_ = std::make_unique<Process>(args, options);
    bool ready = waitUntil(
        [&] {
            if (!process_->running())
                return true;
            try
            {
                return command({"PING"}) == std::vector<std::string>{"PONG"};
            }
            catch (const std::exception&)
            {
                return false;
            }
        },
        std::chrono::seconds(5));
    if (ready && process_->running())
        return true;
    process_.reset();
    return false;
}

void RedisServer::stop()
{
    if (!process_)
        return;
    process_->kill(SIGTERM);
    process_->wait(std::chrono::seconds(10));
    process_.reset();
}

void RedisServer::pause()
{
    if (process_)
        process_->kill(SIGSTOP);
}

void RedisServer::resume()
{
    if (process_)
        process_->kill(SIGCONT);
}

void RedisServer::start()
{
    if (process_)
        return;
    if (!launch())
        throw std::runtime_error("redis-server did not restart on port " + std::to_string(port_));
}

std::vector<std::string> RedisServer::command(const std::vector<std::string>& args) const
{
    timeval timeout{2, 0};
    redisContext* context = redisConnectWithTimeout("127.0.0.1", port_, timeout);
    if (!context || context->err)
    {
        std::string error = context ? context->errstr : "out of memory";
        redisFree(context);
        throw std::runtime_error("cannot connect to redis: " + error);
    }
    auto run = [context](const std::vector<std::string>& words) {
        std::vector<const char*> argv;
        std::vector<size_t> lengths;
        for (const auto& word : words)
        {
            argv.push_back(word.data());
            lengths.push_back(word.size());
        }
        return static_cast<redisReply*>(
            redisCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lengths.data()));
    };
    if (!password_.empty())
    {
        if (auto* auth = run({"AUTH", password_}))
            freeReplyObject(auth);
    }
    redisReply* reply = run(args);
    if (!reply)
    {
        std::string error = context->errstr;
        redisFree(context);
        throw std::runtime_error("redis command failed: " + error);
    }
    std::vector<std::string> out;
    flatten(reply, out);
    freeReplyObject(reply);
    redisFree(context);
    return out;
}

} // namespace wsgw::test
