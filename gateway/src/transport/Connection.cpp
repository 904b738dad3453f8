#include "transport/Connection.h"

#include <arpa/inet.h>

namespace wsgw::transport {

std::string Connection::addressText() const
{
    char text[INET6_ADDRSTRLEN] = {};
    if (IN6_IS_ADDR_V4MAPPED(&peer.sin6_addr))
        inet_ntop(AF_INET, peer.sin6_addr.s6_addr + 12, text, sizeof(text));
    else
        inet_ntop(AF_INET6, &peer.sin6_addr, text, sizeof(text));
    return text;
}

std::string Connection::peerText() const
{
    std::string address = addressText();
    // Port 0: a client behind a trusted proxy, whose own port is not known.
    if (peer.sin6_port == 0)
        return address;
    if (!IN6_IS_ADDR_V4MAPPED(&peer.sin6_addr))
        address = "[" + address + "]";
    return address + ":" + std::to_string(ntohs(peer.sin6_port));
}

} // namespace wsgw::transport
