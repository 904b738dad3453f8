// The writer side of EventLoop: outbound queues with their cap, one writev
// per dirty connection per loop turn, and the close paths.

#include "transport/EventLoop.h"

#include <Poco/Logger.h>

#include <cerrno>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

namespace wsgw::transport {

namespace {

constexpr int kMaxIov = 64;

uint64_t tagOf(const Connection& c)
{
    return (uint64_t{c.serial} << 32) | c.slot;
}

} // namespace

void EventLoop::enqueue(Connection& c, Frame frame)
{
    if (c.over_limit)
        return;
    c.out.push(std::move(frame));
    queued(c);
}

void EventLoop::queued(Connection& c)
{
    if (c.over_limit)
        return;
    // SPEC §5: queued pushes, replies and pongs, with their per-entry overhead,
    // all count against the cap.
    if (c.out.cost() > settings_.max_queue_bytes)
    {
        // A slow consumer. Closed after the fan-out (it must not change the
        // subscriber list being iterated), so nobody else waits for it.
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
        std::string reason = "slow consumer: " + std::to_string(c->out.cost()) + " bytes queued, limit " +
                             std::to_string(settings_.max_queue_bytes);
        if (c->http)
        {
            // A client that pipelines requests without reading the responses.
            Poco::Logger::get("wsgw.loop").notice("closing HTTP connection %s: %s", c->peerText(), reason);
            reap(*c);
            continue;
        }
        beginClose(*c, CloseCode::PolicyViolation, reason, true);
    }
    slow_.clear();
}

void EventLoop::sendText(Connection& c, const std::string& payload)
{
    enqueue(c, std::make_shared<const std::string>(makeFrame(Opcode::Text, payload)));
}

void EventLoop::sendFrame(Connection& c, Opcode opcode, std::string_view payload)
{
    enqueue(c, std::make_shared<const std::string>(makeFrame(opcode, payload)));
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
    while (!c.out.empty())
    {
        iovec iov[kMaxIov];
        int count = c.out.fill(iov, kMaxIov);
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
        c.out.consume(static_cast<size_t>(n));
    }
    setWriteInterest(c, false);
    if (c.close_after_flush)
    {
        reap(c);
        return;
    }
    if (c.state == Connection::State::Closing && !c.write_shut)
    {
        // Our last bytes are out: half-close so the client sees them, then wait for its EOF.
        ::shutdown(c.fd, SHUT_WR);
        c.write_shut = true;
    }
}

void EventLoop::setWriteInterest(Connection& c, bool want)
{
    if (c.want_write == want)
        return;
    const bool before = c.want_write;
    c.want_write = want;
    if (!updateInterest(c))
        c.want_write = before;
}

bool EventLoop::updateInterest(Connection& c)
{
    epoll_event event{};
    event.events = (c.read_paused ? 0u : EPOLLIN | EPOLLRDHUP) | (c.want_write ? EPOLLOUT : 0u);
    event.data.u64 = tagOf(c);
    return ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &event) == 0;
}

void EventLoop::beginClose(Connection& c, CloseCode code, std::string_view reason, bool discard_queue)
{
    if (c.state == Connection::State::Closing)
        return;
    if (c.read_paused)
    {
        // The close handshake needs the client's answer: read again, and drop what was held.
        c.held_input.reset();
        c.read_paused = false;
        updateInterest(c);
    }
    logClose(c, code, reason);
    registry_.removeAll(c);
    c.state = Connection::State::Closing;
    c.close_deadline_ms = now() + settings_.close_timeout.count();
    if (stopping_)
        c.close_deadline_ms = std::min(c.close_deadline_ms, drain_deadline_ms_);
    if (discard_queue)
        c.out.discardUnstarted();
    c.over_limit = false;
    // Pushed directly: the close frame must go out even past the cap.
    c.out.push(std::make_shared<const std::string>(makeCloseFrame(code, reason.substr(0, 120))));
    markDirty(c);
}

void EventLoop::closeAfterQueue(Connection& c)
{
    if (c.state == Connection::State::Closing)
        return;
    c.state = Connection::State::Closing;
    c.close_deadline_ms = now() + settings_.close_timeout.count();
    if (stopping_)
        c.close_deadline_ms = std::min(c.close_deadline_ms, drain_deadline_ms_);
    markDirty(c);
}

void EventLoop::logClose(const Connection& c, CloseCode code, std::string_view reason)
{
    if (code == CloseCode::GoingAway)
        return; // shutdown: one line for the whole process, not one per client
    Poco::Logger::get("wsgw.loop")
        .notice("closing connection %s (member %s) with %d: %s", c.peerText(),
                c.isMember() ? std::to_string(c.member_id) : std::string("-"), static_cast<int>(code),
                std::string(reason));
}

} // namespace wsgw::transport
