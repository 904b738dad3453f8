#pragma once
/// POST /push over HTTP: method, size limit and key header, then PushService.

#include "http/PushService.h"

#include <Poco/Net/HTTPRequestHandler.h>

namespace wsgw::http {

class PushHandler : public Poco::Net::HTTPRequestHandler
{
public:
    PushHandler(PushService& service, size_t max_body) : service_(service), max_body_(max_body) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override;

private:
    void serve(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);

    PushService& service_;
    size_t max_body_;
};

} // namespace wsgw::http
