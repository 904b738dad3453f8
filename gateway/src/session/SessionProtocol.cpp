#include "session/SessionProtocol.h"

#include "hub/Permissions.h"
#include "protocol/ClientMessage.h"
#include "protocol/FlatJson.h"
#include "protocol/JsonWriter.h"
#include "protocol/ServerMessage.h"
#include "transport/EventLoop.h"
#include "transport/FrameWriter.h"
#include "transport/LoopGroup.h"
#include "transport/Utf8Validator.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <optional>

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

/// SPEC §7: a publish's 200 body: empty (the text stands), or {"text":"…"} (it
/// replaces the text); nullopt for anything else.
std::optional<std::string> publishRewrite(const std::string& body)
{
    if (body.find_first_not_of(" \t\r\n") == std::string::npos)
        return std::string();
    protocol::JsonField fields[] = {protocol::JsonField("text")};
    protocol::FlatJson json(body);
    std::string text;
    if (!json.readObject(fields) || !json.atEnd() || fields[0].takeString(text) != protocol::FieldState::Ok ||
        !transport::isValidUtf8(text))
        return std::nullopt;
    return text;
}

/// Whether a 200 body carried a text (which may be the empty text).
bool hasText(const std::string& body)
{
    return body.find_first_not_of(" \t\r\n") != std::string::npos;
}

} // namespace

SessionProtocol::SessionProtocol(auth::Authenticator& logins, outbound::AppBackends* backends, WallClock wall_clock)
    : logins_(logins), backends_(backends), wall_clock_(wall_clock)
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

void SessionProtocol::login(EventLoop& loop, Connection& c, const protocol::AuthRequest& request, bool reauth)
{
    // SPEC §5: a (client address, member) pair that used up its failed-login
    // budget, or an address that sprayed guesses over many members, is refused
    // without a token check until its window ends, so guessing gains nothing.
    // c.peer is the client address (behind a trusted proxy, the forwarded one).
    // A refused login is not a guess: it counts against no budget, so a
    // client retrying during its lockout neither extends it nor, by hammering
    // one member, uses up the address's budget for everyone behind it.
    if (loop.peers().authBlocked(c.peer.sin6_addr, request.member_id))
    {
        auto verdict = auth::Verdict::rejected("login budget used up");
        conclude(loop, c, request.member_id, reauth, verdict, false);
        return;
    }
    if (request.token.empty())
    {
        auto verdict = auth::Verdict::rejected("empty token");
        conclude(loop, c, request.member_id, reauth, verdict, true);
        return;
    }
    const std::string address = c.addressText();
    auth::Login attempt;
    attempt.member_id = request.member_id;
    attempt.token = request.token;
    attempt.snapshot = &loop.snapshot();
    attempt.address = address;
    attempt.headers = c.upgrade_headers.get();
    const auto ticket = loop.ticketOf(c);
    const int64_t member_id = request.member_id;
    auto later = [this, ticket, member_id, reauth](auth::Verdict&& verdict) {
        // On a worker thread: the answer goes to C's own loop, which finds C
        // by its ticket, or nothing when C closed meanwhile.
        ticket.loop->post([this, ticket, member_id, reauth, verdict = std::move(verdict)](EventLoop& l) mutable {
            Connection* conn = l.find(ticket);
            if (!conn)
                return;
            conclude(l, *conn, member_id, reauth, verdict, true);
            l.resumeReading(*conn);
        });
    };
    auto verdict = logins_.check(attempt, later);
    if (!verdict)
    {
        // SPEC §1: messages are answered in order: the next waits for this login's reply.
        loop.pauseReading(c);
        return;
    }
    conclude(loop, c, member_id, reauth, *verdict, true);
}

void SessionProtocol::adopt(EventLoop& loop, Connection& c, auth::Verdict& verdict)
{
    c.token_id = verdict.token_id;
    c.expires_ms = 0;
    c.grants.reset();
    if (verdict.token_id != 0)
        return;
    if (!verdict.apps.empty())
        c.grants = std::make_shared<const hub::SessionGrants>(std::move(verdict.apps));
    if (verdict.expires_at_ms != 0)
    {
        // The loop clock is monotonic: convert the wall-clock expiry once, now.
        const int64_t left = verdict.expires_at_ms - wall_clock_();
        c.expires_ms = loop.now() + std::max<int64_t>(1, left);
    }
}

void SessionProtocol::conclude(EventLoop& loop, Connection& c, int64_t member_id, bool reauth, auth::Verdict& verdict,
                               bool counted)
{
    using protocol::Reply;
    if (c.state != Connection::State::Open)
        return; // closing meanwhile (shutdown, slow consumer): nobody to answer
    switch (verdict.status)
    {
    case auth::Verdict::Status::Accepted:
        adopt(loop, c, verdict);
        if (!reauth)
        {
            c.auth = hub::Subscriber::Auth::Member;
            c.member_id = member_id;
            loop.registry().addMember(c);
            hub::Metrics::add(loop.metrics().authenticated, 1);
        }
        loop.sendText(c, protocol::gatewayReply(Reply::HelloMember, std::to_string(member_id)));
        // Grants the new token no longer carries end those subscriptions (403), as a revocation does.
        if (reauth)
            recheckSubscriptions(loop, c);
        return;
    case auth::Verdict::Status::Rejected:
        if (counted)
            logLockout(loop, c, member_id, loop.peers().authFailed(c.peer.sin6_addr, member_id));
        hub::Metrics::add(loop.metrics().auth_failures);
        Poco::Logger::get("wsgw.session")
            .debug("login of member %s from %s refused: %s", std::to_string(member_id), c.peerText(), verdict.reason);
        if (!reauth)
        {
            // SPEC §1: 401, and the connection stays open as anonymous.
            c.auth = hub::Subscriber::Auth::Anonymous;
            hub::Metrics::add(loop.metrics().anonymous, 1);
        }
        // A re-auth with a wrong token proves nothing new: the session keeps
        // what its last accepted token gave it, expiry included.
        loop.sendText(c, protocol::gatewayReply(Reply::Unauthorized));
        return;
    case auth::Verdict::Status::Unavailable:
        hub::Metrics::add(loop.metrics().auth_unavailable);
        loop.sendText(c, protocol::gatewayReply(Reply::AuthUnavailable));
        // SPEC §6: a login closes with 1011 so the client comes back later; a
        // re-auth leaves the session as it was (it is still what it was).
        if (!reauth)
            loop.beginClose(c, CloseCode::InternalError, "auth unavailable", false);
        return;
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
        login(loop, c, request, false);
        return;
    }
}

void SessionProtocol::reauthenticate(EventLoop& loop, Connection& c, std::string_view text)
{
    auto request = protocol::parseAuth(text);
    // SPEC §6: a re-auth is for the session's own member; anything else (another
    // member, anonymous, a malformed one, or a connection that is anonymous) is
    // refused and changes nothing.
    if (!c.isMember() || request.kind != protocol::AuthRequest::Kind::Member || request.member_id != c.member_id)
    {
        loop.sendText(c, protocol::gatewayReply(protocol::Reply::BadAuthMessage));
        return;
    }
    login(loop, c, request, true);
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
    case SubscribeRequest::Action::Publish:
        publish(loop, c, request);
        return;
    case SubscribeRequest::Action::Rpc:
        rpc(loop, c, request);
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

bool SessionProtocol::withinRate(EventLoop& loop, Connection& c)
{
    const size_t limit = loop.settings().client_messages_per_s;
    if (limit == 0)
        return true;
    if (loop.now() - c.message_window_ms >= 1000)
    {
        c.message_window_ms = loop.now();
        c.messages_in_window = 0;
    }
    if (c.messages_in_window >= limit)
        return false;
    ++c.messages_in_window;
    return true;
}

void SessionProtocol::onSubscriptionChanged(EventLoop& loop, Connection& c, const std::string& app, bool subscribed)
{
    if (!backends_)
        return;
    const auto* entry = loop.snapshot().findApp(app);
    if (!entry || entry->webhook_url.empty())
        return;
    protocol::JsonWriter json;
    json.beginObject()
        .key("event")
        .value(subscribed ? "subscribe" : "unsubscribe")
        .key("app")
        .value(app)
        .key("member_id")
        .value(c.isMember() ? c.member_id : int64_t{-1})
        .key("connection")
        .value(std::to_string(loop.index()) + "-" + std::to_string(c.serial))
        .key("address")
        .value(c.addressText())
        .key("time_ms")
        .value(wall_clock_())
        .endObject();
    backends_->event(app, entry->webhook_url, entry->webhook_secret, json.take());
}

void SessionProtocol::publish(EventLoop& loop, Connection& c, protocol::SubscribeRequest& request)
{
    using protocol::Reply;
    const auto* entry = loop.snapshot().findApp(request.app);
    // SPEC §7: only a subscriber of an app that allows it may publish.
    if (!entry || !entry->client_publish || !c.isSubscribedTo(request.app) || !transport::isValidUtf8(request.text))
    {
        loop.sendText(c, protocol::gatewayReply(Reply::PublishForbidden, request.app));
        return;
    }
    if (!withinRate(loop, c))
    {
        loop.sendText(c, protocol::gatewayReply(Reply::PublishTooFast, request.app));
        return;
    }
    auto deliver = [](EventLoop& l, Connection& conn, const std::string& app, const std::string& text) {
        // Exactly a broadcast push (SPEC §7): framed once, on every loop (and, in a
        // cluster, on every node, SPEC §9); the sender's reply follows.
        auto payload = protocol::serverMessage(app, -1, text);
        auto* cluster = l.group().cluster();
        if (cluster && !cluster->canPublish(app))
        {
            l.sendText(conn, protocol::gatewayReply(protocol::Reply::PublishUnavailable, app));
            return;
        }
        std::vector<transport::Outgoing> pushes;
        pushes.push_back({app, -1, transport::makeSharedTextFrame(payload)});
        hub::Metrics::add(l.metrics().client_publishes);
        l.group().deliver(l, std::move(pushes), [](EventLoop&, const std::vector<size_t>&) {});
        if (!cluster)
        {
            l.sendText(conn, protocol::gatewayReply(protocol::Reply::PublishSuccess, app));
            return;
        }
        // The reply waits for Redis's answer, as a push's does.
        std::vector<hub::ClusterLink::Item> items{{app, -1, payload}};
        cluster->publish(std::move(items), [ticket = l.ticketOf(conn), app](const std::vector<int64_t>& nodes) {
            const bool published = !nodes.empty() && nodes[0] >= 0;
            ticket.loop->post([ticket, app, published](EventLoop& origin) {
                if (Connection* sender = origin.find(ticket))
                    origin.sendText(*sender, protocol::gatewayReply(published ? protocol::Reply::PublishSuccess
                                                                              : protocol::Reply::PublishUnavailable,
                                                                    app));
            });
        });
    };
    if (entry->webhook_url.empty() || !backends_)
    {
        deliver(loop, c, request.app, request.text);
        return;
    }
    protocol::JsonWriter json;
    json.beginObject()
        .key("event")
        .value("publish")
        .key("app")
        .value(request.app)
        .key("member_id")
        .value(c.isMember() ? c.member_id : int64_t{-1})
        .key("text")
        .value(request.text)
        .endObject();
    const auto ticket = loop.ticketOf(c);
    auto app = request.app;
    auto text = request.text;
    auto done = [ticket, app, text, deliver](outbound::CallResult&& result) {
        ticket.loop->post([ticket, app, text, deliver, result = std::move(result)](EventLoop& l) {
            Connection* conn = l.find(ticket);
            if (!conn)
                return;
            if (conn->state == Connection::State::Open)
            {
                if (result.outcome != outbound::CallResult::Outcome::Answered)
                {
                    hub::Metrics::add(l.metrics().backend_failures);
                    l.sendText(*conn, protocol::gatewayReply(protocol::Reply::PublishUnavailable, app));
                }
                else if (result.status != 200)
                {
                    l.sendText(*conn, protocol::gatewayReply(protocol::Reply::PublishForbidden, app));
                }
                else if (auto rewritten = publishRewrite(result.body); !rewritten)
                {
                    Poco::Logger::get("wsgw.session")
                        .warning(
                            "app %s: its backend answered a publish 200 with a body that is not {\"text\":\"...\"}",
                            app);
                    l.sendText(*conn, protocol::gatewayReply(protocol::Reply::PublishUnavailable, app));
                }
                else
                {
                    deliver(l, *conn, app, rewritten->empty() && !hasText(result.body) ? text : *rewritten);
                }
            }
            l.resumeReading(*conn);
        });
    };
    if (!backends_->call(request.app, entry->webhook_url, entry->webhook_secret, json.take(), std::move(done)))
    {
        hub::Metrics::add(loop.metrics().backend_failures);
        loop.sendText(c, protocol::gatewayReply(Reply::PublishUnavailable, request.app));
        return;
    }
    // Publishes of one connection are delivered in the order sent: the next waits for this one's answer.
    loop.pauseReading(c);
}

void SessionProtocol::rpc(EventLoop& loop, Connection& c, protocol::SubscribeRequest& request)
{
    const int64_t member = c.isMember() ? c.member_id : int64_t{-1};
    auto answer = [member](EventLoop& l, Connection& conn, const std::string& app, const std::string& seqno,
                           std::string_view text, int code) {
        hub::Metrics::add(l.metrics().rpcs);
        l.sendText(conn, protocol::rpcReply(app, member, text, seqno, code));
    };
    const auto* entry = loop.snapshot().findApp(request.app);
    // SPEC §7: a connection allowed to subscribe to the app, whose app has a backend.
    if (!entry || entry->webhook_url.empty() || !backends_ || !transport::isValidUtf8(request.text) ||
        hub::decide(loop.snapshot(), loop.settings().unknown_apps, request.app, c) != hub::Decision::Allowed)
        return answer(loop, c, request.app, request.seqno, "", 403);
    if (!withinRate(loop, c))
        return answer(loop, c, request.app, request.seqno, "", 429);
    protocol::JsonWriter json;
    json.beginObject()
        .key("event")
        .value("rpc")
        .key("app")
        .value(request.app)
        .key("member_id")
        .value(member)
        .key("seqno")
        .value(request.seqno)
        .key("text")
        .value(request.text)
        .endObject();
    const auto ticket = loop.ticketOf(c);
    auto done = [ticket, app = request.app, seqno = request.seqno, answer](outbound::CallResult&& result) {
        ticket.loop->post([ticket, app, seqno, answer, result = std::move(result)](EventLoop& l) {
            Connection* conn = l.find(ticket);
            if (!conn || conn->state != Connection::State::Open)
                return;
            using Outcome = outbound::CallResult::Outcome;
            if (result.outcome == Outcome::TimedOut)
            {
                hub::Metrics::add(l.metrics().backend_failures);
                return answer(l, *conn, app, seqno, "", 504);
            }
            if (result.outcome == Outcome::Failed)
            {
                hub::Metrics::add(l.metrics().backend_failures);
                return answer(l, *conn, app, seqno, "", 502);
            }
            // The body goes to the client as a JSON string: it must be UTF-8 text.
            if (result.status < 200 || result.status >= 300 || !transport::isValidUtf8(result.body))
                return answer(l, *conn, app, seqno, "", 502);
            answer(l, *conn, app, seqno, result.body, 200);
        });
    };
    if (!backends_->call(request.app, entry->webhook_url, entry->webhook_secret, json.take(), std::move(done)))
    {
        hub::Metrics::add(loop.metrics().backend_failures);
        answer(loop, c, request.app, request.seqno, "", 429);
    }
}

} // namespace wsgw::session
