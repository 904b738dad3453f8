// The HTTP side of EventLoop (DESIGN §2): requests read and answered on the
// loop, in order per connection, deadlines on the sweep, and the upgrade in
// place — the same socket becomes a WebSocket on the same loop.

#include "protocol/JsonWriter.h"
#include "transport/EventLoop.h"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Timestamp.h>

#include <ctime>
#include <sys/socket.h>

namespace wsgw::transport {

namespace {

uint64_t tagOf(const Connection& c)
{
    return (uint64_t{c.serial} << 32) | c.slot;
}

std::string errorJson(int status, std::string_view message)
{
    protocol::JsonWriter json;
    json.beginObject().key("code").value(status).key("message").value(message).endObject();
    return json.take() + "\n";
}

} // namespace

const std::string& EventLoop::httpDate()
{
    std::time_t second = std::time(nullptr);
    if (second != date_second_)
    {
        date_second_ = second;
        date_ = Poco::DateTimeFormatter::format(Poco::Timestamp(), Poco::DateTimeFormat::HTTP_FORMAT);
    }
    return date_;
}

void EventLoop::onHttpBytes(Connection& c, size_t size)
{
    HttpState& h = *c.http;
    // The request deadlines run from a request's first byte; a connection with
    // nothing sent yet (fresh, or between keep-alive requests) only has its idle timeout.
    if (h.input.empty() && !h.reader.started() && !h.awaiting_response)
        h.request_start_ms = now();
    h.input.append(read_buffer_.data(), size);
    // Requests pipelined behind a deferred one wait in the buffer; the reader
    // bounds one request, this bounds what may wait behind it.
    if (h.input.size() > http_limits_.max_header_bytes + 2 * http_limits_.max_body_bytes + 65536)
    {
        reap(c);
        return;
    }
    processHttp(c);
}

void EventLoop::processHttp(Connection& c)
{
    while (c.fd >= 0 && c.http && c.state == Connection::State::Open && !c.http->awaiting_response &&
           !c.http->input.empty())
    {
        HttpState& h = *c.http;
        auto status = h.reader.read(h.input);
        if (status == HttpReadStatus::NeedMore)
            return;
        if (status == HttpReadStatus::Error)
        {
            // SPEC §5: malformed, oversized or smuggling-shaped requests get 4xx/5xx and are closed.
            httpError(c, h.reader.error().status, h.reader.error().message);
            return;
        }
        if (settings_.http_max_requests_per_s > 0)
        {
            if (now() - h.rate_window_ms >= 1000)
            {
                h.rate_window_ms = now();
                h.requests_in_window = 0;
            }
            if (++h.requests_in_window > settings_.http_max_requests_per_s)
            {
                httpError(c, 429,
                          "more than " + std::to_string(settings_.http_max_requests_per_s) +
                              " requests per second on one connection");
                return;
            }
        }
        h.keep_alive = h.reader.keepAlive() && !stopping_;
        h.awaiting_response = true;
        const size_t consumed = h.reader.consumed();
        context_.requests.onRequest(*this, c, h.reader);
        if (c.fd < 0 || !c.http)
            return; // closed, or upgraded (its remaining bytes went to the frame parser)
        // Only now are the request's bytes dropped: a deferred response finds
        // the connection with the next request's bytes at the buffer's start.
        c.http->input.erase(0, consumed);
        c.http->reader.next();
        c.http->request_start_ms = now();
    }
}

void EventLoop::httpError(Connection& c, int status, const std::string& message)
{
    HttpResponse response;
    response.status = status;
    response.body = errorJson(status, message);
    response.close = true;
    if (status == 429)
        response.extra_headers = "Retry-After: 1\r\n";
    respond(c, response);
}

void EventLoop::respond(Connection& c, const HttpResponse& response)
{
    if (!c.http || c.state != Connection::State::Open)
        return;
    HttpState& h = *c.http;
    bool close = response.close || !h.keep_alive;
    std::string bytes;
    bytes.reserve(160 + response.extra_headers.size() + response.body.size());
    bytes += "HTTP/1.1 ";
    bytes += std::to_string(response.status);
    bytes += ' ';
    bytes +=
        Poco::Net::HTTPResponse::getReasonForStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(response.status));
    bytes += "\r\nDate: ";
    bytes += httpDate();
    bytes += "\r\nServer: wsgw\r\n";
    bytes += response.extra_headers;
    if (!response.content_type.empty())
    {
        bytes += "Content-Type: ";
        bytes += response.content_type;
        bytes += "\r\n";
    }
    bytes += "Content-Length: ";
    bytes += std::to_string(response.body.size());
    bytes += close ? "\r\nConnection: close\r\n\r\n" : "\r\nConnection: keep-alive\r\n\r\n";
    // RFC 9110 §9.3.2, §15.4.5: a HEAD or 304 response names the body's length but carries none.
    if (!response.head_only)
        bytes += response.body;
    enqueue(c, std::make_shared<const std::string>(std::move(bytes)));
    h.awaiting_response = false;
    h.idle_since_ms = now();
    if (close)
        closeAfterQueue(c);
}

ConnectionTicket EventLoop::deferResponse(Connection& c)
{
    return {this, tagOf(c)};
}

void EventLoop::respondTo(const ConnectionTicket& ticket, const HttpResponse& response)
{
    Connection* c = connectionOf(ticket.tag);
    if (!c || !c->http || !c->http->awaiting_response)
        return; // closed meanwhile: nobody to answer
    respond(*c, response);
    // Requests pipelined behind this one are read after the current task, never
    // from inside it: the handler that answered may still be running.
    if (!c->http->input.empty())
        resume_.push_back(ticket.tag);
}

void EventLoop::resumeHttp()
{
    for (size_t i = 0; i < resume_.size(); ++i)
    {
        if (Connection* c = connectionOf(resume_[i]); c && c->http)
            processHttp(*c);
    }
    resume_.clear();
}

void EventLoop::upgrade(Connection& c, std::string_view accept_key, const sockaddr_in6& client,
                        const UpgradeLogin* login)
{
    std::string leftover = c.http->input.substr(c.http->reader.consumed());
    context_.http_peers.release(c.peer.sin6_addr);
    c.peer = client;
    c.http.reset();
    if (settings_.send_buffer_bytes > 0)
    {
        int size = static_cast<int>(settings_.send_buffer_bytes);
        ::setsockopt(c.fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    }
    // No extension is negotiated (permessage-deflate is declined by omission)
    // and no subprotocol is selected.
    std::string response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Accept: ";
    response += accept_key;
    response += "\r\n\r\n";
    enqueue(c, std::make_shared<const std::string>(std::move(response)));
    c.opened_ms = now();
    c.last_rx_ms = now();
    hub::Metrics::add(metrics_.connections, 1);
    hub::Metrics::add(metrics_.connections_total);
    // SPEC §6: the login's reply is the first frame after the 101.
    if (login)
        context_.messages.onUpgradeLogin(*this, c, *login);
    // Bytes the client sent right behind its handshake are its first frames
    // (read after the login's answer when the login waits for one).
    if (!leftover.empty() && c.state == Connection::State::Open)
    {
        if (c.read_paused)
            c.held_input = std::make_unique<std::string>(std::move(leftover));
        else
            onFrames(c, leftover.data(), leftover.size());
    }
}

void EventLoop::sweepHttp(Connection& c)
{
    HttpState& h = *c.http;
    if (h.awaiting_response)
        return; // the loops owe this request its answer; it comes without a deadline
    const int64_t elapsed = now() - h.request_start_ms;
    if (h.reader.started())
    {
        // SPEC §5: a request that arrives too slowly gets 408 and is closed.
        if (!h.reader.headerComplete() && elapsed >= settings_.http_header_timeout.count())
            httpError(c, 408, "request header not received in time");
        else if (elapsed >= settings_.http_timeout.count())
            httpError(c, 408, "request not received in time");
    }
    else if (now() - h.idle_since_ms >= settings_.http_keep_alive_timeout.count() && c.out.empty())
    {
        // A connection that sends nothing — fresh, or idle between requests — just
        // ends (no 408 a client pool could mistake for its next request's answer).
        reap(c);
    }
}

} // namespace wsgw::transport
