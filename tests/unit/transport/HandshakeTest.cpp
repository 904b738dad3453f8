// Handshake helpers: RFC 6455 §4.2.2 accept value, §4.1 key validation, and
// comma-separated header tokens (Connection, Upgrade).

#include "transport/Handshake.h"

#include <gtest/gtest.h>

#include <string>

using namespace wsgw::transport;

// RFC 6455 §1.3 and §4.2.2: the worked example. (The value is the RFC's; SHA-1 of
// "dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11" is b37a4f2c...b2bec4ea.)
TEST(HandshakeTest, ComputesTheRfcExampleAccept)
{
    EXPECT_EQ(computeAccept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

// RFC 6455 §4.2.2: SHA-1 of key + GUID, base64 (28 characters, no line breaks).
TEST(HandshakeTest, AcceptIsTwentyEightBase64Characters)
{
    const std::string accept = computeAccept("x3JJHMbDL1EzLkh9GBhXDw==");
    EXPECT_EQ(accept, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
    EXPECT_EQ(accept.size(), 28u);
    EXPECT_EQ(accept.find('\n'), std::string::npos);
}

// RFC 6455 §4.1: the key is base64 of 16 bytes.
TEST(HandshakeTest, ValidatesClientKeys)
{
    EXPECT_TRUE(isValidClientKey("dGhlIHNhbXBsZSBub25jZQ=="));
    EXPECT_TRUE(isValidClientKey("AAAAAAAAAAAAAAAAAAAAAA=="));
    EXPECT_TRUE(isValidClientKey("+/+/+/+/+/+/+/+/+/+/+w=="));

    const char* invalid[] = {
        "",
        "dGhlIHNhbXBsZSBub25jZQ=",      // 23 characters
        "dGhlIHNhbXBsZSBub25jZQ===",    // 25 characters
        "dGhlIHNhbXBsZSBub25jZQAA",     // no padding: 18 bytes
        "dGhlIHNhbXBsZSBub25jZ===",     // 15 bytes
        "dGhlIHNhbXBsZSBub25jZQ=A",     // padding in the wrong place
        "dGhlIHNhbXBsZSBub25j*Q==",     // not base64
        "dGhlIHNhbXBsZSBub25 ZQ==",     // space inside
        " dGhlIHNhbXBsZSBub25jZQ==",    // untrimmed
        "dGhlIHNhbXBsZSBub25jZQ",       // 22 characters, no padding
        "dGhlIHNhbXBsZSBub25jZQ==dGhl", // longer
    };
    for (const char* key : invalid)
    {
        EXPECT_FALSE(isValidClientKey(key)) << key;
    }
}

// RFC 6455 §4.2.1: Connection must include "Upgrade", Upgrade must include "websocket",
// case-insensitively, in comma-separated lists (RFC 7230 §7).
TEST(HandshakeTest, FindsTokensInCommaSeparatedHeaders)
{
    EXPECT_TRUE(headerHasToken("Upgrade", "upgrade"));
    EXPECT_TRUE(headerHasToken("keep-alive, Upgrade", "Upgrade"));
    EXPECT_TRUE(headerHasToken("keep-alive,upgrade", "Upgrade"));
    EXPECT_TRUE(headerHasToken("  UPGRADE\t ", "upgrade"));
    EXPECT_TRUE(headerHasToken(",, Upgrade ,", "upgrade"));
    EXPECT_TRUE(headerHasToken("WebSocket", "websocket"));
    EXPECT_TRUE(headerHasToken("Upgrade, keep-alive", "keep-alive"));

    EXPECT_FALSE(headerHasToken("Upgraded", "upgrade"));
    EXPECT_FALSE(headerHasToken("keep-alive", "upgrade"));
    EXPECT_FALSE(headerHasToken("", "upgrade"));
    EXPECT_FALSE(headerHasToken("up grade", "upgrade"));
    EXPECT_FALSE(headerHasToken("keep-alive; Upgrade", "upgrade"));
    EXPECT_FALSE(headerHasToken("Upgrade", ""));
    EXPECT_FALSE(headerHasToken(",,", ""));
}
