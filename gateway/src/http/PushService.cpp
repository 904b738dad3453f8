#include "http/PushService.h"

#include "http/JsonReply.h"
#include "hub/Permissions.h"
#include "protocol/JsonWriter.h"
#include "protocol/PushRequest.h"
#include "protocol/ServerMessage.h"
#include "transport/LoopGroup.h"

namespace wsgw::http {

namespace {

std::string recipientsMessage(size_t count)
{
    return "queued for " + std::to_string(count) + (count == 1 ? " connection" : " connections");
}

} // namespace

PushService::PushService(const config::Settings& settings, hub::Metrics& metrics,
                         std::optional<store::Digest> admin_key_hash)
    : settings_(settings), metrics_(metrics), admin_key_hash_(admin_key_hash)
{}

int PushService::authorize(const store::Snapshot& snapshot, const std::string& app, std::string_view bearer,
                           std::string& message) const
{
    if (!settings_.push_require_key)
        return 0;
    if (bearer.empty())
    {
        message = "missing push key: send 'Authorization: Bearer <push key of app " + app + ">'";
        return 401;
    }
    auto presented = store::sha256(bearer);
    if (admin_key_hash_ && store::constantTimeEquals(presented, *admin_key_hash_))
        return 0;
    const auto* entry = snapshot.findApp(app);
    if (entry && store::constantTimeEquals(presented, entry->push_key_hash))
        return 0;
    message = "wrong push key for app " + app + " (wsgw-admin app rotate-key " + app + " makes a new one)";
    return 401;
}

PreparedPush PushService::prepare(std::string_view body, std::string_view bearer, const store::Snapshot& snapshot) const
{
    PreparedPush out;
    auto decoded = protocol::decodePushBody(body);
    if (!decoded.ok)
    {
        hub::Metrics::add(metrics_.pushes_rejected);
        out.immediate = PushReply{400, errorBody(400, decoded.error)};
        return out;
    }
    out.batch = decoded.batch;
    out.results.resize(decoded.items.size());
    out.pushes.reserve(decoded.items.size());
    for (size_t i = 0; i < decoded.items.size(); ++i)
    {
        auto& item = decoded.items[i];
        auto& result = out.results[i];
        if (!item.ok)
        {
            result = {400, item.error, 0};
            continue;
        }
        if (!hub::appExists(snapshot, settings_.unknown_apps, item.push.app))
        {
            result = {404, "unknown app " + item.push.app + " (register it: wsgw-admin app add " + item.push.app + ")",
                      0};
            continue;
        }
        if (int status = authorize(snapshot, item.push.app, bearer, result.message))
        {
            result.status = status;
            continue;
        }
        // Serialised and framed once; every recipient shares these bytes.
        auto payload = protocol::serverMessage(item.push.app, item.push.member_id, item.push.text);
        result.outgoing = out.pushes.size();
        out.pushes.push_back({std::move(item.push.app), item.push.member_id, transport::makeSharedTextFrame(payload)});
    }
    return out;
}

PushReply PushService::unavailable(const PreparedPush& prepared) const
{
    hub::Metrics::add(metrics_.cluster_unavailable, prepared.pushes.size());
    return {503, errorBody(503, "cluster broker unavailable")};
}

PushReply PushService::finish(const PreparedPush& prepared, const std::vector<size_t>& counts,
                              const std::vector<int64_t>* nodes) const
{
    if (prepared.immediate)
        return *prepared.immediate;
    if (nodes)
    {
        for (int64_t n : *nodes)
        {
            if (n < 0)
                return unavailable(prepared);
        }
    }
    const auto& results = prepared.results;
    size_t accepted = 0;
    for (const auto& result : results)
        accepted += result.status == 202 ? 1 : 0;
    hub::Metrics::add(metrics_.pushes_accepted, accepted);
    hub::Metrics::add(metrics_.pushes_rejected, results.size() - accepted);

    if (!prepared.batch)
    {
        const auto& result = results.front();
        if (result.status != 202)
            return {result.status, errorBody(result.status, result.message)};
        size_t count = counts[result.outgoing];
        protocol::JsonWriter json;
        if (nodes)
        {
            // SPEC §9: K nodes have subscribers for the app, R of them here.
            json.beginObject().key("code").value(202).key("message").value("published");
            json.key("nodes").value((*nodes)[result.outgoing]);
        }
        else
            json.beginObject().key("code").value(202).key("message").value(recipientsMessage(count));
        json.key("recipients").value(static_cast<uint64_t>(count)).endObject();
        return {202, json.take()};
    }

    int status = accepted == results.size() ? 202 : 207;
    protocol::JsonWriter json;
    json.beginObject().key("code").value(status);
    json.key("message").value(std::to_string(accepted) + " of " + std::to_string(results.size()) + " pushes accepted");
    json.key("results").beginArray();
    for (const auto& result : results)
    {
        json.beginObject().key("code").value(result.status);
        if (result.status == 202 && nodes)
            json.key("nodes").value((*nodes)[result.outgoing]);
        if (result.status == 202)
            json.key("recipients").value(static_cast<uint64_t>(counts[result.outgoing]));
        else
            json.key("message").value(result.message);
        json.endObject();
    }
    json.endArray().endObject();
    return {status, json.take()};
}

} // namespace wsgw::http
