#include "cluster/RedisConnection.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace wsgw::cluster {

namespace {

constexpr size_t kReadChunk = 64 * 1024;

void appendNumber(std::string& out, char kind, size_t n)
{
    char buffer[24];
    int length = std::snprintf(buffer, sizeof(buffer), "%c%zu\r\n", kind, n);
    out.append(buffer, static_cast<size_t>(length));
}

int64_t monotonicMs()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

} // namespace

std::string_view replyText(const redisReply* reply)
{
    if (!reply ||
        !(reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS || reply->type == REDIS_REPLY_ERROR))
        return {};
    return {reply->str, reply->len};
}

RedisConnection::RedisConnection(std::string host, int port, int epoll_fd, uint64_t tag)
    : host_(std::move(host)), port_(port), address_(host_ + ":" + std::to_string(port_)), epoll_fd_(epoll_fd), tag_(tag)
{}

RedisConnection::~RedisConnection()
{
    close("shutting down");
}

bool RedisConnection::connect(int64_t now_ms)
{
    close("reconnecting");
    now_ms_ = now_ms;
    error_.clear();
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    // A name is resolved here, on the broker's thread (never a loop's); the
    // recipe uses addresses, for which this returns at once.
    int rc = ::getaddrinfo(host_.c_str(), std::to_string(port_).c_str(), &hints, &found);
    if (rc != 0 || !found)
    {
        error_ = std::string("cannot resolve ") + host_ + ": " + ::gai_strerror(rc);
        return false;
    }
    fd_ = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0)
    {
        error_ = std::string("socket: ") + std::strerror(errno);
        ::freeaddrinfo(found);
        return false;
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ::setsockopt(fd_, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    rc = ::connect(fd_, found->ai_addr, found->ai_addrlen);
    ::freeaddrinfo(found);
    if (rc != 0 && errno != EINPROGRESS)
    {
        error_ = std::string("connect: ") + std::strerror(errno);
        ::close(fd_);
        fd_ = -1;
        return false;
    }
    reader_ = redisReaderCreate();
    state_ = State::Connecting;
    epoll_event event{};
    event.events = EPOLLIN | EPOLLOUT;
    event.data.u64 = tag_;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd_, &event);
    write_interest_ = true;
    return true;
}

void RedisConnection::close(const std::string& why)
{
    if (state_ == State::Closed)
        return;
    if (error_.empty())
        error_ = why;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd_, nullptr);
    ::close(fd_);
    fd_ = -1;
    state_ = State::Closed;
    write_interest_ = false;
    if (reader_)
        redisReaderFree(reader_);
    reader_ = nullptr;
    out_.clear();
    out_offset_ = 0;
    connected_ms_ = 0;
    // Callbacks may queue new commands (on a closed connection: refused), so
    // take the list first.
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& p : pending)
    {
        if (p.callback)
            p.callback(nullptr);
    }
}

void RedisConnection::append(const std::vector<std::string_view>& args)
{
    // RESP: *<argc>\r\n then $<len>\r\n<bytes>\r\n per argument.
    appendNumber(out_, '*', args.size());
    for (auto arg : args)
    {
        appendNumber(out_, '$', arg.size());
        out_.append(arg.data(), arg.size());
        out_.append("\r\n", 2);
    }
}

void RedisConnection::command(const std::vector<std::string_view>& args, Callback callback)
{
    if (state_ == State::Closed)
    {
        if (callback)
            callback(nullptr);
        return;
    }
    append(args);
    // The clock now, not at the last event: an idle connection's next command
    // must not look as if it had waited since then.
    pending_.push_back({std::move(callback), monotonicMs()});
}

void RedisConnection::commandNoReply(const std::vector<std::string_view>& args)
{
    if (state_ != State::Closed)
        append(args);
}

void RedisConnection::setWriteInterest(bool want)
{
    if (want == write_interest_ || fd_ < 0)
        return;
    epoll_event event{};
    event.events = EPOLLIN | (want ? EPOLLOUT : 0u);
    event.data.u64 = tag_;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd_, &event);
    write_interest_ = want;
}

void RedisConnection::flush()
{
    if (state_ != State::Ready)
        return; // Connecting: written once the connect completes
    while (out_offset_ < out_.size())
    {
        ssize_t n = ::send(fd_, out_.data() + out_offset_, out_.size() - out_offset_, MSG_NOSIGNAL);
        if (n > 0)
        {
            out_offset_ += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        close(std::string("write: ") + std::strerror(errno));
        return;
    }
    if (out_offset_ == out_.size())
    {
        out_.clear();
        out_offset_ = 0;
    }
    else if (out_offset_ > (1u << 20))
    {
        // Keep the buffer from growing with what has been written already.
        out_.erase(0, out_offset_);
        out_offset_ = 0;
    }
    setWriteInterest(out_offset_ < out_.size());
}

void RedisConnection::onEvent(uint32_t events, int64_t now_ms)
{
    now_ms_ = now_ms;
    if (state_ == State::Connecting)
    {
        int error = 0;
        socklen_t length = sizeof(error);
        ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0 || (events & (EPOLLERR | EPOLLHUP)))
        {
            close(std::string("connect: ") + std::strerror(error ? error : ECONNREFUSED));
            return;
        }
        if (!(events & (EPOLLOUT | EPOLLIN)))
            return;
        state_ = State::Ready;
        connected_ms_ = now_ms;
        if (on_connected_)
            on_connected_();
        if (state_ != State::Ready)
            return;
        flush();
        if (state_ != State::Ready)
            return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        readAll();
    if (state_ == State::Ready && (events & EPOLLOUT))
        flush();
}

void RedisConnection::readAll()
{
    char buffer[kReadChunk];
    while (state_ == State::Ready)
    {
        ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
        if (n == 0)
        {
            close("the server closed the connection");
            return;
        }
        if (n < 0)
        {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            close(std::string("read: ") + std::strerror(errno));
            return;
        }
        if (redisReaderFeed(reader_, buffer, static_cast<size_t>(n)) != REDIS_OK)
        {
            close("protocol error");
            return;
        }
        while (state_ == State::Ready)
        {
            void* object = nullptr;
            if (redisReaderGetReply(reader_, &object) != REDIS_OK)
            {
                close(std::string("protocol error: ") + reader_->errstr);
                return;
            }
            if (!object)
                break;
            auto* reply = static_cast<redisReply*>(object);
            if (!pending_.empty())
            {
                auto callback = std::move(pending_.front().callback);
                pending_.pop_front();
                if (callback)
                    callback(reply);
            }
            else if (push_handler_)
                push_handler_(*reply);
            freeReplyObject(reply);
        }
        if (static_cast<size_t>(n) < sizeof(buffer))
            return; // drained: a short read means the socket is empty
    }
}

} // namespace wsgw::cluster
