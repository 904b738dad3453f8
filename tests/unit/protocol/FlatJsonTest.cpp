// FlatJson: RFC 8259 strictness table, exact int64 from the number's text, string
// decoding (escapes, surrogate pairs, UTF-8), skipped values of every type up to the
// depth limit, duplicate keys, whitespace and trailing garbage.

#include "protocol/FlatJson.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using namespace wsgw::protocol;

namespace {

/// TEXT read as a whole object, capturing key "v"; nullopt-like: ok=false if invalid.
struct Read
{
    bool ok = false;
    JsonField field{"v"};
};

Read readV(std::string_view text)
{
    Read read;
    FlatJson json(text);
    read.ok = json.readObject({&read.field, 1}) && json.atEnd();
    return read;
}

/// The value text VALUE as the captured field and as a skipped one, alone and
/// nested in a skipped array: all valid or all invalid.
bool validEverywhere(const std::string& value, bool expected)
{
    bool all = true;
    for (const std::string& text : {R"({"v":)" + value + "}", R"({"other":)" + value + "}",
                                    R"({"other":[)" + value + R"(,{"k":)" + value + "}]}"})
    {
        const bool ok = readV(text).ok;
        EXPECT_EQ(ok, expected) << text;
        all = all && ok == expected;
    }
    return all;
}

} // namespace

// Issue 9 item 4: integers come from their text with std::from_chars, exactly.
TEST(FlatJsonTest, IntegersAreExactAcrossInt64)
{
    struct Case
    {
        const char* text;
        int64_t value;
    };
    const Case cases[] = {
        {"0", 0},
        {"-0", 0},
        {"-1", -1},
        {"9007199254740993", 9007199254740993},
        {"-9007199254740993", -9007199254740993},
        {"-1152921504606846977", -1152921504606846977},
        {"9223372036854775807", std::numeric_limits<int64_t>::max()},
        {"-9223372036854775807", std::numeric_limits<int64_t>::min() + 1},
        // INT64_MIN is a valid int64: the old reader's clamp refused it.
        {"-9223372036854775808", std::numeric_limits<int64_t>::min()},
    };
    for (const auto& c : cases)
    {
        auto read = readV(std::string(R"({"v":)") + c.text + "}");
        ASSERT_TRUE(read.ok) << c.text;
        int64_t value = 42;
        EXPECT_EQ(read.field.getInt64(value), FieldState::Ok) << c.text;
        EXPECT_EQ(value, c.value) << c.text;
    }
}

// Numbers that are valid JSON but no int64: a wrong type, not a clamped or rounded value.
TEST(FlatJsonTest, OtherValuesAreWrongTypeForAnInteger)
{
    struct Case
    {
        const char* text;
        JsonField::Type type;
        FieldState state;
    };
    const Case cases[] = {
        {"9223372036854775808", JsonField::Type::Number, FieldState::WrongType},
        {"-9223372036854775809", JsonField::Type::Number, FieldState::WrongType},
        {"18446744073709551617", JsonField::Type::Number, FieldState::WrongType},
        {"123456789012345678901234567890", JsonField::Type::Number, FieldState::WrongType},
        {"1e3", JsonField::Type::Number, FieldState::WrongType},
        {"1E+3", JsonField::Type::Number, FieldState::WrongType},
        {"1.0", JsonField::Type::Number, FieldState::WrongType},
        {"-0.0", JsonField::Type::Number, FieldState::WrongType},
        {"1.5e-7", JsonField::Type::Number, FieldState::WrongType},
        {R"("123")", JsonField::Type::String, FieldState::WrongType},
        {"true", JsonField::Type::Boolean, FieldState::WrongType},
        {"false", JsonField::Type::Boolean, FieldState::WrongType},
        {"{}", JsonField::Type::Object, FieldState::WrongType},
        {"[1]", JsonField::Type::Array, FieldState::WrongType},
        {"null", JsonField::Type::Null, FieldState::Absent},
    };
    for (const auto& c : cases)
    {
        auto read = readV(std::string(R"({"v":)") + c.text + "}");
        ASSERT_TRUE(read.ok) << c.text;
        EXPECT_EQ(read.field.type, c.type) << c.text;
        int64_t value = 42;
        EXPECT_EQ(read.field.getInt64(value), c.state) << c.text;
        EXPECT_EQ(value, 42) << c.text;
    }
    auto absent = readV(R"({"w":1})");
    ASSERT_TRUE(absent.ok);
    int64_t value = 42;
    EXPECT_EQ(absent.field.getInt64(value), FieldState::Absent);
}

TEST(FlatJsonTest, StringsDecodeEscapesSurrogatePairsAndUtf8)
{
    struct Case
    {
        const char* text;
        std::string decoded;
    };
    const Case cases[] = {
        {R"("")", ""},
        {R"("plain")", "plain"},
        {R"("\"\\\/\b\f\n\r\t")", "\"\\/\b\f\n\r\t"},
        {R"("\u0041\u00e9\u20AC")", "A\xC3\xA9\xE2\x82\xAC"},
        {R"("\u0000")", std::string(1, '\0')},
        {R"("\ud83d\ude00")", "\xF0\x9F\x98\x80"}, // U+1F600 from a surrogate pair
        {R"("\uDBFF\uDFFF")", "\xF4\x8F\xBF\xBF"}, // U+10FFFF, the last code point
        {"\"raw \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"", "raw \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"},
        {R"("a\nb\u0022c")", "a\nb\"c"},
        {"\"\x7F\"", "\x7F"}, // DEL is not a control character in RFC 8259
    };
    for (const auto& c : cases)
    {
        auto read = readV(std::string(R"({"v":)") + c.text + "}");
        ASSERT_TRUE(read.ok) << c.text;
        std::string out;
        EXPECT_EQ(read.field.takeString(out), FieldState::Ok) << c.text;
        EXPECT_EQ(out, c.decoded) << c.text;
    }
}

// RFC 8259 strict: every one of these is invalid wherever it appears.
TEST(FlatJsonTest, RejectsWhatRfc8259Forbids)
{
    const std::vector<std::string> bad_values = {
        // numbers
        "01",
        "-01",
        "00",
        "+1",
        ".5",
        "1.",
        "1e",
        "1e+",
        "-",
        "--1",
        "0x10",
        "NaN",
        "Infinity",
        "-Infinity",
        "1_000",
        // bare words
        "tru",
        "True",
        "nul",
        "undefined",
        "fals",
        "x",
        // strings: quotes, escapes, surrogates, control characters
        "'x'",
        R"("unterminated)",
        R"("\x41")",
        R"("\'")",
        R"("\U0041")",
        R"("\u12")",
        R"("\u12G4")",
        R"("\)",
        R"("\ud800")",
        R"("\udc00")",
        R"("\ud800\u0041")",
        R"("\ud800x")",
        R"("\ud800\udbff")",
        R"("\udc00\ud800")",
        "\"a\x01b\"",
        "\"a\nb\"",
        "\"a\tb\"",
        std::string("\"a\0b\"", 5),
        // invalid UTF-8: stray continuation, overlong, surrogate, above U+10FFFF, truncated, invalid lead
        "\"\x80\"",
        "\"\xC0\xAF\"",
        "\"\xE0\x80\xAF\"",
        "\"\xED\xA0\x80\"",
        "\"\xF4\x90\x80\x80\"",
        "\"\xE2\x82\"",
        "\"\xF0\x9F\x98\"",
        "\"\xFF\"",
        "\"\xC3\"",
        // containers: trailing commas, missing parts, comments
        "[1,]",
        "[,1]",
        "[,]",
        "{\"a\":1,}",
        "{,}",
        "{\"a\"}",
        "{\"a\" 1}",
        "{\"a\":}",
        "{a:1}",
        "{1:1}",
        "[1 2]",
        "[",
        "{",
        "[}",
        "{]",
        "[1]]",
        "/* c */ 1",
        "[1 // c\n]",
        "#1",
    };
    for (const auto& value : bad_values)
        EXPECT_TRUE(validEverywhere(value, false)) << value;
    // Their valid neighbours, to show the table tests the right thing.
    for (const std::string value : {"0", "-0", "10", "0.5", "1e5", "-1E-5", "true", "null", R"("\u1234")", "[1,2]",
                                    R"({"a":[{}]})", "[]", "{}", "\"\xF4\x8F\xBF\xBF\""})
        EXPECT_TRUE(validEverywhere(value, true)) << value;
}

TEST(FlatJsonTest, WhitespaceAsJsonAllowsIt)
{
    auto read = readV(" \t\r\n{ \"v\" \t: \n\"x\" , \"w\" : [ 1 , { } ] \r\n}\n ");
    ASSERT_TRUE(read.ok);
    EXPECT_EQ(read.field.string, "x");
    // Form feed, vertical tab, NUL and U+00A0 are not JSON whitespace.
    for (const std::string& text :
         std::vector<std::string>{"\f{}", "{}\v", std::string("{}\0", 3), "\xC2\xA0{}", "{\"v\":\f1}"})
        EXPECT_FALSE(readV(text).ok) << text;
}

TEST(FlatJsonTest, RejectsTrailingGarbageAndNonObjects)
{
    for (const std::string text :
         {R"({"v":1} x)", R"({"v":1}{})", R"({"v":1},)", R"({"v":1}])", "", " ", "[]", R"("v")", "1", "null"})
        EXPECT_FALSE(readV(text).ok) << text;
}

TEST(FlatJsonTest, DuplicateKeysLastOneWins)
{
    auto read = readV(R"({"v":1,"v":"two"})");
    ASSERT_TRUE(read.ok);
    EXPECT_EQ(read.field.type, JsonField::Type::String);
    EXPECT_EQ(read.field.string, "two");
    auto back = readV(R"({"v":"one","v":2})");
    ASSERT_TRUE(back.ok);
    int64_t value = 0;
    EXPECT_EQ(back.field.getInt64(value), FieldState::Ok);
    EXPECT_EQ(value, 2);
}

// Keys are compared after unescaping, as a DOM parser would.
TEST(FlatJsonTest, KeysAreComparedUnescaped)
{
    auto read = readV(R"({"\u0076":"escaped key","vv":1})");
    ASSERT_TRUE(read.ok);
    EXPECT_EQ(read.field.string, "escaped key");
    EXPECT_FALSE(readV(R"({"\ud800":1})").ok);
}

// kMaxJsonDepth counts every open array and object, the outer object included;
// hostile nesting fails without recursion.
TEST(FlatJsonTest, SkippedValuesNestUpToTheDepthLimit)
{
    auto nested = [](size_t arrays) { return std::string(arrays, '[') + std::string(arrays, ']'); };
    EXPECT_TRUE(readV(R"({"other":)" + nested(kMaxJsonDepth - 1) + "}").ok);
    EXPECT_FALSE(readV(R"({"other":)" + nested(kMaxJsonDepth) + "}").ok);
    EXPECT_TRUE(readV(R"({"v":)" + nested(kMaxJsonDepth - 1) + "}").ok);
    EXPECT_FALSE(readV(R"({"v":)" + nested(kMaxJsonDepth) + "}").ok);
    std::string objects = R"({"v":1)";
    for (size_t i = 1; i < kMaxJsonDepth; ++i)
        objects += R"(,"o":{"a":1)";
    EXPECT_TRUE(readV(objects + std::string(kMaxJsonDepth, '}')).ok);
    EXPECT_FALSE(readV(objects + R"(,"o":{})" + std::string(kMaxJsonDepth, '}')).ok);
    // A million open brackets: refused at the 17th, no stack overflow.
    EXPECT_FALSE(readV(R"({"other":)" + std::string(1000000, '[')).ok);
    EXPECT_FALSE(readV(R"({"other":)" + std::string(1000000, '{')).ok);
}

TEST(FlatJsonTest, ArraysAreReadElementByElement)
{
    FlatJson json(R"( [ {"v":1} , 5 , {"v":"x"} ] )");
    ASSERT_TRUE(json.atArray());
    ASSERT_TRUE(json.enterArray());
    JsonField field("v");
    ASSERT_TRUE(json.nextElement());
    ASSERT_TRUE(json.readObject({&field, 1}));
    EXPECT_EQ(field.type, JsonField::Type::Integer);
    ASSERT_TRUE(json.nextElement());
    EXPECT_FALSE(json.atObject());
    ASSERT_TRUE(json.skipValue());
    ASSERT_TRUE(json.nextElement());
    ASSERT_TRUE(json.readObject({&field, 1}));
    EXPECT_EQ(field.type, JsonField::Type::String);
    EXPECT_FALSE(json.nextElement());
    EXPECT_FALSE(json.failed());
    EXPECT_TRUE(json.atEnd());

    FlatJson empty("[]");
    ASSERT_TRUE(empty.enterArray());
    EXPECT_FALSE(empty.nextElement());
    EXPECT_TRUE(empty.atEnd());

    FlatJson trailing("[1,]");
    ASSERT_TRUE(trailing.enterArray());
    ASSERT_TRUE(trailing.nextElement());
    ASSERT_TRUE(trailing.skipValue());
    ASSERT_TRUE(trailing.nextElement());
    EXPECT_FALSE(trailing.skipValue());
    EXPECT_TRUE(trailing.failed());
    EXPECT_FALSE(trailing.atEnd());
}

// Once failed, a reader stays failed.
TEST(FlatJsonTest, StaysFailed)
{
    FlatJson json(R"({"v":01} {"v":1})");
    JsonField field("v");
    EXPECT_FALSE(json.readObject({&field, 1}));
    EXPECT_TRUE(json.failed());
    EXPECT_FALSE(json.readObject({&field, 1}));
    EXPECT_FALSE(json.skipValue());
    EXPECT_FALSE(json.atObject());
    EXPECT_FALSE(json.atEnd());
}

TEST(FlatJsonTest, RawSpansAndElementValues)
{
    FlatJson json(R"({"n": 1.5e3 , "a":[ "x", 2 ],"s":"q\"","o":{}})");
    std::array<JsonField, 5> fields{JsonField("n"), JsonField("a"), JsonField("s"), JsonField("o"), JsonField("z")};
    ASSERT_TRUE(json.readObject(fields));
    EXPECT_TRUE(json.atEnd());
    EXPECT_EQ(fields[0].type, JsonField::Type::Number);
    EXPECT_EQ(fields[0].raw, "1.5e3");
    EXPECT_EQ(fields[1].raw, R"([ "x", 2 ])");
    EXPECT_EQ(fields[2].raw, R"("q\"")");
    EXPECT_EQ(fields[2].string, "q\"");
    EXPECT_EQ(fields[3].raw, "{}");
    EXPECT_EQ(fields[4].type, JsonField::Type::Absent);
    EXPECT_TRUE(fields[4].raw.empty());
    // An array's elements one by one, any type.
    FlatJson array(fields[1].raw);
    ASSERT_TRUE(array.enterArray());
    JsonField item("");
    ASSERT_TRUE(array.nextElement());
    ASSERT_TRUE(array.readValue(item));
    EXPECT_EQ(item.type, JsonField::Type::String);
    EXPECT_EQ(item.string, "x");
    ASSERT_TRUE(array.nextElement());
    ASSERT_TRUE(array.readValue(item));
    EXPECT_EQ(item.type, JsonField::Type::Integer);
    EXPECT_EQ(item.integer, 2);
    EXPECT_FALSE(array.nextElement());
    EXPECT_TRUE(array.atEnd());
    FlatJson broken("[1 2]");
    ASSERT_TRUE(broken.enterArray());
    ASSERT_TRUE(broken.nextElement());
    ASSERT_TRUE(broken.readValue(item));
    EXPECT_FALSE(broken.nextElement());
    EXPECT_TRUE(broken.failed());
    EXPECT_FALSE(broken.readValue(item));
}
