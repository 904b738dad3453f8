#include "protocol/FlatJson.h"

#include <charconv>

namespace wsgw::protocol {

namespace {

bool isDigit(char c)
{
    return c >= '0' && c <= '9';
}

/// Length of the valid UTF-8 sequence (RFC 3629) at P, whose lead byte is >= 0x80,
/// or 0 if it is not one: overlong forms, surrogates (U+D800-U+DFFF) and code points
/// above U+10FFFF are invalid, as are sequences cut short by END.
size_t utf8SequenceLength(const unsigned char* p, const unsigned char* end)
{
    const unsigned char lead = p[0];
    size_t length = 0;
    unsigned char low = 0x80; // range of the second byte: narrower after E0, ED, F0, F4
    unsigned char high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF)
    {
        length = 2;
    }
    else if (lead >= 0xE0 && lead <= 0xEF)
    {
        length = 3;
        low = lead == 0xE0 ? 0xA0 : 0x80;
        high = lead == 0xED ? 0x9F : 0xBF;
    }
    else if (lead >= 0xF0 && lead <= 0xF4)
    {
        length = 4;
        low = lead == 0xF0 ? 0x90 : 0x80;
        high = lead == 0xF4 ? 0x8F : 0xBF;
    }
    else
    {
        return 0;
    }
    if (static_cast<size_t>(end - p) < length || p[1] < low || p[1] > high)
        return 0;
    for (size_t i = 2; i < length; ++i)
    {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    }
    return length;
}

/// Appends code point CP (not a surrogate, at most U+10FFFF) as UTF-8.
void appendUtf8(std::string& out, uint32_t cp)
{
    if (cp < 0x80)
    {
        out.push_back(static_cast<char>(cp));
    }
    else if (cp < 0x800)
    {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    else if (cp < 0x10000)
    {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    else
    {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

/// Reads 4 hex digits at P (END permitting) into CP.
bool readHex4(const char* p, const char* end, uint32_t& cp)
{
    if (end - p < 4)
        return false;
    cp = 0;
    for (int i = 0; i < 4; ++i)
    {
        const char c = p[i];
        uint32_t digit = 0;
        if (c >= '0' && c <= '9')
            digit = static_cast<uint32_t>(c - '0');
        else if (c >= 'a' && c <= 'f')
            digit = static_cast<uint32_t>(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            digit = static_cast<uint32_t>(c - 'A' + 10);
        else
            return false;
        cp = (cp << 4) | digit;
    }
    return true;
}

} // namespace

FieldState JsonField::getInt64(int64_t& out) const
{
    switch (type)
    {
    case Type::Absent:
    case Type::Null:
        return FieldState::Absent;
    case Type::Integer:
        out = integer;
        return FieldState::Ok;
    default:
        return FieldState::WrongType;
    }
}

FieldState JsonField::takeString(std::string& out)
{
    switch (type)
    {
    case Type::Absent:
    case Type::Null:
        return FieldState::Absent;
    case Type::String:
        out = std::move(string);
        return FieldState::Ok;
    default:
        return FieldState::WrongType;
    }
}

bool FlatJson::fail()
{
    failed_ = true;
    return false;
}

void FlatJson::skipWhitespace()
{
    // RFC 8259 §2: space, tab, line feed, carriage return; nothing else.
    while (pos_ != end_ && (*pos_ == ' ' || *pos_ == '\t' || *pos_ == '\n' || *pos_ == '\r'))
        ++pos_;
}

bool FlatJson::atObject()
{
    if (failed_)
        return false;
    skipWhitespace();
    return pos_ != end_ && *pos_ == '{';
}

bool FlatJson::atArray()
{
    if (failed_)
        return false;
    skipWhitespace();
    return pos_ != end_ && *pos_ == '[';
}

bool FlatJson::atEnd()
{
    if (failed_)
        return false;
    skipWhitespace();
    return pos_ == end_;
}

bool FlatJson::readString(std::string* out)
{
    ++pos_; // the opening quote
    // Bytes that stand for themselves are appended in runs, not one by one: a push's
    // text is most of its body.
    const char* run = pos_;
    auto flush = [&] {
        if (out)
            out->append(run, static_cast<size_t>(pos_ - run));
    };
    while (true)
    {
        if (pos_ == end_)
            return fail();
        const auto c = static_cast<unsigned char>(*pos_);
        if (c == '"')
        {
            flush();
            ++pos_;
            return true;
        }
        if (c < 0x20)
            return fail(); // RFC 8259 §7: control characters must be escaped
        if (c < 0x80 && c != '\\')
        {
            ++pos_;
            continue;
        }
        if (c >= 0x80)
        {
            // RFC 8259 §8.1: JSON text is UTF-8; a string holding anything else is refused.
            const size_t length = utf8SequenceLength(reinterpret_cast<const unsigned char*>(pos_),
                                                     reinterpret_cast<const unsigned char*>(end_));
            if (length == 0)
                return fail();
            pos_ += length;
            continue;
        }
        flush();
        ++pos_; // the backslash
        if (pos_ == end_)
            return fail();
        const char escape = *pos_++;
        char plain = 0;
        switch (escape)
        {
        case '"':
        case '\\':
        case '/':
            plain = escape;
            break;
        case 'b':
            plain = '\b';
            break;
        case 'f':
            plain = '\f';
            break;
        case 'n':
            plain = '\n';
            break;
        case 'r':
            plain = '\r';
            break;
        case 't':
            plain = '\t';
            break;
        case 'u':
        {
            uint32_t cp = 0;
            if (!readHex4(pos_, end_, cp))
                return fail();
            pos_ += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return fail(); // a low surrogate without a high one before it
            if (cp >= 0xD800 && cp <= 0xDBFF)
            {
                // RFC 8259 §7: a code point above U+FFFF is a surrogate pair of escapes;
                // a high surrogate alone is not a character and has no UTF-8 form.
                uint32_t low = 0;
                if (end_ - pos_ < 2 || pos_[0] != '\\' || pos_[1] != 'u' || !readHex4(pos_ + 2, end_, low) ||
                    low < 0xDC00 || low > 0xDFFF)
                    return fail();
                pos_ += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            }
            if (out)
                appendUtf8(*out, cp);
            run = pos_;
            continue;
        }
        default:
            return fail(); // RFC 8259 §7: no other escapes (\x, \', \0, ...)
        }
        if (out)
            out->push_back(plain);
        run = pos_;
    }
}

bool FlatJson::readNumber(JsonField* field)
{
    // RFC 8259 §6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
    const char* start = pos_;
    if (pos_ != end_ && *pos_ == '-')
        ++pos_;
    if (pos_ == end_ || !isDigit(*pos_))
        return fail();
    if (*pos_ == '0')
    {
        ++pos_;
        if (pos_ != end_ && isDigit(*pos_))
            return fail(); // a leading zero ("01", "-00")
    }
    else
    {
        while (pos_ != end_ && isDigit(*pos_))
            ++pos_;
    }
    bool integer = true;
    if (pos_ != end_ && *pos_ == '.')
    {
        ++pos_;
        if (pos_ == end_ || !isDigit(*pos_))
            return fail();
        while (pos_ != end_ && isDigit(*pos_))
            ++pos_;
        integer = false;
    }
    if (pos_ != end_ && (*pos_ == 'e' || *pos_ == 'E'))
    {
        ++pos_;
        if (pos_ != end_ && (*pos_ == '+' || *pos_ == '-'))
            ++pos_;
        if (pos_ == end_ || !isDigit(*pos_))
            return fail();
        while (pos_ != end_ && isDigit(*pos_))
            ++pos_;
        integer = false;
    }
    if (field)
    {
        // Exactly the integer written, from its text: never through a double (2^53)
        // and never clamped. 1.0 and 1e3 are numbers, not integers, as before.
        field->type = JsonField::Type::Number;
        int64_t value = 0;
        if (integer)
        {
            auto [end, ec] = std::from_chars(start, pos_, value);
            if (ec == std::errc() && end == pos_)
            {
                field->type = JsonField::Type::Integer;
                field->integer = value;
            }
        }
    }
    return true;
}

bool FlatJson::readWord(std::string_view word)
{
    if (static_cast<size_t>(end_ - pos_) < word.size() || std::string_view(pos_, word.size()) != word)
        return fail();
    pos_ += word.size();
    return true;
}

bool FlatJson::readKey(std::string* out)
{
    skipWhitespace();
    if (pos_ == end_ || *pos_ != '"')
        return fail();
    if (out)
        out->clear();
    if (!readString(out))
        return false;
    skipWhitespace();
    if (pos_ == end_ || *pos_ != ':')
        return fail();
    ++pos_;
    return true;
}

bool FlatJson::readValue(JsonField& field)
{
    if (failed_)
        return false;
    skipWhitespace();
    const char* start = pos_;
    if (!readScalarOrSkip(field))
        return false;
    field.raw = std::string_view(start, static_cast<size_t>(pos_ - start));
    return true;
}

bool FlatJson::readScalarOrSkip(JsonField& field)
{
    skipWhitespace();
    if (pos_ == end_)
        return fail();
    switch (*pos_)
    {
    case '"':
        field.type = JsonField::Type::String;
        field.string.clear();
        return readString(&field.string);
    case '{':
        field.type = JsonField::Type::Object;
        return skipValue();
    case '[':
        field.type = JsonField::Type::Array;
        return skipValue();
    case 't':
        field.type = JsonField::Type::Boolean;
        return readWord("true");
    case 'f':
        field.type = JsonField::Type::Boolean;
        return readWord("false");
    case 'n':
        field.type = JsonField::Type::Null;
        return readWord("null");
    default:
        return readNumber(&field);
    }
}

bool FlatJson::readObject(std::span<JsonField> fields)
{
    for (auto& field : fields)
    {
        field.type = JsonField::Type::Absent;
        field.raw = {};
    }
    if (!atObject() || depth_ == kMaxJsonDepth)
        return fail();
    ++pos_;
    ++depth_;
    skipWhitespace();
    if (pos_ != end_ && *pos_ == '}')
    {
        ++pos_;
        --depth_;
        return true;
    }
    while (true)
    {
        if (!readKey(&key_))
            return false;
        JsonField* target = nullptr;
        for (auto& field : fields)
        {
            if (field.key == key_)
            {
                target = &field;
                break;
            }
        }
        // A repeated key overwrites what the earlier one set: the last one wins.
        if (!(target ? readValue(*target) : skipValue()))
            return false;
        skipWhitespace();
        if (pos_ == end_)
            return fail();
        const char next = *pos_++;
        if (next == '}')
            break;
        if (next != ',')
            return fail();
    }
    --depth_;
    return true;
}

bool FlatJson::skipValue()
{
    if (failed_)
        return false;
    // An explicit stack instead of recursion: kMaxJsonDepth bounds it, and hostile
    // nesting costs no call stack. in_object[d] says what the container at depth d+1 is.
    bool in_object[kMaxJsonDepth] = {};
    size_t depth = depth_;
    while (true)
    {
        // A value is due.
        skipWhitespace();
        if (pos_ == end_)
            return fail();
        const char c = *pos_;
        if (c == '{' || c == '[')
        {
            if (depth == kMaxJsonDepth)
                return fail();
            ++pos_;
            in_object[depth++] = c == '{';
            skipWhitespace();
            if (pos_ != end_ && *pos_ == (c == '{' ? '}' : ']'))
            {
                ++pos_;
                --depth;
            }
            else if (c == '{')
            {
                if (!readKey(nullptr))
                    return false;
                continue;
            }
            else
            {
                continue;
            }
        }
        else
        {
            bool ok = false;
            switch (c)
            {
            case '"':
                ok = readString(nullptr);
                break;
            case 't':
                ok = readWord("true");
                break;
            case 'f':
                ok = readWord("false");
                break;
            case 'n':
                ok = readWord("null");
                break;
            default:
                ok = readNumber(nullptr);
                break;
            }
            if (!ok)
                return false;
        }
        // A value ended: close the containers it ends, or go on to the next element.
        while (true)
        {
            if (depth == depth_)
                return true;
            skipWhitespace();
            if (pos_ == end_)
                return fail();
            const char next = *pos_++;
            const bool object = in_object[depth - 1];
            if (next == ',')
            {
                if (object && !readKey(nullptr))
                    return false;
                break;
            }
            if (next != (object ? '}' : ']'))
                return fail();
            --depth;
        }
    }
}

bool FlatJson::enterArray()
{
    if (!atArray() || depth_ == kMaxJsonDepth)
        return fail();
    ++pos_;
    ++depth_;
    first_element_ = true;
    return true;
}

bool FlatJson::nextElement()
{
    if (failed_)
        return false;
    skipWhitespace();
    if (pos_ == end_)
        return fail();
    if (first_element_)
    {
        first_element_ = false;
        if (*pos_ != ']')
            return true;
        ++pos_;
        --depth_;
        return false;
    }
    const char next = *pos_++;
    if (next == ',')
        return true;
    if (next != ']')
        return fail();
    --depth_;
    return false;
}

} // namespace wsgw::protocol
