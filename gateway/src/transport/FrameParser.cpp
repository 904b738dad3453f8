#include "transport/FrameParser.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace wsgw::transport {

namespace {

constexpr uint8_t kOpContinuation = 0x0;
constexpr uint8_t kOpText = 0x1;
constexpr uint8_t kOpBinary = 0x2;
constexpr uint8_t kOpClose = 0x8;
constexpr uint8_t kOpPing = 0x9;
constexpr uint8_t kOpPong = 0xA;
constexpr uint8_t kFirstControlOpcode = 0x8;
constexpr uint64_t kMaxControlPayload = 125;
/// The smallest buffer allocated, so byte-sized reads do not reallocate at every byte.
constexpr size_t kMinBufferCapacity = 256;

bool isControl(uint8_t opcode)
{
    return opcode >= kFirstControlOpcode;
}

/// Bytes of the extended length field announced by the 7-bit length LEN7.
uint8_t extendedLengthBytes(uint8_t len7)
{
    if (len7 == 126)
    {
        return 2;
    }
    return len7 == 127 ? 8 : 0;
}

/// XORs N bytes at P with the 4-byte KEY, starting OFFSET bytes into the key
/// (RFC 6455 §5.3), and advances OFFSET. Eight bytes per step on the hot path.
void unmask(char* p, size_t n, const uint8_t* key, uint8_t& offset)
{
    uint8_t rotated[8];
    for (size_t i = 0; i < sizeof(rotated); ++i)
    {
        rotated[i] = key[(offset + i) & 3];
    }
    size_t i = 0;
    if (n >= 8)
    {
        uint64_t mask;
        std::memcpy(&mask, rotated, sizeof(mask));
        for (; i + 8 <= n; i += 8)
        {
            uint64_t word;
            std::memcpy(&word, p + i, sizeof(word));
            word ^= mask;
            std::memcpy(p + i, &word, sizeof(word));
        }
    }
    for (; i < n; ++i)
    {
        p[i] = static_cast<char>(p[i] ^ rotated[i & 7]);
    }
    offset = static_cast<uint8_t>((offset + n) & 3);
}

} // namespace

// DESIGN §3: a connection costs a few hundred bytes; the parser's share stays small.
static_assert(sizeof(FrameParser) <= 96, "FrameParser is per-connection state; keep it small");

FrameParser::FrameParser(const ParserLimits* limits) : limits_(limits)
{}

ParseStatus FrameParser::parse(char* data, size_t size, size_t& consumed, Message& out)
{
    if (state_ == State::Error)
    {
        return ParseStatus::Error;
    }
    size_t pos = 0;
    while (true)
    {
        if (state_ == State::Header)
        {
            if (header_size_ == 0)
            {
                // A new frame: drop the payload returned by the previous call (a finished
                // message, or a control frame after the fragments buffered so far).
                // Keeps capacity; shrink() releases it.
                buffer_size_ = message_bytes_;
            }
            if (!readHeader(data, size, pos))
            {
                consumed += pos;
                return ParseStatus::Error;
            }
            if (header_size_ < header_needed_)
            {
                consumed += pos;
                return ParseStatus::NeedMore;
            }
            state_ = State::Payload;
            mask_offset_ = 0;
        }

        const size_t available = size - pos;
        // Zero copy: a frame that is a whole message by itself (a control frame, or an
        // unfragmented data frame) and whose payload is entirely in this input.
        const bool whole_message = isControl(opcode()) || (fin() && fragments_ == 1);
        const bool nothing_buffered = buffer_size_ == message_bytes_;
        ParseStatus status;
        if (whole_message && nothing_buffered && available >= frame_remaining_)
        {
            const auto n = static_cast<size_t>(frame_remaining_);
            char* payload = data + pos;
            pos += n;
            frame_remaining_ = 0;
            if (!processPayload(payload, n))
            {
                consumed += pos;
                return ParseStatus::Error;
            }
            status = finishFrame(std::string_view(payload, n), out);
        }
        else
        {
            // Split or fragmented: copy into buffer_. The length was checked against the
            // limits from the header, so the buffer never holds more than max_message_bytes
            // plus one control frame.
            const auto n = static_cast<size_t>(std::min<uint64_t>(available, frame_remaining_));
            char* chunk = data + pos;
            pos += n;
            frame_remaining_ -= n;
            if (!processPayload(chunk, n))
            {
                consumed += pos;
                return ParseStatus::Error;
            }
            appendToBuffer(chunk, n);
            if (frame_remaining_ > 0)
            {
                consumed += pos;
                return ParseStatus::NeedMore;
            }
            std::string_view payload(buffer_.get(), buffer_size_);
            if (isControl(opcode()))
            {
                payload.remove_prefix(message_bytes_);
            }
            status = finishFrame(payload, out);
        }
        if (status != ParseStatus::NeedMore)
        {
            consumed += pos;
            return status;
        }
        // A non-final fragment ended: go on with the next frame.
    }
}

bool FrameParser::idle() const
{
    return state_ == State::Header && header_size_ == 0 && message_opcode_ == 0;
}

void FrameParser::shrink()
{
    if (idle())
    {
        buffer_.reset();
        buffer_size_ = 0;
        buffer_capacity_ = 0;
    }
}

void FrameParser::appendToBuffer(const char* p, size_t n)
{
    const size_t needed = buffer_size_ + n;
    if (needed > buffer_capacity_)
    {
        // Doubling keeps a message of many small fragments amortised O(1) per byte, and
        // growing only as bytes arrive means a header alone commits no memory. The
        // ceiling: a final frame (every control frame is one) ends where its header
        // said, so nothing beyond it is needed; a non-final fragment's message may go
        // on up to max_message_bytes, which the header check already enforces.
        const size_t frame_end = needed + static_cast<size_t>(frame_remaining_);
        const size_t ceiling = fin() ? frame_end : std::max(frame_end, limits_->max_message_bytes);
        const size_t capacity = std::min(std::max({needed, 2 * buffer_capacity_, kMinBufferCapacity}), ceiling);
        auto grown = std::make_unique_for_overwrite<char[]>(capacity);
        if (buffer_size_ > 0)
        {
            std::memcpy(grown.get(), buffer_.get(), buffer_size_);
        }
        buffer_ = std::move(grown);
        buffer_capacity_ = capacity;
    }
    if (n > 0)
    {
        std::memcpy(buffer_.get() + buffer_size_, p, n);
    }
    buffer_size_ = needed;
}

bool FrameParser::readHeader(const char* data, size_t size, size_t& pos)
{
    while (header_size_ < header_needed_ && pos < size)
    {
        header_[header_size_++] = static_cast<uint8_t>(data[pos++]);
        if (header_size_ == 1)
        {
            if (!checkFirstByte())
            {
                return false;
            }
        }
        else if (header_size_ == 2)
        {
            if (!checkSecondByte())
            {
                return false;
            }
        }
        else
        {
            const uint8_t extended = extendedLengthBytes(header_[1] & 0x7F);
            if (extended != 0 && header_size_ == 2 + extended)
            {
                // Big-endian 16- or 64-bit length. Non-minimal encodings (e.g. 5 in
                // 16 bits) are accepted: RFC 6455 §5.2 says "must" only to senders.
                uint64_t length = 0;
                for (uint8_t i = 2; i < header_size_; ++i)
                {
                    length = (length << 8) | header_[i];
                }
                if (!checkLength(length))
                {
                    return false;
                }
            }
        }
    }
    return true;
}

bool FrameParser::checkFirstByte()
{
    // SPEC §5, RFC 6455 §5.2: RSV1-3 must be 0 unless an extension was negotiated (none is).
    if ((header_[0] & 0x70) != 0)
    {
        fail(CloseCode::ProtocolError, "reserved bits set");
        return false;
    }
    const uint8_t op = opcode();
    switch (op)
    {
    case kOpContinuation:
        // RFC 6455 §5.4: a continuation frame continues a started message.
        if (message_opcode_ == 0)
        {
            fail(CloseCode::ProtocolError, "continuation frame without a message");
            return false;
        }
        break;
    case kOpText:
    case kOpBinary:
        // RFC 6455 §5.4: fragments of one message may not interleave with another.
        if (message_opcode_ != 0)
        {
            fail(CloseCode::ProtocolError, "new message inside a fragmented message");
            return false;
        }
        message_opcode_ = op;
        if (op == kOpText)
        {
            utf8_.reset();
        }
        break;
    case kOpClose:
    case kOpPing:
    case kOpPong:
        // RFC 6455 §5.5: control frames must not be fragmented.
        if (!fin())
        {
            fail(CloseCode::ProtocolError, "fragmented control frame");
            return false;
        }
        return true;
    default:
        // SPEC §5, RFC 6455 §5.2: opcodes 3-7 and 0xB-0xF are reserved.
        fail(CloseCode::ProtocolError, "reserved opcode");
        return false;
    }
    // A data frame. Tiny fragments cost a header's work each for little payload, so
    // their count is limited too (the cap scales with max_message_bytes, see
    // effectiveMaxFragments); reported as 1009 "message too big" since the message
    // exceeds what we process.
    if (fragments_ >= limits_->max_fragments || fragments_ == std::numeric_limits<uint32_t>::max())
    {
        fail(CloseCode::MessageTooBig, "too many fragments");
        return false;
    }
    ++fragments_;
    return true;
}

bool FrameParser::checkSecondByte()
{
    // SPEC §5, RFC 6455 §5.1: a server must close on an unmasked client frame.
    if (!masked() && limits_->require_mask)
    {
        fail(CloseCode::ProtocolError, "unmasked client frame");
        return false;
    }
    const auto len7 = static_cast<uint8_t>(header_[1] & 0x7F);
    // SPEC §5, RFC 6455 §5.5: control frame payloads are at most 125 bytes.
    if (isControl(opcode()) && len7 > kMaxControlPayload)
    {
        fail(CloseCode::ProtocolError, "control frame too long");
        return false;
    }
    const uint8_t extended = extendedLengthBytes(len7);
    header_needed_ = static_cast<uint8_t>(2 + extended + (masked() ? 4 : 0));
    return extended != 0 || checkLength(len7);
}

bool FrameParser::checkLength(uint64_t length)
{
    // RFC 6455 §5.2: the most significant bit of a 64-bit length must be 0.
    if ((length >> 63) != 0)
    {
        fail(CloseCode::ProtocolError, "64-bit length with the high bit set");
        return false;
    }
    const uint8_t op = opcode();
    if (isControl(op))
    {
        // RFC 6455 §5.5.1: a close body is empty or starts with a 2-byte code.
        if (op == kOpClose && length == 1)
        {
            fail(CloseCode::ProtocolError, "close payload of 1 byte");
            return false;
        }
    }
    else if (length > limits_->max_message_bytes - message_bytes_)
    {
        // SPEC §5: message over the limit -> 1009, known from the header before any
        // payload is buffered. message_bytes_ <= max_message_bytes, so no underflow.
        fail(CloseCode::MessageTooBig, "message too big");
        return false;
    }
    else if (length == 0)
    {
        // Empty data frames carry nothing, so max_message_bytes does not bound them:
        // a budget of their own stops a flood of them within one message (1009, like
        // too many fragments).
        if (empty_fragments_ >= limits_->max_empty_fragments)
        {
            fail(CloseCode::MessageTooBig, "too many empty fragments");
            return false;
        }
        ++empty_fragments_;
    }
    frame_remaining_ = length;
    return true;
}

bool FrameParser::processPayload(char* p, size_t n)
{
    if (masked())
    {
        unmask(p, n, header_ + header_needed_ - 4, mask_offset_);
    }
    // SPEC §5, RFC 6455 §8.1: invalid UTF-8 in a text message -> 1007, as soon as the
    // bad byte arrives (not at the end of the frame or message).
    if (!isControl(opcode()) && message_opcode_ == kOpText && !utf8_.feed(p, n))
    {
        fail(CloseCode::InvalidPayload, "invalid UTF-8 in text message");
        return false;
    }
    return true;
}

ParseStatus FrameParser::finishFrame(std::string_view payload, Message& out)
{
    state_ = State::Header;
    header_size_ = 0;
    header_needed_ = 2;
    const uint8_t op = opcode();
    if (!isControl(op))
    {
        if (!fin())
        {
            message_bytes_ = buffer_size_;
            return ParseStatus::NeedMore;
        }
        // A text message may not end inside a code point.
        if (message_opcode_ == kOpText && !utf8_.complete())
        {
            return fail(CloseCode::InvalidPayload, "invalid UTF-8 in text message");
        }
        out.kind = message_opcode_ == kOpText ? MessageKind::Text : MessageKind::Binary;
        out.payload = payload;
        out.close_code = 0;
        message_opcode_ = 0;
        message_bytes_ = 0;
        fragments_ = 0;
        empty_fragments_ = 0;
        return ParseStatus::Message;
    }
    out.payload = payload;
    out.close_code = 0;
    switch (op)
    {
    case kOpPing:
        out.kind = MessageKind::Ping;
        break;
    case kOpPong:
        out.kind = MessageKind::Pong;
        break;
    default:
        out.kind = MessageKind::Close;
        if (payload.empty())
        {
            out.close_code = static_cast<uint16_t>(CloseCode::NoStatus);
            break;
        }
        // Length 1 was rejected from the header, so there are at least 2 bytes.
        out.close_code =
            static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) | static_cast<uint8_t>(payload[1]));
        // RFC 6455 §7.4: a close code a peer may not send -> 1002.
        if (!isValidReceivedCloseCode(out.close_code))
        {
            return fail(CloseCode::ProtocolError, "invalid close code");
        }
        out.payload = payload.substr(2);
        // RFC 6455 §5.5.1: the close reason is UTF-8 -> 1007 otherwise.
        if (!isValidUtf8(out.payload))
        {
            return fail(CloseCode::InvalidPayload, "invalid UTF-8 in close reason");
        }
        break;
    }
    return ParseStatus::Message;
}

ParseStatus FrameParser::fail(CloseCode code, const char* reason)
{
    state_ = State::Error;
    error_code_ = static_cast<uint16_t>(code);
    error_reason_ = reason;
    return ParseStatus::Error;
}

} // namespace wsgw::transport
