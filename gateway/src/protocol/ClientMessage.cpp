#include "protocol/ClientMessage.h"

#include "protocol/Json.h"
#include "model/Names.h"

namespace wsgw::protocol {

AuthRequest parseAuth(std::string_view text)
{
    AuthRequest request;
    auto object = parseObject(text);
    if (!object)
        return request;
    int64_t member_id = 0;
    if (getInt64(*object, "member_id", member_id) != FieldState::Ok || member_id == 0)
        return request;
    std::string token;
    if (getString(*object, "token", token) == FieldState::WrongType)
        return request;
    request.member_id = member_id;
    request.kind = member_id < 0 ? AuthRequest::Kind::Anonymous : AuthRequest::Kind::Member;
    request.token = std::move(token);
    return request;
}

SubscribeRequest parseSubscribe(std::string_view text)
{
    SubscribeRequest request;
    auto object = parseObject(text);
    if (!object)
        return request;
    std::string app;
    if (getString(*object, "app", app) != FieldState::Ok || !model::isValidAppName(app))
        return request;
    std::string action;
    switch (getString(*object, "action", action))
    {
    case FieldState::Absent:
        request.action = SubscribeRequest::Action::Subscribe;
        break;
    case FieldState::Ok:
        if (action == "subscribe")
            request.action = SubscribeRequest::Action::Subscribe;
        else if (action == "unsubscribe")
            request.action = SubscribeRequest::Action::Unsubscribe;
        else
            return request;
        break;
    case FieldState::WrongType:
        return request;
    }
    request.app = std::move(app);
    return request;
}

} // namespace wsgw::protocol
