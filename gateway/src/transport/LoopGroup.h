#pragma once
/// The fixed set of event loops: hands each upgraded connection to the least
/// loaded loop, fans a push out to every loop, collects stats, applies new
/// permission snapshots, and drains on shutdown. Any thread unless noted.

#include "config/Settings.h"
#include "hub/Metrics.h"
#include "hub/SnapshotHolder.h"
#include "transport/EventLoop.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wsgw::transport {

class LoopGroup
{
public:
    /// Creates settings.threads loops (one per core when 0). Startup only.
    /// HANDLER decides what client messages mean; it must outlive the group.
    LoopGroup(const config::Settings& settings, MessageHandler& handler, hub::Metrics& metrics, hub::PeerLimits& peers,
              hub::SnapshotHolder& snapshots);
    ~LoopGroup();

    /// Starts the loop threads. Startup only.
    void start();

    /// Takes ownership of FD, an upgraded WebSocket, with bytes already read past its handshake.
    void adopt(int fd, std::string initial, const sockaddr_in6& peer);

    /// Frames nothing itself: each Outgoing carries its frame, built once by the caller.
    /// Queues every push on every loop and returns the recipients per push, or
    /// nullopt if the loops did not answer within TIMEOUT (shutting down).
    std::optional<std::vector<size_t>> publish(std::vector<Outgoing> pushes, std::chrono::milliseconds timeout);

    /// Makes every loop use SNAPSHOT and end what it no longer allows.
    void applySnapshot(hub::SnapshotPtr snapshot);

    /// Subscriber counts from every loop, merged.
    std::optional<LoopStats> collectStats(std::chrono::milliseconds timeout);

    /// SPEC §4: every client gets 1001; queues are flushed within DRAIN; returns
    /// when every loop thread has ended.
    void shutdown(std::chrono::milliseconds drain);

    size_t size() const noexcept { return loops_.size(); }

private:
    std::vector<std::unique_ptr<EventLoop>> loops_;
};

/// Frames PAYLOAD once as a server text frame, ready to share.
Frame makeSharedTextFrame(const std::string& payload);

} // namespace wsgw::transport
