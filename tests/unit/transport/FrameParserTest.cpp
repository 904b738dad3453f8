// FrameParser: every valid frame fed whole, byte by byte and at every split;
// table-driven RFC 6455 / SPEC §5 negatives with their close codes; zero copy,
// fail-fast detection, interleaved control frames, idle state and size.

#include "transport/FrameParser.h"

#include "support/Bytes.h"
#include "transport/FrameWriter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <vector>

using namespace wsgw::transport;
using wsgw::test::bytes;

namespace {

std::string closePayload(uint16_t code, std::string_view reason = {})
{
    return bytes({code >> 8, code & 0xFF}) + std::string(reason);
}

/// A delivered message, copied out of the parser's view.
struct Received
{
    MessageKind kind;
    std::string payload;
    uint16_t close_code;

    bool operator==(const Received&) const = default;
};

void PrintTo(const Received& r, std::ostream* os)
{
    *os << "{kind " << static_cast<int>(r.kind) << ", " << ::testing::PrintToString(r.payload) << ", code "
        << r.close_code << "}";
}

/// What the parser made of a byte stream.
struct Outcome
{
    std::vector<Received> messages;
    bool failed = false;
    CloseCode error = CloseCode::Normal;
    size_t error_offset = 0; ///< stream offset of the last byte consumed when the error was reported
    bool idle = false;
};

/// Feeds WIRE to a fresh parser in the pieces that end at the offsets in CUTS (in
/// order, each piece a separate mutable buffer, like successive socket reads).
Outcome feed(const std::string& wire, const std::vector<size_t>& cuts, const ParserLimits& limits)
{
    Outcome outcome;
    FrameParser parser(&limits);
    size_t start = 0;
    std::vector<size_t> ends = cuts;
    ends.push_back(wire.size());
    for (size_t end : ends)
    {
        std::string piece = wire.substr(start, end - start);
        size_t used = 0;
        while (used < piece.size())
        {
            Message message;
            // Pass only the bytes after `used`; parse() adds what it uses to `used`.
            const ParseStatus status = parser.parse(piece.data() + used, piece.size() - used, used, message);
            if (status == ParseStatus::Error)
            {
                outcome.failed = true;
                outcome.error = parser.error();
                outcome.error_offset = start + used;
                EXPECT_STRNE(parser.errorReason(), "");
                return outcome;
            }
            if (status == ParseStatus::Message)
            {
                outcome.messages.push_back({message.kind, std::string(message.payload), message.close_code});
            }
            else
            {
                EXPECT_EQ(used, piece.size());
            }
        }
        start = end;
    }
    outcome.idle = parser.idle();
    return outcome;
}

/// The loop a connection uses: parse(buf + used, n - used, used, ...).
Outcome feedLikeAConnection(const std::string& wire, size_t read_size, const ParserLimits& limits)
{
    Outcome outcome;
    FrameParser parser(&limits);
    for (size_t start = 0; start < wire.size(); start += read_size)
    {
        std::string piece = wire.substr(start, read_size);
        size_t used = 0;
        while (used < piece.size())
        {
            Message message;
            const ParseStatus status = parser.parse(piece.data() + used, piece.size() - used, used, message);
            if (status == ParseStatus::Error)
            {
                outcome.failed = true;
                outcome.error = parser.error();
                return outcome;
            }
            if (status == ParseStatus::Message)
            {
                outcome.messages.push_back({message.kind, std::string(message.payload), message.close_code});
            }
        }
    }
    outcome.idle = parser.idle();
    return outcome;
}

Outcome feedWhole(const std::string& wire, const ParserLimits& limits = {})
{
    return feed(wire, {}, limits);
}

Outcome feedByteByByte(const std::string& wire, const ParserLimits& limits = {})
{
    std::vector<size_t> cuts;
    for (size_t i = 1; i < wire.size(); ++i)
    {
        cuts.push_back(i);
    }
    return feed(wire, cuts, limits);
}

/// Asserts that WIRE yields EXPECTED whole, byte by byte, at every single split,
/// and (if it is short) at every pair of splits.
void expectMessagesAtEverySplit(const std::string& wire, const std::vector<Received>& expected,
                                const ParserLimits& limits = {})
{
    {
        const Outcome whole = feedWhole(wire, limits);
        ASSERT_FALSE(whole.failed) << "whole: " << static_cast<int>(whole.error);
        ASSERT_EQ(whole.messages, expected) << "whole";
        EXPECT_TRUE(whole.idle);
    }
    {
        const Outcome bytewise = feedByteByByte(wire, limits);
        ASSERT_FALSE(bytewise.failed);
        ASSERT_EQ(bytewise.messages, expected) << "byte by byte";
        EXPECT_TRUE(bytewise.idle);
    }
    for (size_t cut = 0; cut <= wire.size(); ++cut)
    {
        const Outcome split = feed(wire, {cut}, limits);
        ASSERT_FALSE(split.failed) << "split at " << cut;
        ASSERT_EQ(split.messages, expected) << "split at " << cut;
    }
    if (wire.size() <= 400)
    {
        for (size_t a = 0; a <= wire.size(); ++a)
        {
            for (size_t b = a; b <= wire.size(); ++b)
            {
                const Outcome split = feed(wire, {a, b}, limits);
                ASSERT_FALSE(split.failed) << "splits at " << a << ", " << b;
                ASSERT_EQ(split.messages, expected) << "splits at " << a << ", " << b;
            }
        }
    }
    for (size_t read_size : {1, 2, 3, 7, 64})
    {
        const Outcome reads = feedLikeAConnection(wire, read_size, limits);
        ASSERT_FALSE(reads.failed);
        ASSERT_EQ(reads.messages, expected) << "reads of " << read_size;
    }
}

/// Asserts that WIRE fails with CODE whole, byte by byte and at every split, with no
/// message delivered before it other than EXPECTED_BEFORE.
void expectErrorAtEverySplit(const std::string& wire, CloseCode code, const ParserLimits& limits = {},
                             const std::vector<Received>& expected_before = {})
{
    const Outcome whole = feedWhole(wire, limits);
    ASSERT_TRUE(whole.failed) << "whole";
    EXPECT_EQ(whole.error, code) << "whole";
    EXPECT_EQ(whole.messages, expected_before);
    const Outcome bytewise = feedByteByByte(wire, limits);
    ASSERT_TRUE(bytewise.failed) << "byte by byte";
    EXPECT_EQ(bytewise.error, code) << "byte by byte";
    EXPECT_EQ(bytewise.messages, expected_before);
    for (size_t cut = 0; cut <= wire.size(); ++cut)
    {
        const Outcome split = feed(wire, {cut}, limits);
        ASSERT_TRUE(split.failed) << "split at " << cut;
        ASSERT_EQ(split.error, code) << "split at " << cut;
    }
}

constexpr uint32_t kMask = 0x37fa213d;

std::string text(std::string_view payload, bool fin = true)
{
    return makeClientFrame(Opcode::Text, payload, kMask, fin);
}

std::string continuation(std::string_view payload, bool fin)
{
    return makeClientFrame(Opcode::Continuation, payload, kMask, fin);
}

Received textMessage(std::string payload)
{
    return {MessageKind::Text, std::move(payload), 0};
}

Received binaryMessage(std::string payload)
{
    return {MessageKind::Binary, std::move(payload), 0};
}

} // namespace

TEST(FrameParserTest, StateIsSmall)
{
    std::cout << "sizeof(FrameParser) = " << sizeof(FrameParser) << '\n';
    RecordProperty("sizeof_FrameParser", static_cast<int>(sizeof(FrameParser)));
    EXPECT_LE(sizeof(FrameParser), 96u);
}

// RFC 6455 §5.7: the example frames, masked and (with require_mask off) unmasked.
TEST(FrameParserTest, ParsesTheRfcExampleFrames)
{
    const std::string masked_hello = bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
    expectMessagesAtEverySplit(masked_hello, {textMessage("Hello")});

    const std::string masked_pong = bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
    expectMessagesAtEverySplit(masked_pong, {{MessageKind::Pong, "Hello", 0}});

    ParserLimits unmasked;
    unmasked.require_mask = false;
    expectMessagesAtEverySplit(bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}), {textMessage("Hello")}, unmasked);
    // "A fragmented unmasked text message"
    expectMessagesAtEverySplit(bytes({0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f}), {textMessage("Hello")},
                               unmasked);
    // "Unmasked Ping request"
    expectMessagesAtEverySplit(bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}), {{MessageKind::Ping, "Hello", 0}},
                               unmasked);

    // "256 bytes binary message in a single unmasked frame"
    const std::string medium(256, 'm');
    expectMessagesAtEverySplit(bytes({0x82, 0x7E, 0x01, 0x00}) + medium, {binaryMessage(medium)}, unmasked);

    // "64KiB binary message in a single unmasked frame": exactly the default limit.
    const std::string large(65536, 'L');
    const std::string large_wire = bytes({0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00}) + large;
    EXPECT_EQ(feedWhole(large_wire, unmasked).messages, std::vector<Received>{binaryMessage(large)});
    EXPECT_EQ(feedByteByByte(large_wire, unmasked).messages, std::vector<Received>{binaryMessage(large)});
    for (size_t cut : {1, 2, 9, 10, 11, 4096, 65545, 65546})
    {
        EXPECT_EQ(feed(large_wire, {cut}, unmasked).messages, std::vector<Received>{binaryMessage(large)}) << cut;
    }
}

// RFC 6455 §5.4-5.5: a conversation with every frame kind, a fragmented text message
// with a code point split across fragments and control frames between its fragments.
TEST(FrameParserTest, ParsesAConversationAtEverySplit)
{
    const std::string euro = "\xE2\x82\xAC";
    std::string wire;
    wire += text("hi");
    wire += makeClientFrame(Opcode::Binary, std::string(200, '\x01'), 0x01020304);
    wire += text("");
    wire += text("frag-1 \xE2", false);
    wire += makeClientFrame(Opcode::Ping, "p1", 0xDEADBEEF);
    wire += continuation("\x82", false);
    wire += continuation("", false);
    wire += makeClientFrame(Opcode::Pong, "", 0);
    wire += makeClientFrame(Opcode::Ping, std::string(125, 'P'), 0x11223344);
    wire += continuation("\xAC end", true);
    wire += makeClientFrame(Opcode::Binary, "b1", kMask, false);
    wire += makeClientFrame(Opcode::Close, closePayload(1000, "mid"), kMask);
    wire += continuation("b2", true);
    wire += makeClientFrame(Opcode::Close, closePayload(1001, "bye " + euro), 0x0BADF00D);

    const std::vector<Received> expected = {
        textMessage("hi"),
        binaryMessage(std::string(200, '\x01')),
        textMessage(""),
        {MessageKind::Ping, "p1", 0},
        {MessageKind::Pong, "", 0},
        {MessageKind::Ping, std::string(125, 'P'), 0},
        textMessage("frag-1 " + euro + " end"),
        {MessageKind::Close, "mid", 1000},
        binaryMessage("b1b2"),
        {MessageKind::Close, "bye " + euro, 1001},
    };
    expectMessagesAtEverySplit(wire, expected);
}

TEST(FrameParserTest, ParsesEveryLengthEncodingAtEverySplit)
{
    ParserLimits limits;
    limits.max_message_bytes = 70000;
    for (size_t size : {0, 1, 4, 5, 125, 126, 127, 300, 65535, 65536, 70000})
    {
        SCOPED_TRACE(size);
        std::string payload(size, '\0');
        for (size_t i = 0; i < size; ++i)
        {
            payload[i] = static_cast<char>('a' + i % 26);
        }
        const std::string wire = text(payload);
        if (size <= 300)
        {
            expectMessagesAtEverySplit(wire, {textMessage(payload)}, limits);
            continue;
        }
        EXPECT_EQ(feedWhole(wire, limits).messages, std::vector<Received>{textMessage(payload)});
        for (size_t read_size : {1, 1000, 4096})
        {
            const Outcome outcome = feedLikeAConnection(wire, read_size, limits);
            EXPECT_EQ(outcome.messages, std::vector<Received>{textMessage(payload)}) << read_size;
        }
    }
}

// RFC 6455 §5.2 asks senders for the minimal length encoding; a receiver may accept
// others, and we do.
TEST(FrameParserTest, AcceptsNonMinimalLengthEncodings)
{
    const std::string key = bytes({0, 0, 0, 0});
    const std::string sixteen = bytes({0x81, 0xFE, 0x00, 0x05}) + key + "hello";
    expectMessagesAtEverySplit(sixteen, {textMessage("hello")});
    const std::string sixty_four = bytes({0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0x03}) + key + "abc";
    expectMessagesAtEverySplit(sixty_four, {binaryMessage("abc")});
    const std::string empty_64 = bytes({0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0}) + key;
    expectMessagesAtEverySplit(empty_64, {binaryMessage("")});
}

// RFC 6455 §5.5.1: close with no payload reports 1005; with a code, the code and reason.
TEST(FrameParserTest, ReportsCloseCodesAndReasons)
{
    expectMessagesAtEverySplit(makeClientFrame(Opcode::Close, "", kMask), {{MessageKind::Close, "", 1005}});
    expectMessagesAtEverySplit(makeClientFrame(Opcode::Close, closePayload(1000), kMask),
                               {{MessageKind::Close, "", 1000}});
    // RFC 6455 §7.4: the codes a peer may send.
    for (uint16_t code :
         {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999})
    {
        const Outcome outcome = feedWhole(makeClientFrame(Opcode::Close, closePayload(code, "why"), kMask));
        ASSERT_FALSE(outcome.failed) << code;
        EXPECT_EQ(outcome.messages, std::vector<Received>({{MessageKind::Close, "why", code}})) << code;
    }
    const std::string reason(123, 'r');
    expectMessagesAtEverySplit(makeClientFrame(Opcode::Close, closePayload(4000, reason), kMask),
                               {{MessageKind::Close, reason, 4000}});
}

// A complete unfragmented frame in the input is unmasked in place and returned as a
// view into it; a split frame is returned from the parser's own buffer.
TEST(FrameParserTest, ReturnsWholeFramesAsViewsIntoTheInput)
{
    ParserLimits limits;
    FrameParser parser(&limits);
    std::string input = text("first") + makeClientFrame(Opcode::Ping, "ping", 7) + text("second");
    size_t used = 0;
    Message message;
    ASSERT_EQ(parser.parse(input.data(), input.size(), used, message), ParseStatus::Message);
    EXPECT_EQ(message.payload, "first");
    EXPECT_EQ(message.payload.data(), input.data() + 6);
    EXPECT_EQ(used, 11u);
    EXPECT_TRUE(parser.idle());

    ASSERT_EQ(parser.parse(input.data() + used, input.size() - used, used, message), ParseStatus::Message);
    EXPECT_EQ(message.kind, MessageKind::Ping);
    EXPECT_EQ(message.payload, "ping");
    EXPECT_EQ(message.payload.data(), input.data() + 11 + 6);

    ASSERT_EQ(parser.parse(input.data() + used, input.size() - used, used, message), ParseStatus::Message);
    EXPECT_EQ(message.payload, "second");
    EXPECT_GE(message.payload.data(), input.data());
    EXPECT_LT(message.payload.data(), input.data() + input.size());
    EXPECT_EQ(used, input.size());

    // The header alone, then the payload whole in the next read: still zero copy.
    std::string header_part = text("later").substr(0, 6);
    std::string payload_part = text("later").substr(6);
    used = 0;
    ASSERT_EQ(parser.parse(header_part.data(), header_part.size(), used, message), ParseStatus::NeedMore);
    EXPECT_FALSE(parser.idle());
    used = 0;
    ASSERT_EQ(parser.parse(payload_part.data(), payload_part.size(), used, message), ParseStatus::Message);
    EXPECT_EQ(message.payload, "later");
    EXPECT_EQ(message.payload.data(), payload_part.data());

    // Split inside the payload: copied into the parser's buffer.
    std::string wire = text("buffered");
    std::string first = wire.substr(0, 9);
    std::string rest = wire.substr(9);
    used = 0;
    ASSERT_EQ(parser.parse(first.data(), first.size(), used, message), ParseStatus::NeedMore);
    EXPECT_EQ(used, first.size());
    used = 0;
    ASSERT_EQ(parser.parse(rest.data(), rest.size(), used, message), ParseStatus::Message);
    EXPECT_EQ(message.payload, "buffered");
    const bool in_rest = message.payload.data() >= rest.data() && message.payload.data() < rest.data() + rest.size();
    EXPECT_FALSE(in_rest);
    EXPECT_TRUE(parser.idle());
    parser.shrink();
    EXPECT_TRUE(parser.idle());
}

TEST(FrameParserTest, IdleOnlyBetweenMessages)
{
    ParserLimits limits;
    FrameParser parser(&limits);
    EXPECT_TRUE(parser.idle());
    Message message;
    std::string wire = text("ab", false) + makeClientFrame(Opcode::Ping, "", 1) + continuation("cd", true);
    const size_t first_frame = 8;
    const size_t ping_frame = 6;

    size_t used = 0;
    ASSERT_EQ(parser.parse(wire.data(), 1, used, message), ParseStatus::NeedMore);
    EXPECT_FALSE(parser.idle()); // mid-header
    ASSERT_EQ(parser.parse(wire.data() + used, first_frame - 1 - 1, used, message), ParseStatus::NeedMore);
    EXPECT_FALSE(parser.idle()); // mid-payload
    ASSERT_EQ(parser.parse(wire.data() + used, 1, used, message), ParseStatus::NeedMore);
    EXPECT_FALSE(parser.idle()); // between fragments
    parser.shrink();             // no-op while a message is partial
    ASSERT_EQ(parser.parse(wire.data() + used, ping_frame, used, message), ParseStatus::Message);
    EXPECT_EQ(message.kind, MessageKind::Ping);
    EXPECT_FALSE(parser.idle()); // the fragmented message is still open
    ASSERT_EQ(parser.parse(wire.data() + used, wire.size() - used, used, message), ParseStatus::Message);
    EXPECT_EQ(message.payload, "abcd");
    EXPECT_TRUE(parser.idle());
    parser.shrink();
    EXPECT_TRUE(parser.idle());
}

TEST(FrameParserTest, SizeZeroNeedsMore)
{
    ParserLimits limits;
    FrameParser parser(&limits);
    size_t used = 0;
    Message message;
    EXPECT_EQ(parser.parse(nullptr, 0, used, message), ParseStatus::NeedMore);
    EXPECT_EQ(used, 0u);
    EXPECT_TRUE(parser.idle());
}

TEST(FrameParserTest, AcceptsUnmaskedFramesWhenMaskNotRequired)
{
    ParserLimits limits;
    limits.require_mask = false;
    std::string wire = makeFrame(Opcode::Text, "plain") + text("masked");
    expectMessagesAtEverySplit(wire, {textMessage("plain"), textMessage("masked")}, limits);
}

// SPEC §5: limits are inclusive: exactly max_message_bytes and max_fragments pass.
TEST(FrameParserTest, AcceptsMessagesExactlyAtTheLimits)
{
    ParserLimits limits;
    limits.max_message_bytes = 10;
    limits.max_fragments = 3;
    expectMessagesAtEverySplit(text("0123456789"), {textMessage("0123456789")}, limits);
    expectMessagesAtEverySplit(text("0123", false) + continuation("456", false) + continuation("789", true),
                               {textMessage("0123456789")}, limits);
    // The counters start over with each message.
    std::string two = text("01234", false) + continuation("56789", true) + text("abc", false) +
                      continuation("", false) + continuation("def", true);
    expectMessagesAtEverySplit(two, {textMessage("0123456789"), textMessage("abcdef")}, limits);
}

// SPEC §5 / RFC 6455: every protocol violation and the close code it gets.
TEST(FrameParserTest, RejectsProtocolViolationsWithTheirCloseCodes)
{
    struct Case
    {
        const char* what;
        std::string wire;
        CloseCode code;
    };
    const std::string key = bytes({1, 2, 3, 4});
    std::vector<Case> cases = {
        // SPEC §5, RFC 6455 §5.1: unmasked client frame -> 1002
        {"unmasked text", makeFrame(Opcode::Text, "hi"), CloseCode::ProtocolError},
        {"unmasked close", makeFrame(Opcode::Close, ""), CloseCode::ProtocolError},
        // SPEC §5, RFC 6455 §5.2: RSV bits without an extension -> 1002
        {"RSV1", makeClientFrame(Opcode::Text, "hi", kMask, true, 4), CloseCode::ProtocolError},
        {"RSV2", makeClientFrame(Opcode::Text, "hi", kMask, true, 2), CloseCode::ProtocolError},
        {"RSV3", makeClientFrame(Opcode::Text, "hi", kMask, true, 1), CloseCode::ProtocolError},
        {"RSV1 on ping", makeClientFrame(Opcode::Ping, "", kMask, true, 4), CloseCode::ProtocolError},
        // SPEC §5, RFC 6455 §5.5: control frame payload > 125 -> 1002
        {"ping of 126", makeClientFrame(Opcode::Ping, std::string(126, 'x'), kMask), CloseCode::ProtocolError},
        {"pong of 126", makeClientFrame(Opcode::Pong, std::string(126, 'x'), kMask), CloseCode::ProtocolError},
        {"close of 126", makeClientFrame(Opcode::Close, closePayload(1000, std::string(124, 'x')), kMask),
         CloseCode::ProtocolError},
        {"ping of 65536", makeClientFrame(Opcode::Ping, std::string(65536, 'x'), kMask), CloseCode::ProtocolError},
        // RFC 6455 §5.5: control frames must not be fragmented -> 1002
        {"fragmented ping", makeClientFrame(Opcode::Ping, "", kMask, false), CloseCode::ProtocolError},
        {"fragmented close", makeClientFrame(Opcode::Close, "", kMask, false), CloseCode::ProtocolError},
        // RFC 6455 §5.4: continuation without a started message -> 1002
        {"lone continuation", continuation("x", true), CloseCode::ProtocolError},
        {"continuation after a whole message", text("a") + continuation("x", true), CloseCode::ProtocolError},
        // RFC 6455 §5.4: a new data message inside a fragmented one -> 1002
        {"text inside text", text("a", false) + text("b"), CloseCode::ProtocolError},
        {"binary inside text", text("a", false) + makeClientFrame(Opcode::Binary, "b", kMask),
         CloseCode::ProtocolError},
        {"text inside binary", makeClientFrame(Opcode::Binary, "a", kMask, false) + text("b", false),
         CloseCode::ProtocolError},
        // RFC 6455 §5.2: 64-bit length with the most significant bit set -> 1002
        {"64-bit length top bit", bytes({0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1}) + key, CloseCode::ProtocolError},
        // RFC 6455 §5.5.1: a close body of 1 byte -> 1002
        {"close of 1 byte", makeClientFrame(Opcode::Close, "\x03", kMask), CloseCode::ProtocolError},
        // RFC 6455 §5.5.1, §8.1: close reason not UTF-8 -> 1007
        {"close reason not UTF-8", makeClientFrame(Opcode::Close, closePayload(1000, "bad \xFF"), kMask),
         CloseCode::InvalidPayload},
        {"close reason truncated UTF-8", makeClientFrame(Opcode::Close, closePayload(1000, "\xE2\x82"), kMask),
         CloseCode::InvalidPayload},
        // SPEC §5, RFC 6455 §8.1: invalid UTF-8 in a text message -> 1007
        {"text not UTF-8", text("a\xC0\xAF"), CloseCode::InvalidPayload},
        {"text surrogate", text("\xED\xA0\x80"), CloseCode::InvalidPayload},
        {"text above U+10FFFF", text("\xF4\x90\x80\x80"), CloseCode::InvalidPayload},
        {"text ends inside a code point", text("a\xE2\x82"), CloseCode::InvalidPayload},
        {"fragmented text ends inside a code point", text("a", false) + continuation("\xE2\x82", true),
         CloseCode::InvalidPayload},
        {"bad UTF-8 in the first fragment", text("\xFF", false) + continuation("ok", true), CloseCode::InvalidPayload},
        {"bad UTF-8 across fragments", text("\xE2", false) + continuation("\x28", true), CloseCode::InvalidPayload},
        // SPEC §5: message over max_message_bytes (64 KiB) -> 1009
        {"single frame over 64 KiB", text(std::string(65537, 'a')), CloseCode::MessageTooBig},
        {"fragments over 64 KiB", text(std::string(40000, 'a'), false) + continuation(std::string(30000, 'b'), true),
         CloseCode::MessageTooBig},
        {"huge 64-bit length", bytes({0x82, 0xFF, 0x40, 0, 0, 0, 0, 0, 0, 0}) + key, CloseCode::MessageTooBig},
    };
    // SPEC §5, RFC 6455 §5.2: reserved opcodes 3-7 and 0xB-0xF -> 1002
    for (int op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF})
    {
        cases.push_back(
            {"reserved opcode", makeClientFrame(static_cast<Opcode>(op), "", kMask), CloseCode::ProtocolError});
    }
    // RFC 6455 §7.4: close codes a peer may not send -> 1002
    for (int code : {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535})
    {
        cases.push_back({"invalid close code",
                         makeClientFrame(Opcode::Close, closePayload(static_cast<uint16_t>(code), "x"), kMask),
                         CloseCode::ProtocolError});
    }
    for (const Case& c : cases)
    {
        SCOPED_TRACE(c.what);
        // Only this case delivers a message before its violation.
        const bool after_message = std::string_view(c.what) == "continuation after a whole message";
        const std::vector<Received> before =
            after_message ? std::vector<Received>{textMessage("a")} : std::vector<Received>{};
        if (c.wire.size() < 2000)
        {
            expectErrorAtEverySplit(c.wire, c.code, {}, before);
        }
        else
        {
            const Outcome whole = feedWhole(c.wire);
            ASSERT_TRUE(whole.failed);
            EXPECT_EQ(whole.error, c.code);
            const Outcome bytewise = feedByteByByte(c.wire);
            ASSERT_TRUE(bytewise.failed);
            EXPECT_EQ(bytewise.error, c.code);
        }
    }
}

// SPEC §5: more than max_fragments fragments -> 1009 (the message is too costly to
// process, like an oversize one); this also stops floods of empty fragments.
TEST(FrameParserTest, RejectsTooManyFragments)
{
    ParserLimits limits;
    limits.max_fragments = 4;
    std::string wire = text("", false);
    for (int i = 0; i < 3; ++i)
    {
        wire += continuation("", false);
    }
    const std::string header_of_fifth = continuation("", true).substr(0, 1);
    expectErrorAtEverySplit(wire + header_of_fifth, CloseCode::MessageTooBig, limits);

    // An endless stream of non-empty fragments stops at the fragment cap: here 1024.
    ParserLimits defaults;
    std::string flood = text("x", false);
    for (int i = 0; i < 2000; ++i)
    {
        flood += continuation("x", false);
    }
    const Outcome outcome = feedWhole(flood, defaults);
    ASSERT_TRUE(outcome.failed);
    EXPECT_EQ(outcome.error, CloseCode::MessageTooBig);
    EXPECT_EQ(outcome.error_offset, 1024u * 7 + 1); // the first byte of the 1025th frame
}

// Issue 9 item 5: empty data frames are bounded on their own, 16 per message,
// whatever the fragment cap; the 17th is refused with 1009 at its length byte.
TEST(FrameParserTest, RefusesTheSeventeenthEmptyFragment)
{
    ParserLimits limits;
    limits.max_fragments = effectiveMaxFragments(0, 16 * 1024 * 1024);
    std::string fifteen = text("", false);
    for (int i = 0; i < 14; ++i)
    {
        fifteen += continuation("", false);
    }
    // 16 empty frames, then data: accepted; and the budget starts over with each message.
    expectMessagesAtEverySplit(fifteen + continuation("", false) + continuation("abc", true) + fifteen +
                                   continuation("", true),
                               {textMessage("abc"), textMessage("")}, limits);
    const std::string seventeen = fifteen + continuation("", false) + continuation("", true);
    expectErrorAtEverySplit(seventeen, CloseCode::MessageTooBig, limits);
    const Outcome outcome = feedWhole(seventeen + continuation("never read", true), limits);
    ASSERT_TRUE(outcome.failed);
    EXPECT_EQ(outcome.error_offset, 16u * 6 + 2); // the length byte of the 17th frame
    // Non-empty fragments in between do not reset the count.
    std::string mixed = text("a", false);
    for (int i = 0; i < 17; ++i)
    {
        mixed += continuation("", false) + continuation("b", false);
    }
    const Outcome interleaved = feedWhole(mixed, limits);
    ASSERT_TRUE(interleaved.failed);
    EXPECT_EQ(interleaved.error, CloseCode::MessageTooBig);
}

// Issue 9 item 5: ws.max_fragments 0 scales the cap with the message limit, so a
// message of the largest size may come in 64-byte fragments; a configured value wins.
TEST(FrameParserTest, FragmentCapScalesWithTheMessageLimit)
{
    static_assert(effectiveMaxFragments(0, 64 * 1024) == 1024);
    EXPECT_EQ(effectiveMaxFragments(0, 125), 1024u);
    EXPECT_EQ(effectiveMaxFragments(0, 64 * 1024 + 63), 1024u);
    EXPECT_EQ(effectiveMaxFragments(0, 1024 * 1024), 16384u);
    EXPECT_EQ(effectiveMaxFragments(0, 16 * 1024 * 1024), 262144u);
    EXPECT_EQ(effectiveMaxFragments(5, 16 * 1024 * 1024), 5u);
    EXPECT_EQ(effectiveMaxFragments(100000, 64 * 1024), 100000u);

    ParserLimits limits;
    limits.max_message_bytes = 1024 * 1024;
    limits.max_fragments = effectiveMaxFragments(0, limits.max_message_bytes);
    std::string wire = text("a", false);
    for (size_t i = 2; i < limits.max_fragments; ++i)
    {
        wire += continuation("a", false);
    }
    const Outcome at_cap = feedLikeAConnection(wire + continuation("a", true), 4096, limits);
    ASSERT_FALSE(at_cap.failed);
    ASSERT_EQ(at_cap.messages.size(), 1u);
    EXPECT_EQ(at_cap.messages[0].payload, std::string(16384, 'a'));
    const Outcome over = feedLikeAConnection(wire + continuation("a", false) + continuation("a", true), 4096, limits);
    ASSERT_TRUE(over.failed);
    EXPECT_EQ(over.error, CloseCode::MessageTooBig);
}

// Issue 9 item 5 (Autobahn 9.3.1): 4 MiB in 65,536 fragments of 64 B under a 16 MiB
// limit is a message like any other, and the buffer holds no more than the message.
TEST(FrameParserTest, AcceptsAMessageInManySmallFragments)
{
    ParserLimits limits;
    limits.max_message_bytes = 16 * 1024 * 1024;
    limits.max_fragments = effectiveMaxFragments(0, limits.max_message_bytes);
    const std::string piece(64, 'a');
    const size_t fragments = 65536;
    std::string wire = makeClientFrame(Opcode::Binary, piece, kMask, false);
    for (size_t i = 2; i < fragments; ++i)
    {
        wire += continuation(piece, false);
    }
    wire += continuation(piece, true);

    FrameParser parser(&limits);
    size_t delivered = 0;
    size_t most_buffered = 0;
    for (size_t start = 0; start < wire.size(); start += 65536)
    {
        std::string read = wire.substr(start, 65536);
        size_t used = 0;
        while (used < read.size())
        {
            Message message;
            const ParseStatus status = parser.parse(read.data() + used, read.size() - used, used, message);
            ASSERT_NE(status, ParseStatus::Error) << parser.errorReason();
            most_buffered = std::max(most_buffered, parser.bufferedBytes());
            if (status == ParseStatus::Message)
            {
                ++delivered;
                EXPECT_EQ(message.payload.size(), fragments * piece.size());
                EXPECT_EQ(message.payload.find_first_not_of('a'), std::string_view::npos);
            }
        }
    }
    EXPECT_EQ(delivered, 1u);
    EXPECT_EQ(most_buffered, fragments * piece.size()); // doubling stopped at the final frame's end
    parser.shrink();
    EXPECT_EQ(parser.bufferedBytes(), 0u);
}

// The buffer never holds more than the limits allow (max_message_bytes plus a control
// frame), nor more than a final frame needs, and a header alone commits nothing.
TEST(FrameParserTest, BufferStaysWithinTheLimits)
{
    ParserLimits limits;
    limits.max_message_bytes = 1000 * 1000;
    auto most_buffered = [&](const std::string& wire, size_t read_size) {
        FrameParser parser(&limits);
        size_t most = 0;
        for (size_t start = 0; start < wire.size(); start += read_size)
        {
            std::string read = wire.substr(start, read_size);
            size_t used = 0;
            while (used < read.size())
            {
                Message message;
                EXPECT_NE(parser.parse(read.data() + used, read.size() - used, used, message), ParseStatus::Error);
                most = std::max(most, parser.bufferedBytes());
            }
        }
        return most;
    };
    // One frame of exactly the limit in small reads: capacity ends at the frame's end,
    // where a doubling std::string overshoots it (up to almost twice the limit).
    EXPECT_EQ(most_buffered(text(std::string(limits.max_message_bytes, 'a')), 1000), limits.max_message_bytes);
    // A non-final fragment grows towards the limit, and not past it.
    const std::string fragmented =
        text(std::string(600 * 1000, 'a'), false) + continuation(std::string(399 * 1000, 'b'), false) +
        makeClientFrame(Opcode::Ping, std::string(125, 'p'), kMask) + continuation(std::string(1000, 'c'), true);
    EXPECT_LE(most_buffered(fragmented, 777), limits.max_message_bytes + 125);
    EXPECT_EQ(most_buffered(text("small"), 1), 5u);

    FrameParser parser(&limits);
    std::string header = text(std::string(limits.max_message_bytes, 'a')).substr(0, 14);
    size_t used = 0;
    Message message;
    ASSERT_EQ(parser.parse(header.data(), header.size(), used, message), ParseStatus::NeedMore);
    EXPECT_EQ(parser.bufferedBytes(), 0u);
}

// Fail fast: each violation is reported at the byte that reveals it, without waiting
// for the rest of the frame (the rest is never sent here).
TEST(FrameParserTest, DetectsViolationsAtTheEarliestByte)
{
    struct Case
    {
        const char* what;
        std::string prefix; ///< the bytes up to and including the revealing one
        CloseCode code;
    };
    const std::vector<Case> cases = {
        // SPEC §5: RSV / opcode / fragmentation errors show in byte 1.
        {"RSV1", bytes({0xC1}), CloseCode::ProtocolError},
        {"reserved opcode", bytes({0x83}), CloseCode::ProtocolError},
        {"fragmented ping", bytes({0x09}), CloseCode::ProtocolError},
        {"lone continuation", bytes({0x80}), CloseCode::ProtocolError},
        // SPEC §5: mask bit and control length show in byte 2.
        {"unmasked", bytes({0x81, 0x05}), CloseCode::ProtocolError},
        {"ping of 126", bytes({0x89, 0xFE}), CloseCode::ProtocolError},
        {"close of 1", bytes({0x88, 0x81}), CloseCode::ProtocolError},
        // SPEC §5: an oversize message shows in its length field, before any payload.
        {"over 64 KiB in 64 bits", bytes({0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 1}), CloseCode::MessageTooBig},
        {"top bit", bytes({0x82, 0xFF, 0x80}) + std::string(7, '\0'), CloseCode::ProtocolError},
        // SPEC §5: invalid UTF-8 shows at the bad byte, mid-frame and in a non-final fragment.
        {"bad UTF-8 mid-frame", text(std::string(100, 'a') + "\xFF" + std::string(100, 'b')).substr(0, 8 + 100 + 1),
         CloseCode::InvalidPayload},
        {"surrogate in a non-final fragment", text("ab\xED\xA0" + std::string(50, 'c'), false).substr(0, 6 + 4),
         CloseCode::InvalidPayload},
    };
    for (const Case& c : cases)
    {
        SCOPED_TRACE(c.what);
        // Whole: the error comes with the last byte.
        const Outcome whole = feedWhole(c.prefix);
        ASSERT_TRUE(whole.failed);
        EXPECT_EQ(whole.error, c.code);
        EXPECT_EQ(whole.error_offset, c.prefix.size());
        // Without the last byte: no error yet.
        const Outcome shorter = feedByteByByte(c.prefix.substr(0, c.prefix.size() - 1));
        EXPECT_FALSE(shorter.failed);
        // Byte by byte: the error at the last byte.
        const Outcome bytewise = feedByteByByte(c.prefix);
        ASSERT_TRUE(bytewise.failed);
        EXPECT_EQ(bytewise.error, c.code);
        EXPECT_EQ(bytewise.error_offset, c.prefix.size());
    }

    ParserLimits limits;
    limits.max_message_bytes = 100;
    const std::string over_in_16_bits = bytes({0x82, 0xFE, 0x00, 0x65});
    const Outcome outcome = feedByteByByte(over_in_16_bits, limits);
    ASSERT_TRUE(outcome.failed);
    EXPECT_EQ(outcome.error, CloseCode::MessageTooBig);
    const Outcome seven_bits = feedWhole(bytes({0x82, 0xE5}), limits); // 101 in 7 bits
    ASSERT_TRUE(seven_bits.failed);
    EXPECT_EQ(seven_bits.error, CloseCode::MessageTooBig);
    // The second fragment's header already shows the sum is over the limit.
    const Outcome fragments =
        feedWhole(makeClientFrame(Opcode::Binary, std::string(60, 'a'), 1, false) + bytes({0x80, 0xA9}), limits);
    ASSERT_TRUE(fragments.failed);
    EXPECT_EQ(fragments.error, CloseCode::MessageTooBig);
}

TEST(FrameParserTest, StaysInTheErrorState)
{
    ParserLimits limits;
    FrameParser parser(&limits);
    std::string bad = makeFrame(Opcode::Text, "x") + text("good");
    size_t used = 0;
    Message message;
    ASSERT_EQ(parser.parse(bad.data(), bad.size(), used, message), ParseStatus::Error);
    EXPECT_EQ(parser.error(), CloseCode::ProtocolError);
    EXPECT_STREQ(parser.errorReason(), "unmasked client frame");
    EXPECT_FALSE(parser.idle());
    const size_t at_error = used;
    ASSERT_EQ(parser.parse(bad.data() + used, bad.size() - used, used, message), ParseStatus::Error);
    EXPECT_EQ(used, at_error);
    std::string good = text("good");
    size_t fresh = 0;
    EXPECT_EQ(parser.parse(good.data(), good.size(), fresh, message), ParseStatus::Error);
    EXPECT_EQ(fresh, 0u);
}

TEST(FrameParserTest, ReportsNoErrorBeforeOne)
{
    ParserLimits limits;
    FrameParser parser(&limits);
    EXPECT_EQ(parser.error(), CloseCode::Normal);
    EXPECT_STREQ(parser.errorReason(), "");
}

// Robustness: random valid streams at random read sizes parse to the messages sent;
// random garbage never crashes (run under ASan/UBSan).
TEST(FrameParserTest, RandomStreamsAndRandomReads)
{
    std::mt19937 rng(12345);
    ParserLimits limits;
    limits.max_message_bytes = 5000;
    for (int round = 0; round < 300; ++round)
    {
        std::string wire;
        std::vector<Received> expected;
        const int messages = 1 + static_cast<int>(rng() % 6);
        for (int m = 0; m < messages; ++m)
        {
            const bool is_text = rng() % 2 == 0;
            const size_t size = rng() % 3 == 0 ? rng() % 5000 : rng() % 130;
            std::string payload(size, '\0');
            for (char& ch : payload)
            {
                ch = is_text ? static_cast<char>('a' + rng() % 26) : static_cast<char>(rng() & 0xFF);
            }
            const size_t fragments = 1 + rng() % 4;
            size_t offset = 0;
            for (size_t f = 0; f < fragments; ++f)
            {
                const size_t take = f + 1 == fragments ? size - offset : rng() % (size - offset + 1);
                const Opcode opcode = f == 0 ? (is_text ? Opcode::Text : Opcode::Binary) : Opcode::Continuation;
                wire += makeClientFrame(opcode, std::string_view(payload).substr(offset, take),
                                        static_cast<uint32_t>(rng()), f + 1 == fragments);
                offset += take;
                if (f + 1 < fragments && rng() % 3 == 0)
                {
                    // Between fragments: delivered before the message it interrupts.
                    const std::string ping(rng() % 126, 'p');
                    wire += makeClientFrame(Opcode::Ping, ping, static_cast<uint32_t>(rng()));
                    expected.push_back({MessageKind::Ping, ping, 0});
                }
            }
            expected.push_back({is_text ? MessageKind::Text : MessageKind::Binary, payload, 0});
            if (rng() % 4 == 0)
            {
                wire += makeClientFrame(Opcode::Pong, "", static_cast<uint32_t>(rng()));
                expected.push_back({MessageKind::Pong, "", 0});
            }
        }
        std::vector<size_t> cuts;
        for (size_t at = 0; at < wire.size();)
        {
            at += 1 + rng() % 700;
            if (at < wire.size())
            {
                cuts.push_back(at);
            }
        }
        const Outcome outcome = feed(wire, cuts, limits);
        ASSERT_FALSE(outcome.failed) << round;
        ASSERT_TRUE(outcome.messages == expected) << round; // not _EQ: the payloads are long
        EXPECT_TRUE(outcome.idle);
    }

    for (int round = 0; round < 2000; ++round)
    {
        std::string garbage(rng() % 300, '\0');
        for (char& ch : garbage)
        {
            ch = static_cast<char>(rng() & 0xFF);
        }
        // Half the time start with a plausible header so parsing gets further.
        if (round % 2 == 0 && garbage.size() > 2)
        {
            garbage[0] = static_cast<char>(0x80 | (rng() % 3));
            garbage[1] = static_cast<char>(0x80 | (rng() % 126));
        }
        std::vector<size_t> cuts;
        for (size_t at = 0; at < garbage.size();)
        {
            at += 1 + rng() % 20;
            if (at < garbage.size())
            {
                cuts.push_back(at);
            }
        }
        (void)feed(garbage, cuts, limits);
    }
}
