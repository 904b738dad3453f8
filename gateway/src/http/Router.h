#pragma once
/// Request routing of the stat port (loopback, Poco's HTTP server): the
/// dashboard at /, /stat, /metrics, /healthz. The public port is served on the loops (PublicHandler).

#include "http/StatService.h"

#include <Poco/Net/HTTPRequestHandlerFactory.h>

namespace wsgw::http {

class StatRouter : public Poco::Net::HTTPRequestHandlerFactory
{
public:
    explicit StatRouter(StatService& stats) : stats_(stats) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest& request) override;

private:
    StatService& stats_;
};

} // namespace wsgw::http
