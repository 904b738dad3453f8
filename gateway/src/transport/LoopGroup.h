#pragma once
/// The fixed set of event loops: spreads accepted connections over them in
/// turn, delivers a push on every loop without any thread waiting, collects
/// stats, applies new permission snapshots, and drains on shutdown. Any
/// thread unless noted.

#include "config/Settings.h"
#include "hub/AddressCounter.h"
#include "hub/Metrics.h"
#include "hub/SnapshotHolder.h"
#include "transport/EventLoop.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace wsgw::transport {

class LoopGroup
{
public:
    /// Creates settings.threads loops (one per core when 0). Startup only.
    /// MESSAGES and REQUESTS decide what clients' messages and requests mean;
    /// everything referenced must outlive the group.
    /// CLUSTER (SPEC §9, null when alone) hears which apps have subscribers.
    LoopGroup(const config::Settings& settings, MessageHandler& messages, HttpHandler& requests, hub::Metrics& metrics,
              hub::PeerLimits& peers, hub::SnapshotHolder& snapshots, hub::ClusterLink* cluster = nullptr);
    ~LoopGroup();

    /// Starts the loop threads. Startup only.
    void start();

    /// Serves listening socket FD (bound, listening, owned by the caller until
    /// the group has shut down): the first loop accepts, and new connections go
    /// to the loops in turn, so a reconnect storm spreads evenly.
    void listen(int fd);

    /// Called on the loop that delivered first, once every loop has: the
    /// recipients per push, summed over the loops.
    using Delivered = std::function<void(EventLoop& origin, const std::vector<size_t>& counts)>;

    /// Queues PUSHES (each framed once by the caller) on every loop: ORIGIN's
    /// own recipients at once (the caller runs on ORIGIN), the other loops'
    /// through their queues; the last loop to finish posts the total back to
    /// ORIGIN, which runs DONE. No thread waits. Loop thread (ORIGIN) only.
    void deliver(EventLoop& origin, std::vector<Outgoing> pushes, Delivered done);

    /// SPEC §9: queues PUSHES that came from another node on every loop, in
    /// order, without counting recipients. While a loop has not yet taken the
    /// previous ones, new ones join them, so a busy loop delivers many pushes
    /// per flush (one writev per subscriber for all of them) instead of one.
    /// Any thread (the broker's).
    void deliverRemote(std::vector<Outgoing> pushes);

    /// The cluster link the loops report to; null when alone.
    hub::ClusterLink* cluster() const noexcept { return cluster_; }

    /// Makes every loop use SNAPSHOT and end what it no longer allows.
    void applySnapshot(hub::SnapshotPtr snapshot);

    /// The newest generation every loop has applied (what /stat reports).
    int64_t generation() const;

    /// Subscriber counts from every loop, merged.
    std::optional<LoopStats> collectStats(std::chrono::milliseconds timeout);

    /// SPEC §4: accepting stops, every client gets 1001; queues are flushed
    /// within DRAIN; returns when every loop thread has ended.
    void shutdown(std::chrono::milliseconds drain);

    size_t size() const noexcept { return loops_.size(); }
    /// Bytes of partial client messages held now, all loops together.
    int64_t partialBytes() const noexcept { return partial_bytes_.load(std::memory_order_relaxed); }

private:
    void dispatch(int fd, const sockaddr_in6& peer);

    hub::AddressCounter http_peers_;
    std::atomic<int64_t> partial_bytes_{0};
    std::vector<std::unique_ptr<EventLoop>> loops_;
    hub::ClusterLink* cluster_ = nullptr;
    /// Pushes from other nodes waiting for one loop (deliverRemote).
    struct RemoteInbox
    {
        std::mutex mutex;
        std::vector<Outgoing> pending;
        bool posted = false; ///< a task that will take `pending` is queued on the loop
    };
    std::vector<std::unique_ptr<RemoteInbox>> inboxes_;
    size_t next_loop_ = 0; ///< round-robin position; the accepting loop's thread only
};

/// Frames PAYLOAD once as a server text frame, ready to share.
Frame makeSharedTextFrame(const std::string& payload);
/// The payload of FRAME, a server frame (unmasked) such as makeSharedTextFrame's. Pure.
std::string_view framePayload(const std::string& frame);

} // namespace wsgw::transport
