#include "http/StatService.h"

#include "http/JsonReply.h"
#include "protocol/JsonWriter.h"

#include <map>

namespace wsgw::http {

namespace {

struct Counter
{
    const char* name;
    const char* help;
    const char* type;
    uint64_t value;
};

std::vector<Counter> counters(const hub::Metrics& m)
{
    using hub::Metrics;
    return {
        {"connections", "Open WebSocket connections.", "gauge", static_cast<uint64_t>(Metrics::get(m.connections))},
        {"authenticated", "Connections authenticated as a member.", "gauge",
         static_cast<uint64_t>(Metrics::get(m.authenticated))},
        {"anonymous", "Anonymous connections.", "gauge", static_cast<uint64_t>(Metrics::get(m.anonymous))},
        {"connections_total", "WebSocket connections accepted since start.", "counter",
         Metrics::get(m.connections_total)},
        {"connections_refused", "Upgrades refused: connection caps or origin.", "counter",
         Metrics::get(m.connections_refused)},
        {"pushes_accepted", "Pushes accepted (batch items count one each).", "counter",
         Metrics::get(m.pushes_accepted)},
        {"pushes_rejected", "Pushes refused with 4xx.", "counter", Metrics::get(m.pushes_rejected)},
        {"deliveries", "Messages queued to subscribers.", "counter", Metrics::get(m.deliveries)},
        {"slow_consumer_closes", "Connections closed because their queue passed its cap.", "counter",
         Metrics::get(m.slow_consumer_closes)},
        {"auth_failures", "Auth messages with a wrong token or unknown member.", "counter",
         Metrics::get(m.auth_failures)},
        {"auth_timeouts", "Connections closed for sending no auth message in time.", "counter",
         Metrics::get(m.auth_timeouts)},
        {"protocol_errors", "Connections closed for breaking RFC 6455 or a size limit.", "counter",
         Metrics::get(m.protocol_errors)},
        {"idle_timeouts", "Connections closed for not answering pings.", "counter", Metrics::get(m.idle_timeouts)},
        {"revoked_closes", "Sessions ended because their member or token was removed.", "counter",
         Metrics::get(m.revoked_closes)},
        {"token_expired_closes", "JWT sessions ended because their token expired.", "counter",
         Metrics::get(m.token_expired_closes)},
        {"auth_webhook_calls", "Logins sent to the authorizer webhook.", "counter", Metrics::get(m.auth_webhook_calls)},
        {"auth_webhook_cache_hits", "Logins accepted from the authorizer's cached answer.", "counter",
         Metrics::get(m.auth_webhook_cache_hits)},
        {"auth_unavailable", "Logins answered 503: the authorizer was down, slow or saturated.", "counter",
         Metrics::get(m.auth_unavailable)},
        {"client_publishes", "Client messages delivered to an app's subscribers.", "counter",
         Metrics::get(m.client_publishes)},
        {"rpcs", "Client RPCs answered, whatever the code.", "counter", Metrics::get(m.rpcs)},
        {"backend_calls", "Publish and RPC calls sent to app backends.", "counter", Metrics::get(m.backend_calls)},
        {"backend_failures", "Publish and RPC calls that got no answer: timeout, unreachable or saturated.", "counter",
         Metrics::get(m.backend_failures)},
        {"backend_events_sent", "Subscription events taken by app backends.", "counter",
         Metrics::get(m.backend_events_sent)},
        {"backend_events_dropped", "Subscription events dropped: queue full or retried too long.", "counter",
         Metrics::get(m.backend_events_dropped)},
    };
}

std::vector<Counter> clusterCounters(const hub::Metrics& m)
{
    using hub::Metrics;
    return {
        {"cluster_broker_up", "1 while every Redis server of cluster.redis is connected.", "gauge",
         static_cast<uint64_t>(Metrics::get(m.cluster_broker_up))},
        {"cluster_nodes", "Live nodes (fresh heartbeats in Redis), this one included.", "gauge",
         static_cast<uint64_t>(Metrics::get(m.cluster_nodes))},
        {"cluster_broker_rtt_microseconds", "The latest PING round trip to Redis (the slowest server).", "gauge",
         static_cast<uint64_t>(Metrics::get(m.cluster_rtt_us))},
        {"cluster_published", "Pushes published to Redis for the other nodes.", "counter",
         Metrics::get(m.cluster_published)},
        {"cluster_received", "Pushes received from other nodes through Redis.", "counter",
         Metrics::get(m.cluster_received)},
        {"cluster_unavailable", "Pushes answered 503 because a Redis server was unreachable.", "counter",
         Metrics::get(m.cluster_unavailable)},
        {"cluster_reconnects", "Connections to a Redis server made again after losing it.", "counter",
         Metrics::get(m.cluster_reconnects)},
        {"cluster_db_applied", "Replica: database images copied from the primary.", "counter",
         Metrics::get(m.cluster_db_applied)},
    };
}

/// Rows for every registered app (0 included) and every live unregistered one.
std::vector<StatService::AppRow> makeRows(const store::Snapshot& snapshot,
                                          const std::map<std::string, std::pair<int64_t, int64_t>>& live)
{
    std::map<std::string, StatService::AppRow> rows;
    for (const auto& [name, app] : snapshot.apps)
        rows[name] = {name, std::string(store::toString(app.visibility)), 0, 0, 0};
    for (const auto& [name, counts] : live)
    {
        auto& row = rows[name];
        if (row.name.empty())
        {
            row.name = name;
            row.visibility = "unregistered";
        }
        row.connections = counts.first;
        row.members = counts.second;
    }
    std::vector<StatService::AppRow> out;
    out.reserve(rows.size());
    for (auto& [name, row] : rows)
    {
        // SPEC §2: connections for public apps, distinct members for members/private ones.
        bool counts_members = row.visibility == "members" || row.visibility == "private";
        row.count = counts_members ? row.members : row.connections;
        out.push_back(std::move(row));
    }
    return out;
}

} // namespace

StatService::StatService(const config::Settings& settings, hub::SnapshotHolder& snapshots, transport::LoopGroup& loops,
                         hub::Metrics& metrics, hub::ClusterLink* cluster)
    : settings_(settings), snapshots_(snapshots), loops_(loops), metrics_(metrics), cluster_(cluster)
{}

std::optional<std::vector<StatService::AppRow>> StatService::rows()
{
    auto live = loops_.collectStats(std::chrono::seconds(5));
    if (!live)
        return std::nullopt;
    std::map<std::string, std::pair<int64_t, int64_t>> counts;
    for (const auto& [name, app] : live->apps)
        counts[name] = {app.connections, static_cast<int64_t>(app.members.size())};
    return makeRows(*snapshots_.get(), counts);
}

std::optional<std::vector<StatService::AppRow>> StatService::clusterRows(int64_t& nodes)
{
    if (!cluster_)
        return std::nullopt;
    auto cluster = cluster_->clusterCounts(std::chrono::seconds(2));
    if (!cluster)
        return std::nullopt;
    nodes = cluster->nodes;
    // A member connected to two nodes counts on each: the heartbeats carry
    // counts, not member lists (README "Running several nodes").
    std::map<std::string, std::pair<int64_t, int64_t>> counts;
    for (const auto& [name, app] : cluster->apps)
        counts[name] = {app.connections, app.members};
    return makeRows(*snapshots_.get(), counts);
}

std::string StatService::plain(const std::vector<AppRow>& rows) const
{
    std::string out;
    for (const auto& row : rows)
        out += row.name + " " + std::to_string(row.count) + "\n";
    return out;
}

std::string StatService::json(const std::vector<AppRow>& rows, int64_t nodes) const
{
    protocol::JsonWriter json;
    json.beginObject();
    if (nodes >= 0)
        json.key("scope").value("cluster").key("nodes").value(nodes);
    for (const auto& counter : counters(metrics_))
        json.key(counter.name).value(counter.value);
    json.key("generation").value(loops_.generation()); // what every loop applies (not just loaded)
    json.key("apps").beginArray();
    for (const auto& row : rows)
    {
        json.beginObject().key("app").value(row.name).key("visibility").value(row.visibility);
        json.key("subscribers").value(row.count).key("connections").value(row.connections);
        json.key("members").value(row.members).endObject();
    }
    json.endArray().endObject();
    return json.take();
}

std::string StatService::prometheus(const std::vector<AppRow>& rows) const
{
    std::string out;
    for (const auto& counter : counters(metrics_))
    {
        std::string name = std::string("wsgw_") + counter.name;
        out += "# HELP " + name + " " + counter.help + "\n# TYPE " + name + " " + counter.type + "\n";
        out += name + " " + std::to_string(counter.value) + "\n";
    }
    if (cluster_)
    {
        for (const auto& counter : clusterCounters(metrics_))
        {
            std::string name = std::string("wsgw_") + counter.name;
            out += "# HELP " + name + " " + counter.help + "\n# TYPE " + name + " " + counter.type + "\n";
            out += name + " " + std::to_string(counter.value) + "\n";
        }
    }
    out += "# HELP wsgw_app_subscribers What /stat shows per app: connections (public) or members.\n"
           "# TYPE wsgw_app_subscribers gauge\n";
    for (const auto& row : rows)
        out += "wsgw_app_subscribers{app=\"" + row.name + "\"} " + std::to_string(row.count) + "\n";
    out += "# HELP wsgw_app_connections Connections subscribed per app.\n# TYPE wsgw_app_connections gauge\n";
    for (const auto& row : rows)
        out += "wsgw_app_connections{app=\"" + row.name + "\"} " + std::to_string(row.connections) + "\n";
    return out;
}

std::pair<int, std::string> StatService::presence(const std::string& app)
{
    int64_t connections = 0, anonymous = 0;
    std::vector<int64_t> members;
    bool live_app = false;
    if (cluster_)
    {
        // SPEC §8: in a cluster, every live node's subscribers (their heartbeats, at most 1 s old).
        auto cluster = cluster_->clusterCounts(std::chrono::seconds(2));
        if (!cluster)
            return {503, errorBody(503, "cluster broker unavailable")};
        if (auto it = cluster->apps.find(app); it != cluster->apps.end())
        {
            live_app = it->second.connections > 0;
            connections = it->second.connections;
            anonymous = it->second.anonymous;
            members.assign(it->second.member_ids.begin(), it->second.member_ids.end());
        }
    }
    else
    {
        auto live = loops_.collectStats(std::chrono::seconds(5));
        if (!live)
            return {503, errorBody(503, "event loops did not answer (shutting down?)")};
        if (auto it = live->apps.find(app); it != live->apps.end())
        {
            live_app = true;
            connections = it->second.connections;
            anonymous = it->second.anonymous;
            members.assign(it->second.members.begin(), it->second.members.end()); // a std::set: sorted
        }
    }
    if (!live_app && !snapshots_.get()->findApp(app))
        return {404, errorBody(404, "unknown app " + app)};
    protocol::JsonWriter out;
    out.beginObject().key("app").value(app);
    const bool truncated = members.size() > settings_.presence_limit;
    if (truncated)
        members.resize(settings_.presence_limit);
    out.key("connections").value(connections).key("members").beginArray();
    for (int64_t id : members)
        out.value(id);
    out.endArray().key("anonymous").value(anonymous);
    if (truncated)
        out.key("truncated").value(true);
    out.endObject();
    return {200, out.take()};
}

} // namespace wsgw::http
