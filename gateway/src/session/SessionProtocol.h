#pragma once
/// The gateway's session protocol (SPEC §1 client -> server): the first
/// message authenticates (member, anonymous, 401, or missing auth and close),
/// later ones subscribe and unsubscribe under the permission rules of SPEC §2.
/// Stateless; called by every loop on its own thread.

#include "transport/EventLoop.h"

#include <string_view>

namespace wsgw::session {

class SessionProtocol : public transport::MessageHandler
{
public:
    void onMessage(transport::EventLoop& loop, transport::Connection& c, transport::MessageKind kind,
                   std::string_view payload) override;

private:
    static void authenticate(transport::EventLoop& loop, transport::Connection& c, std::string_view text);
    static void subscribe(transport::EventLoop& loop, transport::Connection& c, std::string_view text);
};

} // namespace wsgw::session
