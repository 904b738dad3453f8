#pragma once
/// One non-blocking connection to one Redis server, driven by its owner's
/// epoll: RESP commands are appended to an output buffer (so everything queued
/// in one turn goes out as one pipelined write), replies are parsed with
/// hiredis's reader and handed, in order, to the callback of their command.
/// In pub/sub mode, replies that no command waits for (messages, subscribe
/// confirmations, pongs) go to the push handler. Owner's thread only.

#include <cstdint>
#include <deque>
#include <functional>
#include <hiredis/hiredis.h>
#include <string>
#include <string_view>
#include <vector>

namespace wsgw::cluster {

class RedisConnection
{
public:
    /// REPLY is null when the connection failed before the reply came. It is
    /// valid only during the call.
    using Callback = std::function<void(const redisReply* reply)>;
    using PushHandler = std::function<void(const redisReply& reply)>;

    enum class State
    {
        Closed,
        Connecting, ///< TCP connect in progress
        Ready,      ///< connected (commands may be queued in any state but Closed)
    };

    /// HOST:PORT of the server; EPOLL_FD is the owner's epoll set, TAG what its
    /// events carry for this connection.
    RedisConnection(std::string host, int port, int epoll_fd, uint64_t tag);
    ~RedisConnection();
    RedisConnection(const RedisConnection&) = delete;
    RedisConnection& operator=(const RedisConnection&) = delete;

    /// Starts a non-blocking connect. False (and Closed, with error() set) if it
    /// failed at once.
    bool connect(int64_t now_ms);
    /// Closes the socket; every waiting callback gets a null reply. Idempotent.
    void close(const std::string& why);

    /// Queues a command; CALLBACK (may be empty) gets its reply. Nothing is
    /// written until flush(). Ignored (the callback gets null at once) when Closed.
    void command(const std::vector<std::string_view>& args, Callback callback);
    /// Queues a command whose replies come as pushes (SUBSCRIBE, UNSUBSCRIBE,
    /// PING in pub/sub mode): no callback waits for it.
    void commandNoReply(const std::vector<std::string_view>& args);

    /// Writes what is queued, as much as the socket takes; asks for EPOLLOUT
    /// for the rest.
    void flush();
    /// Handles an epoll event of this connection. After it, state() may be Closed.
    void onEvent(uint32_t events, int64_t now_ms);

    /// From the next reply on, replies nobody waits for go to HANDLER.
    void setPushHandler(PushHandler handler) { push_handler_ = std::move(handler); }
    /// Called once when the TCP connect completes.
    void setConnectedHandler(std::function<void()> handler) { on_connected_ = std::move(handler); }

    State state() const noexcept { return state_; }
    const std::string& error() const noexcept { return error_; }
    const std::string& address() const noexcept { return address_; }
    /// When the oldest reply still awaited was asked for (loop clock, ms); 0 when none.
    int64_t oldestPendingMs() const noexcept { return pending_.empty() ? 0 : pending_.front().since_ms; }
    size_t pendingReplies() const noexcept { return pending_.size(); }
    size_t queuedBytes() const noexcept { return out_.size() - out_offset_; }
    int64_t connectedSinceMs() const noexcept { return connected_ms_; }

private:
    struct Pending
    {
        Callback callback;
        int64_t since_ms;
    };

    void append(const std::vector<std::string_view>& args);
    void setWriteInterest(bool want);
    void readAll();

    std::string host_;
    int port_;
    std::string address_;
    int epoll_fd_;
    uint64_t tag_;
    int fd_ = -1;
    State state_ = State::Closed;
    bool write_interest_ = false;
    std::string error_;
    redisReader* reader_ = nullptr;
    std::string out_;
    size_t out_offset_ = 0;
    std::deque<Pending> pending_;
    PushHandler push_handler_;
    std::function<void()> on_connected_;
    int64_t now_ms_ = 0;
    int64_t connected_ms_ = 0;
};

/// The text of a string, status or error reply; empty for other types.
std::string_view replyText(const redisReply* reply);

} // namespace wsgw::cluster
