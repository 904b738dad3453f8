#pragma once
/// The gateway's session protocol (SPEC §1 client -> server, §6): the first
/// message (or the upgrade URL) authenticates — member by stored token, JWT or
/// the authorizer, anonymous, 401, or missing auth and close — later ones subscribe and
/// unsubscribe under the permission rules of SPEC §2, or re-authenticate.
/// Holds only configuration; called by every loop on its own thread.

#include "auth/Authenticator.h"
#include "auth/JwtVerifier.h"
#include "outbound/AppBackends.h"
#include "protocol/ClientMessage.h"
#include "transport/EventLoop.h"

#include <cstdint>
#include <string_view>

namespace wsgw::session {

class SessionProtocol : public transport::MessageHandler
{
public:
    using WallClock = int64_t (*)();

    /// LOGINS decides every member login (SPEC §6's methods in order); it must
    /// outlive this and every answer it owes. WALL_CLOCK gives Unix
    /// milliseconds (a verdict's expiry refers to it).
    /// BACKENDS calls the apps' own backends (SPEC §7); null = no app has one (tests).
    explicit SessionProtocol(auth::Authenticator& logins, outbound::AppBackends* backends = nullptr,
                             WallClock wall_clock = auth::wallClockMs);

    void onMessage(transport::EventLoop& loop, transport::Connection& c, transport::MessageKind kind,
                   std::string_view payload) override;
    /// SPEC §1: the auth message came too late: the reply, then close 1008.
    void onAuthTimeout(transport::EventLoop& loop, transport::Connection& c) override;
    /// SPEC §2: a removed member or replaced token closes a stored-token session
    /// (a JWT or authorizer session has no token row); a subscription the new
    /// snapshot no longer allows ends with the 403 reply.
    void onSnapshot(transport::EventLoop& loop, transport::Connection& c) override;
    /// SPEC §6: the JWT's exp passed: "token expired", then close 1008.
    void onSessionExpired(transport::EventLoop& loop, transport::Connection& c) override;
    /// SPEC §6: `/ws?member_id=N&token=T` logs in as the auth message would.
    void onUpgradeLogin(transport::EventLoop& loop, transport::Connection& c,
                        const transport::UpgradeLogin& login) override;
    /// SPEC §7: an app with a backend hears of every subscription that starts or ends.
    void onSubscriptionChanged(transport::EventLoop& loop, transport::Connection& c, const std::string& app,
                               bool subscribed) override;

private:
    void authenticate(transport::EventLoop& loop, transport::Connection& c, const protocol::AuthRequest& request);
    void reauthenticate(transport::EventLoop& loop, transport::Connection& c, std::string_view text);
    /// Asks the login methods about REQUEST's token under the failed-login
    /// limiter. The verdict is applied by conclude(), now or, when a method
    /// answers later, in a task on C's loop; C reads no further message meanwhile.
    void login(transport::EventLoop& loop, transport::Connection& c, const protocol::AuthRequest& request, bool reauth);
    /// Turns VERDICT into the session and its reply (SPEC §1, §6); a refusal is counted and logged here.
    void conclude(transport::EventLoop& loop, transport::Connection& c, int64_t member_id, bool reauth,
                  auth::Verdict& verdict, bool counted);
    /// Makes VERDICT the session's: its token row or its expiry and grants.
    void adopt(transport::EventLoop& loop, transport::Connection& c, auth::Verdict& verdict);
    void subscribe(transport::EventLoop& loop, transport::Connection& c, std::string_view text);
    /// SPEC §7 client publish: through the backend's 200 when the app has one.
    void publish(transport::EventLoop& loop, transport::Connection& c, protocol::SubscribeRequest& request);
    /// SPEC §7 RPC: the backend's answer, paired by seqno.
    void rpc(transport::EventLoop& loop, transport::Connection& c, protocol::SubscribeRequest& request);
    /// SPEC §7: one more client message within limits.client_messages_per_s?
    static bool withinRate(transport::EventLoop& loop, transport::Connection& c);
    /// Ends the subscriptions the snapshot and C's grants no longer allow, with the 403 reply.
    static void recheckSubscriptions(transport::EventLoop& loop, transport::Connection& c);

    auth::Authenticator& logins_;
    outbound::AppBackends* backends_;
    WallClock wall_clock_;
};

} // namespace wsgw::session
