#include "http/Router.h"

#include "http/JsonReply.h"
#include "http/Server.h"
#include "model/Names.h"
#include "web/Assets.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/URI.h>

#include <functional>

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

/// GET / : the dashboard page (gateway/web/dashboard.html). Its content security
/// policy lets it load nothing but itself and this port's /stat, so it works
/// air-gapped and no injected markup could reach another host.
Poco::Net::HTTPRequestHandler* dashboard()
{
    return new FunctionHandler([](Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) {
        markRequestRead();
        const auto& asset = web::dashboard();
        response.set("Cache-Control", "no-cache");
        response.set("ETag", std::string(asset.etag));
        response.set("X-Content-Type-Options", "nosniff");
        response.set("Referrer-Policy", "no-referrer");
        response.set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; "
                                                "style-src 'unsafe-inline'; connect-src 'self'; img-src data:; "
                                                "base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
        if (web::etagMatches(request.get("If-None-Match", ""), asset.etag))
        {
            response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NOT_MODIFIED);
            response.send();
            return;
        }
        sendText(response, 200, std::string(asset.content_type), std::string(asset.body));
    });
}

Poco::Net::HTTPRequestHandler* health()
{
    return new FunctionHandler([](auto&, auto& response) { sendJson(response, 200, R"({"status":"ok"})"); });
}

} // namespace

Poco::Net::HTTPRequestHandler* StatRouter::createRequestHandler(const Poco::Net::HTTPServerRequest& request)
{
    const std::string path = pathOf(request.getURI());
    if (path == "/healthz")
        return health();
    if (path == "/")
        return dashboard();
    if (path == "/presence")
        return new FunctionHandler([this](Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& response) {
            markRequestRead();
            std::string app;
            try
            {
                for (const auto& [key, value] : Poco::URI(req.getURI()).getQueryParameters())
                {
                    if (key == "app" && app.empty())
                        app = value;
                }
            }
            catch (const Poco::Exception&)
            {}
            if (!model::isValidAppName(app))
            {
                sendError(response, 400, "say which app: /presence?app=NAME");
                return;
            }
            auto [status, body] = stats_.presence(app);
            sendJson(response, status, body);
        });
    if (path != "/stat" && path != "/metrics")
        return new FunctionHandler([](auto&, auto& response) {
            sendError(response, 404,
                      "not found: try / (the dashboard), /stat, /stat?format=json, /metrics, /presence?app=NAME");
        });
    return new FunctionHandler(
        [this, path](Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& response) {
            markRequestRead();
            bool json = false;
            bool cluster = false;
            for (const auto& [key, value] : Poco::URI(req.getURI()).getQueryParameters())
            {
                json = json || (key == "format" && value == "json");
                cluster = cluster || (key == "scope" && value == "cluster");
            }
            if (cluster && path == "/stat")
            {
                // SPEC §9: every live node's counts, from their heartbeats in Redis.
                if (!stats_.clustered())
                    return sendError(response, 404, "scope=cluster: this node is alone (cluster.redis is not set)");
                int64_t nodes = 0;
                auto rows = stats_.clusterRows(nodes);
                if (!rows)
                    return sendError(response, 503, "cluster broker unavailable");
                if (json)
                    return sendJson(response, 200, stats_.json(*rows, nodes));
                return sendText(response, 200, "text/plain; charset=utf-8", stats_.plain(*rows));
            }
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
            if (json)
                sendJson(response, 200, stats_.json(*rows, -1));
            else
                sendText(response, 200, "text/plain; charset=utf-8", stats_.plain(*rows));
        });
}

} // namespace wsgw::http
