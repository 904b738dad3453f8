// libFuzzer target: decoding of the client's auth and subscribe messages.
// Properties: the kind agrees with the member id's sign; any decoded app name is
// one that could be registered; and what was decoded, written again as the
// message a client would send, decodes to exactly the same request.

#include "model/Names.h"
#include "protocol/ClientMessage.h"
#include "protocol/JsonWriter.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace wsgw::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto auth = parseAuth(text);
    if (auth.kind == AuthRequest::Kind::Member && auth.member_id <= 0)
        std::abort();
    if (auth.kind == AuthRequest::Kind::Anonymous && auth.member_id >= 0)
        std::abort();
    if (auth.kind != AuthRequest::Kind::Missing)
    {
        // The token is a decoded JSON string, so it is UTF-8 and writes back as valid JSON.
        JsonWriter json;
        json.beginObject().key("member_id").value(auth.member_id).key("token").value(auth.token).endObject();
        auto again = parseAuth(json.str());
        if (again.kind != auth.kind || again.member_id != auth.member_id || again.token != auth.token)
            std::abort();
    }

    auto subscribe = parseSubscribe(text);
    if (subscribe.action != SubscribeRequest::Action::Bad)
    {
        if (!wsgw::model::isValidAppName(subscribe.app))
            std::abort();
        JsonWriter json;
        json.beginObject().key("app").value(subscribe.app);
        if (subscribe.action == SubscribeRequest::Action::Unsubscribe)
            json.key("action").value("unsubscribe");
        json.endObject();
        auto again = parseSubscribe(json.str());
        if (again.action != subscribe.action || again.app != subscribe.app)
            std::abort();
    }
    return 0;
}
