#pragma once
/// One client connection of the public port, from accept to close: an HTTP
/// connection first (requests read on the loop), a WebSocket after its
/// upgrade, on the same socket and the same loop. Socket, frame parser,
/// outbound queue of shared frames, timers, and its subscriber state. Owned
/// by one EventLoop for its whole life; loop thread only.

#include "hub/Subscriber.h"
#include "transport/FrameParser.h"
#include "transport/HttpRequestReader.h"
#include "transport/OutboundQueue.h"

#include <cstdint>
#include <memory>
#include <netinet/in.h>
#include <string>

namespace wsgw::transport {

/// What an HTTP connection needs until it is upgraded or closed; freed at the
/// upgrade, so a WebSocket pays one null pointer for it.
struct HttpState
{
    explicit HttpState(const HttpLimits* limits) : reader(limits) {}

    HttpRequestReader reader;
    std::string input;            ///< bytes received and not yet consumed by a request
    int64_t request_start_ms = 0; ///< loop clock when the current request's first byte came (or accept)
    int64_t idle_since_ms = 0;    ///< loop clock when the last response was queued (keep-alive)
    int64_t rate_window_ms = 0;   ///< start of the current one-second request-rate window
    uint32_t requests_in_window = 0;
    bool awaiting_response = false; ///< a handler deferred its response; later requests wait behind it
    bool keep_alive = true;         ///< the current request allows another one after it
};

struct Connection : hub::Subscriber
{
    enum class State : uint8_t
    {
        Open,    ///< normal operation
        Closing, ///< our close frame (or last HTTP response) is queued or sent; waiting for EOF or the deadline
    };

    Connection(int socket_fd, const ParserLimits* limits) : fd(socket_fd), parser(limits) {}

    bool isWebSocket() const noexcept { return !http; }

    int fd;
    uint32_t slot = 0;   ///< index in the loop's connection table
    uint32_t serial = 0; ///< distinguishes reuses of a slot
    State state = State::Open;
    bool dirty = false;             ///< in the loop's list of connections to flush
    bool want_write = false;        ///< EPOLLOUT registered (kernel buffer was full)
    bool ping_sent = false;         ///< a ping is outstanding since the last received byte
    bool close_after_flush = false; ///< drop TCP once the queue (ending in our close frame) is written
    bool write_shut = false;        ///< shutdown(SHUT_WR) done after our last bytes
    bool over_limit = false;        ///< queue passed its cap during a fan-out; closed right after it
    bool read_paused = false;       ///< the handler waits for an answer from elsewhere (EventLoop::pauseReading)
    uint32_t partial_bytes = 0;     ///< parser heap counted in the loop group's partial-message budget

    int64_t opened_ms = 0;  ///< loop clock at the upgrade (auth window start)
    int64_t last_rx_ms = 0; ///< loop clock of the last byte received
    int64_t close_deadline_ms = 0;
    int64_t message_window_ms = 0;   ///< SPEC §7: start of the current one-second window of client publishes/RPCs
    uint32_t messages_in_window = 0; ///< publishes and RPCs in that window

    FrameParser parser;
    OutboundQueue out;
    std::unique_ptr<HttpState> http; ///< null once the connection is a WebSocket
    /// Bytes read and not yet parsed while reading is paused; null otherwise.
    std::unique_ptr<std::string> held_input;
    /// The upgrade request's headers as a JSON object, kept when the session
    /// needs them later (the authorizer webhook, SPEC §6); null otherwise.
    std::unique_ptr<std::string> upgrade_headers;

    /// The client: the TCP peer, or the address a trusted proxy forwarded
    /// (set at the upgrade; its port is then 0, unknown). IPv4 peers are kept
    /// as v4-mapped addresses.
    sockaddr_in6 peer{};

    /// "ADDRESS:PORT" of the client, for log lines; just "ADDRESS" when the port is unknown (0).
    std::string peerText() const;
    /// The client's address alone: dotted IPv4 (for v4-mapped peers) or IPv6 text.
    std::string addressText() const;
};

} // namespace wsgw::transport
