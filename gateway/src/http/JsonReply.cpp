#include "http/JsonReply.h"

#include "protocol/JsonWriter.h"

namespace wsgw::http {

std::string errorBody(int status, std::string_view message)
{
    protocol::JsonWriter json;
    json.beginObject().key("code").value(status).key("message").value(message).endObject();
    return json.take();
}

void sendJson(Poco::Net::HTTPServerResponse& response, int status, const std::string& body)
{
    response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    response.setContentType("application/json");
    response.setContentLength(static_cast<std::streamsize>(body.size() + 1));
    auto& out = response.send();
    out << body << '\n';
    out.flush();
}

void sendError(Poco::Net::HTTPServerResponse& response, int status, std::string_view message)
{
    sendJson(response, status, errorBody(status, message));
}

} // namespace wsgw::http
