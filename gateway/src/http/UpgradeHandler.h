#pragma once
/// The WebSocket handshake (RFC 6455 §4.2): checks the request, writes the 101
/// itself, then detaches the socket and any bytes read past the handshake and
/// hands both to an event loop. The pool thread is free right after.

#include "hub/Metrics.h"
#include "hub/PeerLimits.h"
#include "transport/LoopGroup.h"

#include <Poco/Net/HTTPRequestHandler.h>

#include <set>
#include <string>

namespace wsgw::http {

class UpgradeHandler : public Poco::Net::HTTPRequestHandler
{
public:
    /// ORIGINS: the Origin values browsers may connect from; empty = any.
    UpgradeHandler(transport::LoopGroup& loops, hub::PeerLimits& peers, hub::Metrics& metrics,
                   const std::set<std::string>& origins)
        : loops_(loops), peers_(peers), metrics_(metrics), origins_(origins)
    {}
    void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override;

    /// True if REQUEST asks for a WebSocket upgrade at all (Upgrade: websocket).
    static bool isUpgrade(const Poco::Net::HTTPServerRequest& request);

private:
    transport::LoopGroup& loops_;
    hub::PeerLimits& peers_;
    hub::Metrics& metrics_;
    const std::set<std::string>& origins_;
};

} // namespace wsgw::http
