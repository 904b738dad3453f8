#include "cluster/Broker.h"

#include "cluster/WireMessage.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <future>
#include <random>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <system_error>
#include <unistd.h>

namespace wsgw::cluster {

namespace {

constexpr uint64_t kWakeTag = ~uint64_t{0};
constexpr int kMaxEvents = 64;
constexpr int64_t kTickMs = 50;
constexpr int64_t kPingIntervalMs = 1000;
constexpr int64_t kFirstBackoffMs = 100;
constexpr int64_t kMaxBackoffMs = 2000;       // SPEC §9 and the issue: a Redis restart heals within 10 s
constexpr int64_t kUnsubscribeLingerMs = 200; // a lone subscriber that reconnects costs no UNSUBSCRIBE/SUBSCRIBE pair
constexpr size_t kChannelsPerCommand = 256;   // resubscribing 10,000 apps is 40 commands, not 10,000

Poco::Logger& logger()
{
    return Poco::Logger::get("wsgw.cluster");
}

int64_t monotonicMs()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

} // namespace

/// One publish request: its items, in order, and what Redis answered for each.
struct Broker::Job
{
    struct Entry
    {
        size_t shard;
        std::string channel;
        std::string bytes;
    };
    std::vector<Entry> entries;
    std::vector<int64_t> nodes;
    size_t remaining = 0;
    Published done;
};

Broker::Broker(Options options, hub::Metrics& metrics)
    : options_(std::move(options)), metrics_(metrics), ring_(options_.servers)
{
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd_ < 0 || wake_fd_ < 0)
        throw std::system_error(errno, std::generic_category(), "broker epoll/eventfd");
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = kWakeTag;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event);
    seed_ = std::random_device{}();
    for (size_t i = 0; i < ring_.size(); ++i)
    {
        auto shard = std::make_unique<Shard>();
        shard->index = i;
        shards_.push_back(std::move(shard));
    }
}

Broker::~Broker()
{
    stop();
    ::close(wake_fd_);
    ::close(epoll_fd_);
}

void Broker::start()
{
    thread_ = std::thread([this] { run(); });
}

void Broker::stop()
{
    if (stopping_.exchange(true))
        return;
    wake();
    if (thread_.joinable())
        thread_.join();
    for (auto& shard : shards_)
    {
        // Close after the thread ended: waiting callbacks get null replies here.
        if (shard->cmd)
            shard->cmd->close("shutting down");
        if (shard->sub)
            shard->sub->close("shutting down");
    }
    std::vector<std::shared_ptr<Job>> jobs;
    std::vector<Control> controls;
    {
        std::lock_guard lock(mutex_);
        jobs.swap(jobs_);
        controls.swap(controls_);
    }
    for (auto& job : jobs)
        job->done(std::vector<int64_t>(job->entries.size(), -1));
    for (auto& control : controls)
    {
        if (control.callback)
            control.callback(nullptr);
    }
}

void Broker::wake()
{
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
}

std::string Broker::databaseChannel() const
{
    return databaseKey(options_.prefix);
}

void Broker::appActive(std::string_view app)
{
    std::lock_guard lock(mutex_);
    auto it = interest_.find(app);
    if (it == interest_.end())
        it = interest_.emplace(std::string(app), 0).first;
    if (it->second++ == 0)
        changed_.insert(it->first);
    if (!wake_pending_)
    {
        wake_pending_ = true;
        wake();
    }
}

void Broker::appIdle(std::string_view app)
{
    std::lock_guard lock(mutex_);
    auto it = interest_.find(app);
    if (it == interest_.end())
        return;
    if (--it->second == 0)
    {
        changed_.insert(it->first);
        interest_.erase(it);
        if (!wake_pending_)
        {
            wake_pending_ = true;
            wake();
        }
    }
}

bool Broker::canPublish(std::string_view app) const
{
    return shards_[ring_.shardOf(app)]->up.load(std::memory_order_acquire);
}

void Broker::publish(std::vector<Item> items, Published done)
{
    auto job = std::make_shared<Job>();
    job->entries.reserve(items.size());
    for (const auto& item : items)
    {
        // Encoded here, on the publishing loop, so the broker's thread only writes.
        job->entries.push_back({ring_.shardOf(item.app), appChannel(options_.prefix, item.app),
                                encodeWire(options_.node_id, item.member_id, item.payload)});
    }
    job->nodes.assign(items.size(), -1);
    job->remaining = items.size();
    job->done = std::move(done);
    if (stopping_)
    {
        job->done(job->nodes);
        return;
    }
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
    if (!wake_pending_)
    {
        wake_pending_ = true;
        wake();
    }
}

void Broker::control(std::vector<std::string> args, Callback callback)
{
    std::lock_guard lock(mutex_);
    controls_.push_back({std::move(args), std::move(callback)});
    if (!wake_pending_)
    {
        wake_pending_ = true;
        wake();
    }
}

void Broker::retainDatabase(std::string value)
{
    std::lock_guard lock(mutex_);
    retained_update_ = std::move(value);
    if (!wake_pending_)
    {
        wake_pending_ = true;
        wake();
    }
}

void Broker::run()
{
    epoll_event events[kMaxEvents];
    for (auto& shard : shards_)
        connectShard(*shard, monotonicMs());
    while (!stopping_.load(std::memory_order_acquire))
    {
        int n = ::epoll_wait(epoll_fd_, events, kMaxEvents, static_cast<int>(kTickMs));
        int64_t now = monotonicMs();
        for (int i = 0; i < n; ++i)
        {
            uint64_t tag = events[i].data.u64;
            if (tag == kWakeTag)
            {
                uint64_t count = 0;
                [[maybe_unused]] auto r = ::read(wake_fd_, &count, sizeof(count));
                continue;
            }
            Shard& shard = *shards_[tag / 2];
            RedisConnection* connection = (tag % 2 == 0) ? shard.cmd.get() : shard.sub.get();
            if (connection && connection->state() != RedisConnection::State::Closed)
                connection->onEvent(events[i].events, now);
        }
        turn(now);
    }
    // One last turn: what was queued before stop() (a heartbeat's DEL) goes out.
    turn(monotonicMs());
}

void Broker::turn(int64_t now)
{
    std::vector<std::pair<std::string, bool>> changes;
    std::vector<std::shared_ptr<Job>> jobs;
    std::vector<Control> controls;
    std::optional<std::string> retained;
    {
        std::lock_guard lock(mutex_);
        wake_pending_ = false;
        for (const auto& app : changed_)
            changes.emplace_back(app, interest_.count(app) > 0);
        changed_.clear();
        jobs.swap(jobs_);
        controls.swap(controls_);
        retained.swap(retained_update_);
    }
    if (!changes.empty())
        applyInterest(changes, now);
    for (const auto& job : jobs)
        runJob(job);
    Shard& control_shard = *shards_.front();
    for (auto& control : controls)
    {
        if (!control_shard.up)
        {
            if (control.callback)
                control.callback(nullptr);
            continue;
        }
        std::vector<std::string_view> args(control.args.begin(), control.args.end());
        control_shard.cmd->command(args, std::move(control.callback));
    }
    if (retained)
    {
        retained_ = std::move(retained);
        if (control_shard.up)
        {
            std::string key = databaseKey(options_.prefix);
            control_shard.cmd->command({"SET", key, *retained_}, {});
            control_shard.cmd->command({"PUBLISH", databaseChannel(), *retained_}, {});
        }
    }
    for (auto& shard : shards_)
        checkShard(*shard, now);
    if (!inbox_.empty())
    {
        hub::Metrics::add(metrics_.cluster_received, inbox_.size());
        if (sink_)
            sink_(std::move(inbox_));
        inbox_.clear();
    }
    // Everything queued in this turn goes out now: one write per connection.
    for (auto& shard : shards_)
    {
        if (shard->cmd)
            shard->cmd->flush();
        if (shard->sub)
            shard->sub->flush();
    }
}

void Broker::connectShard(Shard& shard, int64_t now)
{
    const auto& server = ring_.servers()[shard.index];
    shard.cmd = std::make_unique<RedisConnection>(server.host, server.port, epoll_fd_, shard.index * 2);
    shard.sub = std::make_unique<RedisConnection>(server.host, server.port, epoll_fd_, shard.index * 2 + 1);
    shard.cmd_ready = false;
    shard.sub_ready = false;
    shard.subscribed.clear();
    shard.idle_since.clear();
    shard.connect_started_ms = now;
    shard.sub_ping_since_ms = 0;
    Shard* s = &shard;
    // Each connection proves itself with a PING (after AUTH when a password is
    // set): a port that accepts but is not a Redis, or refuses our password,
    // never counts as up.
    auto hello = [this, s](RedisConnection& connection, bool& ready) {
        if (!options_.password.empty())
        {
            connection.command({"AUTH", options_.password}, [&connection](const redisReply* reply) {
                if (reply && reply->type == REDIS_REPLY_ERROR)
                    connection.close("AUTH refused: " + std::string(replyText(reply)));
            });
        }
        connection.command({"PING"}, [this, s, &connection, &ready](const redisReply* reply) {
            if (!reply)
                return;
            if (reply->type == REDIS_REPLY_ERROR)
            {
                connection.close(std::string(replyText(reply)));
                return;
            }
            ready = true;
            if (s->cmd_ready && s->sub_ready)
                shardReady(*s, monotonicMs());
        });
    };
    shard.cmd->setConnectedHandler([hello, s] { hello(*s->cmd, s->cmd_ready); });
    shard.sub->setConnectedHandler([hello, s] { hello(*s->sub, s->sub_ready); });
    shard.sub->setPushHandler([this, s](const redisReply& reply) { onSubReply(*s, reply); });
    if (!shard.cmd->connect(now) || !shard.sub->connect(now))
        failShard(shard, shard.cmd->error().empty() ? shard.sub->error() : shard.cmd->error(), now);
}

void Broker::failShard(Shard& shard, const std::string& why, int64_t now)
{
    if (shard.cmd)
        shard.cmd->close(why);
    if (shard.sub)
        shard.sub->close(why);
    shard.cmd_ready = false;
    shard.sub_ready = false;
    shard.subscribed.clear();
    shard.idle_since.clear();
    shard.up.store(false, std::memory_order_release);
    updateUp();
    if (!shard.reported_down)
    {
        logger().warning("redis %s unavailable (%s): pushes to its apps get 503 until it is back; reconnecting",
                         ring_.servers()[shard.index].text(), why);
        shard.reported_down = true;
    }
    // Jittered exponential backoff: nodes that lost the same Redis do not all
    // come back in the same millisecond.
    shard.backoff_ms = shard.backoff_ms == 0 ? kFirstBackoffMs : std::min(kMaxBackoffMs, shard.backoff_ms * 2);
    seed_ = seed_ * 6364136223846793005ULL + 1442695040888963407ULL;
    int64_t jitter = static_cast<int64_t>((seed_ >> 33) % static_cast<uint64_t>(shard.backoff_ms / 2 + 1));
    shard.retry_at_ms = now + shard.backoff_ms / 2 + jitter;
    // The connection objects stay until the retry (their callbacks may be on the stack).
}

void Broker::shardReady(Shard& shard, int64_t now)
{
    shard.up.store(true, std::memory_order_release);
    shard.backoff_ms = 0;
    shard.last_ping_ms = now;
    if (shard.ever_up)
        hub::Metrics::add(metrics_.cluster_reconnects);
    if (shard.reported_down || !shard.ever_up)
        logger().notice("redis %s connected", ring_.servers()[shard.index].text());
    shard.ever_up = true;
    shard.reported_down = false;
    subscribeAll(shard);
    if (shard.index == 0)
    {
        std::string key = databaseKey(options_.prefix);
        if (retained_)
        {
            shard.cmd->command({"SET", key, *retained_}, {});
            shard.cmd->command({"PUBLISH", databaseChannel(), *retained_}, {});
        }
        if (options_.database_subscriber)
        {
            // Subscribed first (subscribeAll), then read: a change published in
            // between arrives as a message, so none is missed.
            shard.cmd->command({"GET", key}, [this](const redisReply* reply) {
                if (reply && reply->type == REDIS_REPLY_STRING && database_handler_)
                    database_handler_(std::string(reply->str, reply->len));
            });
        }
    }
    updateUp();
}

void Broker::updateUp()
{
    bool all = true;
    for (const auto& shard : shards_)
        all = all && shard->up.load(std::memory_order_relaxed);
    metrics_.cluster_broker_up.store(all ? 1 : 0, std::memory_order_relaxed);
}

void Broker::sendSubscribe(Shard& shard, const char* verb, const std::vector<std::string>& channels)
{
    for (size_t start = 0; start < channels.size(); start += kChannelsPerCommand)
    {
        std::vector<std::string_view> args{verb};
        for (size_t i = start; i < std::min(channels.size(), start + kChannelsPerCommand); ++i)
            args.emplace_back(channels[i]);
        shard.sub->commandNoReply(args);
    }
}

void Broker::subscribeAll(Shard& shard)
{
    std::vector<std::string> channels;
    if (shard.index == 0 && options_.database_subscriber)
        channels.push_back(databaseChannel());
    for (const auto& app : wanted_)
    {
        if (ring_.shardOf(app) == shard.index)
            channels.push_back(appChannel(options_.prefix, app));
    }
    for (const auto& channel : channels)
        shard.subscribed.insert(channel);
    sendSubscribe(shard, "SUBSCRIBE", channels);
}

void Broker::applyInterest(const std::vector<std::pair<std::string, bool>>& changes, int64_t now)
{
    std::vector<std::vector<std::string>> subscribe(shards_.size());
    for (const auto& [app, wanted] : changes)
    {
        Shard& shard = *shards_[ring_.shardOf(app)];
        std::string channel = appChannel(options_.prefix, app);
        if (wanted)
        {
            wanted_.insert(app);
            shard.idle_since.erase(channel);
            if (shard.up && shard.subscribed.insert(channel).second)
                subscribe[shard.index].push_back(std::move(channel));
        }
        else
        {
            wanted_.erase(app);
            if (shard.subscribed.count(channel))
                shard.idle_since.emplace(std::move(channel), now);
        }
    }
    for (size_t i = 0; i < shards_.size(); ++i)
    {
        if (!subscribe[i].empty())
            sendSubscribe(*shards_[i], "SUBSCRIBE", subscribe[i]);
    }
}

void Broker::runJob(const std::shared_ptr<Job>& job)
{
    for (size_t i = 0; i < job->entries.size(); ++i)
    {
        auto& entry = job->entries[i];
        Shard& shard = *shards_[entry.shard];
        if (!shard.up)
        {
            --job->remaining;
            continue;
        }
        shard.cmd->command({"PUBLISH", entry.channel, entry.bytes}, [this, job, i](const redisReply* reply) {
            if (reply && reply->type == REDIS_REPLY_INTEGER)
            {
                job->nodes[i] = reply->integer;
                hub::Metrics::add(metrics_.cluster_published);
            }
            if (--job->remaining == 0)
                job->done(job->nodes);
        });
    }
    if (job->remaining == 0)
        job->done(job->nodes);
}

void Broker::checkShard(Shard& shard, int64_t now)
{
    if (!shard.cmd || !shard.sub)
        return;
    const bool cmd_closed = shard.cmd->state() == RedisConnection::State::Closed;
    if (cmd_closed || shard.sub->state() == RedisConnection::State::Closed)
    {
        if (shard.retry_at_ms == 0)
            failShard(shard, cmd_closed ? shard.cmd->error() : shard.sub->error(), now); // schedules the retry
        else if (now >= shard.retry_at_ms)
        {
            shard.retry_at_ms = 0;
            connectShard(shard, now);
        }
        return;
    }
    if (!shard.up)
    {
        if (now - shard.connect_started_ms > options_.timeout.count())
            failShard(shard, "no answer within " + std::to_string(options_.timeout.count()) + " ms", now);
        return;
    }
    // A server that stops answering is down after the timeout, whether or not
    // its TCP connection says so: pending pushes get 503 and we reconnect.
    int64_t oldest = shard.cmd->oldestPendingMs();
    if (oldest != 0 && now - oldest > options_.timeout.count())
    {
        failShard(shard, "no reply within " + std::to_string(options_.timeout.count()) + " ms", now);
        return;
    }
    if (shard.sub_ping_since_ms != 0 && now - shard.sub_ping_since_ms > options_.timeout.count())
    {
        failShard(shard,
                  "no pong on the subscribed connection within " + std::to_string(options_.timeout.count()) + " ms",
                  now);
        return;
    }
    if (now - shard.last_ping_ms >= kPingIntervalMs)
    {
        shard.last_ping_ms = now;
        auto sent = std::chrono::steady_clock::now();
        shard.cmd->command({"PING"}, [this, sent](const redisReply* reply) {
            if (!reply)
                return;
            auto rtt = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - sent);
            metrics_.cluster_rtt_us.store(rtt.count(), std::memory_order_relaxed);
        });
        if (shard.sub_ping_since_ms == 0)
        {
            shard.sub_ping_since_ms = now;
            shard.sub->commandNoReply({"PING"});
        }
    }
    // Unsubscribe, in batches, from what nobody here has wanted for a moment.
    std::vector<std::string> unsubscribe;
    for (auto it = shard.idle_since.begin(); it != shard.idle_since.end();)
    {
        if (now - it->second >= kUnsubscribeLingerMs)
        {
            shard.subscribed.erase(it->first);
            unsubscribe.push_back(it->first);
            it = shard.idle_since.erase(it);
        }
        else
            ++it;
    }
    if (!unsubscribe.empty())
        sendSubscribe(shard, "UNSUBSCRIBE", unsubscribe);
}

void Broker::onSubReply(Shard& shard, const redisReply& reply)
{
    // PING answers +PONG while the connection is subscribed to nothing, and
    // ["pong", ""] once it is subscribed.
    if (reply.type == REDIS_REPLY_STATUS && replyText(&reply) == "PONG")
    {
        shard.sub_ping_since_ms = 0;
        return;
    }
    if (reply.type != REDIS_REPLY_ARRAY || reply.elements < 2)
        return;
    auto kind = replyText(reply.element[0]);
    if (kind == "message" && reply.elements >= 3)
    {
        auto channel = replyText(reply.element[1]);
        auto bytes = replyText(reply.element[2]);
        if (auto app = appOfChannel(options_.prefix, channel))
        {
            auto message = decodeWire(bytes);
            // Our own pushes come back too: they were delivered here already.
            if (!message || message->node == options_.node_id)
                return;
            inbox_.push_back({std::string(*app), message->member_id, std::string(message->payload)});
        }
        else if (channel == databaseChannel() && database_handler_)
            database_handler_(std::string(bytes));
    }
    else if (kind == "pong")
        shard.sub_ping_since_ms = 0;
}

std::optional<hub::ClusterLink::ClusterCounts> Broker::clusterCounts(std::chrono::milliseconds timeout)
{
    // SCAN for the heartbeat keys (the control server holds nothing else but the
    // database key), then HGETALL each; all on the broker's thread, chained.
    struct Query
    {
        std::promise<std::optional<ClusterCounts>> promise;
        ClusterCounts counts;
        size_t remaining = 0;
        bool failed = false;
    };
    auto query = std::make_shared<Query>();
    auto future = query->promise.get_future();
    const std::string pattern = nodeKey(options_.prefix, "*");
    auto read_nodes = std::make_shared<std::function<void(std::vector<std::string>)>>();
    *read_nodes = [this, query](std::vector<std::string> keys) {
        query->counts.nodes = static_cast<int64_t>(keys.size());
        if (keys.empty())
        {
            query->promise.set_value(query->counts);
            return;
        }
        query->remaining = keys.size();
        for (const auto& key : keys)
        {
            control({"HGETALL", key}, [query](const redisReply* reply) {
                if (!reply || reply->type != REDIS_REPLY_ARRAY)
                    query->failed = true;
                else
                {
                    for (size_t i = 0; i + 1 < reply->elements; i += 2)
                    {
                        auto field = replyText(reply->element[i]);
                        auto value = replyText(reply->element[i + 1]);
                        if (field.size() < 3 || field[1] != ':')
                            continue;
                        auto& app = query->counts.apps[std::string(field.substr(2))];
                        if (field[0] == 'p')
                        {
                            // A comma-separated list of member ids (presence).
                            std::string list(value);
                            for (size_t at = 0; at < list.size();)
                            {
                                size_t end = list.find(',', at);
                                if (end == std::string::npos)
                                    end = list.size();
                                if (end > at)
                                    app.member_ids.insert(std::atoll(list.substr(at, end - at).c_str()));
                                at = end + 1;
                            }
                            continue;
                        }
                        int64_t n = std::atoll(std::string(value).c_str());
                        if (field[0] == 'c')
                            app.connections += n;
                        else if (field[0] == 'm')
                            app.members += n;
                        else if (field[0] == 'a')
                            app.anonymous += n;
                    }
                }
                if (--query->remaining == 0)
                {
                    if (query->failed)
                        query->promise.set_value(std::nullopt);
                    else
                        query->promise.set_value(query->counts);
                }
            });
        }
    };
    auto keys = std::make_shared<std::vector<std::string>>();
    auto scan = std::make_shared<std::function<void(std::string)>>();
    *scan = [this, query, pattern, keys, scan, read_nodes](std::string cursor) {
        control({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"},
                [query, keys, scan, read_nodes](const redisReply* reply) {
                    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
                    {
                        query->promise.set_value(std::nullopt);
                        *scan = nullptr; // breaks the cycle
                        return;
                    }
                    for (size_t i = 0; i < reply->element[1]->elements; ++i)
                        keys->emplace_back(replyText(reply->element[1]->element[i]));
                    std::string next(replyText(reply->element[0]));
                    if (next == "0")
                    {
                        *scan = nullptr;
                        (*read_nodes)(std::move(*keys));
                        return;
                    }
                    (*scan)(next);
                });
    };
    (*scan)("0");
    if (future.wait_for(timeout) != std::future_status::ready)
        return std::nullopt;
    return future.get();
}

} // namespace wsgw::cluster
