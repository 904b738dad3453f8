#include "transport/LoopGroup.h"

#include "hub/Completion.h"
#include "transport/FrameWriter.h"

#include <thread>

namespace wsgw::transport {

Frame makeSharedTextFrame(const std::string& payload)
{
    return std::make_shared<const std::string>(makeFrame(Opcode::Text, payload));
}

LoopGroup::LoopGroup(const config::Settings& settings, MessageHandler& handler, hub::Metrics& metrics,
                     hub::PeerLimits& peers, hub::SnapshotHolder& snapshots)
{
    unsigned count = settings.threads ? settings.threads : std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < count; ++i)
        loops_.push_back(
            std::make_unique<EventLoop>(static_cast<int>(i), settings, handler, metrics, peers, snapshots.get()));
}

LoopGroup::~LoopGroup() = default;

void LoopGroup::start()
{
    for (auto& loop : loops_)
        loop->start();
}

void LoopGroup::adopt(int fd, std::string initial, const sockaddr_in6& peer)
{
    EventLoop* target = loops_.front().get();
    for (auto& loop : loops_)
    {
        if (loop->load() < target->load())
            target = loop.get();
    }
    target->post([fd, initial = std::move(initial), peer](EventLoop& loop) { loop.adopt(fd, initial, peer); });
}

std::optional<std::vector<size_t>> LoopGroup::publish(std::vector<Outgoing> pushes, std::chrono::milliseconds timeout)
{
    struct Job
    {
        explicit Job(int parties, std::vector<Outgoing> p) : done(parties), pushes(std::move(p)), counts(pushes.size())
        {}
        hub::Completion done;
        const std::vector<Outgoing> pushes;
        std::vector<size_t> counts;
    };
    // Shared with the loops: a loop may still run its part after a timed-out caller left.
    auto job = std::make_shared<Job>(static_cast<int>(loops_.size()), std::move(pushes));
    for (auto& loop : loops_)
    {
        loop->post([job](EventLoop& l) {
            auto counts = l.deliver(job->pushes);
            job->done.arriveWith([&] {
                for (size_t i = 0; i < counts.size(); ++i)
                    job->counts[i] += counts[i];
            });
        });
    }
    if (!job->done.wait(timeout))
        return std::nullopt;
    return job->counts;
}

void LoopGroup::applySnapshot(hub::SnapshotPtr snapshot)
{
    for (auto& loop : loops_)
        loop->post([snapshot](EventLoop& l) { l.applySnapshot(snapshot); });
}

std::optional<LoopStats> LoopGroup::collectStats(std::chrono::milliseconds timeout)
{
    struct Job
    {
        explicit Job(int parties) : done(parties) {}
        hub::Completion done;
        LoopStats stats;
    };
    auto job = std::make_shared<Job>(static_cast<int>(loops_.size()));
    for (auto& loop : loops_)
    {
        loop->post([job](EventLoop& l) {
            LoopStats local;
            l.collect(local);
            job->done.arriveWith([&] {
                for (auto& [name, app] : local.apps)
                {
                    auto& merged = job->stats.apps[name];
                    merged.connections += app.connections;
                    merged.members.merge(app.members);
                }
            });
        });
    }
    if (!job->done.wait(timeout))
        return std::nullopt;
    return std::move(job->stats);
}

void LoopGroup::shutdown(std::chrono::milliseconds drain)
{
    for (auto& loop : loops_)
        loop->post([drain](EventLoop& l) { l.shutdown(drain); });
    for (auto& loop : loops_)
        loop->join();
}

} // namespace wsgw::transport
