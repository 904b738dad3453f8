#include "session/SessionProtocol.h"

#include "hub/Permissions.h"
#include "protocol/ClientMessage.h"
#include "protocol/ServerMessage.h"
#include "store/Secret.h"
#include "transport/EventLoop.h"

#include <Poco/Logger.h>

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

void SessionProtocol::onMessage(EventLoop& loop, Connection& c, MessageKind, std::string_view text)
{
    if (c.auth == hub::Subscriber::Auth::Pending)
        authenticate(loop, c, text);
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
    const auto& snapshot = loop.snapshot();
    if (c.isMember() && !snapshot.hasToken(c.member_id, c.token_id))
    {
        hub::Metrics::add(loop.metrics().revoked_closes);
        loop.beginClose(c, CloseCode::PolicyViolation, "member removed or token replaced", false);
        return;
    }
    // Copy the names first: unsubscribing edits the list.
    std::vector<std::string> apps;
    for (const auto& sub : c.subscriptions)
        apps.push_back(sub.app->name);
    for (const auto& app : apps)
    {
        if (hub::decide(snapshot, loop.settings().unknown_apps, app, c) != hub::Decision::Allowed)
        {
            loop.registry().unsubscribe(c, app);
            loop.sendText(c, protocol::gatewayReply(protocol::Reply::SubscribeForbidden, app));
        }
    }
}

void SessionProtocol::authenticate(EventLoop& loop, Connection& c, std::string_view text)
{
    using protocol::AuthRequest;
    using protocol::Reply;
    auto request = protocol::parseAuth(text);
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
    // SPEC §5: a (client address, member) pair that used up its failed-login
    // budget, or an address that sprayed guesses over many members, is refused
    // without a token check until its window ends, so guessing gains nothing.
    // c.peer is the client address (behind a trusted proxy, the forwarded one).
    auto& peers = loop.peers();
    bool blocked = peers.authBlocked(c.peer.sin6_addr, request.member_id);
    auto token_id = blocked || request.token.empty()
                        ? std::nullopt
                        : loop.snapshot().matchToken(request.member_id, store::sha256(request.token));
    if (!token_id)
    {
        // A refused login is not a guess: it counts against no budget, so a
        // client retrying during its lockout neither extends it nor, by hammering
        // one member, uses up the address's budget for everyone behind it.
        if (!blocked)
            logLockout(loop, c, request.member_id, peers.authFailed(c.peer.sin6_addr, request.member_id));
        // SPEC §1: 401, and the connection stays open as anonymous.
        c.auth = hub::Subscriber::Auth::Anonymous;
        hub::Metrics::add(loop.metrics().anonymous, 1);
        hub::Metrics::add(loop.metrics().auth_failures);
        loop.sendText(c, protocol::gatewayReply(Reply::Unauthorized));
        return;
    }
    c.auth = hub::Subscriber::Auth::Member;
    c.member_id = request.member_id;
    c.token_id = *token_id;
    loop.registry().addMember(c);
    hub::Metrics::add(loop.metrics().authenticated, 1);
    loop.sendText(c, protocol::gatewayReply(Reply::HelloMember, std::to_string(request.member_id)));
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
