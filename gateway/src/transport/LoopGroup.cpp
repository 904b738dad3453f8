#include "transport/LoopGroup.h"

#include "hub/Completion.h"
#include "transport/FrameWriter.h"

#include <iterator>
#include <mutex>
#include <thread>

namespace wsgw::transport {

Frame makeSharedTextFrame(const std::string& payload)
{
    return std::make_shared<const std::string>(makeFrame(Opcode::Text, payload));
}

std::string_view framePayload(const std::string& frame)
{
    // RFC 6455 §5.2: 7-bit length, or 126 + 16 bits, or 127 + 64 bits; no mask from a server.
    if (frame.size() < 2)
        return {};
    const auto length = static_cast<uint8_t>(frame[1]) & 0x7F;
    const size_t header = length == 127 ? 10 : length == 126 ? 4 : 2;
    return std::string_view(frame).substr(std::min(header, frame.size()));
}

LoopGroup::LoopGroup(const config::Settings& settings, MessageHandler& messages, HttpHandler& requests,
                     hub::Metrics& metrics, hub::PeerLimits& peers, hub::SnapshotHolder& snapshots,
                     hub::ClusterLink* cluster)
    : http_peers_(settings.http_max_connections_per_ip), cluster_(cluster)
{
    unsigned count = settings.threads ? settings.threads : std::max(1u, std::thread::hardware_concurrency());
    LoopContext context{settings, messages, requests, metrics, peers, http_peers_, partial_bytes_, *this, cluster};
    for (unsigned i = 0; i < count; ++i)
    {
        loops_.push_back(std::make_unique<EventLoop>(static_cast<int>(i), context, snapshots.get()));
        inboxes_.push_back(std::make_unique<RemoteInbox>());
    }
}

LoopGroup::~LoopGroup() = default;

void LoopGroup::start()
{
    for (auto& loop : loops_)
        loop->start();
}

void LoopGroup::listen(int fd)
{
    loops_.front()->post([this, fd](EventLoop& loop) {
        loop.listen(fd, [this](int client, const sockaddr_in6& peer) { dispatch(client, peer); });
    });
}

void LoopGroup::dispatch(int fd, const sockaddr_in6& peer)
{
    EventLoop* target = loops_[next_loop_++ % loops_.size()].get();
    if (target == loops_.front().get())
        target->adoptHttp(fd, peer); // we are on it: no hand-off
    else
        target->post([fd, peer](EventLoop& loop) { loop.adoptHttp(fd, peer); });
}

void LoopGroup::deliver(EventLoop& origin, std::vector<Outgoing> pushes, Delivered done)
{
    auto counts = origin.deliver(pushes);
    if (loops_.size() == 1)
    {
        done(origin, counts);
        return;
    }
    struct Job
    {
        std::vector<Outgoing> pushes;
        Delivered done;
        EventLoop* origin;
        std::mutex mutex;
        std::vector<size_t> counts;
        std::atomic<size_t> remaining;
    };
    auto job = std::make_shared<Job>();
    job->pushes = std::move(pushes);
    job->done = std::move(done);
    job->origin = &origin;
    job->counts = std::move(counts);
    job->remaining = loops_.size() - 1;
    for (auto& loop : loops_)
    {
        if (loop.get() == &origin)
            continue;
        loop->post([job](EventLoop& l) {
            auto local = l.deliver(job->pushes);
            {
                std::lock_guard lock(job->mutex);
                for (size_t i = 0; i < local.size(); ++i)
                    job->counts[i] += local[i];
            }
            // The last loop to finish hands the total back to the origin.
            if (job->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1)
                job->origin->post([job](EventLoop& o) { job->done(o, job->counts); });
        });
    }
}

void LoopGroup::deliverRemote(std::vector<Outgoing> pushes)
{
    // The frames are shared: each loop queues the same bytes on its own subscribers.
    for (size_t i = 0; i < loops_.size(); ++i)
    {
        RemoteInbox& inbox = *inboxes_[i];
        bool post = false;
        {
            std::lock_guard lock(inbox.mutex);
            if (i + 1 == loops_.size())
                std::move(pushes.begin(), pushes.end(), std::back_inserter(inbox.pending));
            else
                inbox.pending.insert(inbox.pending.end(), pushes.begin(), pushes.end());
            post = !inbox.posted;
            inbox.posted = true;
        }
        if (!post)
            continue; // the loop has not run the last task yet: these go with it
        loops_[i]->post([&inbox](EventLoop& l) {
            std::vector<Outgoing> batch;
            {
                std::lock_guard lock(inbox.mutex);
                batch.swap(inbox.pending);
                inbox.posted = false;
            }
            l.deliver(batch);
        });
    }
}

void LoopGroup::applySnapshot(hub::SnapshotPtr snapshot)
{
    for (auto& loop : loops_)
        loop->post([snapshot](EventLoop& l) { l.applySnapshot(snapshot); });
}

int64_t LoopGroup::generation() const
{
    int64_t lowest = loops_.front()->generation();
    for (const auto& loop : loops_)
        lowest = std::min(lowest, loop->generation());
    return lowest;
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
                    merged.anonymous += app.anonymous;
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
