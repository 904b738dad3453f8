#pragma once
/// Request routing of the two HTTP servers. The WebSocket port: /push is the
/// push endpoint, /healthz is health, any other path with Upgrade: websocket
/// is a WebSocket (SPEC §1). The stat port: /stat, /metrics, /healthz.

#include "http/PushService.h"
#include "http/StatService.h"
#include "hub/PeerLimits.h"
#include "transport/LoopGroup.h"

#include <Poco/Net/HTTPRequestHandlerFactory.h>

#include <set>
#include <string>

namespace wsgw::http {

class PublicRouter : public Poco::Net::HTTPRequestHandlerFactory
{
public:
    PublicRouter(const config::Settings& settings, transport::LoopGroup& loops, PushService& push,
                 hub::PeerLimits& peers, hub::Metrics& metrics);
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest& request) override;

private:
    transport::LoopGroup& loops_;
    PushService& push_;
    hub::PeerLimits& peers_;
    hub::Metrics& metrics_;
    size_t max_body_;
    std::set<std::string> origins_;
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
