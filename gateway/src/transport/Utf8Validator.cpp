#include "transport/Utf8Validator.h"

#include <cstring>

namespace wsgw::transport {

namespace {

/// DFA states. Each state inside a sequence accepts one byte range (the
/// restricted ranges after E0, ED, F0 and F4 exclude overlongs, surrogates and
/// code points above U+10FFFF, per the RFC 3629 §4 table).
enum State : uint8_t
{
    Boundary = 0,
    Need1 = 1,   ///< one more 80-BF
    Need2 = 2,   ///< two more 80-BF
    AfterE0 = 3, ///< A0-BF, then Need1 (excludes overlong 3-byte forms)
    AfterED = 4, ///< 80-9F, then Need1 (excludes surrogates)
    Need3 = 5,   ///< 80-BF, then Need2 (after F1-F3)
    AfterF0 = 6, ///< 90-BF, then Need2 (excludes overlong 4-byte forms)
    AfterF4 = 7, ///< 80-8F, then Need2 (excludes > U+10FFFF)
    Rejected = 8,
};

struct Continuation
{
    uint8_t low;
    uint8_t high;
    uint8_t next;
};

constexpr Continuation kContinuations[] = {
    {0, 0, Rejected},       // Boundary: not used, lead bytes are classified below
    {0x80, 0xBF, Boundary}, // Need1
    {0x80, 0xBF, Need1},    // Need2
    {0xA0, 0xBF, Need1},    // AfterE0
    {0x80, 0x9F, Need1},    // AfterED
    {0x80, 0xBF, Need2},    // Need3
    {0x90, 0xBF, Need2},    // AfterF0
    {0x80, 0x8F, Need2},    // AfterF4
};

/// The state after lead byte C (C >= 0x80).
constexpr uint8_t stateAfterLead(unsigned char c)
{
    if (c < 0xC2)
    {
        return Rejected; // 80-BF: continuation without a lead; C0, C1: always overlong
    }
    if (c <= 0xDF)
    {
        return Need1;
    }
    if (c == 0xE0)
    {
        return AfterE0;
    }
    if (c == 0xED)
    {
        return AfterED;
    }
    if (c <= 0xEF)
    {
        return Need2;
    }
    if (c == 0xF0)
    {
        return AfterF0;
    }
    if (c <= 0xF3)
    {
        return Need3;
    }
    if (c == 0xF4)
    {
        return AfterF4;
    }
    return Rejected; // F5-FF: beyond U+10FFFF or not UTF-8 at all
}

} // namespace

bool Utf8Validator::feed(const char* data, size_t size)
{
    const auto* p = reinterpret_cast<const unsigned char*>(data);
    const auto* end = p + size;
    uint8_t state = state_;
    if (state == Rejected)
    {
        return false;
    }
    while (p < end)
    {
        if (state == Boundary)
        {
            // Fast path: skip ASCII eight bytes at a time (messages are mostly ASCII JSON).
            while (end - p >= 8)
            {
                uint64_t word;
                std::memcpy(&word, p, sizeof(word));
                if ((word & 0x8080808080808080ULL) != 0)
                {
                    break;
                }
                p += 8;
            }
            if (p == end)
            {
                break;
            }
            const unsigned char c = *p++;
            if (c < 0x80)
            {
                continue;
            }
            state = stateAfterLead(c);
            if (state == Rejected)
            {
                state_ = Rejected;
                return false;
            }
            continue;
        }
        const unsigned char c = *p++;
        const Continuation& allowed = kContinuations[state];
        if (c < allowed.low || c > allowed.high)
        {
            state_ = Rejected;
            return false;
        }
        state = allowed.next;
    }
    state_ = state;
    return true;
}

bool Utf8Validator::failed() const
{
    return state_ == Rejected;
}

bool isValidUtf8(std::string_view text)
{
    Utf8Validator validator;
    return validator.feed(text.data(), text.size()) && validator.complete();
}

} // namespace wsgw::transport
