#include "http/PushHandler.h"

#include "http/JsonReply.h"
#include "http/Server.h"

#include <Poco/Logger.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

namespace wsgw::http {

namespace {

std::string bearerToken(const Poco::Net::HTTPServerRequest& request)
{
    // A copy: get() returns a reference to its default argument when the header is absent.
    const std::string header = request.get("Authorization", "");
    static constexpr std::string_view kScheme = "Bearer ";
    if (header.size() <= kScheme.size() || Poco::icompare(header.substr(0, kScheme.size()), std::string(kScheme)) != 0)
        return {};
    auto token = header.substr(kScheme.size());
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
        token.pop_back();
    return token;
}

} // namespace

void PushHandler::handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response)
{
    try
    {
        serve(request, response);
    }
    catch (const std::exception& e)
    {
        // A broken request or connection; this request fails, nothing else does.
        Poco::Logger::get("wsgw.http")
            .information("push request from %s failed: %s", request.clientAddress().toString(), std::string(e.what()));
        if (!response.sent())
        {
            response.setKeepAlive(false);
            sendError(response, 400, "malformed request");
        }
    }
}

void PushHandler::serve(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response)
{
    if (request.getMethod() != Poco::Net::HTTPRequest::HTTP_POST)
    {
        // SPEC §1: 405 unless POST (the original accepted any method).
        response.set("Allow", "POST");
        response.setKeepAlive(false);
        sendError(response, 405, "use POST /push with a JSON body");
        return;
    }
    const auto declared = request.getContentLength64();
    if (declared > static_cast<Poco::Int64>(max_body_))
    {
        // SPEC §5: refused before reading the body; the connection is closed.
        response.setKeepAlive(false);
        sendError(response, 413,
                  "body of " + std::to_string(declared) + " bytes is over the limit of " + std::to_string(max_body_) +
                      " bytes");
        return;
    }
    std::string body;
    body.resize(declared > 0 ? static_cast<size_t>(declared) : 0);
    auto& in = request.stream();
    if (declared > 0)
    {
        in.read(body.data(), declared);
        body.resize(static_cast<size_t>(in.gcount()));
    }
    else if (declared < 0)
    {
        // No Content-Length (chunked): read at most one byte past the limit.
        char buffer[16384];
        while (in && body.size() <= max_body_)
        {
            in.read(buffer, sizeof(buffer));
            body.append(buffer, static_cast<size_t>(in.gcount()));
        }
        if (body.size() > max_body_)
        {
            response.setKeepAlive(false);
            sendError(response, 413, "body is over the limit of " + std::to_string(max_body_) + " bytes");
            return;
        }
    }
    markRequestRead();
    auto reply = service_.handle(body, bearerToken(request));
    if (reply.status == 401)
        response.set("WWW-Authenticate", "Bearer realm=\"wsgw push\"");
    sendJson(response, reply.status, reply.body);
}

} // namespace wsgw::http
