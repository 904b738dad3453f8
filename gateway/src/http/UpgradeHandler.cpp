#include "http/UpgradeHandler.h"

#include "http/JsonReply.h"
#include "http/Server.h"
#include "transport/Handshake.h"

#include <Poco/Buffer.h>
#include <Poco/Logger.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/Net/StreamSocket.h>

#include <cstring>
#include <netinet/in.h>
#include <unistd.h>

namespace wsgw::http {

namespace {

sockaddr_in6 toV6(const Poco::Net::SocketAddress& address)
{
    sockaddr_in6 out{};
    out.sin6_family = AF_INET6;
    if (address.family() == Poco::Net::SocketAddress::IPv6)
    {
        std::memcpy(&out, address.addr(), sizeof(out));
        return out;
    }
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address.addr());
    out.sin6_port = v4->sin_port;
    out.sin6_addr.s6_addr[10] = 0xff;
    out.sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(&out.sin6_addr.s6_addr[12], &v4->sin_addr, 4);
    return out;
}

} // namespace

bool UpgradeHandler::isUpgrade(const Poco::Net::HTTPServerRequest& request)
{
    return transport::headerHasToken(request.get("Upgrade", ""), "websocket");
}

void UpgradeHandler::handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response)
{
    using Poco::Net::HTTPResponse;
    if (request.getMethod() != Poco::Net::HTTPRequest::HTTP_GET)
    {
        sendError(response, 400, "a WebSocket upgrade must be a GET request");
        return;
    }
    if (!transport::headerHasToken(request.get("Connection", ""), "upgrade"))
    {
        sendError(response, 400, "a WebSocket upgrade needs 'Connection: Upgrade'");
        return;
    }
    if (request.get("Sec-WebSocket-Version", "") != "13")
    {
        response.set("Sec-WebSocket-Version", "13");
        sendError(response, 426, "unsupported WebSocket version: this server speaks version 13 (RFC 6455)");
        return;
    }
    const std::string key = request.get("Sec-WebSocket-Key", "");
    if (!transport::isValidClientKey(key))
    {
        sendError(response, 400, "missing or malformed Sec-WebSocket-Key");
        return;
    }
    if (!origins_.empty() && request.has("Origin") && !origins_.count(request.get("Origin")))
    {
        // A browser page from a site not on ws.allowed_origins (clients without Origin are apps).
        hub::Metrics::add(metrics_.connections_refused);
        sendError(response, 403, "origin not allowed");
        return;
    }
    sockaddr_in6 peer = toV6(request.clientAddress());
    switch (peers_.admit(peer.sin6_addr))
    {
    case hub::PeerLimits::Admission::Admitted:
        break;
    case hub::PeerLimits::Admission::TooManyConnections:
        hub::Metrics::add(metrics_.connections_refused);
        response.set("Retry-After", "5");
        sendError(response, 503, "too many connections: try again later");
        return;
    case hub::PeerLimits::Admission::TooManyFromPeer:
        hub::Metrics::add(metrics_.connections_refused);
        response.set("Retry-After", "5");
        sendError(response, 503, "too many connections from your address: try again later");
        return;
    }
    // No extension is negotiated (permessage-deflate is declined by omission) and
    // no subprotocol is selected.
    response.setStatusAndReason(HTTPResponse::HTTP_SWITCHING_PROTOCOLS);
    response.set("Upgrade", "websocket");
    response.set("Connection", "Upgrade");
    response.set("Sec-WebSocket-Accept", transport::computeAccept(key));
    response.setContentLength(HTTPResponse::UNKNOWN_CONTENT_LENGTH);
    response.setChunkedTransferEncoding(false);
    response.send().flush();

    markSocketDetached();
    auto& impl = static_cast<Poco::Net::HTTPServerRequestImpl&>(request);
    Poco::Buffer<char> ahead(0);
    impl.session().drainBuffer(ahead);
    Poco::Net::StreamSocket socket = impl.detachSocket();
    // The loop owns a plain fd: a dup outlives Poco's socket object, which closes its own copy.
    int fd = ::dup(socket.impl()->sockfd());
    if (fd < 0)
    {
        peers_.release(peer.sin6_addr);
        Poco::Logger::get("wsgw.http").error("dup of an upgraded socket failed: %s", std::string(std::strerror(errno)));
        return;
    }
    socket.close();
    loops_.adopt(fd, std::string(ahead.begin(), ahead.size()), peer);
}

} // namespace wsgw::http
