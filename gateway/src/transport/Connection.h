#pragma once
/// One WebSocket connection after its handshake: socket, frame parser, outbound
/// queue of shared frames, timers, and its subscriber state. Owned by one
/// EventLoop for its whole life; loop thread only.

#include "hub/Subscriber.h"
#include "transport/FrameParser.h"

#include <cstdint>
#include <memory>
#include <netinet/in.h>
#include <string>
#include <vector>

namespace wsgw::transport {

/// An immutable, fully framed message, shared by every connection it is queued on.
using Frame = std::shared_ptr<const std::string>;

struct Connection : hub::Subscriber
{
    enum class State : uint8_t
    {
        Open,    ///< normal operation
        Closing, ///< our close frame is queued or sent; waiting for the client's or the deadline
    };

    Connection(int socket_fd, const ParserLimits* limits) : fd(socket_fd), parser(limits) {}

    int fd;
    uint32_t slot = 0;   ///< index in the loop's connection table
    uint32_t serial = 0; ///< distinguishes reuses of a slot
    State state = State::Open;
    bool dirty = false;             ///< in the loop's list of connections to flush
    bool want_write = false;        ///< EPOLLOUT registered (kernel buffer was full)
    bool ping_sent = false;         ///< a ping is outstanding since the last received byte
    bool close_after_flush = false; ///< drop TCP once the queue (ending in our close frame) is written
    bool write_shut = false;        ///< shutdown(SHUT_WR) done after our close frame
    bool over_limit = false;        ///< queue passed its cap during a fan-out; closed right after it

    int64_t opened_ms = 0;  ///< loop clock at adoption (auth window start)
    int64_t last_rx_ms = 0; ///< loop clock of the last byte received
    int64_t close_deadline_ms = 0;

    FrameParser parser;

    std::vector<Frame> queue; ///< frames not yet fully written, oldest first from queue_head
    size_t queue_head = 0;
    size_t head_offset = 0;  ///< bytes of queue[queue_head] already written
    size_t queued_bytes = 0; ///< unwritten bytes in queue

    sockaddr_in6 peer{}; ///< IPv4 peers are kept as v4-mapped addresses

    /// "ADDRESS:PORT" of the peer, for log lines.
    std::string peerText() const;
};

} // namespace wsgw::transport
