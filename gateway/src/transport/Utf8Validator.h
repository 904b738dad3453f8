#pragma once
/// Incremental UTF-8 validation (RFC 3629) for text messages and close reasons:
/// a small DFA that fails on the first byte that cannot continue valid UTF-8.
/// Pure; an instance belongs to one thread at a time.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wsgw::transport {

/// Validates UTF-8 fed in arbitrary pieces (a code point may span pieces).
/// Rejects overlong forms, surrogates (U+D800-U+DFFF) and code points above
/// U+10FFFF. State is one byte.
class Utf8Validator
{
public:
    /// Validates [DATA, DATA+SIZE) as the continuation of everything fed since the
    /// last reset(). Returns false as soon as the bytes so far cannot be a prefix of
    /// valid UTF-8 ("fail fast": e.g. at 0xED 0xA0, not at the end of the sequence);
    /// once false it stays false until reset(). SIZE 0 returns the current verdict.
    /// O(SIZE), with an 8-bytes-at-a-time path for ASCII.
    bool feed(const char* data, size_t size);

    /// True if everything fed so far is valid and ends on a code point boundary
    /// (true after reset(), for the empty text).
    bool complete() const { return state_ == 0; }

    /// True once feed() has returned false.
    bool failed() const;

    /// Forgets everything fed; the validator is as new.
    void reset() { state_ = 0; }

private:
    uint8_t state_ = 0; ///< 0 = at a boundary; other values: inside a sequence or rejected
};

/// True if TEXT is complete, valid UTF-8 (the empty text is valid).
bool isValidUtf8(std::string_view text);

} // namespace wsgw::transport
