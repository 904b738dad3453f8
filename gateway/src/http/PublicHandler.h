#pragma once
/// The public port's requests, answered on the loop that read them (SPEC §1,
/// DESIGN §2): POST /push (delivered on every loop, answered when the last
/// one is done — no thread waits), the WebSocket upgrade (in place, on the
/// same loop), /healthz, the browser client GET /wsgw.js, and a 426 for
/// anything else. Loop threads; one instance shared by every loop, stateless
/// apart from the counters.

#include "config/Settings.h"
#include "http/PushService.h"
#include "hub/ClusterLink.h"
#include "hub/Metrics.h"
#include "transport/EventLoop.h"

#include <set>
#include <string>

namespace wsgw::http {

class PublicHandler : public transport::HttpHandler
{
public:
    /// CLUSTER (SPEC §9; null when alone): where accepted pushes are also published.
    PublicHandler(const config::Settings& settings, const PushService& push, hub::Metrics& metrics,
                  hub::ClusterLink* cluster = nullptr);

    void onRequest(transport::EventLoop& loop, transport::Connection& c,
                   const transport::HttpRequestReader& request) override;

private:
    void push(transport::EventLoop& loop, transport::Connection& c, const transport::HttpRequestReader& request);
    void upgrade(transport::EventLoop& loop, transport::Connection& c, const transport::HttpRequestReader& request);
    /// GET/HEAD /wsgw.js: the embedded client, with ETag (304 on If-None-Match) and CORS for any origin.
    void clientLibrary(transport::EventLoop& loop, transport::Connection& c,
                       const transport::HttpRequestReader& request);

    const config::Settings& settings_;
    const PushService& push_;
    hub::Metrics& metrics_;
    hub::ClusterLink* cluster_;
    std::set<std::string> origins_;
};

/// The token of an "Authorization: Bearer TOKEN" header; empty when absent or another scheme.
std::string bearerToken(const std::string& authorization);

} // namespace wsgw::http
