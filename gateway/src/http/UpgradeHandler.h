#pragma once
/// The WebSocket handshake (RFC 6455 §4.2): checks the request, writes the 101
/// itself, then detaches the socket and any bytes read past the handshake and
/// hands both to an event loop. The pool thread is free right after.

#include "transport/LoopGroup.h"

#include <Poco/Net/HTTPRequestHandler.h>

namespace wsgw::http {

class UpgradeHandler : public Poco::Net::HTTPRequestHandler
{
public:
    explicit UpgradeHandler(transport::LoopGroup& loops) : loops_(loops) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override;

    /// True if REQUEST asks for a WebSocket upgrade at all (Upgrade: websocket).
    static bool isUpgrade(const Poco::Net::HTTPServerRequest& request);

private:
    transport::LoopGroup& loops_;
};

} // namespace wsgw::http
