#pragma once
/// The cluster's broker (SPEC §9, DESIGN §4): one thread with its own epoll
/// holding, per Redis server of cluster.redis, a command connection (PUBLISH,
/// heartbeats, the database image) and a subscribed connection (the app
/// channels this node has subscribers for). Loops hand it work through a
/// locked queue and an eventfd and never wait for it; whatever Redis does,
/// local delivery goes on. Public members: any thread unless noted.

#include "cluster/RedisConnection.h"
#include "cluster/ShardRing.h"
#include "hub/ClusterLink.h"
#include "hub/Metrics.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace wsgw::cluster {

class Broker : public hub::ClusterLink
{
public:
    struct Options
    {
        std::vector<ServerAddress> servers;
        std::string password;                    ///< AUTH with it when not empty
        std::string prefix;                      ///< cluster.prefix
        std::string node_id;                     ///< unique per process: skips our own echo, names our heartbeat
        std::string node_name;                   ///< what operators read (HOST:PORT)
        std::chrono::milliseconds timeout{2000}; ///< a connect or reply slower than this: the server is down
        bool database_subscriber = false;        ///< replica: follow the primary's database image
    };

    /// A push from another node, ready to frame and deliver.
    struct Received
    {
        std::string app;
        int64_t member_id = -1;
        std::string payload;
    };
    /// Gets every push received in one turn of the broker's thread, in order.
    using Sink = std::function<void(std::vector<Received>&& pushes)>;
    /// Gets a database image (the primary's, with its header) on the broker's thread.
    using DatabaseHandler = std::function<void(std::string image)>;
    using Callback = RedisConnection::Callback;

    Broker(Options options, hub::Metrics& metrics);
    ~Broker() override;

    /// Startup only, before start().
    void setSink(Sink sink) { sink_ = std::move(sink); }
    void setDatabaseHandler(DatabaseHandler handler) { database_handler_ = std::move(handler); }

    /// Starts the thread; connecting happens there, so a Redis that is down
    /// does not delay the start (pushes get 503 until it is up).
    void start();
    /// Ends the thread; waiting callbacks get null replies. Idempotent.
    void stop();

    // hub::ClusterLink
    void appActive(std::string_view app) override;
    void appIdle(std::string_view app) override;
    bool canPublish(std::string_view app) const override;
    void publish(std::vector<Item> items, Published done) override;
    std::optional<ClusterCounts> clusterCounts(std::chrono::milliseconds timeout) override;

    /// Runs ARGS on the first server's command connection (the cluster's control
    /// server: heartbeats, the database image); CALLBACK, on the broker's thread,
    /// gets the reply or null. Commands run in the order given.
    void control(std::vector<std::string> args, Callback callback = {});
    /// Primary: keeps VALUE under the database key and announces it on the
    /// database channel, now and again after every reconnect (a restarted Redis
    /// without persistence has lost it).
    void retainDatabase(std::string value);

    /// Every server's connections are up.
    bool up() const noexcept { return metrics_.cluster_broker_up.load(std::memory_order_relaxed) != 0; }
    const Options& options() const noexcept { return options_; }
    const ShardRing& ring() const noexcept { return ring_; }

private:
    struct Shard
    {
        size_t index = 0;
        std::unique_ptr<RedisConnection> cmd;
        std::unique_ptr<RedisConnection> sub;
        bool cmd_ready = false;
        bool sub_ready = false;
        std::atomic<bool> up{false};
        bool ever_up = false;
        bool reported_down = false;
        std::set<std::string> subscribed;          ///< channels SUBSCRIBEd on the live connection
        std::map<std::string, int64_t> idle_since; ///< subscribed channels nobody here wants any more
        int64_t retry_at_ms = 0;
        int64_t backoff_ms = 0;
        int64_t connect_started_ms = 0;
        int64_t last_ping_ms = 0;
        int64_t sub_ping_since_ms = 0; ///< a PING on the subscribed connection awaits its pong
    };
    struct Job;
    struct Control
    {
        std::vector<std::string> args;
        Callback callback;
    };

    void run();
    void wake();
    void turn(int64_t now);
    void connectShard(Shard& shard, int64_t now);
    void failShard(Shard& shard, const std::string& why, int64_t now);
    void shardReady(Shard& shard, int64_t now);
    void checkShard(Shard& shard, int64_t now);
    void onSubReply(Shard& shard, const redisReply& reply);
    void subscribeAll(Shard& shard);
    void sendSubscribe(Shard& shard, const char* verb, const std::vector<std::string>& channels);
    void applyInterest(const std::vector<std::pair<std::string, bool>>& changes, int64_t now);
    void runJob(const std::shared_ptr<Job>& job);
    void updateUp();
    std::string databaseChannel() const;

    Options options_;
    hub::Metrics& metrics_;
    ShardRing ring_;
    Sink sink_;
    DatabaseHandler database_handler_;
    std::vector<std::unique_ptr<Shard>> shards_;

    int epoll_fd_ = -1;
    int wake_fd_ = -1;
    std::thread thread_;
    std::atomic<bool> stopping_{false};

    // Handed over from other threads (under mutex_).
    std::mutex mutex_;
    bool wake_pending_ = false;
    std::map<std::string, int, std::less<>> interest_; ///< app -> loops with subscribers
    std::set<std::string> changed_;                    ///< apps whose interest changed since the last turn
    std::vector<std::shared_ptr<Job>> jobs_;
    std::vector<Control> controls_;
    std::optional<std::string> retained_update_;

    // Broker thread only.
    std::set<std::string> wanted_; ///< apps with local subscribers
    std::optional<std::string> retained_;
    std::vector<Received> inbox_;
    uint64_t seed_ = 0;
};

} // namespace wsgw::cluster
