// The loop itself: epoll, posted tasks, accept, the sweep, reaping, and the
// WebSocket read path. The HTTP side is in EventLoopHttp.cpp, the writer
// (queues, flush, close) in EventLoopWriter.cpp.

#include "transport/EventLoop.h"

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
#include <system_error>
#include <unistd.h>

namespace wsgw::transport {

namespace {

constexpr size_t kReadBufferSize = 64 * 1024;
constexpr int kMaxEvents = 256;
constexpr int kMaxAcceptsPerWake = 64;
constexpr uint64_t kWakeTag = ~uint64_t{0};
constexpr uint64_t kListenTag = ~uint64_t{0} - 1;

Poco::Logger& logger()
{
    return Poco::Logger::get("wsgw.loop");
}

uint64_t tagOf(const Connection& c)
{
    return (uint64_t{c.serial} << 32) | c.slot;
}

sockaddr_in6 toV6(const sockaddr_storage& address)
{
    sockaddr_in6 out{};
    out.sin6_family = AF_INET6;
    if (address.ss_family == AF_INET6)
    {
        std::memcpy(&out, &address, sizeof(out));
        return out;
    }
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    out.sin6_port = v4->sin_port;
    out.sin6_addr.s6_addr[10] = 0xff;
    out.sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(&out.sin6_addr.s6_addr[12], &v4->sin_addr, 4);
    return out;
}

} // namespace

EventLoop::EventLoop(int index, const LoopContext& context, hub::SnapshotPtr snapshot)
    : index_(index), context_(context), settings_(context.settings), metrics_(context.metrics),
      snapshot_(std::move(snapshot))
{
    generation_.store(snapshot_->generation, std::memory_order_release);
    registry_.setObserver([this](hub::Subscriber& s, const std::string& app, bool subscribed) {
        context_.messages.onSubscriptionChanged(*this, static_cast<Connection&>(s), app, subscribed);
    });
    limits_.max_message_bytes = settings_.max_message_bytes;
    limits_.max_fragments = effectiveMaxFragments(settings_.max_fragments, settings_.max_message_bytes);
    limits_.require_mask = true;
    http_limits_.max_header_bytes = settings_.http_max_header_bytes;
    http_limits_.max_body_bytes = settings_.push_max_body_bytes;
    read_buffer_.resize(kReadBufferSize);
    registry_.setClusterLink(context.cluster);
    // The sweep runs often enough for the shortest timer it serves.
    int64_t shortest =
        std::min({settings_.auth_window.count(), settings_.ping_interval.count(), settings_.close_timeout.count(),
                  settings_.http_header_timeout.count(), settings_.http_timeout.count(),
                  settings_.http_keep_alive_timeout.count(), int64_t{4000}});
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
            if (c->fd >= 0)
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

Connection* EventLoop::connectionOf(uint64_t tag)
{
    auto slot = static_cast<uint32_t>(tag & 0xffffffffu);
    auto serial = static_cast<uint32_t>(tag >> 32);
    if (slot >= slots_.size() || !slots_[slot] || slots_[slot]->serial != serial || slots_[slot]->fd < 0)
        return nullptr;
    return slots_[slot];
}

ConnectionTicket EventLoop::ticketOf(const Connection& c) const
{
    return {const_cast<EventLoop*>(this), tagOf(c)};
}

Connection* EventLoop::find(const ConnectionTicket& ticket)
{
    return ticket.loop == this ? connectionOf(ticket.tag) : nullptr;
}

void EventLoop::pauseReading(Connection& c)
{
    if (c.read_paused || c.fd < 0)
        return;
    c.read_paused = true;
    updateInterest(c);
}

void EventLoop::resumeReading(Connection& c)
{
    if (!c.read_paused)
        return;
    c.read_paused = false;
    if (c.fd < 0)
        return;
    updateInterest(c);
    auto held = std::move(c.held_input);
    if (held && c.state == Connection::State::Open)
        onFrames(c, held->data(), held->size());
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
        int64_t wake_at = accept_paused_until_ms_ ? std::min(next_sweep_ms_, accept_paused_until_ms_) : next_sweep_ms_;
        int timeout = static_cast<int>(std::max<int64_t>(0, wake_at - now()));
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
            if (event.data.u64 == kListenTag)
            {
                acceptAll();
                continue;
            }
            Connection* c = connectionOf(event.data.u64);
            if (!c)
                continue; // reaped earlier in this batch
            if (event.events & EPOLLOUT)
                markDirty(*c);
            if (c->read_paused)
            {
                // Not reading; a socket that failed or hung up both ways is gone.
                if (event.events & (EPOLLERR | EPOLLHUP))
                    reap(*c);
                continue;
            }
            if (event.events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
                onReadable(*c);
        }
        runTasks();
        resumeHttp();
        resumeAccepting();
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

void EventLoop::listen(int fd, AcceptFunction accept)
{
    int flags = ::fcntl(fd, F_GETFL, 0);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = kListenTag;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) < 0)
        throw std::system_error(errno, std::generic_category(), "epoll_ctl(listen)");
    listen_fd_ = fd;
    accept_ = std::move(accept);
}

void EventLoop::stopListening()
{
    if (listen_fd_ < 0)
        return;
    if (accept_paused_until_ms_ == 0)
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
    listen_fd_ = -1;
}

void EventLoop::acceptAll()
{
    // Bounded per wake-up, so a connection storm cannot starve this loop's own clients.
    for (int i = 0; i < kMaxAcceptsPerWake && listen_fd_ >= 0; ++i)
    {
        sockaddr_storage address{};
        socklen_t length = sizeof(address);
        int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
        {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            {
                // Out of descriptors or memory: the pending connection stays in the
                // backlog and the listener stays readable, so polling it now would
                // spin. Rest it for 100 ms; existing clients are served meanwhile.
                if (accept_paused_until_ms_ == 0)
                    logger().warning("loop %d: accept failed (%s): not accepting for 100 ms; raise the open-file "
                                     "limit (LimitNOFILE) or limits.max_connections",
                                     index_, std::string(std::strerror(errno)));
                ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
                accept_paused_until_ms_ = now() + 100;
                return;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                logger().warning("loop %d: accept failed: %s", index_, std::string(std::strerror(errno)));
            return;
        }
        sockaddr_in6 peer = toV6(address);
        // A trusted proxy's connections are many clients: its clients are capped
        // once their address is known (at the upgrade), not its sockets here.
        if (!context_.peers.isTrustedProxy(peer.sin6_addr) && !context_.http_peers.tryAcquire(peer.sin6_addr))
        {
            // SPEC §5: one address cannot occupy the port. Best effort: a full
            // socket buffer just means the client sees the close.
            static const std::string kRefused = [] {
                std::string body = "{\"code\":503,\"message\":\"too many connections from your address: try later\"}\n";
                return "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\n"
                       "Content-Type: application/json\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body;
            }();
            [[maybe_unused]] ssize_t n = ::send(fd, kRefused.data(), kRefused.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            ::close(fd);
            hub::Metrics::add(metrics_.connections_refused);
            continue;
        }
        accept_(fd, peer);
    }
}

void EventLoop::resumeAccepting()
{
    if (accept_paused_until_ms_ == 0 || now() < accept_paused_until_ms_)
        return;
    accept_paused_until_ms_ = 0;
    if (listen_fd_ < 0)
        return;
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = kListenTag;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &event);
}

void EventLoop::adoptHttp(int fd, const sockaddr_in6& peer)
{
    if (stopping_)
    {
        context_.http_peers.release(peer.sin6_addr);
        ::close(fd);
        return;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto* c = new Connection(fd, &limits_);
    c->http = std::make_unique<HttpState>(&http_limits_);
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
    c->last_rx_ms = now();
    c->http->request_start_ms = now();
    c->http->idle_since_ms = now();
    c->http->rate_window_ms = now();
    epoll_event event{};
    event.events = EPOLLIN | EPOLLRDHUP;
    event.data.u64 = tagOf(*c);
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) < 0)
    {
        logger().error("loop %d: epoll_ctl(ADD) failed: %s", index_, std::string(std::strerror(errno)));
        slots_[c->slot] = nullptr;
        free_slots_.push_back(c->slot);
        context_.http_peers.release(peer.sin6_addr);
        ::close(fd);
        delete c;
        return;
    }
    load_.fetch_add(1, std::memory_order_relaxed);
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
    if (c.state == Connection::State::Closing && (c.http || c.parser.error() != CloseCode::Normal))
        return; // closing: what the client still sends is dropped until EOF or the deadline
    if (c.http)
        onHttpBytes(c, static_cast<size_t>(n));
    else
        onFrames(c, read_buffer_.data(), static_cast<size_t>(n));
}

void EventLoop::onFrames(Connection& c, char* data, size_t size)
{
    size_t offset = 0;
    while (offset < size)
    {
        size_t consumed = 0;
        Message message{};
        auto status = c.parser.parse(data + offset, size - offset, consumed, message);
        offset += consumed;
        if (status == ParseStatus::Message)
        {
            onMessage(c, message);
            if (c.fd < 0 || c.close_after_flush)
                return;
            if (c.read_paused)
            {
                // The handler waits for an answer: the rest is read after it.
                if (offset < size)
                    c.held_input = std::make_unique<std::string>(data + offset, size - offset);
                return;
            }
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
            accountPartial(c);
            beginClose(c, c.parser.error(), c.parser.errorReason(), true);
            return;
        }
        break; // NeedMore: the parser kept the partial frame
    }
    if (c.parser.idle())
        c.parser.shrink();
    accountPartial(c);
}

void EventLoop::accountPartial(Connection& c)
{
    // SPEC §5: partial messages count against one budget for the whole
    // process, so many connections each holding a partial message just under
    // the message limit cannot exhaust memory together.
    auto held = static_cast<int64_t>(c.parser.bufferedBytes());
    auto delta = held - static_cast<int64_t>(c.partial_bytes);
    if (delta == 0)
        return;
    int64_t total = context_.partial_bytes.fetch_add(delta, std::memory_order_relaxed) + delta;
    c.partial_bytes = static_cast<uint32_t>(held);
    if (delta > 0 && settings_.max_partial_bytes > 0 && total > static_cast<int64_t>(settings_.max_partial_bytes) &&
        c.state == Connection::State::Open)
    {
        hub::Metrics::add(metrics_.protocol_errors);
        beginClose(c, CloseCode::TryAgainLater, "server busy: partial-message memory exhausted", true);
    }
}

void EventLoop::onMessage(Connection& c, const Message& message)
{
    switch (message.kind)
    {
    case MessageKind::Text:
    case MessageKind::Binary:
        // SPEC §1: client messages are accepted in text or binary frames.
        if (c.state == Connection::State::Open)
            context_.messages.onMessage(*this, c, message.kind, message.payload);
        break;
    case MessageKind::Ping:
        if (c.state == Connection::State::Open)
        {
            // SPEC §5: one pong for the latest unanswered ping, whatever the client sends.
            c.out.pushPong(std::make_shared<const std::string>(makeFrame(Opcode::Pong, message.payload)));
            queued(c);
        }
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
            enqueue(c, std::make_shared<const std::string>(makeFrame(Opcode::Close, {})));
        else
            enqueue(
                c, std::make_shared<const std::string>(makeCloseFrame(static_cast<CloseCode>(message.close_code), {})));
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

void EventLoop::reap(Connection& c)
{
    if (slots_[c.slot] != &c || c.fd < 0)
        return;
    registry_.removeAll(c);
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    c.fd = -1;
    if (c.partial_bytes)
    {
        context_.partial_bytes.fetch_sub(c.partial_bytes, std::memory_order_relaxed);
        c.partial_bytes = 0;
    }
    if (c.http)
    {
        context_.http_peers.release(c.peer.sin6_addr);
    }
    else
    {
        if (c.auth == hub::Subscriber::Auth::Member)
            hub::Metrics::add(metrics_.authenticated, -1);
        else if (c.auth == hub::Subscriber::Auth::Anonymous)
            hub::Metrics::add(metrics_.anonymous, -1);
        hub::Metrics::add(metrics_.connections, -1);
        context_.peers.release(c.peer.sin6_addr);
    }
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
        if (c->http)
        {
            sweepHttp(*c);
            continue;
        }
        if (c->auth == hub::Subscriber::Auth::Pending && !c->read_paused && now() - c->opened_ms >= auth_window)
        {
            hub::Metrics::add(metrics_.auth_timeouts);
            context_.messages.onAuthTimeout(*this, *c);
            continue;
        }
        if (c->expires_ms != 0 && now() >= c->expires_ms)
        {
            // SPEC §6: a JWT session ends at its exp (plus leeway) unless re-authenticated.
            c->expires_ms = 0;
            context_.messages.onSessionExpired(*this, *c);
            if (c->state != Connection::State::Open)
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
            enqueue(*c, std::make_shared<const std::string>(makeFrame(Opcode::Ping, {})));
        }
    }
}

void EventLoop::applySnapshot(hub::SnapshotPtr snapshot)
{
    snapshot_ = std::move(snapshot);
    for (Connection* c : slots_)
    {
        if (!c || c->fd < 0 || c->http || c->state != Connection::State::Open)
            continue;
        context_.messages.onSnapshot(*this, *c);
    }
    // SPEC §2: the generation is reported once this loop acts on it (issue 9: not before).
    generation_.store(snapshot_->generation, std::memory_order_release);
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
            else
                ++entry.anonymous;
        }
    });
}

void EventLoop::shutdown(std::chrono::milliseconds drain)
{
    stopping_ = true;
    stopListening();
    updateClock();
    drain_deadline_ms_ = now() + drain.count();
    next_sweep_ms_ = std::min(next_sweep_ms_, drain_deadline_ms_);
    for (Connection* c : slots_)
    {
        if (!c || c->fd < 0)
            continue;
        c->close_deadline_ms = std::min(c->close_deadline_ms, drain_deadline_ms_);
        if (c->http)
        {
            // An idle HTTP connection just ends; one in the middle of a request
            // is answered first and closed after its response.
            if (!c->http->reader.started() && !c->http->awaiting_response && c->out.empty())
                reap(*c);
            else
                c->http->keep_alive = false;
            continue;
        }
        // SPEC §4: 1001 after whatever is queued, which is flushed first.
        beginClose(*c, CloseCode::GoingAway, "server shutting down", false);
    }
}

} // namespace wsgw::transport
