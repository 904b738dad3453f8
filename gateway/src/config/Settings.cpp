#include "config/Settings.h"

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/Util/IniFileConfiguration.h>

#include <charconv>
#include <functional>
#include <limits>

namespace wsgw::config {

namespace {

using Setter = std::function<void(Settings&, const std::string& value, const std::string& where)>;

struct Key
{
    const char* name;
    Setter set;
};

int64_t parseInteger(const std::string& value, const std::string& where, int64_t min, int64_t max)
{
    int64_t number = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (ec != std::errc() || end != value.data() + value.size())
        throw Error(where + ": '" + value + "' is not an integer");
    if (number < min || number > max)
        throw Error(where + ": " + value + " is out of range [" + std::to_string(min) + ", " + std::to_string(max) +
                    "]");
    return number;
}

template <typename T>
Setter integer(T Settings::*member, int64_t min, int64_t max)
{
    return [member, min, max](Settings& s, const std::string& value, const std::string& where) {
        s.*member = static_cast<T>(parseInteger(value, where, min, max));
    };
}

Setter millis(Settings::Millis Settings::*member, int64_t min, int64_t max)
{
    return [member, min, max](Settings& s, const std::string& value, const std::string& where) {
        s.*member = Settings::Millis(parseInteger(value, where, min, max));
    };
}

Setter text(std::string Settings::*member)
{
    return [member](Settings& s, const std::string& value, const std::string& where) {
        if (value.empty())
            throw Error(where + ": must not be empty");
        s.*member = value;
    };
}

/// A text setting where empty means "off".
Setter optionalText(std::string Settings::*member)
{
    return [member](Settings& s, const std::string& value, const std::string&) { s.*member = value; };
}

Setter boolean(bool Settings::*member)
{
    return [member](Settings& s, const std::string& value, const std::string& where) {
        if (value == "true" || value == "on" || value == "yes" || value == "1")
            s.*member = true;
        else if (value == "false" || value == "off" || value == "no" || value == "0")
            s.*member = false;
        else
            throw Error(where + ": '" + value + "' is not true or false");
    };
}

constexpr int64_t kDay = 24LL * 3600 * 1000;
constexpr int64_t kGiB = 1LL << 30;

const std::vector<Key>& table()
{
    static const std::vector<Key> keys = {
        {"server.address", text(&Settings::address)},
        {"server.port", integer(&Settings::port, 0, 65535)},
        {"server.stat_address", text(&Settings::stat_address)},
        {"server.stat_port", integer(&Settings::stat_port, 0, 65535)},
        {"server.threads", integer(&Settings::threads, 0, 256)},
        {"http.max_threads", integer(&Settings::http_max_threads, 1, 1024)},
        {"http.max_queued", integer(&Settings::http_max_queued, 1, 1 << 20)},
        {"http.backlog", integer(&Settings::http_backlog, 1, 1 << 20)},
        {"http.header_timeout_ms", millis(&Settings::http_header_timeout, 1, kDay)},
        {"http.timeout_ms", millis(&Settings::http_timeout, 1, kDay)},
        {"http.keep_alive_timeout_ms", millis(&Settings::http_keep_alive_timeout, 1, kDay)},
        {"http.max_header_bytes", integer(&Settings::http_max_header_bytes, 1024, 1 << 20)},
        {"http.max_connections_per_ip", integer(&Settings::http_max_connections_per_ip, 0, 1LL << 32)},
        {"http.max_requests_per_s", integer(&Settings::http_max_requests_per_s, 0, 1LL << 32)},
        {"http.trusted_proxies",
         [](Settings& s, const std::string& value, const std::string&) { s.trusted_proxies = value; }},
        {"ws.auth_window_ms", millis(&Settings::auth_window, 1, kDay)},
        {"ws.ping_interval_ms", millis(&Settings::ping_interval, 1, kDay)},
        {"ws.max_message_bytes", integer(&Settings::max_message_bytes, 125, kGiB)},
        {"ws.max_queue_bytes", integer(&Settings::max_queue_bytes, 1024, kGiB)},
        {"ws.send_buffer_bytes", integer(&Settings::send_buffer_bytes, 0, kGiB)},
        {"ws.close_timeout_ms", millis(&Settings::close_timeout, 1, kDay)},
        {"ws.allowed_origins",
         [](Settings& s, const std::string& value, const std::string&) { s.allowed_origins = value; }},
        {"ws.max_fragments", integer(&Settings::max_fragments, 0, 1LL << 32)},
        {"limits.max_connections", integer(&Settings::max_connections, 0, 1LL << 32)},
        {"limits.max_connections_per_ip", integer(&Settings::max_connections_per_ip, 0, 1LL << 32)},
        {"limits.max_subscriptions", integer(&Settings::max_subscriptions, 1, 1 << 20)},
        {"limits.auth_failures_per_member", integer(&Settings::auth_failures_per_member, 0, 1LL << 32)},
        {"limits.auth_failures_per_ip", integer(&Settings::auth_failures_per_ip, 0, 1LL << 32)},
        {"limits.auth_failure_window_ms", millis(&Settings::auth_failure_window, 1, kDay)},
        {"limits.max_partial_bytes", integer(&Settings::max_partial_bytes, 0, 1LL << 40)},
        {"push.require_key", boolean(&Settings::push_require_key)},
        {"push.max_body_bytes", integer(&Settings::push_max_body_bytes, 1024, kGiB)},
        {"auth.jwt_secret", optionalText(&Settings::jwt_secret)},
        {"auth.jwt_public_key", optionalText(&Settings::jwt_public_key)},
        {"auth.jwt_require_exp", boolean(&Settings::jwt_require_exp)},
        {"auth.jwt_leeway_ms", millis(&Settings::jwt_leeway, 0, kDay)},
        {"auth.jwt_audience", optionalText(&Settings::jwt_audience)},
        {"auth.jwt_issuer", optionalText(&Settings::jwt_issuer)},
        {"auth.webhook_url", optionalText(&Settings::webhook_url)},
        {"auth.webhook_timeout_ms", millis(&Settings::webhook_timeout, 1, 600000)},
        {"auth.webhook_cache_ms", millis(&Settings::webhook_cache, 0, kDay)},
        {"auth.webhook_concurrency", integer(&Settings::webhook_concurrency, 1, 4096)},
        {"auth.webhook_forward_cookies", boolean(&Settings::webhook_forward_cookies)},
        {"auth.webhook_ca_file", optionalText(&Settings::webhook_ca_file)},
        {"apps.unknown",
         [](Settings& s, const std::string& value, const std::string& where) {
             if (value == "reject")
                 s.unknown_apps = UnknownApps::Reject;
             else if (value == "public")
                 s.unknown_apps = UnknownApps::Public;
             else
                 throw Error(where + ": '" + value + "' is not reject or public");
         }},
        {"apps.webhook_timeout_ms", millis(&Settings::app_webhook_timeout, 1, 600000)},
        {"apps.webhook_retry_ms", millis(&Settings::app_webhook_retry, 0, kDay)},
        {"apps.webhook_concurrency", integer(&Settings::app_webhook_concurrency, 1, 4096)},
        {"apps.max_queued_events", integer(&Settings::app_max_queued_events, 1, 1LL << 30)},
        {"limits.client_messages_per_s", integer(&Settings::client_messages_per_s, 0, 1LL << 32)},
        {"stat.presence_limit", integer(&Settings::presence_limit, 0, 1LL << 30)},
        {"db.path", text(&Settings::db_path)},
        {"db.busy_timeout_ms", millis(&Settings::db_busy_timeout, 0, kDay)},
        {"db.poll_interval_ms", millis(&Settings::db_poll_interval, 10, 60000)},
        {"cluster.redis", optionalText(&Settings::cluster_redis)},
        {"cluster.redis_password", optionalText(&Settings::cluster_redis_password)},
        {"cluster.prefix",
         [](Settings& s, const std::string& value, const std::string& where) {
             if (value.empty() || value.find_first_of(" \t\r\n*?[]") != std::string::npos)
                 throw Error(where + ": '" + value + "' must be a non-empty word without spaces or glob characters");
             s.cluster_prefix = value;
         }},
        {"cluster.role",
         [](Settings& s, const std::string& value, const std::string& where) {
             if (value == "primary")
                 s.cluster_role = ClusterRole::Primary;
             else if (value == "replica")
                 s.cluster_role = ClusterRole::Replica;
             else
                 throw Error(where + ": '" + value + "' is not primary or replica");
         }},
        {"cluster.node_name", optionalText(&Settings::cluster_node_name)},
        {"cluster.timeout_ms", millis(&Settings::cluster_timeout, 10, kDay)},
        {"shutdown.drain_timeout_ms", millis(&Settings::drain_timeout, 0, kDay)},
    };
    return keys;
}

void collectKeys(const Poco::Util::AbstractConfiguration& conf, const std::string& prefix,
                 std::vector<std::string>& out)
{
    Poco::Util::AbstractConfiguration::Keys children;
    conf.keys(prefix, children);
    if (children.empty() && !prefix.empty())
    {
        out.push_back(prefix);
        return;
    }
    for (const auto& child : children)
        collectKeys(conf, prefix.empty() ? child : prefix + "." + child, out);
}

} // namespace

std::vector<std::string> Settings::keys()
{
    std::vector<std::string> names;
    for (const auto& key : table())
        names.emplace_back(key.name);
    return names;
}

Settings Settings::fromConfiguration(const Poco::Util::AbstractConfiguration& conf, const std::string& origin)
{
    Settings settings;
    std::vector<std::string> present;
    collectKeys(conf, "", present);
    for (const auto& name : present)
    {
        const Key* key = nullptr;
        for (const auto& candidate : table())
        {
            if (name == candidate.name)
                key = &candidate;
        }
        if (!key)
            throw Error(origin + ": unknown setting '" + name + "' (etc/wsgw.ini lists every setting)");
        std::string value = conf.getRawString(name);
        key->set(settings, value, origin + ": " + name);
    }
    return settings;
}

Settings Settings::fromFile(const std::string& path)
{
    Poco::AutoPtr<Poco::Util::IniFileConfiguration> conf;
    try
    {
        conf = new Poco::Util::IniFileConfiguration(path);
    }
    catch (const Poco::Exception& e)
    {
        throw Error("cannot read configuration '" + path + "': " + e.displayText());
    }
    return fromConfiguration(*conf, path);
}

} // namespace wsgw::config
