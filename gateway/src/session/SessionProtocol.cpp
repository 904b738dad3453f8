#include "session/SessionProtocol.h"

#include "hub/Permissions.h"
#include "protocol/ClientMessage.h"
#include "protocol/ServerMessage.h"
#include "store/Secret.h"
#include "transport/EventLoop.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <charconv>
#include <memory>

namespace wsgw::session {

using transport::CloseCode;
using transport::Connection;
using transport::EventLoop;
using transport::MessageKind;

namespace {

/// One line when a failed-login budget runs out: once per window, not per refusal.
void logLockout(const EventLoop& loop, const Connection& c, int64_t member_id, hub::PeerLimits::Lockout lockout)
{
    const auto& settings = loop.settings();
    const auto window = std::to_string(settings.auth_failure_window.count());
    switch (lockout)
    {
    case hub::PeerLimits::Lockout::None:
        return;
    case hub::PeerLimits::Lockout::Member:
        Poco::Logger::get("wsgw.session")
            .warning("login budget used up: %z wrong tokens for member %s from %s; that member's logins from this "
                     "address are refused until %s ms after the first",
                     settings.auth_failures_per_member, std::to_string(member_id), c.peerText(), window);
        return;
    case hub::PeerLimits::Lockout::Address:
        Poco::Logger::get("wsgw.session")
            .warning("login budget used up: %z wrong tokens from %s over all members; every login from this address "
                     "is refused until %s ms after the first",
                     settings.auth_failures_per_ip, c.peerText(), window);
        return;
    }
}

} // namespace

SessionProtocol::SessionProtocol(const auth::JwtVerifier* jwt, WallClock wall_clock)
    : jwt_(jwt), wall_clock_(wall_clock)
{}

void SessionProtocol::onMessage(EventLoop& loop, Connection& c, MessageKind, std::string_view text)
{
    if (c.auth == hub::Subscriber::Auth::Pending)
        authenticate(loop, c, protocol::parseAuth(text));
    else if (protocol::isAuthShaped(text))
        reauthenticate(loop, c, text);
    else
        subscribe(loop, c, text);
}

void SessionProtocol::onAuthTimeout(EventLoop& loop, Connection& c)
{
    loop.sendText(c, protocol::gatewayReply(protocol::Reply::MissingAuth));
    loop.beginClose(c, CloseCode::PolicyViolation, "missing auth message (auth window passed)", false);
}

void SessionProtocol::onSnapshot(EventLoop& loop, Connection& c)
{
    // Only a stored-token session has a row to lose; a JWT member need not be stored (SPEC §6).
    if (c.hasStoredToken() && !loop.snapshot().hasToken(c.member_id, c.token_id))
    {
        hub::Metrics::add(loop.metrics().revoked_closes);
        loop.beginClose(c, CloseCode::PolicyViolation, "member removed or token replaced", false);
        return;
    }
    recheckSubscriptions(loop, c);
}

void SessionProtocol::onSessionExpired(EventLoop& loop, Connection& c)
{
    hub::Metrics::add(loop.metrics().token_expired_closes);
    loop.sendText(c, protocol::gatewayReply(protocol::Reply::TokenExpired));
    loop.beginClose(c, CloseCode::PolicyViolation, "token expired", false);
}

void SessionProtocol::onUpgradeLogin(EventLoop& loop, Connection& c, const transport::UpgradeLogin& login)
{
    // The same request the auth message would make: a member id that is not an
    // integer, or 0, is a missing auth message (SPEC §1).
    protocol::AuthRequest request;
    int64_t member_id = 0;
    const auto& text = login.member_id;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), member_id);
    if (ec == std::errc() && end == text.data() + text.size() && member_id != 0)
    {
        request.kind = member_id < 0 ? protocol::AuthRequest::Kind::Anonymous : protocol::AuthRequest::Kind::Member;
        request.member_id = member_id;
        request.token = login.token;
    }
    authenticate(loop, c, request);
}

void SessionProtocol::recheckSubscriptions(EventLoop& loop, Connection& c)
{
    // Copy the names first: unsubscribing edits the list.
    std::vector<std::string> apps;
    for (const auto& sub : c.subscriptions)
        apps.push_back(sub.app->name);
    for (const auto& app : apps)
    {
        if (hub::decide(loop.snapshot(), loop.settings().unknown_apps, app, c) != hub::Decision::Allowed)
        {
            loop.registry().unsubscribe(c, app);
            loop.sendText(c, protocol::gatewayReply(protocol::Reply::SubscribeForbidden, app));
        }
    }
}

SessionProtocol::Identity SessionProtocol::identify(EventLoop& loop, Connection& c,
                                                    const protocol::AuthRequest& request)
{
    Identity identity;
    // SPEC §5: a (client address, member) pair that used up its failed-login
    // budget, or an address that sprayed guesses over many members, is refused
    // without a token check until its window ends, so guessing gains nothing.
    // c.peer is the client address (behind a trusted proxy, the forwarded one).
    auto& peers = loop.peers();
    const bool blocked = peers.authBlocked(c.peer.sin6_addr, request.member_id);
    if (!blocked && !request.token.empty())
    {
        // SPEC §6: stored tokens first, then the JWT.
        if (auto token_id = loop.snapshot().matchToken(request.member_id, store::sha256(request.token)))
        {
            identity.valid = true;
            identity.token_id = *token_id;
            return identity;
        }
        if (jwt_)
        {
            identity.jwt = jwt_->verify(request.token, request.member_id, wall_clock_());
            if (identity.jwt.status == auth::JwtStatus::Valid)
            {
                identity.valid = true;
                return identity;
            }
            Poco::Logger::get("wsgw.session")
                .debug("JWT for member %s from %s refused: %s", std::to_string(request.member_id), c.peerText(),
                       std::string(auth::describe(identity.jwt.status)));
        }
    }
    // A refused login is not a guess: it counts against no budget, so a
    // client retrying during its lockout neither extends it nor, by hammering
    // one member, uses up the address's budget for everyone behind it.
    if (!blocked)
        logLockout(loop, c, request.member_id, peers.authFailed(c.peer.sin6_addr, request.member_id));
    hub::Metrics::add(loop.metrics().auth_failures);
    return identity;
}

void SessionProtocol::adopt(EventLoop& loop, Connection& c, Identity& identity)
{
    c.token_id = identity.token_id;
    c.expires_ms = 0;
    c.grants.reset();
    if (identity.token_id != 0)
        return;
    if (!identity.jwt.apps.empty())
        c.grants = std::make_shared<const hub::SessionGrants>(std::move(identity.jwt.apps));
    if (identity.jwt.expires_at_ms != 0)
    {
        // The loop clock is monotonic: convert the wall-clock expiry once, now.
        const int64_t left = identity.jwt.expires_at_ms - wall_clock_();
        c.expires_ms = loop.now() + std::max<int64_t>(1, left);
    }
}

void SessionProtocol::authenticate(EventLoop& loop, Connection& c, const protocol::AuthRequest& request)
{
    using protocol::AuthRequest;
    using protocol::Reply;
    switch (request.kind)
    {
    case AuthRequest::Kind::Missing:
        // SPEC §1: reply, then close 1008 (the original just dropped TCP).
        loop.sendText(c, protocol::gatewayReply(Reply::MissingAuth));
        loop.beginClose(c, CloseCode::PolicyViolation, "missing auth message", false);
        return;
    case AuthRequest::Kind::Anonymous:
        c.auth = hub::Subscriber::Auth::Anonymous;
        hub::Metrics::add(loop.metrics().anonymous, 1);
        loop.sendText(c, protocol::gatewayReply(Reply::HelloStranger));
        return;
    case AuthRequest::Kind::Member:
        break;
    }
    auto identity = identify(loop, c, request);
    if (!identity.valid)
    {
        // SPEC §1: 401, and the connection stays open as anonymous.
        c.auth = hub::Subscriber::Auth::Anonymous;
        hub::Metrics::add(loop.metrics().anonymous, 1);
        loop.sendText(c, protocol::gatewayReply(Reply::Unauthorized));
        return;
    }
    c.auth = hub::Subscriber::Auth::Member;
    c.member_id = request.member_id;
    adopt(loop, c, identity);
    loop.registry().addMember(c);
    hub::Metrics::add(loop.metrics().authenticated, 1);
    loop.sendText(c, protocol::gatewayReply(Reply::HelloMember, std::to_string(request.member_id)));
}

void SessionProtocol::reauthenticate(EventLoop& loop, Connection& c, std::string_view text)
{
    using protocol::Reply;
    auto request = protocol::parseAuth(text);
    // SPEC §6: a re-auth is for the session's own member; anything else (another
    // member, anonymous, a malformed one, or a connection that is anonymous) is
    // refused and changes nothing.
    if (!c.isMember() || request.kind != protocol::AuthRequest::Kind::Member || request.member_id != c.member_id)
    {
        loop.sendText(c, protocol::gatewayReply(Reply::BadAuthMessage));
        return;
    }
    auto identity = identify(loop, c, request);
    if (!identity.valid)
    {
        // The session keeps what its last accepted token gave it, expiry included:
        // a wrong token proves nothing new, so it neither extends nor ends it.
        loop.sendText(c, protocol::gatewayReply(Reply::Unauthorized));
        return;
    }
    adopt(loop, c, identity);
    loop.sendText(c, protocol::gatewayReply(Reply::HelloMember, std::to_string(request.member_id)));
    // Grants the new token no longer carries end those subscriptions (403), as a revocation does.
    recheckSubscriptions(loop, c);
}

void SessionProtocol::subscribe(EventLoop& loop, Connection& c, std::string_view text)
{
    using protocol::Reply;
    using protocol::SubscribeRequest;
    auto request = protocol::parseSubscribe(text);
    switch (request.action)
    {
    case SubscribeRequest::Action::Bad:
        loop.sendText(c, protocol::gatewayReply(Reply::BadSubscribe));
        return;
    case SubscribeRequest::Action::Unsubscribe:
        // Idempotent: unsubscribing from an app one is not subscribed to succeeds too.
        loop.registry().unsubscribe(c, request.app);
        loop.sendText(c, protocol::gatewayReply(Reply::UnsubscribeSuccess, request.app));
        return;
    case SubscribeRequest::Action::Subscribe:
        break;
    }
    switch (hub::decide(loop.snapshot(), loop.settings().unknown_apps, request.app, c))
    {
    case hub::Decision::NotFound:
        loop.sendText(c, protocol::gatewayReply(Reply::SubscribeNotFound, request.app));
        return;
    case hub::Decision::Forbidden:
        loop.sendText(c, protocol::gatewayReply(Reply::SubscribeForbidden, request.app));
        return;
    case hub::Decision::Allowed:
        if (c.subscriptions.size() >= loop.settings().max_subscriptions && !c.isSubscribedTo(request.app))
        {
            loop.sendText(c, protocol::gatewayReply(Reply::TooManySubscriptions, request.app));
            return;
        }
        loop.registry().subscribe(c, request.app);
        loop.sendText(c, protocol::gatewayReply(Reply::SubscribeSuccess, request.app));
        return;
    }
}

} // namespace wsgw::session
