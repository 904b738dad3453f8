// libFuzzer target: POST /push bodies (single and batch) through decoding and
// re-serialisation. Properties: a decoded push, serialised as subscribers get it,
// is UTF-8 and decodes again to exactly the same app, member_id and text (SPEC §1:
// JSON values round-trip exactly); a body refused as a whole carries no items.

#include "protocol/PushRequest.h"
#include "protocol/ServerMessage.h"
#include "transport/Utf8Validator.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    auto body = wsgw::protocol::decodePushBody(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!body.ok && (!body.items.empty() || body.error.empty()))
        std::abort();
    if (body.ok && (body.items.empty() || (!body.batch && body.items.size() != 1)))
        std::abort();
    for (const auto& item : body.items)
    {
        if (!item.ok)
        {
            if (item.error.empty())
                std::abort();
            continue;
        }
        auto message = wsgw::protocol::serverMessage(item.push.app, item.push.member_id, item.push.text);
        // Subscribers get a text frame: it must be UTF-8, and it is itself a push body.
        if (!wsgw::transport::isValidUtf8(message))
            std::abort();
        auto again = wsgw::protocol::decodePushBody(message);
        if (!again.ok || again.batch || again.items.size() != 1 || !again.items[0].ok)
            std::abort();
        const auto& push = again.items[0].push;
        if (push.app != item.push.app || push.member_id != item.push.member_id || push.text != item.push.text)
            std::abort();
    }
    return 0;
}
