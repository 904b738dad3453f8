#pragma once
/// One event-loop thread: raw epoll over the connections it owns, from accept
/// to close (DESIGN §2). HTTP requests are read and answered here, upgrades
/// happen in place, WebSocket frames are parsed here, and an eventfd brings
/// work posted from other threads. One periodic sweep serves every deadline
/// (request, keep-alive, auth window, pings, close). What requests and
/// messages mean is decided by the HttpHandler and MessageHandler it is given.
/// Everything but post(), start(), join() and the atomics runs on the loop thread only.

#include "config/Settings.h"
#include "hub/AddressCounter.h"
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
#include <string_view>
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
        int64_t anonymous = 0;     ///< subscribed connections that are not members
    };
    std::map<std::string, App> apps;
};

class EventLoop;
class LoopGroup;

/// A login carried by the upgrade URL (SPEC §6: `/ws?member_id=N&token=T`),
/// URL-decoded and otherwise as the client wrote it.
struct UpgradeLogin
{
    std::string member_id;
    std::string token;
};

/// What a loop does with a WebSocket's complete text or binary messages and
/// its session events: the gateway's session policy, or an echo in the
/// conformance testee. Called on the loop thread, for Open connections only.
class MessageHandler
{
public:
    virtual ~MessageHandler() = default;
    virtual void onMessage(EventLoop& loop, Connection& c, MessageKind kind, std::string_view payload) = 0;
    /// The auth window passed while C was still Pending (SPEC §1).
    virtual void onAuthTimeout(EventLoop& loop, Connection& c) = 0;
    /// The loop switched to a new permission snapshot: end what it no longer allows (SPEC §2).
    virtual void onSnapshot(EventLoop& loop, Connection& c) = 0;
    /// C's session expiry (Subscriber::expires_ms) passed; the loop cleared it
    /// first, so this runs once per expiry. Found by the sweep (within one tick).
    virtual void onSessionExpired(EventLoop&, Connection&) {}
    /// C's upgrade request carried LOGIN (SPEC §6): called once, right after the
    /// 101 is queued and before any frame of C is read.
    virtual void onUpgradeLogin(EventLoop&, Connection&, const UpgradeLogin&) {}
    /// C's subscription to APP started (SUBSCRIBED) or ended, however it ended
    /// (its unsubscribe, a revocation, a close). Called after the change.
    virtual void onSubscriptionChanged(EventLoop&, Connection&, const std::string& /*app*/, bool /*subscribed*/) {}
};

/// What a loop does with a complete HTTP request on the public port. The
/// handler answers with respond(), upgrade(), or deferResponse() and later
/// respondTo(); until it answers, later requests of that connection wait.
class HttpHandler
{
public:
    virtual ~HttpHandler() = default;
    virtual void onRequest(EventLoop& loop, Connection& c, const HttpRequestReader& request) = 0;
};

/// An HTTP response the loop writes (HTTP/1.1, with Date, Server, Content-Length).
struct HttpResponse
{
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::string extra_headers; ///< raw "Name: value\r\n" lines
    bool close = false;        ///< close the connection after this response
    bool head_only = false;    ///< HEAD or 304: the headers of BODY (Content-Length included), not BODY itself
};

/// Names one connection across loop turns: a deferred response finds its
/// connection by it, and finds nothing if the connection closed meanwhile.
struct ConnectionTicket
{
    EventLoop* loop = nullptr;
    uint64_t tag = 0;
};

/// What every loop of a group shares. Everything referenced must outlive the loops.
struct LoopContext
{
    const config::Settings& settings;
    MessageHandler& messages;
    HttpHandler& requests;
    hub::Metrics& metrics;
    hub::PeerLimits& peers;              ///< WebSocket connection caps and the login limiter
    hub::AddressCounter& http_peers;     ///< open HTTP connections per address (before the upgrade)
    std::atomic<int64_t>& partial_bytes; ///< partial client messages over all loops (SPEC §5)
    LoopGroup& group;                    ///< the loops this one belongs to (fan-out to the others)
    hub::ClusterLink* cluster = nullptr; ///< SPEC §9: told which apps have subscribers here; null when alone
};

class EventLoop
{
public:
    using Task = std::function<void(EventLoop&)>;
    /// Called for every accepted socket; decides which loop serves it.
    using AcceptFunction = std::function<void(int fd, const sockaddr_in6& peer)>;

    EventLoop(int index, const LoopContext& context, hub::SnapshotPtr snapshot);
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    /// Starts the thread. Startup only.
    void start();
    /// Waits for the thread to end (after shutdown()). Any thread but this loop's.
    void join();

    /// Runs TASK on the loop thread soon, in posting order. Any thread.
    void post(Task task);

    /// The generation of the snapshot this loop applies (SPEC §2 "generation"). Any thread.
    int64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }

    // Loop thread only, called from posted tasks:

    /// Accepts on listening socket FD (non-blocking) from now on, handing each
    /// new socket to ACCEPT. The socket stays owned by the caller.
    void listen(int fd, AcceptFunction accept);
    /// Stops accepting (shutdown).
    void stopListening();
    /// Takes ownership of FD, a freshly accepted socket, as an HTTP connection.
    /// The caller counted it in http_peers.
    void adoptHttp(int fd, const sockaddr_in6& peer);
    /// Queues each push on its local recipients; returns recipients per item.
    std::vector<size_t> deliver(const std::vector<Outgoing>& pushes);
    /// Switches to SNAPSHOT and ends what it no longer allows (SPEC §2 live changes).
    void applySnapshot(hub::SnapshotPtr snapshot);
    /// Adds this loop's subscriber counts to STATS.
    void collect(LoopStats& stats) const;
    /// SPEC §4: close every client with 1001, flush within DRAIN, then end the thread.
    void shutdown(std::chrono::milliseconds drain);

    // Loop thread only, for the HttpHandler (C is an HTTP connection):

    /// Queues RESPONSE on C; the next request of C is read after it.
    void respond(Connection& c, const HttpResponse& response);
    /// The response to C's current request comes later, through respondTo().
    ConnectionTicket deferResponse(Connection& c);
    /// Answers a deferred request; nothing happens if that connection is gone.
    /// Called on TICKET's loop.
    void respondTo(const ConnectionTicket& ticket, const HttpResponse& response);
    /// Writes the 101 for ACCEPT_KEY and makes C a WebSocket on this loop, with
    /// CLIENT as its peer. Bytes after the request are its first frame bytes.
    /// With LOGIN, the MessageHandler's onUpgradeLogin runs before those frames.
    void upgrade(Connection& c, std::string_view accept_key, const sockaddr_in6& client,
                 const UpgradeLogin* login = nullptr);

    // Loop thread only, for the MessageHandler (C is a WebSocket):

    /// Names C for work that finishes on another thread and comes back through post().
    ConnectionTicket ticketOf(const Connection& c) const;
    /// The connection TICKET names, or null when it closed meanwhile. TICKET's loop only.
    Connection* find(const ConnectionTicket& ticket);
    /// Stops reading C's messages until resumeReading(): the handler waits for an
    /// answer from elsewhere (the authorizer) before C's next message may mean
    /// anything. Bytes already read stay with C; the client's further bytes wait
    /// in the kernel (TCP flow control). The auth window does not run meanwhile.
    void pauseReading(Connection& c);
    /// Reads C again, handling the bytes held since pauseReading() first (unless C is closing).
    void resumeReading(Connection& c);

    /// Frames PAYLOAD as a text message and queues it (gateway replies).
    void sendText(Connection& c, const std::string& payload);
    /// Frames PAYLOAD with OPCODE and queues it.
    void sendFrame(Connection& c, Opcode opcode, std::string_view payload);
    /// Starts the close handshake: removes C from the registry, queues a close
    /// frame (after the queue, or instead of it when DISCARD), sets a deadline.
    void beginClose(Connection& c, CloseCode code, std::string_view reason, bool discard_queue);

    const config::Settings& settings() const noexcept { return settings_; }
    hub::Metrics& metrics() noexcept { return metrics_; }
    hub::PeerLimits& peers() noexcept { return context_.peers; }
    hub::Registry& registry() noexcept { return registry_; }
    const store::Snapshot& snapshot() const noexcept { return *snapshot_; }
    LoopGroup& group() noexcept { return context_.group; }
    int64_t now() const noexcept { return now_ms_; }
    int index() const noexcept { return index_; }

private:
    void run();
    void runTasks();
    void sweep();
    void sweepHttp(Connection& c);
    void acceptAll();
    void resumeAccepting();
    Connection* connectionOf(uint64_t tag);

    void onReadable(Connection& c);
    void resumeHttp();
    void onHttpBytes(Connection& c, size_t size);
    /// Reads and dispatches complete requests from C's buffer until one is deferred or more bytes are needed.
    void processHttp(Connection& c);
    void httpError(Connection& c, int status, const std::string& message);
    void onFrames(Connection& c, char* data, size_t size);
    void onMessage(Connection& c, const Message& message);
    void accountPartial(Connection& c);

    /// Queues FRAME on C; past the cap, marks C a slow consumer.
    void enqueue(Connection& c, Frame frame);
    /// After something was queued on C: checks the cap, marks C for the flush.
    void queued(Connection& c);
    void markDirty(Connection& c);
    /// Writes as much of C's queue as the socket takes, with one writev per call.
    void flush(Connection& c);
    void flushDirty();
    void setWriteInterest(Connection& c, bool want);
    /// Registers C's epoll interest from its state: reading unless paused, writing when wanted.
    bool updateInterest(Connection& c);
    /// Ends C after what is queued (HTTP): half-close, wait for EOF or the deadline.
    void closeAfterQueue(Connection& c);

    /// Logs a forced disconnect once, with its reason.
    void logClose(const Connection& c, CloseCode code, std::string_view reason);
    /// Schedules C's destruction at the end of this loop turn (safe point).
    void reap(Connection& c);
    void reapPending();
    void closeSlowConsumers();
    const std::string& httpDate();

    void updateClock();

    int index_;
    LoopContext context_;
    const config::Settings& settings_;
    hub::Metrics& metrics_;
    hub::SnapshotPtr snapshot_;
    std::atomic<int64_t> generation_{0};
    ParserLimits limits_;
    HttpLimits http_limits_;

    int epoll_fd_ = -1;
    int wake_fd_ = -1;
    int listen_fd_ = -1;
    int64_t accept_paused_until_ms_ = 0; ///< out of file descriptors: the listener rests until then
    AcceptFunction accept_;
    std::thread thread_;

    std::mutex tasks_mutex_;
    std::vector<Task> tasks_;
    std::vector<Task> running_tasks_;

    std::vector<Connection*> slots_; ///< index = Connection::slot; null when free
    std::vector<uint32_t> free_slots_;
    uint32_t next_serial_ = 1;
    std::atomic<size_t> load_{0}; ///< connections owned; the thread ends when it is 0 after shutdown()

    hub::Registry registry_;
    std::vector<Connection*> dirty_;
    std::vector<Connection*> reaped_;
    std::vector<Connection*> slow_;
    std::vector<uint64_t> resume_; ///< HTTP connections answered by a task: read their next request
    std::vector<char> read_buffer_;

    int64_t now_ms_ = 0;
    int64_t next_sweep_ms_ = 0;
    int64_t tick_ms_ = 1000;
    int64_t date_second_ = -1;
    std::string date_;
    bool stopping_ = false;
    int64_t drain_deadline_ms_ = 0;
};

} // namespace wsgw::transport
