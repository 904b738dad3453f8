#pragma once
/// What the rest of the gateway sees of the cluster (SPEC §9): which apps this
/// node has subscribers for, publishing pushes to the other nodes, and the
/// cluster-wide counts. Implemented by cluster::Broker; absent (null) on a
/// node alone, where nothing of this runs. Thread rules per member.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace wsgw::hub {

class ClusterLink
{
public:
    virtual ~ClusterLink() = default;

    /// A loop got its first subscriber of APP, or lost its last. Loop threads;
    /// cheap (a lock and a counter), called only when a loop's entry for the
    /// app is made or dropped, never per subscriber.
    virtual void appActive(std::string_view app) = 0;
    virtual void appIdle(std::string_view app) = 0;

    /// Whether a push to APP can be published now (its Redis server is
    /// connected). Any thread.
    virtual bool canPublish(std::string_view app) const = 0;

    struct Item
    {
        std::string app;
        int64_t member_id = -1;
        std::string_view payload; ///< the serialised server message; copied before publish() returns
    };
    /// NODES[i]: how many nodes have subscribers for item i's app (the PUBLISH
    /// reply), or -1 when it could not be published (SPEC §9: the request gets 503).
    using Published = std::function<void(const std::vector<int64_t>& nodes)>;
    /// Publishes ITEMS in order, as one pipelined write per Redis server; DONE
    /// runs on the broker's thread once every item has its answer. Any thread.
    virtual void publish(std::vector<Item> items, Published done) = 0;

    /// One app's numbers summed over the live nodes (SPEC §9 cluster views).
    struct AppCount
    {
        int64_t connections = 0;
        int64_t members = 0;
        int64_t anonymous = 0;        ///< SPEC §8 presence: subscribed connections that are not members
        std::set<int64_t> member_ids; ///< SPEC §8: the lowest stat.presence_limit + 1 ids of each node, merged
    };
    struct ClusterCounts
    {
        int64_t nodes = 0;
        std::map<std::string, AppCount> apps;
    };
    /// Reads every live node's heartbeat from Redis; nullopt if Redis did not
    /// answer within TIMEOUT. Blocks the caller: stat-port threads only.
    virtual std::optional<ClusterCounts> clusterCounts(std::chrono::milliseconds timeout) = 0;
};

} // namespace wsgw::hub
