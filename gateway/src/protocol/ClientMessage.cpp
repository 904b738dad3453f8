#include "protocol/ClientMessage.h"

#include "model/Names.h"
#include "protocol/FlatJson.h"

namespace wsgw::protocol {

AuthRequest parseAuth(std::string_view text)
{
    AuthRequest request;
    JsonField fields[] = {JsonField("member_id"), JsonField("token")};
    FlatJson json(text);
    // SPEC §1: not JSON or not an object -> missing auth message.
    if (!json.readObject(fields) || !json.atEnd())
        return request;
    int64_t member_id = 0;
    if (fields[0].getInt64(member_id) != FieldState::Ok || member_id == 0)
        return request;
    std::string token;
    if (fields[1].takeString(token) == FieldState::WrongType)
        return request;
    request.member_id = member_id;
    request.kind = member_id < 0 ? AuthRequest::Kind::Anonymous : AuthRequest::Kind::Member;
    request.token = std::move(token);
    return request;
}

bool isAuthShaped(std::string_view text)
{
    JsonField fields[] = {JsonField("member_id"), JsonField("app")};
    FlatJson json(text);
    if (!json.readObject(fields) || !json.atEnd())
        return false;
    return fields[0].type != JsonField::Type::Absent && fields[1].type == JsonField::Type::Absent;
}

SubscribeRequest parseSubscribe(std::string_view text)
{
    SubscribeRequest request;
    JsonField fields[] = {JsonField("app"), JsonField("action"), JsonField("text"), JsonField("seqno")};
    FlatJson json(text);
    if (!json.readObject(fields) || !json.atEnd())
        return request;
    std::string app;
    if (fields[0].takeString(app) != FieldState::Ok || !model::isValidAppName(app))
        return request;
    std::string action;
    switch (fields[1].takeString(action))
    {
    case FieldState::Absent:
        request.action = SubscribeRequest::Action::Subscribe;
        break;
    case FieldState::Ok:
        if (action == "subscribe")
            request.action = SubscribeRequest::Action::Subscribe;
        else if (action == "unsubscribe")
            request.action = SubscribeRequest::Action::Unsubscribe;
        else if (action == "publish")
        {
            if (fields[2].takeString(request.text) != FieldState::Ok)
                return request;
            request.action = SubscribeRequest::Action::Publish;
        }
        else if (action == "rpc")
        {
            auto text_state = fields[2].takeString(request.text);
            if (text_state == FieldState::WrongType || fields[3].takeString(request.seqno) != FieldState::Ok ||
                request.seqno.size() > kMaxSeqnoLength)
                return request;
            request.action = SubscribeRequest::Action::Rpc;
        }
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
