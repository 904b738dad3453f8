#include "cluster/Heartbeat.h"

#include "cluster/WireMessage.h"

namespace wsgw::cluster {

Heartbeat::Heartbeat(Broker& broker, hub::Metrics& metrics, Counts counts, std::chrono::milliseconds interval,
                     std::chrono::milliseconds ttl)
    : broker_(broker), metrics_(metrics), counts_(std::move(counts)), interval_(interval), ttl_(ttl),
      key_(nodeKey(broker.options().prefix, broker.options().node_id))
{}

Heartbeat::~Heartbeat()
{
    stop();
}

void Heartbeat::start()
{
    thread_ = std::thread([this] { run(); });
}

void Heartbeat::stop()
{
    {
        std::lock_guard lock(mutex_);
        if (stopping_)
            return;
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
        thread_.join();
    broker_.control({"DEL", key_});
}

void Heartbeat::run()
{
    std::unique_lock lock(mutex_);
    while (!stopping_)
    {
        lock.unlock();
        beat();
        lock.lock();
        wake_.wait_for(lock, interval_, [this] { return stopping_; });
    }
}

void Heartbeat::beat()
{
    auto counts = counts_();
    if (counts)
    {
        // MULTI: readers see the old hash or the new one, never a half-written one.
        std::vector<std::string> hset{"HSET", key_, "@name", broker_.options().node_name};
        for (const auto& [app, count] : *counts)
        {
            hset.push_back("c:" + app);
            hset.push_back(std::to_string(count.connections));
            hset.push_back("m:" + app);
            hset.push_back(std::to_string(count.members));
            // SPEC §8 presence across nodes: who is subscribed (at most the ids counts_ gave).
            hset.push_back("a:" + app);
            hset.push_back(std::to_string(count.anonymous));
            std::string ids;
            for (int64_t id : count.member_ids)
            {
                if (!ids.empty())
                    ids += ',';
                ids += std::to_string(id);
            }
            hset.push_back("p:" + app);
            hset.push_back(std::move(ids));
        }
        broker_.control({"MULTI"});
        broker_.control({"DEL", key_});
        broker_.control(std::move(hset));
        broker_.control({"PEXPIRE", key_, std::to_string(ttl_.count())});
        broker_.control({"EXEC"});
    }
    if (auto cluster = broker_.clusterCounts(interval_))
        metrics_.cluster_nodes.store(cluster->nodes, std::memory_order_relaxed);
}

} // namespace wsgw::cluster
