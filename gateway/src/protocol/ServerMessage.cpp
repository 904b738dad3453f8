#include "protocol/ServerMessage.h"

#include "protocol/JsonWriter.h"

namespace wsgw::protocol {

std::string serverMessage(std::string_view app, int64_t member_id, std::string_view text)
{
    std::string out;
    out.reserve(text.size() + app.size() + 48);
    out += "{\"app\":";
    appendJsonString(out, app);
    out += ",\"member_id\":";
    out += std::to_string(member_id);
    out += ",\"text\":";
    appendJsonString(out, text);
    out += '}';
    return out;
}

std::string rpcReply(std::string_view app, int64_t member_id, std::string_view text, std::string_view seqno, int code)
{
    std::string out = serverMessage(app, member_id, text);
    out.pop_back();
    out += ",\"seqno\":";
    appendJsonString(out, seqno);
    out += ",\"code\":";
    out += std::to_string(code);
    out += '}';
    return out;
}

std::string replyText(Reply reply, std::string_view subject)
{
    int code = 200;
    std::string message;
    std::string subject_text(subject);
    switch (reply)
    {
    case Reply::MissingAuth:
        code = 400;
        message = "missing auth message";
        break;
    case Reply::HelloStranger:
        message = "hello stranger";
        break;
    case Reply::HelloMember:
        message = "hello " + subject_text;
        break;
    case Reply::Unauthorized:
        code = 401;
        message = "unauthorized";
        break;
    case Reply::BadSubscribe:
        code = 400;
        message = "bad subscribe message";
        break;
    case Reply::SubscribeSuccess:
        message = "subscribe " + subject_text + " success";
        break;
    case Reply::SubscribeForbidden:
        code = 403;
        message = "subscribe " + subject_text + " forbidden";
        break;
    case Reply::SubscribeNotFound:
        code = 404;
        message = "subscribe " + subject_text + " not found";
        break;
    case Reply::UnsubscribeSuccess:
        message = "unsubscribe " + subject_text + " success";
        break;
    case Reply::TooManySubscriptions:
        code = 429;
        message = "subscribe " + subject_text + " refused: too many subscriptions";
        break;
    case Reply::TokenExpired:
        code = 401;
        message = "token expired";
        break;
    case Reply::BadAuthMessage:
        code = 400;
        message = "bad auth message";
        break;
    case Reply::AuthUnavailable:
        code = 503;
        message = "auth unavailable";
        break;
    case Reply::PublishSuccess:
        code = 200;
        message = "publish " + subject_text + " success";
        break;
    case Reply::PublishForbidden:
        code = 403;
        message = "publish " + subject_text + " forbidden";
        break;
    case Reply::PublishUnavailable:
        code = 503;
        message = "publish " + subject_text + " unavailable";
        break;
    case Reply::PublishTooFast:
        code = 429;
        message = "publish " + subject_text + " refused: too many messages";
        break;
    }
    JsonWriter json;
    json.beginObject().key("code").value(code).key("message").value(message).endObject();
    return json.take();
}

std::string gatewayReply(Reply reply, std::string_view subject)
{
    return serverMessage("gateway", -1, replyText(reply, subject));
}

} // namespace wsgw::protocol
