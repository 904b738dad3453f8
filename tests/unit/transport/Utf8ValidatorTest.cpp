// Utf8Validator: RFC 3629 validity (Markus Kuhn style cases), fail-fast position,
// incremental feeding at every split, and an exhaustive check against a reference decoder.

#include "transport/Utf8Validator.h"

#include "support/Bytes.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace wsgw::transport;
using wsgw::test::bytes;

namespace {

/// Standard UTF-8 encoding of CP (also of surrogates, which must then be rejected).
std::string encode(uint32_t cp)
{
    if (cp < 0x80)
    {
        return bytes({static_cast<int>(cp)});
    }
    if (cp < 0x800)
    {
        return bytes({static_cast<int>(0xC0 | (cp >> 6)), static_cast<int>(0x80 | (cp & 0x3F))});
    }
    if (cp < 0x10000)
    {
        return bytes({static_cast<int>(0xE0 | (cp >> 12)), static_cast<int>(0x80 | ((cp >> 6) & 0x3F)),
                      static_cast<int>(0x80 | (cp & 0x3F))});
    }
    return bytes({static_cast<int>(0xF0 | (cp >> 18)), static_cast<int>(0x80 | ((cp >> 12) & 0x3F)),
                  static_cast<int>(0x80 | ((cp >> 6) & 0x3F)), static_cast<int>(0x80 | (cp & 0x3F))});
}

/// A straightforward (slow) reference: decode sequence by sequence.
bool referenceValid(const std::string& text)
{
    size_t i = 0;
    while (i < text.size())
    {
        const auto c = static_cast<unsigned char>(text[i]);
        size_t length;
        uint32_t cp;
        uint32_t min;
        if (c < 0x80)
        {
            ++i;
            continue;
        }
        if ((c & 0xE0) == 0xC0)
        {
            length = 2;
            cp = c & 0x1F;
            min = 0x80;
        }
        else if ((c & 0xF0) == 0xE0)
        {
            length = 3;
            cp = c & 0x0F;
            min = 0x800;
        }
        else if ((c & 0xF8) == 0xF0)
        {
            length = 4;
            cp = c & 0x07;
            min = 0x10000;
        }
        else
        {
            return false;
        }
        if (i + length > text.size())
        {
            return false;
        }
        for (size_t k = 1; k < length; ++k)
        {
            const auto cc = static_cast<unsigned char>(text[i + k]);
            if ((cc & 0xC0) != 0x80)
            {
                return false;
            }
            cp = (cp << 6) | (cc & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        {
            return false;
        }
        i += length;
    }
    return true;
}

/// Feeds TEXT one byte at a time; returns the index of the byte at which feed()
/// first returned false, or -1 if it never did.
int failPosition(const std::string& text)
{
    Utf8Validator validator;
    for (size_t i = 0; i < text.size(); ++i)
    {
        if (!validator.feed(text.data() + i, 1))
        {
            return static_cast<int>(i);
        }
    }
    return -1;
}

} // namespace

// RFC 3629: valid text, including the boundaries of each sequence length.
TEST(Utf8ValidatorTest, AcceptsValidText)
{
    const std::vector<std::string> valid = {
        "",
        "hello",
        "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5", // Kuhn 2: "κόσμε"
        bytes({0x00}),
        bytes({0x7F}),
        bytes({0xC2, 0x80}),             // U+0080, first 2-byte
        bytes({0xDF, 0xBF}),             // U+07FF, last 2-byte
        bytes({0xE0, 0xA0, 0x80}),       // U+0800, first 3-byte
        bytes({0xED, 0x9F, 0xBF}),       // U+D7FF, just below the surrogates
        bytes({0xEE, 0x80, 0x80}),       // U+E000, just above the surrogates
        bytes({0xEF, 0xBF, 0xBD}),       // U+FFFD
        bytes({0xEF, 0xBF, 0xBF}),       // U+FFFF, a noncharacter but valid UTF-8
        bytes({0xF0, 0x90, 0x80, 0x80}), // U+10000, first 4-byte
        bytes({0xF4, 0x8F, 0xBF, 0xBF}), // U+10FFFF, the last code point
        std::string(100, 'a') + "\xE2\x82\xAC" + std::string(13, 'b'),
    };
    for (const std::string& text : valid)
    {
        SCOPED_TRACE(::testing::PrintToString(text));
        EXPECT_TRUE(isValidUtf8(text));
        EXPECT_EQ(failPosition(text), -1);
    }
}

// Kuhn 3-5: invalid sequences, and the byte at which the validator must give up
// (the first byte that cannot continue valid UTF-8, not the end of the sequence).
TEST(Utf8ValidatorTest, RejectsInvalidSequencesAtTheFirstBadByte)
{
    struct Case
    {
        const char* what;
        std::string text;
        int fail_at;
    };
    const std::vector<Case> cases = {
        {"lone continuation 80", bytes({0x80}), 0},
        {"lone continuation BF", bytes({0xBF}), 0},
        {"continuation after ASCII", bytes({'a', 0x80}), 1},
        {"C0 lead (always overlong)", bytes({0xC0, 0x80}), 0},
        {"C1 lead (always overlong)", bytes({0xC1, 0xBF}), 0},
        {"overlong '/' 2 bytes", bytes({0xC0, 0xAF}), 0},
        {"overlong '/' 3 bytes", bytes({0xE0, 0x80, 0xAF}), 1},
        {"overlong '/' 4 bytes", bytes({0xF0, 0x80, 0x80, 0xAF}), 1},
        {"max overlong 3 bytes U+07FF", bytes({0xE0, 0x9F, 0xBF}), 1},
        {"max overlong 4 bytes U+FFFF", bytes({0xF0, 0x8F, 0xBF, 0xBF}), 1},
        {"surrogate U+D800", bytes({0xED, 0xA0, 0x80}), 1},
        {"surrogate U+DBFF", bytes({0xED, 0xAF, 0xBF}), 1},
        {"surrogate U+DC00", bytes({0xED, 0xB0, 0x80}), 1},
        {"surrogate U+DFFF", bytes({0xED, 0xBF, 0xBF}), 1},
        {"surrogate pair", bytes({0xED, 0xA0, 0x80, 0xED, 0xB0, 0x80}), 1},
        {"U+110000 (F4 90)", bytes({0xF4, 0x90, 0x80, 0x80}), 1},
        {"F5 lead", bytes({0xF5, 0x80, 0x80, 0x80}), 0},
        {"F8 lead (5-byte form)", bytes({0xF8, 0x88, 0x80, 0x80, 0x80}), 0},
        {"FC lead (6-byte form)", bytes({0xFC, 0x84, 0x80, 0x80, 0x80, 0x80}), 0},
        {"FE", bytes({0xFE}), 0},
        {"FF", bytes({0xFF}), 0},
        {"2-byte lead then ASCII", bytes({0xC2, 'A'}), 1},
        {"3-byte lead, 1 continuation, then ASCII", bytes({0xE1, 0x80, 'A'}), 2},
        {"4-byte lead, 2 continuations, then a lead", bytes({0xF1, 0x80, 0x80, 0xC2}), 3},
        {"bad byte after 20 ASCII bytes (fast path)", std::string(20, 'a') + bytes({0xFF}), 20},
        {"bad byte after 16 ASCII bytes", std::string(16, 'a') + bytes({0x80}) + std::string(16, 'a'), 16},
        {"valid then surrogate", "\xCE\xBA" + bytes({0xED, 0xA0, 0x80}), 3},
    };
    for (const Case& c : cases)
    {
        SCOPED_TRACE(c.what);
        EXPECT_FALSE(isValidUtf8(c.text));
        EXPECT_EQ(failPosition(c.text), c.fail_at);
        Utf8Validator whole;
        EXPECT_FALSE(whole.feed(c.text.data(), c.text.size()));
        EXPECT_TRUE(whole.failed());
    }
}

// Kuhn 3.3: sequences with the last byte missing are a valid prefix, but not complete.
TEST(Utf8ValidatorTest, TruncatedSequencesAreIncompleteNotFailed)
{
    const std::vector<std::string> truncated = {
        bytes({0xC2}),       bytes({0xE0, 0xA0}),   bytes({0xE1}), bytes({0xED, 0x9F}), bytes({0xF0, 0x90, 0x80}),
        bytes({0xF4, 0x8F}), "abc" + bytes({0xF1}),
    };
    for (const std::string& text : truncated)
    {
        SCOPED_TRACE(::testing::PrintToString(text));
        Utf8Validator validator;
        EXPECT_TRUE(validator.feed(text.data(), text.size()));
        EXPECT_FALSE(validator.complete());
        EXPECT_FALSE(validator.failed());
        EXPECT_FALSE(isValidUtf8(text));
    }
}

TEST(Utf8ValidatorTest, CodePointsMaySpanFeedsAtEverySplit)
{
    const std::string text = "a\xC2\x80 \xE0\xA0\x80 \xF0\x90\x80\x80 \xF4\x8F\xBF\xBF z" + std::string(20, 'q');
    for (size_t split = 0; split <= text.size(); ++split)
    {
        for (size_t split2 = split; split2 <= text.size(); ++split2)
        {
            Utf8Validator validator;
            ASSERT_TRUE(validator.feed(text.data(), split));
            ASSERT_TRUE(validator.feed(text.data() + split, split2 - split));
            ASSERT_TRUE(validator.feed(text.data() + split2, text.size() - split2));
            ASSERT_TRUE(validator.complete()) << split << " " << split2;
        }
    }
}

TEST(Utf8ValidatorTest, StaysFailedUntilReset)
{
    Utf8Validator validator;
    EXPECT_TRUE(validator.complete());
    EXPECT_FALSE(validator.feed("\xFF", 1));
    EXPECT_FALSE(validator.feed("abc", 3));
    EXPECT_FALSE(validator.feed(nullptr, 0));
    EXPECT_FALSE(validator.complete());
    validator.reset();
    EXPECT_TRUE(validator.complete());
    EXPECT_TRUE(validator.feed("abc", 3));
    EXPECT_TRUE(validator.complete());
}

TEST(Utf8ValidatorTest, StateIsTiny)
{
    EXPECT_LE(sizeof(Utf8Validator), sizeof(uint32_t));
}

// Every code point: valid unless a surrogate; matches the reference decoder.
TEST(Utf8ValidatorTest, EveryCodePointMatchesTheReference)
{
    for (uint32_t cp = 0; cp <= 0x10FFFF; ++cp)
    {
        const std::string text = encode(cp);
        const bool expected = cp < 0xD800 || cp > 0xDFFF;
        ASSERT_EQ(isValidUtf8(text), expected) << std::hex << cp;
    }
}

/// True if some continuation of PREFIX is valid UTF-8. After a lead byte the next
/// byte's allowed range may exclude 80 (E0, F0) or A0 (ED, F4), so try three fills.
bool referenceIsPrefix(const std::string& prefix)
{
    if (referenceValid(prefix))
    {
        return true;
    }
    for (int fill : {0x80, 0x90, 0xA0})
    {
        std::string text = prefix + bytes({fill});
        for (int more = 0; more < 3; ++more)
        {
            if (referenceValid(text))
            {
                return true;
            }
            text += bytes({0x80});
        }
    }
    return false;
}

// Every 1- and 2-byte input, and every 3-byte input with a lead byte at a DFA edge:
// complete() matches the reference, and feed() fails exactly when no continuation
// could make the input valid (fail fast, never early).
TEST(Utf8ValidatorTest, ShortInputsMatchTheReferenceExhaustively)
{
    auto check = [](const std::string& text) {
        Utf8Validator validator;
        const bool prefix_ok = validator.feed(text.data(), text.size());
        ASSERT_EQ(prefix_ok && validator.complete(), referenceValid(text)) << ::testing::PrintToString(text);
        ASSERT_EQ(prefix_ok, referenceIsPrefix(text)) << ::testing::PrintToString(text);
    };
    for (int a = 0; a < 256; ++a)
    {
        check(bytes({a}));
        for (int b = 0; b < 256; ++b)
        {
            check(bytes({a, b}));
        }
    }
    for (int lead : {0xC2, 0xE0, 0xE1, 0xED, 0xEF, 0xF0, 0xF3, 0xF4})
    {
        for (int b = 0; b < 256; ++b)
        {
            for (int c = 0; c < 256; ++c)
            {
                check(bytes({lead, b, c}));
            }
        }
    }
}
