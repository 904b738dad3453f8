#pragma once
/// The numbers operators watch (SPEC §1 stat line format, §2 counting rules):
/// /stat in the original's `APP COUNT` lines, /stat?format=json with totals,
/// and /metrics in Prometheus text format. Pool threads.

#include "config/Settings.h"
#include "hub/ClusterLink.h"
#include "hub/Metrics.h"
#include "hub/SnapshotHolder.h"
#include "transport/LoopGroup.h"

#include <optional>
#include <string>
#include <vector>

namespace wsgw::http {

class StatService
{
public:
    /// CLUSTER (SPEC §9; null when alone) serves scope=cluster and the cluster metrics.
    StatService(const config::Settings& settings, hub::SnapshotHolder& snapshots, transport::LoopGroup& loops,
                hub::Metrics& metrics, hub::ClusterLink* cluster = nullptr);

    struct AppRow
    {
        std::string name;
        std::string visibility;  ///< public / members / private, or "unregistered"
        int64_t connections = 0; ///< subscribed connections
        int64_t members = 0;     ///< distinct subscribed members
        int64_t count = 0;       ///< what /stat shows: connections for public apps, members otherwise
    };

    /// Every registered app (0 included) and every live unregistered one, sorted
    /// by name; nullopt if the loops did not answer.
    std::optional<std::vector<AppRow>> rows();

    /// SPEC §9 `/stat?scope=cluster`: the same rows summed over every live
    /// node's heartbeat (NODES set to how many); nullopt if Redis did not
    /// answer. Only when clustered().
    std::optional<std::vector<AppRow>> clusterRows(int64_t& nodes);
    bool clustered() const noexcept { return cluster_ != nullptr; }

    std::string plain(const std::vector<AppRow>& rows) const;
    /// NODES >= 0: the rows are the cluster's, from that many nodes.
    std::string json(const std::vector<AppRow>& rows, int64_t nodes) const;
    std::string json(const std::vector<AppRow>& rows) const;
    std::string prometheus(const std::vector<AppRow>& rows) const;

    /// SPEC §8: `{"app":…,"connections":C,"members":[ids…],"anonymous":A}` for APP's
    /// subscribers on this node (members sorted, at most stat.presence_limit, then
    /// "truncated":true). Status 404 for an app neither registered nor subscribed
    /// to, 503 when the loops did not answer; the body is the JSON to send.
    std::pair<int, std::string> presence(const std::string& app);

private:
    const config::Settings& settings_;
    hub::SnapshotHolder& snapshots_;
    transport::LoopGroup& loops_;
    hub::Metrics& metrics_;
    hub::ClusterLink* cluster_;
};

} // namespace wsgw::http
