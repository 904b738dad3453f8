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
    /// SPEC §1: the auth message came too late: the reply, then close 1008.
    void onAuthTimeout(transport::EventLoop& loop, transport::Connection& c) override;
    /// SPEC §2: a removed member or replaced token closes the session; a
    /// subscription the new snapshot no longer allows ends with the 403 reply.
    void onSnapshot(transport::EventLoop& loop, transport::Connection& c) override;

private:
    static void authenticate(transport::EventLoop& loop, transport::Connection& c, std::string_view text);
    static void subscribe(transport::EventLoop& loop, transport::Connection& c, std::string_view text);
};

} // namespace wsgw::session
