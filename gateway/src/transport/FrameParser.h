#pragma once
/// Incremental, zero-copy parser of client->server WebSocket frames (RFC 6455 §5):
/// bytes in, whole messages and control frames or a close code out. No I/O, no
/// exceptions. One instance per connection, used by that connection's loop thread only.

#include "transport/CloseCode.h"
#include "transport/Utf8Validator.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace wsgw::transport {

/// Limits for client messages (SPEC §5). One instance is shared by all
/// connections of a loop and must outlive their parsers.
struct ParserLimits
{
    size_t max_message_bytes = 64 * 1024; ///< payload of one data message (sum of its fragments)
    /// Data frames of one message (>= 1). Non-empty fragments are bounded by
    /// max_message_bytes already; this caps the per-frame work of tiny ones. Filled
    /// with effectiveMaxFragments().
    size_t max_fragments = 1024;
    /// Data frames without payload in one message (an empty message counts one): they
    /// cost a header each and carry nothing, so they get a small budget of their own.
    size_t max_empty_fragments = 16;
    bool require_mask = true; ///< RFC 6455 §5.1: clients must mask every frame
};

/// The fragment cap for a message limit: CONFIGURED (the setting ws.max_fragments)
/// when not 0, else max(1024, MAX_MESSAGE_BYTES / 64), so that a message of the
/// largest allowed size may come in fragments of 64 bytes (Autobahn 9.3.1: 4 MiB in
/// 64-byte fragments). Pure; any thread.
constexpr size_t effectiveMaxFragments(size_t configured, size_t max_message_bytes)
{
    if (configured != 0)
        return configured;
    return max_message_bytes / 64 > 1024 ? max_message_bytes / 64 : 1024;
}

enum class MessageKind : uint8_t
{
    Text,
    Binary,
    Ping,
    Pong,
    Close,
};

/// One complete data message or control frame.
struct Message
{
    MessageKind kind = MessageKind::Binary;
    /// Unmasked payload; for Close only the reason text (valid UTF-8). Valid until the
    /// next parse() or shrink() call, and while the input buffer given to parse() is
    /// unchanged (a message that arrived whole in one buffer points into it).
    std::string_view payload;
    /// Close only: the received status code, 1005 (NoStatus) if the payload was empty.
    uint16_t close_code = 0;
};

enum class ParseStatus : uint8_t
{
    NeedMore, ///< all input consumed, no message completed
    Message,  ///< `out` holds a message; call again with the remaining bytes
    Error,    ///< protocol violation: see error() and errorReason()
};

/// Parses the frames a client sends. Validation happens as early as the bytes
/// allow: header fields when their byte arrives, sizes from the length field
/// before any payload is buffered, UTF-8 of text as payload bytes arrive.
///
/// Memory: sizeof(FrameParser) <= 96, plus a heap buffer only while a frame is
/// split across parse() calls or a message is fragmented. A complete unfragmented
/// frame inside one input buffer is unmasked in place and returned as a view. The
/// buffer's capacity never exceeds max_message_bytes plus one control frame (125),
/// nor the end of a final frame, whose length the header gave; while a message is
/// still coming it grows by doubling, so it holds at most about twice what arrived.
class FrameParser
{
public:
    /// LIMITS is kept by pointer (not copied) and must outlive the parser.
    explicit FrameParser(const ParserLimits* limits);

    /// Consumes bytes from [DATA, DATA+SIZE) and adds the number used to CONSUMED.
    /// DATA is mutable: payload bytes are unmasked in place, so a complete
    /// unfragmented frame inside the input comes back as a view into it.
    /// Returns Message when one data message or control frame is complete (in OUT;
    /// call again with the bytes after CONSUMED), NeedMore when all SIZE bytes were
    /// used without completing one, and Error on a protocol violation; after an
    /// Error every call returns Error and consumes nothing. SIZE 0 returns NeedMore.
    /// Control frames between the fragments of a data message are returned as they
    /// arrive and do not disturb the message. O(SIZE).
    ///
    /// Typical loop: `size_t used = 0; while (used < n) { status = parse(buf + used, n - used, used, msg); ... }`
    ParseStatus parse(char* data, size_t size, size_t& consumed, Message& out);

    /// The close code for the error (ProtocolError, InvalidPayload or MessageTooBig);
    /// Normal while there is no error.
    CloseCode error() const { return static_cast<CloseCode>(error_code_); }

    /// A short, static description of the error, fit for a close reason; "" while there is no error.
    const char* errorReason() const { return error_reason_; }

    /// True when no partial frame or message is buffered (the connection is idle).
    /// False in the error state.
    bool idle() const;

    /// Frees the buffer's heap capacity if idle(); no-op otherwise. parse() keeps the
    /// capacity for the next split message, so a connection calls this when its reads
    /// are drained (parse() returned NeedMore) to hold no heap while idle. Invalidates
    /// the payload of the last returned Message.
    void shrink();

    /// Heap bytes the parser holds for partial frames and messages (its buffer's
    /// capacity, bounded as the class comment says); 0 when it holds none. O(1).
    size_t bufferedBytes() const noexcept { return buffer_capacity_; }

private:
    enum class State : uint8_t
    {
        Header,
        Payload,
        Error,
    };

    /// Tries to complete the frame header from the input; false on error.
    bool readHeader(const char* data, size_t size, size_t& pos);
    /// Checks the first header byte (RSV, opcode, fragmentation order).
    bool checkFirstByte();
    /// Checks the second header byte (mask bit, 7-bit length of control frames).
    bool checkSecondByte();
    /// Checks the payload length once it is fully known.
    bool checkLength(uint64_t length);
    /// Unmasks N payload bytes at P in place and validates text; false on error.
    bool processPayload(char* p, size_t n);
    /// Appends N bytes at P to the buffer, growing it within the bounds of the class comment.
    void appendToBuffer(const char* p, size_t n);
    /// Handles a frame whose payload is complete and is PAYLOAD.
    ParseStatus finishFrame(std::string_view payload, Message& out);
    ParseStatus fail(CloseCode code, const char* reason);

    uint8_t opcode() const { return header_[0] & 0x0F; }
    bool fin() const { return (header_[0] & 0x80) != 0; }
    bool masked() const { return (header_[1] & 0x80) != 0; }

    const ParserLimits* limits_;
    /// [bytes of the data message so far][bytes of a split control frame]. Empty
    /// unless a frame is split across calls or a message is fragmented; the part
    /// after message_bytes_ (a delivered message or control frame) is dropped
    /// when the next frame starts. Not a std::string: its reserve() may round a
    /// growth up to twice the old capacity, past what the limits allow.
    std::unique_ptr<char[]> buffer_;
    size_t buffer_size_ = 0;        ///< bytes used in buffer_
    size_t buffer_capacity_ = 0;    ///< bytes allocated for buffer_
    uint64_t frame_remaining_ = 0;  ///< payload bytes of the current frame still to come
    size_t message_bytes_ = 0;      ///< buffered bytes of the data message's completed fragments
    const char* error_reason_ = ""; ///< static text
    uint32_t fragments_ = 0;        ///< data frames seen for the current message
    uint32_t empty_fragments_ = 0;  ///< of those, frames without payload
    Utf8Validator utf8_;            ///< state across the fragments of a text message
    uint8_t header_[14] = {};       ///< the current frame's header bytes, including the mask key
    uint8_t header_size_ = 0;       ///< header bytes received
    uint8_t header_needed_ = 2;     ///< header length, known once byte 2 arrived
    uint8_t message_opcode_ = 0;    ///< Text or Binary while a data message is in progress, else 0
    uint8_t mask_offset_ = 0;       ///< payload bytes unmasked so far, modulo 4
    State state_ = State::Header;
    uint16_t error_code_ = static_cast<uint16_t>(CloseCode::Normal);
};

} // namespace wsgw::transport
