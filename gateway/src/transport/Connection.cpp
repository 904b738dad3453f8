#include "transport/Connection.h"

#include <arpa/inet.h>

namespace wsgw::transport {

std::string Connection::peerText() const
{
    char text[INET6_ADDRSTRLEN] = {};
    const auto* bytes = peer.sin6_addr.s6_addr;
    bool mapped = IN6_IS_ADDR_V4MAPPED(&peer.sin6_addr);
    if (mapped)
        inet_ntop(AF_INET, bytes + 12, text, sizeof(text));
    else
        inet_ntop(AF_INET6, &peer.sin6_addr, text, sizeof(text));
    // Port 0: a client behind a trusted proxy, whose own port is not known.
    if (peer.sin6_port == 0)
        return text;
    std::string text_out = mapped ? std::string(text) : "[" + std::string(text) + "]";
    return text_out + ":" + std::to_string(ntohs(peer.sin6_port));
}

} // namespace wsgw::transport
