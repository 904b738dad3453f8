#pragma once
/// One event-loop thread: raw epoll over the WebSocket connections it owns,
/// an eventfd for work posted from other threads, a periodic sweep for the
/// auth window, pings and close deadlines, and the SPEC §1 session protocol.
/// Everything but post(), start() and join() runs on the loop thread only.

#include "config/Settings.h"
#include "hub/Metrics.h"
#include "hub/PeerLimits.h"
#include "hub/Registry.h"
#include "hub/SnapshotHolder.h"
#include "transport/CloseCode.h"
#include "transport/Connection.h"
#include "transport/FrameParser.h"
#include "transport/FrameWriter.h"

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace wsgw::transport {

/// One push as a loop sees it: where it goes and its frame, built once.
struct Outgoing
{
    std::string app;
    int64_t member_id = -1; ///< > 0: only that member's connections
    Frame frame;
};

/// What a loop reports for /stat.
struct LoopStats
{
    struct App
    {
        int64_t connections = 0;
        std::set<int64_t> members; ///< distinct authenticated members subscribed
    };
    std::map<std::string, App> apps;
};

class EventLoop;

/// What a loop does with a complete client text or binary message: the
/// gateway's session protocol (SessionProtocol), or an echo in the conformance
/// testee. Called on the loop thread, for Open connections only.
class MessageHandler
{
public:
    virtual ~MessageHandler() = default;
    virtual void onMessage(EventLoop& loop, Connection& c, MessageKind kind, std::string_view payload) = 0;
};

class EventLoop
{
public:
    using Task = std::function<void(EventLoop&)>;

    EventLoop(int index, const config::Settings& settings, MessageHandler& handler, hub::Metrics& metrics,
              hub::PeerLimits& peers, hub::SnapshotPtr snapshot);
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    /// Starts the thread. Startup only.
    void start();
    /// Waits for the thread to end (after shutdown()). Any thread but this loop's.
    void join();

    /// Runs TASK on the loop thread soon, in posting order. Any thread.
    void post(Task task);

    /// Connections this loop owns right now (approximate). Any thread.
    size_t load() const noexcept { return load_.load(std::memory_order_relaxed); }

    // Loop thread only, called from posted tasks:

    /// Takes ownership of FD (an upgraded WebSocket) and processes INITIAL,
    /// bytes the HTTP server had already read past the handshake.
    void adopt(int fd, const std::string& initial, const sockaddr_in6& peer);
    /// Queues each push on its local recipients; returns recipients per item.
    std::vector<size_t> deliver(const std::vector<Outgoing>& pushes);
    /// Switches to SNAPSHOT and ends what it no longer allows (SPEC §2 live changes).
    void applySnapshot(hub::SnapshotPtr snapshot);
    /// Adds this loop's subscriber counts to STATS.
    void collect(LoopStats& stats) const;
    /// SPEC §4: close every client with 1001, flush within DRAIN, then end the thread.
    void shutdown(std::chrono::milliseconds drain);

    // Loop thread only, for the MessageHandler:

    /// Frames PAYLOAD as a text message and queues it (gateway replies).
    void sendText(Connection& c, const std::string& payload);
    /// Frames PAYLOAD with OPCODE and queues it.
    void sendFrame(Connection& c, Opcode opcode, std::string_view payload);
    /// Starts the close handshake: removes C from the registry, queues a close
    /// frame (after the queue, or instead of it when DISCARD), sets a deadline.
    void beginClose(Connection& c, CloseCode code, std::string_view reason, bool discard_queue);

    const config::Settings& settings() const noexcept { return settings_; }
    hub::Metrics& metrics() noexcept { return metrics_; }
    hub::PeerLimits& peers() noexcept { return peers_; }
    hub::Registry& registry() noexcept { return registry_; }
    const store::Snapshot& snapshot() const noexcept { return *snapshot_; }

private:
    void run();
    void runTasks();
    void sweep();
    void onReadable(Connection& c);
    void onMessage(Connection& c, const Message& message);

    /// Queues FRAME on C; past the byte cap, marks C a slow consumer.
    void enqueue(Connection& c, const Frame& frame);
    /// Queues BYTES, an already framed control frame.
    void send(Connection& c, std::string bytes);
    void markDirty(Connection& c);
    /// Writes as much of C's queue as the socket takes, with one writev per call.
    void flush(Connection& c);
    void flushDirty();
    void setWriteInterest(Connection& c, bool want);

    /// Logs a forced disconnect once, with its reason.
    void logClose(const Connection& c, CloseCode code, std::string_view reason);
    /// Schedules C's destruction at the end of this loop turn (safe point).
    void reap(Connection& c);
    void reapPending();
    void closeSlowConsumers();

    int64_t now() const noexcept { return now_ms_; }
    void updateClock();

    int index_;
    const config::Settings& settings_;
    MessageHandler& handler_;
    hub::Metrics& metrics_;
    hub::PeerLimits& peers_;
    hub::SnapshotPtr snapshot_;
    ParserLimits limits_;

    int epoll_fd_ = -1;
    int wake_fd_ = -1;
    std::thread thread_;

    std::mutex tasks_mutex_;
    std::vector<Task> tasks_;
    std::vector<Task> running_tasks_;

    std::vector<Connection*> slots_; ///< index = Connection::slot; null when free
    std::vector<uint32_t> free_slots_;
    uint32_t next_serial_ = 1;
    std::atomic<size_t> load_{0};

    hub::Registry registry_;
    std::vector<Connection*> dirty_;
    std::vector<Connection*> reaped_;
    std::vector<Connection*> slow_;
    std::vector<char> read_buffer_;

    int64_t now_ms_ = 0;
    int64_t next_sweep_ms_ = 0;
    int64_t tick_ms_ = 1000;
    bool stopping_ = false;
    int64_t drain_deadline_ms_ = 0;
};

} // namespace wsgw::transport
