#include "http/PublicHandler.h"

#include "http/JsonReply.h"
#include "protocol/JsonWriter.h"
#include "transport/Handshake.h"
#include "transport/LoopGroup.h"
#include "transport/Utf8Validator.h"
#include "web/Assets.h"

#include <Poco/Exception.h>
#include <Poco/String.h>
#include <Poco/URI.h>

#include <algorithm>
#include <optional>
#include <sstream>
#include <vector>

namespace wsgw::http {

namespace {

using transport::HttpResponse;

HttpResponse json(int status, std::string body, std::string extra_headers = {}, bool close = false)
{
    HttpResponse response;
    response.status = status;
    response.body = std::move(body);
    response.body += '\n';
    response.extra_headers = std::move(extra_headers);
    response.close = close;
    return response;
}

HttpResponse error(int status, std::string_view message, std::string extra_headers = {}, bool close = false)
{
    return json(status, errorBody(status, message), std::move(extra_headers), close);
}

std::string_view pathOf(const std::string& uri)
{
    std::string_view view(uri);
    return view.substr(0, view.find('?'));
}

/// Every X-Forwarded-For value of HEAD, in the order received (Poco keeps
/// repeated headers together and in order).
std::vector<std::string> forwardedFor(const Poco::Net::HTTPRequest& head)
{
    static const std::string kName = "X-Forwarded-For";
    std::vector<std::string> values;
    for (auto it = head.find(kName); it != head.end() && Poco::icompare(it->first, kName) == 0; ++it)
        values.push_back(it->second);
    return values;
}

/// TEXT as UTF-8: as it is when it is valid, else read as ISO-8859-1 (the
/// historical charset of HTTP header bytes above 0x7f, RFC 7230 obs-text).
std::string headerText(const std::string& text)
{
    if (transport::isValidUtf8(text))
        return text;
    std::string out;
    for (unsigned char ch : text)
    {
        if (ch < 0x80)
        {
            out.push_back(static_cast<char>(ch));
        }
        else
        {
            out.push_back(static_cast<char>(0xc0 | (ch >> 6)));
            out.push_back(static_cast<char>(0x80 | (ch & 0x3f)));
        }
    }
    return out;
}

/// SPEC §6: the upgrade request's headers for the authorizer, as one JSON
/// object with lower-case names in the order first received; repeated headers
/// are joined as HTTP allows (", ", or "; " for cookie). Cookie is left out
/// unless FORWARD_COOKIES.
std::string headersJson(const Poco::Net::HTTPRequest& head, bool forward_cookies)
{
    std::vector<std::pair<std::string, std::string>> headers;
    for (const auto& [name, value] : head)
    {
        std::string lower = Poco::toLower(name);
        if (lower == "cookie" && !forward_cookies)
            continue;
        auto it = std::find_if(headers.begin(), headers.end(), [&](const auto& h) { return h.first == lower; });
        if (it == headers.end())
            headers.emplace_back(std::move(lower), headerText(value));
        else
            it->second += (lower == "cookie" ? "; " : ", ") + headerText(value);
    }
    protocol::JsonWriter json;
    json.beginObject();
    for (const auto& [name, value] : headers)
        json.key(headerText(name)).value(value);
    json.endObject();
    return json.take();
}

/// SPEC §6: the login of `?member_id=N&token=T` (URL-decoded), or nullopt
/// when the query names no member_id. The first of repeated parameters counts.
/// Throws Poco::SyntaxException for a query that is not valid URL encoding.
std::optional<transport::UpgradeLogin> urlLogin(const std::string& uri)
{
    if (uri.find('?') == std::string::npos)
        return std::nullopt;
    std::optional<std::string> member_id;
    std::optional<std::string> token;
    for (auto& [name, value] : Poco::URI(uri).getQueryParameters())
    {
        if (name == "member_id" && !member_id)
            member_id = std::move(value);
        else if (name == "token" && !token)
            token = std::move(value);
    }
    if (!member_id)
        return std::nullopt;
    return transport::UpgradeLogin{std::move(*member_id), token.value_or(std::string())};
}

} // namespace

std::string bearerToken(const std::string& header)
{
    static constexpr std::string_view kScheme = "Bearer ";
    if (header.size() <= kScheme.size() || Poco::icompare(header.substr(0, kScheme.size()), std::string(kScheme)) != 0)
        return {};
    auto token = header.substr(kScheme.size());
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
        token.pop_back();
    return token;
}

PublicHandler::PublicHandler(const config::Settings& settings, const PushService& push, hub::Metrics& metrics,
                             hub::ClusterLink* cluster)
    : settings_(settings), push_(push), metrics_(metrics), cluster_(cluster)
{
    std::istringstream words(settings.allowed_origins);
    for (std::string origin; words >> origin;)
        origins_.insert(origin);
}

void PublicHandler::onRequest(transport::EventLoop& loop, transport::Connection& c,
                              const transport::HttpRequestReader& request)
{
    const auto& head = request.request();
    const auto path = pathOf(head.getURI());
    if (path == "/push")
        return push(loop, c, request);
    if (transport::headerHasToken(head.get("Upgrade", ""), "websocket"))
        return upgrade(loop, c, request);
    if (path == "/healthz")
        return loop.respond(c, json(200, R"({"status":"ok"})"));
    if (path == "/wsgw.js")
        return clientLibrary(loop, c, request);
    loop.respond(c, error(426, "this is a WebSocket endpoint: connect with a WebSocket client, or POST /push",
                          "Upgrade: websocket\r\n"));
}

void PublicHandler::clientLibrary(transport::EventLoop& loop, transport::Connection& c,
                                  const transport::HttpRequestReader& request)
{
    const auto& head = request.request();
    const auto& method = head.getMethod();
    const bool head_request = method == Poco::Net::HTTPRequest::HTTP_HEAD;
    if (method != Poco::Net::HTTPRequest::HTTP_GET && !head_request)
        return loop.respond(c, error(405, "use GET /wsgw.js", "Allow: GET, HEAD\r\n"));
    const auto& asset = web::clientLibrary();
    HttpResponse response;
    response.content_type = std::string(asset.content_type);
    // Any origin may import the module (<script type="module"> fetches it in CORS
    // mode); browsers keep it for a while and then revalidate by its ETag.
    response.extra_headers = "ETag: " + std::string(asset.etag) +
                             "\r\nCache-Control: public, max-age=300\r\n"
                             "Access-Control-Allow-Origin: *\r\nX-Content-Type-Options: nosniff\r\n";
    response.body = std::string(asset.body);
    response.head_only = head_request;
    if (web::etagMatches(head.get("If-None-Match", ""), asset.etag))
    {
        response.status = 304;
        response.content_type.clear();
        response.head_only = true;
    }
    loop.respond(c, response);
}

void PublicHandler::push(transport::EventLoop& loop, transport::Connection& c,
                         const transport::HttpRequestReader& request)
{
    const auto& head = request.request();
    if (head.getMethod() != Poco::Net::HTTPRequest::HTTP_POST)
    {
        // SPEC §1: 405 unless POST (the original accepted any method).
        return loop.respond(c, error(405, "use POST /push with a JSON body", "Allow: POST\r\n", true));
    }
    auto prepared = push_.prepare(request.body(), bearerToken(head.get("Authorization", "")), loop.snapshot());
    auto reply = [this](const PreparedPush& p, const std::vector<size_t>& counts,
                        const std::vector<int64_t>* nodes = nullptr) {
        auto r = push_.finish(p, counts, nodes);
        return json(r.status, std::move(r.body),
                    r.status == 401 ? "WWW-Authenticate: Bearer realm=\"wsgw push\"\r\n" : std::string());
    };
    if (prepared.pushes.empty())
        return loop.respond(c, reply(prepared, {}));
    if (cluster_)
    {
        // SPEC §9: a push that cannot reach the other nodes is refused as a
        // whole and delivered nowhere (so the backend's retry cannot duplicate it).
        for (const auto& p : prepared.pushes)
        {
            if (!cluster_->canPublish(p.app))
            {
                auto r = push_.unavailable(prepared);
                return loop.respond(c, json(r.status, std::move(r.body), "Retry-After: 1\r\n"));
            }
        }
    }
    // Delivered here at once and on the other loops through their queues; the
    // last loop to finish brings the counts back to this one, which answers.
    auto ticket = loop.deferResponse(c);
    auto outgoing = std::move(prepared.pushes);
    auto shared = std::make_shared<PreparedPush>(std::move(prepared));
    if (!cluster_)
    {
        loop.group().deliver(loop, std::move(outgoing),
                             [ticket, shared, reply](transport::EventLoop& origin, const std::vector<size_t>& counts) {
                                 origin.respondTo(ticket, reply(*shared, counts));
                             });
        return;
    }
    // Cluster: local delivery does not wait for Redis, and the publish does not
    // wait for local delivery; the reply waits for both (both halves end on
    // this loop, so the join needs no lock).
    struct Join
    {
        std::vector<size_t> counts;
        std::vector<int64_t> nodes;
        int remaining = 2;
    };
    auto join = std::make_shared<Join>();
    auto answer = [ticket, shared, join, reply](transport::EventLoop& origin) {
        if (--join->remaining == 0)
            origin.respondTo(ticket, reply(*shared, join->counts, &join->nodes));
    };
    std::vector<hub::ClusterLink::Item> items;
    items.reserve(outgoing.size());
    for (const auto& p : outgoing)
        items.push_back({p.app, p.member_id, transport::framePayload(*p.frame)});
    cluster_->publish(std::move(items), [ticket, join, answer](const std::vector<int64_t>& nodes) {
        // The broker's thread: back to the origin loop.
        ticket.loop->post([join, answer, nodes](transport::EventLoop& origin) {
            join->nodes = nodes;
            answer(origin);
        });
    });
    loop.group().deliver(loop, std::move(outgoing),
                         [join, answer](transport::EventLoop& origin, const std::vector<size_t>& counts) {
                             join->counts = counts;
                             answer(origin);
                         });
}

void PublicHandler::upgrade(transport::EventLoop& loop, transport::Connection& c,
                            const transport::HttpRequestReader& request)
{
    const auto& head = request.request();
    if (head.getMethod() != Poco::Net::HTTPRequest::HTTP_GET)
        return loop.respond(c, error(400, "a WebSocket upgrade must be a GET request", {}, true));
    if (!transport::headerHasToken(head.get("Connection", ""), "upgrade"))
        return loop.respond(c, error(400, "a WebSocket upgrade needs 'Connection: Upgrade'", {}, true));
    if (head.get("Sec-WebSocket-Version", "") != "13")
        return loop.respond(c, error(426, "unsupported WebSocket version: this server speaks version 13 (RFC 6455)",
                                     "Sec-WebSocket-Version: 13\r\n"));
    const std::string key = head.get("Sec-WebSocket-Key", "");
    if (!transport::isValidClientKey(key))
        return loop.respond(c, error(400, "missing or malformed Sec-WebSocket-Key", {}, true));
    if (!request.body().empty() || head.getChunkedTransferEncoding())
        return loop.respond(c, error(400, "a WebSocket upgrade must not have a body", {}, true));
    if (!origins_.empty() && head.has("Origin") && !origins_.count(head.get("Origin")))
    {
        // A browser page from a site not on ws.allowed_origins (clients without Origin are apps).
        hub::Metrics::add(metrics_.connections_refused);
        return loop.respond(c, error(403, "origin not allowed", {}, true));
    }
    // SPEC §5: the client address (behind a trusted proxy, the forwarded one) is
    // what the limits count, the loop logs and the login limiter uses.
    std::optional<transport::UpgradeLogin> login;
    try
    {
        login = urlLogin(head.getURI());
    }
    catch (const Poco::Exception&)
    {
        return loop.respond(c, error(400, "malformed query string in the request URI", {}, true));
    }
    sockaddr_in6 client = loop.peers().clientAddress(c.peer, forwardedFor(head));
    switch (loop.peers().admit(client.sin6_addr))
    {
    case hub::PeerLimits::Admission::Admitted:
        break;
    case hub::PeerLimits::Admission::TooManyConnections:
        hub::Metrics::add(metrics_.connections_refused);
        return loop.respond(c, error(503, "too many connections: try again later", "Retry-After: 5\r\n", true));
    case hub::PeerLimits::Admission::TooManyFromPeer:
        hub::Metrics::add(metrics_.connections_refused);
        return loop.respond(
            c, error(503, "too many connections from your address: try again later", "Retry-After: 5\r\n", true));
    }
    // The authorizer sees the upgrade's headers (SPEC §6): kept until the session ends.
    if (!settings_.webhook_url.empty())
        c.upgrade_headers = std::make_unique<std::string>(headersJson(head, settings_.webhook_forward_cookies));
    // What a login in the URL means is the session's business (MessageHandler::onUpgradeLogin).
    loop.upgrade(c, transport::computeAccept(key), client, login ? &*login : nullptr);
}

} // namespace wsgw::http
