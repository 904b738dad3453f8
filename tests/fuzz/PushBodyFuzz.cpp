// libFuzzer target: POST /push bodies (single and batch) through decoding and
// re-serialisation; what is serialised must be valid JSON again.

#include "protocol/Json.h"
#include "protocol/PushRequest.h"
#include "protocol/ServerMessage.h"
#include "transport/Utf8Validator.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    auto body = wsgw::protocol::decodePushBody(std::string_view(reinterpret_cast<const char*>(data), size));
    for (const auto& item : body.items)
    {
        if (!item.ok)
            continue;
        auto message = wsgw::protocol::serverMessage(item.push.app, item.push.member_id, item.push.text);
        // Subscribers get a text frame: it must be UTF-8 and parse back.
        if (!wsgw::transport::isValidUtf8(message) || !wsgw::protocol::parseJson(message))
            std::abort();
    }
    return 0;
}
