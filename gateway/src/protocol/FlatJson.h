#pragma once
/// A strict RFC 8259 reader for the protocol's flat messages (client messages, push
/// bodies): one object, or an array of them, read in one pass without a tree. Never
/// throws. Any thread; one instance per text.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace wsgw::protocol {

/// Deepest nesting accepted in client messages and push bodies: 16 open arrays or
/// objects pass, a 17th makes the text invalid.
inline constexpr size_t kMaxJsonDepth = 16;

/// What a field holds, as far as the protocol cares.
enum class FieldState
{
    Absent,    ///< no such key (or null)
    Ok,        ///< present with the expected type and range
    WrongType, ///< present but not of the expected type or out of range
};

/// One key a caller wants from an object, and what its value was after
/// FlatJson::readObject(). With duplicate keys the last one wins.
struct JsonField
{
    enum class Type : uint8_t
    {
        Absent,  ///< the key did not occur
        Null,    ///< null
        Boolean, ///< true or false
        Integer, ///< an integer literal within int64, exactly: in `integer`
        Number,  ///< any other number: a fraction, an exponent, or an integer beyond int64
        String,  ///< in `string`, decoded: escapes resolved, surrogate pairs joined, UTF-8
        Object,  ///< validated and skipped
        Array,   ///< validated and skipped
    };

    explicit JsonField(std::string_view wanted_key) : key(wanted_key) {}

    std::string_view key; ///< the key to capture, compared after unescaping
    Type type = Type::Absent;
    int64_t integer = 0;
    std::string string;
    /// The value's text exactly as it appears in the input (any type): a
    /// number's digits, or an object or array to read with another FlatJson.
    /// Points into the text given to the reader.
    std::string_view raw;

    /// An integer in [INT64_MIN, INT64_MAX]: Ok and OUT set; Absent for an absent key
    /// or null; WrongType for anything else ("5", 1.0, 1e3, true, 2^63).
    FieldState getInt64(int64_t& out) const;

    /// A string: Ok and the string moved into OUT; Absent for an absent key or null;
    /// WrongType for anything else.
    FieldState takeString(std::string& out);
};

/// Reads one JSON text from the front. Validation is RFC 8259 strict: no trailing
/// commas, comments, leading zeros, bare words, unknown escapes, lone surrogates,
/// invalid UTF-8 or raw control characters in strings, and at most kMaxJsonDepth
/// nesting. The first violation makes the reader failed(); from then on every call
/// returns false. Every call is O(bytes it reads), without recursion; memory is the
/// captured strings plus one key.
///
/// Typical use: `FlatJson json(text); if (json.readObject(fields) && json.atEnd()) ...`.
/// Arrays are read one at a time: enterArray(), then nextElement() before each element.
class FlatJson
{
public:
    explicit FlatJson(std::string_view text) noexcept : pos_(text.data()), end_(text.data() + text.size()) {}

    /// True if the next value (after whitespace) starts an object; false otherwise or if failed.
    bool atObject();
    /// True if the next value (after whitespace) starts an array; false otherwise or if failed.
    bool atArray();

    /// Reads the object at the cursor. Each of FIELDS is reset, then set from the
    /// member with its key; other members are validated and skipped. False (and
    /// failed) if there is no valid object here.
    bool readObject(std::span<JsonField> fields);

    /// Validates and skips one value of any type. False (and failed) if there is none.
    bool skipValue();

    /// Reads one value of any type into FIELD (its key untouched): scalars
    /// captured, containers validated and skipped, `raw` set. False (and
    /// failed) if there is none. Array elements: enterArray(), nextElement(), readValue().
    bool readValue(JsonField& field);

    /// Consumes the '[' at the cursor. False (and failed) if there is none or it
    /// would nest deeper than kMaxJsonDepth.
    bool enterArray();

    /// Inside the array last entered: true if an element follows (the ',' before it
    /// consumed; read it with readObject() or skipValue()); false at the array's end
    /// (']' consumed) or if the input is invalid (then failed()).
    bool nextElement();

    /// True if nothing but whitespace is left and nothing failed.
    bool atEnd();

    bool failed() const noexcept { return failed_; }

private:
    void skipWhitespace();
    bool fail();
    /// Reads the string at the cursor (the opening quote included); appends the
    /// decoded text to OUT unless OUT is null.
    bool readString(std::string* out);
    /// Reads the number at the cursor; sets FIELD to Integer or Number unless it is null.
    bool readNumber(JsonField* field);
    /// Reads WORD (true, false, null) at the cursor.
    bool readWord(std::string_view word);
    /// Reads a member's key and the ':' after it; the key goes to OUT unless OUT is null.
    bool readKey(std::string* out);
    /// readValue() without the raw span.
    bool readScalarOrSkip(JsonField& field);

    const char* pos_;
    const char* end_;
    size_t depth_ = 0; ///< arrays and objects open at the cursor
    bool failed_ = false;
    bool first_element_ = false; ///< after enterArray(), before the first nextElement()
    std::string key_;            ///< the member key being compared; reused
};

} // namespace wsgw::protocol
