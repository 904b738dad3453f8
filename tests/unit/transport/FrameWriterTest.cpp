// FrameWriter: byte-exact server frames (RFC 6455 §5.2, §5.7), close frames, and
// masked client frames that round-trip through FrameParser.

#include "transport/FrameWriter.h"

#include "support/Bytes.h"
#include "transport/FrameParser.h"
#include "transport/Utf8Validator.h"

#include <gtest/gtest.h>

#include <string>

using namespace wsgw::transport;
using wsgw::test::bytes;

namespace {} // namespace

// RFC 6455 §5.2: minimal length encoding, 7, 16 or 64 bits.
TEST(FrameWriterTest, HeaderSizeFollowsTheLengthEncoding)
{
    EXPECT_EQ(frameHeaderSize(0), 2u);
    EXPECT_EQ(frameHeaderSize(125), 2u);
    EXPECT_EQ(frameHeaderSize(126), 4u);
    EXPECT_EQ(frameHeaderSize(65535), 4u);
    EXPECT_EQ(frameHeaderSize(65536), 10u);
    EXPECT_EQ(frameHeaderSize(size_t{1} << 40), 10u);
}

TEST(FrameWriterTest, WritesHeadersByteForByte)
{
    char out[kMaxServerFrameHeader];
    ASSERT_EQ(writeFrameHeader(out, Opcode::Text, 5), 2u);
    EXPECT_EQ(std::string(out, 2), bytes({0x81, 0x05}));
    ASSERT_EQ(writeFrameHeader(out, Opcode::Binary, 125), 2u);
    EXPECT_EQ(std::string(out, 2), bytes({0x82, 0x7D}));
    ASSERT_EQ(writeFrameHeader(out, Opcode::Binary, 126), 4u);
    EXPECT_EQ(std::string(out, 4), bytes({0x82, 0x7E, 0x00, 0x7E}));
    ASSERT_EQ(writeFrameHeader(out, Opcode::Binary, 65535), 4u);
    EXPECT_EQ(std::string(out, 4), bytes({0x82, 0x7E, 0xFF, 0xFF}));
    ASSERT_EQ(writeFrameHeader(out, Opcode::Ping, 0), 2u);
    EXPECT_EQ(std::string(out, 2), bytes({0x89, 0x00}));
    ASSERT_EQ(writeFrameHeader(out, Opcode::Text, 0x0102030405ULL), 10u);
    EXPECT_EQ(std::string(out, 10), bytes({0x81, 0x7F, 0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05}));
}

// RFC 6455 §5.7: "A single-frame unmasked text message", 256 bytes and 64 KiB binary.
TEST(FrameWriterTest, MakesTheRfcExampleFrames)
{
    EXPECT_EQ(makeFrame(Opcode::Text, "Hello"), bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
    EXPECT_EQ(makeFrame(Opcode::Ping, "Hello"), bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));

    const std::string medium(256, 'x');
    EXPECT_EQ(makeFrame(Opcode::Binary, medium), bytes({0x82, 0x7E, 0x01, 0x00}) + medium);

    const std::string large(65536, 'y');
    EXPECT_EQ(makeFrame(Opcode::Binary, large),
              bytes({0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00}) + large);
}

// RFC 6455 §5.5.1: code in network byte order, then the reason.
TEST(FrameWriterTest, MakesCloseFrames)
{
    EXPECT_EQ(makeCloseFrame(CloseCode::Normal, "bye"), bytes({0x88, 0x05, 0x03, 0xE8, 'b', 'y', 'e'}));
    EXPECT_EQ(makeCloseFrame(CloseCode::MessageTooBig, ""), bytes({0x88, 0x02, 0x03, 0xF1}));
    EXPECT_EQ(makeCloseFrame(CloseCode::PolicyViolation, "x"), bytes({0x88, 0x03, 0x03, 0xF0, 'x'}));
}

// RFC 6455 §7.4.1: 1005 and 1006 must not be sent in a close frame.
TEST(FrameWriterTest, NoStatusAndAbnormalSendAnEmptyClose)
{
    EXPECT_EQ(makeCloseFrame(CloseCode::NoStatus, "ignored"), bytes({0x88, 0x00}));
    EXPECT_EQ(makeCloseFrame(CloseCode::Abnormal, "ignored"), bytes({0x88, 0x00}));
}

// RFC 6455 §5.5: control payload <= 125 bytes, so the reason is cut to 123 bytes on a
// UTF-8 boundary.
TEST(FrameWriterTest, TruncatesLongCloseReasonsOnACodePointBoundary)
{
    const std::string ascii(300, 'r');
    const std::string frame = makeCloseFrame(CloseCode::GoingAway, ascii);
    ASSERT_EQ(frame.size(), 2u + 125u);
    EXPECT_EQ(static_cast<unsigned char>(frame[1]), 125u);
    EXPECT_EQ(frame.substr(4), std::string(123, 'r'));

    // 122 ASCII bytes then a 3-byte character straddling the 123-byte cut.
    for (size_t prefix = 118; prefix <= 123; ++prefix)
    {
        const std::string reason = std::string(prefix, 'a') + "\xE2\x82\xAC" + "tail";
        const std::string close = makeCloseFrame(CloseCode::Normal, reason);
        const std::string kept = close.substr(4);
        EXPECT_LE(kept.size(), 123u);
        EXPECT_TRUE(isValidUtf8(kept)) << prefix;
        EXPECT_EQ(kept, reason.substr(0, kept.size()));
        EXPECT_GE(kept.size(), 121u); // lost at most the straddling character
    }

    // Exactly 123 bytes are kept whole.
    const std::string exact = std::string(120, 'a') + "\xE2\x82\xAC";
    EXPECT_EQ(makeCloseFrame(CloseCode::Normal, exact).substr(4), exact);
}

// RFC 6455 §5.7: "A single-frame masked text message".
TEST(FrameWriterTest, MakesTheRfcExampleMaskedFrame)
{
    EXPECT_EQ(makeClientFrame(Opcode::Text, "Hello", 0x37fa213d),
              bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
    EXPECT_EQ(makeClientFrame(Opcode::Pong, "Hello", 0x37fa213d),
              bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
}

TEST(FrameWriterTest, ClientFrameOptionsSetFinRsvAndOpcodeBits)
{
    const std::string frame = makeClientFrame(Opcode::Text, "", 0, false, 0x7);
    EXPECT_EQ(static_cast<unsigned char>(frame[0]), 0x71u);
    EXPECT_EQ(static_cast<unsigned char>(frame[1]), 0x80u);
    EXPECT_EQ(static_cast<unsigned char>(makeClientFrame(Opcode::Binary, "", 0, true, 0x4)[0]), 0xC2u);
    EXPECT_EQ(static_cast<unsigned char>(makeClientFrame(static_cast<Opcode>(0xB), "", 0)[0]), 0x8Bu);
    // Extended lengths carry the mask bit too.
    const std::string big = makeClientFrame(Opcode::Binary, std::string(70000, 'b'), 1);
    EXPECT_EQ(static_cast<unsigned char>(big[1]), 0xFFu);
    EXPECT_EQ(big.size(), 10u + 4u + 70000u);
}

TEST(FrameWriterTest, ClientFramesRoundTripThroughTheParser)
{
    ParserLimits limits;
    limits.max_message_bytes = 1 << 20;
    for (size_t size : {0, 1, 3, 4, 5, 7, 8, 9, 125, 126, 127, 65535, 65536, 100000})
    {
        std::string payload(size, '\0');
        for (size_t i = 0; i < size; ++i)
        {
            payload[i] = static_cast<char>((i * 31 + 7) & 0xFF);
        }
        std::string wire = makeClientFrame(Opcode::Binary, payload, 0xA1B2C3D4);
        FrameParser parser(&limits);
        size_t consumed = 0;
        Message message;
        ASSERT_EQ(parser.parse(wire.data(), wire.size(), consumed, message), ParseStatus::Message) << size;
        EXPECT_EQ(consumed, wire.size());
        EXPECT_EQ(message.kind, MessageKind::Binary);
        EXPECT_EQ(message.payload, payload) << size;
    }
}
