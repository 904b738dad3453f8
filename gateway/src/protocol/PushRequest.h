#pragma once
/// Decoding of POST /push bodies (SPEC §1 "Push"): one push object, or a JSON
/// array of them (a batch). Checks types and ranges; never throws. Any thread.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wsgw::protocol {

struct PushItem
{
    std::string app;
    int64_t member_id = -1; ///< as sent; -1 when absent. > 0 targets one member, else broadcast
    std::string text;

    bool targetsMember() const noexcept { return member_id > 0; }
};

/// One item of the body: either a valid push or why it is not (HTTP 400).
struct DecodedPush
{
    bool ok = false;
    std::string error; ///< when !ok: says what is wrong, e.g. "missing field 'text'"
    PushItem push;
};

struct PushBody
{
    bool ok = false;    ///< false: the whole body is bad (400 with error)
    bool batch = false; ///< the body was an array
    std::string error;
    std::vector<DecodedPush> items; ///< one per object (one for a single push)
};

/// Decodes a body. A single object that is invalid gives ok=true with one bad
/// item, so single and batch share the per-item path.
PushBody decodePushBody(std::string_view body);

} // namespace wsgw::protocol
