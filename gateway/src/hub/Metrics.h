#pragma once
/// Process-wide counters for /stat?format=json and /metrics. Any thread:
/// relaxed atomics, updated per connection event or per push per loop, never
/// per delivery.

#include <atomic>
#include <cstdint>

namespace wsgw::hub {

struct Metrics
{
    // Gauges.
    std::atomic<int64_t> connections{0};   ///< open WebSocket connections
    std::atomic<int64_t> authenticated{0}; ///< of which authenticated members
    std::atomic<int64_t> anonymous{0};     ///< of which anonymous (pending auth counts as neither)

    // Counters.
    std::atomic<uint64_t> connections_total{0};
    std::atomic<uint64_t> connections_refused{0};
    std::atomic<uint64_t> pushes_accepted{0};
    std::atomic<uint64_t> pushes_rejected{0};
    std::atomic<uint64_t> deliveries{0};
    std::atomic<uint64_t> slow_consumer_closes{0};
    std::atomic<uint64_t> auth_failures{0};
    std::atomic<uint64_t> auth_timeouts{0};
    std::atomic<uint64_t> protocol_errors{0};
    std::atomic<uint64_t> idle_timeouts{0};
    std::atomic<uint64_t> revoked_closes{0};
    std::atomic<uint64_t> token_expired_closes{0};    ///< SPEC §6: JWT sessions ended at their exp
    std::atomic<uint64_t> auth_webhook_calls{0};      ///< SPEC §6: logins sent to the authorizer
    std::atomic<uint64_t> auth_webhook_cache_hits{0}; ///< logins the authorizer's cached answer accepted
    std::atomic<uint64_t> auth_unavailable{0};        ///< logins answered 503: authorizer down, slow or saturated
    std::atomic<uint64_t> client_publishes{0};        ///< SPEC §7: client messages delivered to an app's subscribers
    std::atomic<uint64_t> rpcs{0};                    ///< RPCs answered (any code)
    std::atomic<uint64_t> backend_calls{0};           ///< publish and RPC calls sent to app backends
    std::atomic<uint64_t> backend_failures{0};        ///< of which failed: no answer in time, unreachable, saturated
    std::atomic<uint64_t> backend_events_sent{0};     ///< subscription events an app backend took (2xx)
    std::atomic<uint64_t> backend_events_dropped{
        0}; ///< events dropped: queue full, or retried past apps.webhook_retry_ms

    // Cluster (SPEC §9), shown only when cluster.redis is set.
    std::atomic<int64_t> cluster_broker_up{0};    ///< 1 while every Redis server is connected
    std::atomic<int64_t> cluster_nodes{0};        ///< live nodes seen in the last heartbeat scan
    std::atomic<int64_t> cluster_rtt_us{0};       ///< the latest PING round trip, slowest server
    std::atomic<uint64_t> cluster_published{0};   ///< pushes published to Redis (answered by it)
    std::atomic<uint64_t> cluster_received{0};    ///< pushes received from other nodes
    std::atomic<uint64_t> cluster_unavailable{0}; ///< pushes answered 503: a Redis server down
    std::atomic<uint64_t> cluster_reconnects{0};  ///< connections to Redis made again after a loss
    std::atomic<uint64_t> cluster_db_applied{0};  ///< replica: database images copied in

    static void add(std::atomic<uint64_t>& counter, uint64_t n = 1) { counter.fetch_add(n, std::memory_order_relaxed); }
    static void add(std::atomic<int64_t>& gauge, int64_t n) { gauge.fetch_add(n, std::memory_order_relaxed); }
    template <typename T>
    static T get(const std::atomic<T>& value)
    {
        return value.load(std::memory_order_relaxed);
    }
};

} // namespace wsgw::hub
