#pragma once
/// SPEC §9 cluster views: every second this node writes its per-app counts into
/// a hash under PREFIX:node:ID that expires after 3 s, so a node that dies
/// drops out of the cluster's numbers by itself, and counts the live nodes for
/// /metrics. Its own thread (reading the loops' counts waits for them).

#include "cluster/Broker.h"
#include "hub/ClusterLink.h"
#include "hub/Metrics.h"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace wsgw::cluster {

class Heartbeat
{
public:
    /// This node's counts per app; nullopt when the loops did not answer.
    using Counts = std::function<std::optional<std::map<std::string, hub::ClusterLink::AppCount>>()>;

    Heartbeat(Broker& broker, hub::Metrics& metrics, Counts counts,
              std::chrono::milliseconds interval = std::chrono::milliseconds(1000),
              std::chrono::milliseconds ttl = std::chrono::milliseconds(3000));
    ~Heartbeat();

    void start();
    /// Ends the thread and removes this node's hash (a clean stop leaves at once).
    void stop();

private:
    void run();
    void beat();

    Broker& broker_;
    hub::Metrics& metrics_;
    Counts counts_;
    std::chrono::milliseconds interval_;
    std::chrono::milliseconds ttl_;
    std::string key_;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
};

} // namespace wsgw::cluster
