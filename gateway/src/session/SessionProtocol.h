#pragma once
/// The gateway's session protocol (SPEC §1 client -> server, §6): the first
/// message (or the upgrade URL) authenticates — member by stored token or JWT,
/// anonymous, 401, or missing auth and close — later ones subscribe and
/// unsubscribe under the permission rules of SPEC §2, or re-authenticate.
/// Holds only configuration; called by every loop on its own thread.

#include "auth/JwtVerifier.h"
#include "protocol/ClientMessage.h"
#include "transport/EventLoop.h"

#include <cstdint>
#include <string_view>

namespace wsgw::session {

class SessionProtocol : public transport::MessageHandler
{
public:
    using WallClock = int64_t (*)();

    /// JWT: the verifier when JWT is configured, else null; it must outlive
    /// this. WALL_CLOCK gives Unix milliseconds (exp, nbf and iat refer to it).
    explicit SessionProtocol(const auth::JwtVerifier* jwt = nullptr, WallClock wall_clock = auth::wallClockMs);

    void onMessage(transport::EventLoop& loop, transport::Connection& c, transport::MessageKind kind,
                   std::string_view payload) override;
    /// SPEC §1: the auth message came too late: the reply, then close 1008.
    void onAuthTimeout(transport::EventLoop& loop, transport::Connection& c) override;
    /// SPEC §2: a removed member or replaced token closes a stored-token session
    /// (a JWT session has no token row); a subscription the new snapshot no
    /// longer allows ends with the 403 reply.
    void onSnapshot(transport::EventLoop& loop, transport::Connection& c) override;
    /// SPEC §6: the JWT's exp passed: "token expired", then close 1008.
    void onSessionExpired(transport::EventLoop& loop, transport::Connection& c) override;
    /// SPEC §6: `/ws?member_id=N&token=T` logs in as the auth message would.
    void onUpgradeLogin(transport::EventLoop& loop, transport::Connection& c,
                        const transport::UpgradeLogin& login) override;

private:
    /// Who a member's token says it is; token_id 0 with VALID = a JWT.
    struct Identity
    {
        bool valid = false;
        int64_t token_id = 0;
        auth::JwtResult jwt;
    };

    void authenticate(transport::EventLoop& loop, transport::Connection& c, const protocol::AuthRequest& request);
    void reauthenticate(transport::EventLoop& loop, transport::Connection& c, std::string_view text);
    /// Checks REQUEST's token (stored first, then JWT) under the failed-login
    /// limiter; a failure is counted and logged here.
    Identity identify(transport::EventLoop& loop, transport::Connection& c, const protocol::AuthRequest& request);
    /// Makes IDENTITY the session's: its token row or its JWT expiry and grants.
    void adopt(transport::EventLoop& loop, transport::Connection& c, Identity& identity);
    static void subscribe(transport::EventLoop& loop, transport::Connection& c, std::string_view text);
    /// Ends the subscriptions the snapshot and C's grants no longer allow, with the 403 reply.
    static void recheckSubscriptions(transport::EventLoop& loop, transport::Connection& c);

    const auth::JwtVerifier* jwt_;
    WallClock wall_clock_;
};

} // namespace wsgw::session
