#pragma once
/// Request routing of the two HTTP servers. The WebSocket port: /push is the
/// push endpoint, /healthz is health, any other path with Upgrade: websocket
/// is a WebSocket (SPEC §1). The stat port: /stat, /metrics, /healthz.

#include "http/PushService.h"
#include "http/StatService.h"
#include "transport/LoopGroup.h"

#include <Poco/Net/HTTPRequestHandlerFactory.h>

namespace wsgw::http {

class PublicRouter : public Poco::Net::HTTPRequestHandlerFactory
{
public:
    PublicRouter(transport::LoopGroup& loops, PushService& push, size_t max_body)
        : loops_(loops), push_(push), max_body_(max_body)
    {
    }
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest& request) override;

private:
    transport::LoopGroup& loops_;
    PushService& push_;
    size_t max_body_;
};

class StatRouter : public Poco::Net::HTTPRequestHandlerFactory
{
public:
    explicit StatRouter(StatService& stats) : stats_(stats) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest& request) override;

private:
    StatService& stats_;
};

} // namespace wsgw::http
