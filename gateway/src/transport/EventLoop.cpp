#include "transport/EventLoop.h"

#include "hub/Permissions.h"
#include "protocol/ServerMessage.h"
#include "transport/FrameWriter.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdexcept>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <system_error>
#include <unistd.h>

namespace wsgw::transport {

namespace {

constexpr size_t kReadBufferSize = 64 * 1024;
constexpr int kMaxEvents = 256;
constexpr int kMaxIov = 64;
constexpr uint64_t kWakeTag = ~uint64_t{0};

Poco::Logger& logger()
{
    return Poco::Logger::get("wsgw.loop");
}

uint64_t tagOf(const Connection& c)
{
    return (uint64_t{c.serial} << 32) | c.slot;
}

Frame shared(std::string bytes)
{
    return std::make_shared<const std::string>(std::move(bytes));
}

Frame textFrame(const std::string& payload)
{
    return shared(makeFrame(Opcode::Text, payload));
}

} // namespace

EventLoop::EventLoop(int index, const config::Settings& settings, MessageHandler& handler, hub::Metrics& metrics,
                     hub::PeerLimits& peers, hub::SnapshotPtr snapshot)
    : index_(index), settings_(settings), handler_(handler), metrics_(metrics), peers_(peers),
      snapshot_(std::move(snapshot))
{
    limits_.max_message_bytes = settings.max_message_bytes;
    limits_.require_mask = true;
    read_buffer_.resize(kReadBufferSize);
    // The sweep runs often enough for the shortest timer it serves.
    int64_t shortest = std::min(
        {settings.auth_window.count(), settings.ping_interval.count(), settings.close_timeout.count(), int64_t{4000}});
    tick_ms_ = std::max<int64_t>(10, shortest / 4);

    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0)
        throw std::system_error(errno, std::generic_category(), "epoll_create1");
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0)
        throw std::system_error(errno, std::generic_category(), "eventfd");
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = kWakeTag;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event) < 0)
        throw std::system_error(errno, std::generic_category(), "epoll_ctl(eventfd)");
}

EventLoop::~EventLoop()
{
    if (thread_.joinable())
        thread_.join();
    for (Connection* c : slots_)
    {
        if (c)
        {
            ::close(c->fd);
            delete c;
        }
    }
    ::close(wake_fd_);
    ::close(epoll_fd_);
}

void EventLoop::start()
{
    thread_ = std::thread([this] { run(); });
}

void EventLoop::join()
{
    if (thread_.joinable())
        thread_.join();
}

void EventLoop::post(Task task)
{
    bool wake = false;
    {
        std::lock_guard lock(tasks_mutex_);
        wake = tasks_.empty();
        tasks_.push_back(std::move(task));
    }
    // One eventfd write per batch of posts: the loop drains them all at once.
    if (wake)
    {
        uint64_t one = 1;
        [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
    }
}

void EventLoop::updateClock()
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    now_ms_ = static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void EventLoop::run()
{
    std::vector<epoll_event> events(kMaxEvents);
    updateClock();
    next_sweep_ms_ = now() + tick_ms_;
    while (true)
    {
        if (stopping_ && load_.load(std::memory_order_relaxed) == 0)
            break;
        int timeout = static_cast<int>(std::max<int64_t>(0, next_sweep_ms_ - now()));
        int n = ::epoll_wait(epoll_fd_, events.data(), kMaxEvents, timeout);
        if (n < 0 && errno != EINTR)
        {
            logger().critical("loop %d: epoll_wait failed: %s", index_, std::string(std::strerror(errno)));
            break;
        }
        updateClock();
        for (int i = 0; i < n; ++i)
        {
            const auto& event = events[static_cast<size_t>(i)];
            if (event.data.u64 == kWakeTag)
            {
                uint64_t count = 0;
                [[maybe_unused]] ssize_t r = ::read(wake_fd_, &count, sizeof(count));
                continue;
            }
            auto slot = static_cast<uint32_t>(event.data.u64 & 0xffffffffu);
            auto serial = static_cast<uint32_t>(event.data.u64 >> 32);
            if (slot >= slots_.size() || !slots_[slot] || slots_[slot]->serial != serial)
                continue; // reaped earlier in this batch
            Connection& c = *slots_[slot];
            if (event.events & EPOLLOUT)
                markDirty(c);
            if (event.events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
                onReadable(c);
        }
        runTasks();
        if (now() >= next_sweep_ms_)
        {
            sweep();
            next_sweep_ms_ = now() + tick_ms_;
        }
        // Replies and pings can overflow a queue too, not only posted pushes.
        closeSlowConsumers();
        flushDirty();
        reapPending();
    }
    // Whatever is left after the drain deadline is dropped.
    for (Connection* c : slots_)
    {
        if (c)
            reap(*c);
    }
    reapPending();
}

void EventLoop::runTasks()
{
    {
        std::lock_guard lock(tasks_mutex_);
        running_tasks_.swap(tasks_);
    }
    for (auto& task : running_tasks_)
    {
        try
        {
            task(*this);
        }
        catch (const std::exception& e)
        {
            logger().error("loop %d: task failed: %s", index_, std::string(e.what()));
        }
        closeSlowConsumers();
    }
    running_tasks_.clear();
}

void EventLoop::adopt(int fd, const std::string& initial, const sockaddr_in6& peer)
{
    if (stopping_)
    {
        peers_.release(peer.sin6_addr);
        ::close(fd);
        return;
    }
    int flags = ::fcntl(fd, F_GETFL, 0);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (settings_.send_buffer_bytes > 0)
    {
        int size = static_cast<int>(settings_.send_buffer_bytes);
        ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    }
    auto* c = new Connection(fd, &limits_);
    if (free_slots_.empty())
    {
        c->slot = static_cast<uint32_t>(slots_.size());
        slots_.push_back(c);
    }
    else
    {
        c->slot = free_slots_.back();
        free_slots_.pop_back();
        slots_[c->slot] = c;
    }
    c->serial = next_serial_++;
    if (next_serial_ == 0)
        next_serial_ = 1;
    c->peer = peer;
    updateClock();
    c->opened_ms = now();
    c->last_rx_ms = now();
    epoll_event event{};
    event.events = EPOLLIN | EPOLLRDHUP;
    event.data.u64 = tagOf(*c);
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) < 0)
    {
        logger().error("loop %d: epoll_ctl(ADD) failed: %s", index_, std::string(std::strerror(errno)));
        slots_[c->slot] = nullptr;
        free_slots_.push_back(c->slot);
        peers_.release(peer.sin6_addr);
        ::close(fd);
        delete c;
        return;
    }
    load_.fetch_add(1, std::memory_order_relaxed);
    hub::Metrics::add(metrics_.connections, 1);
    hub::Metrics::add(metrics_.connections_total);
    if (!initial.empty())
    {
        // Bytes the client sent right behind its handshake: parse them as if just read.
        std::string copy = initial;
        size_t offset = 0;
        while (offset < copy.size() && c->state == Connection::State::Open)
        {
            size_t consumed = 0;
            Message message{};
            auto status = c->parser.parse(copy.data() + offset, copy.size() - offset, consumed, message);
            offset += consumed;
            if (status == ParseStatus::Message)
                onMessage(*c, message);
            else if (status == ParseStatus::Error)
            {
                hub::Metrics::add(metrics_.protocol_errors);
                beginClose(*c, c->parser.error(), c->parser.errorReason(), true);
                break;
            }
            else
                break;
        }
    }
}

void EventLoop::onReadable(Connection& c)
{
    ssize_t n = ::recv(c.fd, read_buffer_.data(), read_buffer_.size(), 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
    {
        // EOF or reset without a close handshake (RFC 6455 1006): nothing to answer.
        reap(c);
        return;
    }
    if (n < 0)
        return;
    c.last_rx_ms = now();
    c.ping_sent = false;
    size_t size = static_cast<size_t>(n);
    size_t offset = 0;
    while (offset < size)
    {
        size_t consumed = 0;
        Message message{};
        auto status = c.parser.parse(read_buffer_.data() + offset, size - offset, consumed, message);
        offset += consumed;
        if (status == ParseStatus::Message)
        {
            onMessage(c, message);
            if (c.fd < 0 || c.close_after_flush)
                return;
            continue;
        }
        if (status == ParseStatus::Error)
        {
            // Already closing: drop what the client still sends until it closes or the
            // deadline passes. Closing the socket with unread input would send a RST,
            // and a RST can destroy our close frame before the client reads it.
            if (c.state == Connection::State::Closing)
                return;
            hub::Metrics::add(metrics_.protocol_errors);
            // SPEC §5: 1002 / 1007 / 1009 as the parser decided; no other client is affected.
            beginClose(c, c.parser.error(), c.parser.errorReason(), true);
            return;
        }
        break; // NeedMore: the parser kept the partial frame
    }
    if (c.parser.idle())
        c.parser.shrink();
}

void EventLoop::onMessage(Connection& c, const Message& message)
{
    switch (message.kind)
    {
    case MessageKind::Text:
    case MessageKind::Binary:
        // SPEC §1: client messages are accepted in text or binary frames.
        if (c.state == Connection::State::Open)
            handler_.onMessage(*this, c, message.kind, message.payload);
        break;
    case MessageKind::Ping:
        if (c.state == Connection::State::Open)
            send(c, makeFrame(Opcode::Pong, message.payload));
        break;
    case MessageKind::Pong:
        break;
    case MessageKind::Close:
        if (c.state == Connection::State::Closing)
        {
            // The client answered our close: the handshake is complete.
            reap(c);
            return;
        }
        // Client-initiated close: echo its code, then the server closes TCP first (RFC 6455 §7.1.1).
        registry_.removeAll(c);
        c.state = Connection::State::Closing;
        c.close_deadline_ms = now() + settings_.close_timeout.count();
        if (message.close_code == static_cast<uint16_t>(CloseCode::NoStatus))
            send(c, makeFrame(Opcode::Close, {}));
        else
            send(c, makeCloseFrame(static_cast<CloseCode>(message.close_code), {}));
        c.close_after_flush = true;
        break;
    }
}

std::vector<size_t> EventLoop::deliver(const std::vector<Outgoing>& pushes)
{
    std::vector<size_t> counts;
    counts.reserve(pushes.size());
    uint64_t total = 0;
    for (const auto& push : pushes)
    {
        // O(recipients): one shared_ptr copy and a vector push_back per recipient.
        size_t count = registry_.forEachRecipient(
            push.app, push.member_id, [&](hub::Subscriber& s) { enqueue(static_cast<Connection&>(s), push.frame); });
        counts.push_back(count);
        total += count;
    }
    hub::Metrics::add(metrics_.deliveries, total);
    return counts;
}

void EventLoop::enqueue(Connection& c, const Frame& frame)
{
    if (c.over_limit)
        return;
    c.queue.push_back(frame);
    c.queued_bytes += frame->size();
    if (c.queued_bytes > settings_.max_queue_bytes)
    {
        // SPEC §5: a slow consumer. Closed after the fan-out (it must not change
        // the subscriber list being iterated), so nobody else waits for it.
        c.over_limit = true;
        slow_.push_back(&c);
        return;
    }
    markDirty(c);
}

void EventLoop::closeSlowConsumers()
{
    for (Connection* c : slow_)
    {
        if (c->fd < 0)
            continue; // already gone (reaped this turn)
        hub::Metrics::add(metrics_.slow_consumer_closes);
        std::string reason = "slow consumer: " + std::to_string(c->queued_bytes) + " bytes queued, limit " +
                             std::to_string(settings_.max_queue_bytes);
        beginClose(*c, CloseCode::PolicyViolation, reason, true);
    }
    slow_.clear();
}

void EventLoop::send(Connection& c, std::string bytes)
{
    enqueue(c, shared(std::move(bytes)));
}

void EventLoop::sendText(Connection& c, const std::string& payload)
{
    enqueue(c, textFrame(payload));
}

void EventLoop::sendFrame(Connection& c, Opcode opcode, std::string_view payload)
{
    send(c, makeFrame(opcode, payload));
}

void EventLoop::markDirty(Connection& c)
{
    if (!c.dirty)
    {
        c.dirty = true;
        dirty_.push_back(&c);
    }
}

void EventLoop::flushDirty()
{
    // Every posted push has been queued by now, so each connection gets one
    // writev for all of them (DESIGN §2).
    for (size_t i = 0; i < dirty_.size(); ++i)
    {
        Connection* c = dirty_[i];
        c->dirty = false;
        if (slots_[c->slot] == c && c->fd >= 0)
            flush(*c);
    }
    dirty_.clear();
}

void EventLoop::flush(Connection& c)
{
    while (c.queue_head < c.queue.size())
    {
        iovec iov[kMaxIov];
        int count = 0;
        for (size_t i = c.queue_head; i < c.queue.size() && count < kMaxIov; ++i, ++count)
        {
            const std::string& bytes = *c.queue[i];
            size_t skip = i == c.queue_head ? c.head_offset : 0;
            iov[count].iov_base = const_cast<char*>(bytes.data() + skip);
            iov[count].iov_len = bytes.size() - skip;
        }
        msghdr message{};
        message.msg_iov = iov;
        message.msg_iovlen = static_cast<size_t>(count);
        ssize_t n = ::sendmsg(c.fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0)
        {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
            {
                setWriteInterest(c, true);
                return;
            }
            if (errno == EINTR)
                continue;
            reap(c); // EPIPE, ECONNRESET: the peer is gone
            return;
        }
        auto written = static_cast<size_t>(n);
        c.queued_bytes -= written;
        while (written > 0)
        {
            size_t left = c.queue[c.queue_head]->size() - c.head_offset;
            if (written >= left)
            {
                written -= left;
                c.queue[c.queue_head].reset();
                ++c.queue_head;
                c.head_offset = 0;
            }
            else
            {
                c.head_offset += written;
                written = 0;
            }
        }
    }
    c.queue.clear();
    c.queue_head = 0;
    c.head_offset = 0;
    if (c.queue.capacity() > 64)
        c.queue.shrink_to_fit();
    setWriteInterest(c, false);
    if (c.close_after_flush)
    {
        reap(c);
        return;
    }
    if (c.state == Connection::State::Closing && !c.write_shut)
    {
        // Our close frame is out: half-close so the client sees it, then wait for its close.
        ::shutdown(c.fd, SHUT_WR);
        c.write_shut = true;
    }
}

void EventLoop::setWriteInterest(Connection& c, bool want)
{
    if (c.want_write == want)
        return;
    epoll_event event{};
    event.events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0u);
    event.data.u64 = tagOf(c);
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &event) == 0)
        c.want_write = want;
}

void EventLoop::beginClose(Connection& c, CloseCode code, std::string_view reason, bool discard_queue)
{
    if (c.state == Connection::State::Closing)
        return;
    logClose(c, code, reason);
    registry_.removeAll(c);
    c.state = Connection::State::Closing;
    c.close_deadline_ms = now() + settings_.close_timeout.count();
    if (stopping_)
        c.close_deadline_ms = std::min(c.close_deadline_ms, drain_deadline_ms_);
    if (discard_queue && c.queue_head < c.queue.size())
    {
        // Keep a partly written frame (the stream must stay well-formed), drop the rest.
        size_t keep = c.head_offset > 0 ? c.queue_head + 1 : c.queue_head;
        for (size_t i = keep; i < c.queue.size(); ++i)
            c.queued_bytes -= c.queue[i]->size();
        c.queue.resize(keep);
    }
    c.over_limit = false;
    c.queue.push_back(shared(makeCloseFrame(code, reason.substr(0, 120))));
    c.queued_bytes += c.queue.back()->size();
    markDirty(c);
}

void EventLoop::logClose(const Connection& c, CloseCode code, std::string_view reason)
{
    if (code == CloseCode::GoingAway)
        return; // shutdown: one line for the whole process, not one per client
    logger().notice("closing connection %s (member %s) with %d: %s", c.peerText(),
                    c.isMember() ? std::to_string(c.member_id) : std::string("-"), static_cast<int>(code),
                    std::string(reason));
}

void EventLoop::reap(Connection& c)
{
    if (slots_[c.slot] != &c || c.fd < 0)
        return;
    registry_.removeAll(c);
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    c.fd = -1;
    if (c.auth == hub::Subscriber::Auth::Member)
        hub::Metrics::add(metrics_.authenticated, -1);
    else if (c.auth == hub::Subscriber::Auth::Anonymous)
        hub::Metrics::add(metrics_.anonymous, -1);
    hub::Metrics::add(metrics_.connections, -1);
    peers_.release(c.peer.sin6_addr);
    load_.fetch_sub(1, std::memory_order_relaxed);
    // The object itself goes at the end of the turn: other lists may still point at it.
    reaped_.push_back(&c);
}

void EventLoop::reapPending()
{
    for (Connection* c : reaped_)
    {
        slots_[c->slot] = nullptr;
        free_slots_.push_back(c->slot);
        delete c;
    }
    reaped_.clear();
}

void EventLoop::sweep()
{
    const int64_t auth_window = settings_.auth_window.count();
    const int64_t ping = settings_.ping_interval.count();
    if (stopping_ && now() >= drain_deadline_ms_)
    {
        for (Connection* c : slots_)
        {
            if (c && c->fd >= 0)
                reap(*c);
        }
        return;
    }
    for (Connection* c : slots_)
    {
        if (!c || c->fd < 0)
            continue;
        if (c->state == Connection::State::Closing)
        {
            if (now() >= c->close_deadline_ms)
                reap(*c);
            continue;
        }
        if (c->auth == hub::Subscriber::Auth::Pending && now() - c->opened_ms >= auth_window)
        {
            // SPEC §1: auth message late -> reply, then close 1008.
            hub::Metrics::add(metrics_.auth_timeouts);
            sendText(*c, protocol::gatewayReply(protocol::Reply::MissingAuth));
            beginClose(*c, CloseCode::PolicyViolation, "missing auth message (auth window passed)", false);
            continue;
        }
        int64_t silent = now() - c->last_rx_ms;
        if (silent >= 2 * ping)
        {
            hub::Metrics::add(metrics_.idle_timeouts);
            beginClose(*c, CloseCode::PolicyViolation, "no answer to ping", true);
        }
        else if (silent >= ping && !c->ping_sent)
        {
            c->ping_sent = true;
            send(*c, makeFrame(Opcode::Ping, {}));
        }
    }
}

void EventLoop::applySnapshot(hub::SnapshotPtr snapshot)
{
    snapshot_ = std::move(snapshot);
    for (Connection* c : slots_)
    {
        if (!c || c->fd < 0 || c->state != Connection::State::Open)
            continue;
        if (c->isMember() && !snapshot_->hasToken(c->member_id, c->token_id))
        {
            // SPEC §2: a removed member or a replaced token ends that member's sessions.
            hub::Metrics::add(metrics_.revoked_closes);
            beginClose(*c, CloseCode::PolicyViolation, "member removed or token replaced", false);
            continue;
        }
        // Copy the names first: unsubscribing edits the list.
        std::vector<std::string> apps;
        for (const auto& sub : c->subscriptions)
            apps.push_back(sub.app->name);
        for (const auto& app : apps)
        {
            if (hub::decide(*snapshot_, settings_.unknown_apps, app, *c) != hub::Decision::Allowed)
            {
                // SPEC §2: the subscription ends and the client is told with the 403 reply.
                registry_.unsubscribe(*c, app);
                sendText(*c, protocol::gatewayReply(protocol::Reply::SubscribeForbidden, app));
            }
        }
    }
}

void EventLoop::collect(LoopStats& stats) const
{
    registry_.forEachApp([&](const hub::AppSubscribers& app) {
        auto& entry = stats.apps[app.name];
        entry.connections += static_cast<int64_t>(app.subscribers.size());
        for (const hub::Subscriber* s : app.subscribers)
        {
            if (s->isMember())
                entry.members.insert(s->member_id);
        }
    });
}

void EventLoop::shutdown(std::chrono::milliseconds drain)
{
    stopping_ = true;
    updateClock();
    drain_deadline_ms_ = now() + drain.count();
    next_sweep_ms_ = std::min(next_sweep_ms_, drain_deadline_ms_);
    for (Connection* c : slots_)
    {
        if (c && c->fd >= 0)
        {
            c->close_deadline_ms = std::min(c->close_deadline_ms, drain_deadline_ms_);
            // SPEC §4: 1001 after whatever is queued, which is flushed first.
            beginClose(*c, CloseCode::GoingAway, "server shutting down", false);
        }
    }
}

} // namespace wsgw::transport
