// libFuzzer target: decoding of the client's auth and subscribe messages. Any
// decoded app name must be one that could be registered.

#include "protocol/ClientMessage.h"
#include "model/Names.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto auth = wsgw::protocol::parseAuth(text);
    if (auth.kind == wsgw::protocol::AuthRequest::Kind::Member && auth.member_id <= 0)
        std::abort();
    if (auth.kind == wsgw::protocol::AuthRequest::Kind::Anonymous && auth.member_id >= 0)
        std::abort();
    auto subscribe = wsgw::protocol::parseSubscribe(text);
    if (subscribe.action != wsgw::protocol::SubscribeRequest::Action::Bad &&
        !wsgw::model::isValidAppName(subscribe.app))
        std::abort();
    return 0;
}
