#pragma once
/// Every setting of the gateway with its built-in default, in one place, and
/// loading from the INI file (etc/wsgw.ini documents each key). Startup only;
/// the loaded Settings are read-only afterwards and may be read from any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace Poco::Util {
class AbstractConfiguration;
}

namespace wsgw::config {

/// A setting is unknown, malformed or out of range; the message names the key.
class Error : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

/// What happens to an app name that wsgw-admin never registered.
enum class UnknownApps
{
    Reject, ///< subscribe answers 404, push answers 404 (default)
    Public, ///< behaves as a public app, as every app did in the original ws-gateway
};

/// SPEC §9: whose database the apps, members and grants come from.
enum class ClusterRole
{
    Primary, ///< its own database, written by wsgw-admin, shipped to the replicas
    Replica, ///< a copy of the primary's, kept in its own file
};

struct Settings
{
    using Millis = std::chrono::milliseconds;

    // [server]
    std::string address = "::"; ///< WebSocket + push; "::" is every IPv6 and IPv4 address
    uint16_t port = 5000;
    std::string stat_address = "127.0.0.1"; ///< /stat, /metrics, /healthz
    uint16_t stat_port = 6000;
    unsigned threads = 0; ///< event-loop threads; 0 = one per core

    // [http]
    int http_max_threads = 4;         ///< Poco pool threads of the stat port (the public port runs on the loops)
    int http_max_queued = 64;         ///< stat-port connections waiting for a pool thread
    int http_backlog = 4096;          ///< listen(2) backlog, sized for reconnect storms
    Millis http_header_timeout{5000}; ///< a request's header block must arrive within this (408)
    Millis http_timeout{10000};       ///< one whole request (headers + body) must arrive within this (408)
    Millis http_keep_alive_timeout{15000};
    size_t http_max_header_bytes = 16384;      ///< request line + headers; larger = 431
    size_t http_max_connections_per_ip = 1024; ///< HTTP connections (not yet WebSocket) at once per address
    size_t http_max_requests_per_s = 5000;     ///< per connection; more = 429 and close. 0 = unlimited
    std::string trusted_proxies; ///< space-separated CIDRs whose X-Forwarded-For is believed; empty = none

    // [ws]
    Millis auth_window{10000};            ///< SPEC §1: first message must arrive within this
    Millis ping_interval{30000};          ///< idle connections are pinged; silent for 2 intervals = closed
    size_t max_message_bytes = 64 * 1024; ///< SPEC §5: larger client frames/messages get 1009
    size_t max_queue_bytes = 1024 * 1024; ///< SPEC §5: outbound bytes queued per connection before 1008
    size_t send_buffer_bytes = 0;         ///< SO_SNDBUF per client socket; 0 = kernel default (autotuned)
    Millis close_timeout{2000};           ///< wait for the client's close frame after ours
    std::string allowed_origins;          ///< space-separated Origin values browsers may connect from; empty = any
    size_t max_fragments = 0;             ///< data frames per client message; 0 = max(1024, max_message_bytes / 64)

    // [limits]
    size_t max_connections = 100000;       ///< WebSocket connections at once; more get 503 before the upgrade
    size_t max_connections_per_ip = 10000; ///< from one address at once; 0 = unlimited
    size_t max_subscriptions = 256;        ///< apps one connection may subscribe to
    size_t auth_failures_per_member = 10;  ///< failed logins per (address, member) per window; 0 = unlimited
    size_t auth_failures_per_ip = 200;     ///< failed logins per address (any member) per window; 0 = unlimited
    Millis auth_failure_window{60000};
    size_t max_partial_bytes = 256ull << 20; ///< client message bytes buffered, all connections together

    // [push]
    bool push_require_key = true; ///< Authorization: Bearer <app push key> on /push
    size_t push_max_body_bytes = 1024 * 1024;

    // [auth]
    std::string jwt_secret;               ///< SPEC §6: HS256 key of member JWTs; empty = no HS256
    std::string jwt_public_key;           ///< PEM public key file (RSA = RS256, EC P-256 = ES256); empty = none
    bool jwt_require_exp = true;          ///< a JWT without exp is refused
    Millis jwt_leeway{5000};              ///< clock skew allowed on exp, nbf and iat
    std::string jwt_audience;             ///< aud must name it; empty = aud not checked
    std::string jwt_issuer;               ///< iss must equal it; empty = iss not checked
    std::string webhook_url;              ///< SPEC §6 authorizer (http:// or https://); empty = none
    Millis webhook_timeout{2000};         ///< from the login to the authorizer's whole answer
    Millis webhook_cache{30000};          ///< how long an accepted (member, token) is remembered; 0 = off
    size_t webhook_concurrency = 64;      ///< authorizer calls in flight at most; over it, 503
    bool webhook_forward_cookies = false; ///< send the upgrade's Cookie header to the authorizer
    std::string webhook_ca_file;          ///< PEM CAs trusted for an https:// authorizer besides the system's

    // [apps]
    UnknownApps unknown_apps = UnknownApps::Reject;
    Millis app_webhook_timeout{2000};     ///< SPEC §7: one call to an app's backend, from submission to its answer
    Millis app_webhook_retry{10000};      ///< how long a batch of events is retried before it is dropped
    size_t app_webhook_concurrency = 256; ///< publish and RPC calls in flight at most, all apps
    size_t app_max_queued_events = 10000; ///< events waiting per app; past it they are dropped (counted)
    size_t client_messages_per_s = 50;    ///< SPEC §7: publishes + RPCs per connection per second; 0 = unlimited

    // [stat]
    size_t presence_limit = 10000; ///< SPEC §8: member ids listed at most by /presence

    // [db]
    std::string db_path = "wsgw.db"; ///< relative paths are relative to the working directory
    Millis db_busy_timeout{5000};
    Millis db_poll_interval{250}; ///< how often PRAGMA data_version is checked

    // [cluster] (SPEC §9)
    std::string cluster_redis;           ///< space-separated HOST:PORT of the Redis servers; empty = alone
    std::string cluster_redis_password;  ///< AUTH password; empty = none
    std::string cluster_prefix = "wsgw"; ///< keys and channels are PREFIX:…
    ClusterRole cluster_role = ClusterRole::Primary;
    std::string cluster_node_name; ///< in logs, heartbeats and the replica's refusal; empty = HOSTNAME:port
    Millis cluster_timeout{2000};  ///< a Redis that does not answer within this is down (pushes get 503)

    // [shutdown]
    Millis drain_timeout{5000}; ///< SIGTERM: time to flush queued frames before exit

    /// Reads an INI file. Keys absent from the file keep their defaults; an
    /// unknown key or a bad value throws config::Error naming the key and file.
    static Settings fromFile(const std::string& path);

    /// Same, from any Poco configuration (keys "section.name").
    static Settings fromConfiguration(const Poco::Util::AbstractConfiguration& conf, const std::string& origin);

    /// Every key this version understands, "section.name", in file order.
    static std::vector<std::string> keys();

    bool operator==(const Settings&) const = default;
};

} // namespace wsgw::config
