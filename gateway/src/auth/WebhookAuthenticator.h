#pragma once
/// The authorizer webhook (SPEC §6, the wsify model) as an Authenticator: a
/// login no other method accepted is POSTed to auth.webhook_url through the
/// outbound pool; its answer comes back later. Accepted answers are cached per
/// (member id, token digest) for auth.webhook_cache_ms. check() any thread
/// (loop threads); construction and stop() startup/shutdown only.

#include "auth/Authenticator.h"
#include "config/Settings.h"
#include "hub/Metrics.h"
#include "outbound/HttpCaller.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace wsgw::auth {

class WebhookAuthenticator final : public Authenticator
{
public:
    using Clock = std::chrono::steady_clock;

    /// Throws config::Error naming the setting when auth.webhook_url or
    /// auth.webhook_ca_file is unusable. METRICS must outlive this.
    WebhookAuthenticator(const config::Settings& settings, hub::Metrics& metrics);
    /// The authorizer the settings configure, or null when auth.webhook_url is empty.
    static std::unique_ptr<WebhookAuthenticator> fromSettings(const config::Settings& settings, hub::Metrics& metrics);

    std::optional<Verdict> check(const Login& login, const Later& later) override;

    /// The request body for LOGIN (SPEC §6). Exposed for tests.
    static std::string requestBody(const Login& login);
    /// What an answer means (SPEC §6). Exposed for tests.
    static Verdict interpret(const outbound::CallResult& result);

    /// Ends the outbound workers; answers still under way are delivered first. Idempotent.
    void stop() { caller_.stop(); }
    size_t inFlight() const noexcept { return caller_.inFlight(); }

private:
    struct Cached
    {
        std::vector<std::string> apps;
        Clock::time_point until;
    };

    static std::string cacheKey(const Login& login);
    std::optional<Verdict> cached(const std::string& key);
    void remember(const std::string& key, const Verdict& verdict);
    void logUnavailable(const Verdict& verdict);

    std::shared_ptr<const outbound::Endpoint> endpoint_;
    std::chrono::milliseconds timeout_;
    std::chrono::milliseconds cache_ttl_;
    hub::Metrics& metrics_;
    outbound::HttpCaller caller_;

    std::mutex cache_mutex_;
    std::unordered_map<std::string, Cached> cache_;
    Clock::time_point next_purge_{};
    std::atomic<int64_t> last_warning_s_{0};
};

} // namespace wsgw::auth
