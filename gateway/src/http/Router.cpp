#include "http/Router.h"

#include "http/JsonReply.h"
#include "http/PushHandler.h"
#include "http/UpgradeHandler.h"

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/URI.h>

#include <functional>
#include <sstream>

namespace wsgw::http {

namespace {

/// A handler from a function, for the small endpoints.
class FunctionHandler : public Poco::Net::HTTPRequestHandler
{
public:
    using Function = std::function<void(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&)>;
    explicit FunctionHandler(Function f) : f_(std::move(f)) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override
    {
        f_(request, response);
    }

private:
    Function f_;
};

std::string pathOf(const std::string& uri)
{
    return uri.substr(0, uri.find('?'));
}

void sendText(Poco::Net::HTTPServerResponse& response, int status, const std::string& type, const std::string& body)
{
    response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    response.setContentType(type);
    response.setContentLength(static_cast<std::streamsize>(body.size()));
    response.send() << body;
}

Poco::Net::HTTPRequestHandler* health()
{
    return new FunctionHandler([](auto&, auto& response) { sendJson(response, 200, R"({"status":"ok"})"); });
}

} // namespace

PublicRouter::PublicRouter(const config::Settings& settings, transport::LoopGroup& loops, PushService& push,
                           hub::PeerLimits& peers, hub::Metrics& metrics)
    : loops_(loops), push_(push), peers_(peers), metrics_(metrics), max_body_(settings.push_max_body_bytes)
{
    std::istringstream words(settings.allowed_origins);
    for (std::string origin; words >> origin;)
        origins_.insert(origin);
}

Poco::Net::HTTPRequestHandler* PublicRouter::createRequestHandler(const Poco::Net::HTTPServerRequest& request)
{
    const std::string path = pathOf(request.getURI());
    if (path == "/push")
        return new PushHandler(push_, max_body_);
    if (UpgradeHandler::isUpgrade(request))
        return new UpgradeHandler(loops_, peers_, metrics_, origins_);
    if (path == "/healthz")
        return health();
    return new FunctionHandler([](auto&, auto& response) {
        response.set("Upgrade", "websocket");
        sendError(response, 426, "this is a WebSocket endpoint: connect with a WebSocket client, or POST /push");
    });
}

Poco::Net::HTTPRequestHandler* StatRouter::createRequestHandler(const Poco::Net::HTTPServerRequest& request)
{
    const std::string path = pathOf(request.getURI());
    if (path == "/healthz")
        return health();
    if (path != "/stat" && path != "/metrics")
        return new FunctionHandler([](auto&, auto& response) {
            sendError(response, 404, "not found: try /stat, /stat?format=json, /metrics");
        });
    return new FunctionHandler(
        [this, path](Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& response) {
            auto rows = stats_.rows();
            if (!rows)
            {
                sendError(response, 503, "event loops did not answer (shutting down?)");
                return;
            }
            if (path == "/metrics")
            {
                sendText(response, 200, "text/plain; version=0.0.4", stats_.prometheus(*rows));
                return;
            }
            bool json = false;
            for (const auto& [key, value] : Poco::URI(req.getURI()).getQueryParameters())
                json = json || (key == "format" && value == "json");
            if (json)
                sendJson(response, 200, stats_.json(*rows));
            else
                sendText(response, 200, "text/plain; charset=utf-8", stats_.plain(*rows));
        });
}

} // namespace wsgw::http
