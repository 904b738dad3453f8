#include "auth/WebhookAuthenticator.h"

#include "auth/AppsClaim.h"
#include "protocol/JsonWriter.h"
#include "store/Secret.h"

#include <Poco/Exception.h>
#include <Poco/Logger.h>
#include <Poco/TextIterator.h>
#include <Poco/UTF8Encoding.h>

#include <stdexcept>

namespace wsgw::auth {

namespace {

/// Entries the cache holds at most: beyond it, answers are not remembered
/// until expired ones are purged (about 100 bytes each).
constexpr size_t kMaxCached = 200000;

bool validUtf8(std::string_view text)
{
    Poco::UTF8Encoding utf8;
    const std::string copy(text);
    Poco::TextIterator it(copy, utf8);
    Poco::TextIterator end(copy);
    for (; it != end; ++it)
    {
        if (*it < 0)
            return false;
    }
    return true;
}

bool onlyWhitespace(const std::string& text)
{
    return text.find_first_not_of(" \t\r\n") == std::string::npos;
}

} // namespace

WebhookAuthenticator::WebhookAuthenticator(const config::Settings& settings, hub::Metrics& metrics)
    : timeout_(settings.webhook_timeout), cache_ttl_(settings.webhook_cache), metrics_(metrics), caller_([&] {
          outbound::HttpCaller::Options options;
          options.name = "authorizer";
          options.max_in_flight = settings.webhook_concurrency;
          options.ca_file = settings.webhook_ca_file;
          return options;
      }())
{
    try
    {
        endpoint_ = std::make_shared<const outbound::Endpoint>(outbound::Endpoint::parse(settings.webhook_url));
    }
    catch (const std::invalid_argument& e)
    {
        throw config::Error(std::string("auth.webhook_url: ") + e.what());
    }
}

std::unique_ptr<WebhookAuthenticator> WebhookAuthenticator::fromSettings(const config::Settings& settings,
                                                                         hub::Metrics& metrics)
{
    if (settings.webhook_url.empty())
        return nullptr;
    try
    {
        return std::make_unique<WebhookAuthenticator>(settings, metrics);
    }
    catch (const std::invalid_argument& e)
    {
        // The TLS context: only the CA file can make it fail.
        throw config::Error(std::string("auth.webhook_ca_file: ") + e.what());
    }
}

std::string WebhookAuthenticator::requestBody(const Login& login)
{
    protocol::JsonWriter json;
    json.beginObject()
        .key("member_id")
        .value(login.member_id)
        .key("token")
        .value(login.token)
        .key("address")
        .value(login.address)
        .key("headers");
    if (login.headers && !login.headers->empty())
        json.raw(*login.headers);
    else
        json.beginObject().endObject();
    json.endObject();
    return json.take();
}

Verdict WebhookAuthenticator::interpret(const outbound::CallResult& result)
{
    using Outcome = outbound::CallResult::Outcome;
    if (result.outcome == Outcome::TimedOut)
        return Verdict::unavailable("the authorizer did not answer in time (" + result.error + ")");
    if (result.outcome == Outcome::Failed)
        return Verdict::unavailable("the authorizer is unreachable: " + result.error);
    switch (result.status)
    {
    case 200:
        break;
    case 401:
    case 403:
    case 404:
        return Verdict::rejected("the authorizer refused the token (" + std::to_string(result.status) + ")");
    default:
        return Verdict::unavailable("the authorizer answered " + std::to_string(result.status));
    }
    Verdict verdict;
    verdict.status = Verdict::Status::Accepted;
    if (onlyWhitespace(result.body))
        return verdict;
    // A 200 whose grants cannot be read is the authorizer misbehaving: granting
    // nothing silently would hide it, so the login waits for a fixed one.
    const auto bad = Verdict::unavailable("the authorizer answered 200 with a body that is not {\"apps\":[...]}");
    protocol::JsonField apps_field("apps");
    protocol::FlatJson json(result.body);
    if (!json.readObject({&apps_field, 1}) || !json.atEnd())
        return bad;
    auto apps = appsClaim(apps_field);
    if (!apps)
        return bad;
    verdict.apps = std::move(*apps);
    return verdict;
}

std::string WebhookAuthenticator::cacheKey(const Login& login)
{
    // The token's digest, never the token: a memory dump shows no credentials.
    auto digest = store::sha256(login.token);
    std::string key = std::to_string(login.member_id);
    key.push_back(':');
    key.append(reinterpret_cast<const char*>(digest.data()), digest.size());
    return key;
}

std::optional<Verdict> WebhookAuthenticator::cached(const std::string& key)
{
    std::lock_guard lock(cache_mutex_);
    auto it = cache_.find(key);
    if (it == cache_.end())
        return std::nullopt;
    if (Clock::now() >= it->second.until)
    {
        cache_.erase(it);
        return std::nullopt;
    }
    Verdict verdict;
    verdict.status = Verdict::Status::Accepted;
    verdict.apps = it->second.apps;
    return verdict;
}

void WebhookAuthenticator::remember(const std::string& key, const Verdict& verdict)
{
    const auto now = Clock::now();
    std::lock_guard lock(cache_mutex_);
    if (cache_.size() >= kMaxCached / 2 && now >= next_purge_)
    {
        next_purge_ = now + std::chrono::seconds(1);
        std::erase_if(cache_, [&](const auto& entry) { return now >= entry.second.until; });
    }
    if (cache_.size() >= kMaxCached)
        return;
    cache_[key] = Cached{verdict.apps, now + cache_ttl_};
}

void WebhookAuthenticator::logUnavailable(const Verdict& verdict)
{
    // One line per second at most: a down authorizer must not flood the log.
    const int64_t second = std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
    int64_t last = last_warning_s_.load(std::memory_order_relaxed);
    if (last != second && last_warning_s_.compare_exchange_strong(last, second))
        Poco::Logger::get("wsgw.auth").warning("login answered 503 auth unavailable: %s", verdict.reason);
}

std::optional<Verdict> WebhookAuthenticator::check(const Login& login, const Later& later)
{
    // A token that is not UTF-8 cannot be put in the JSON body: no authorizer could accept it.
    if (!validUtf8(login.token))
        return Verdict::rejected("the token is not UTF-8");
    std::string key;
    if (cache_ttl_.count() > 0)
    {
        key = cacheKey(login);
        if (auto verdict = cached(key))
        {
            hub::Metrics::add(metrics_.auth_webhook_cache_hits);
            return verdict;
        }
    }
    outbound::Call call;
    call.endpoint = endpoint_;
    call.body = requestBody(login);
    call.timeout = timeout_;
    auto done = [this, later, key = std::move(key)](outbound::CallResult&& result) {
        auto verdict = interpret(result);
        if (verdict.status == Verdict::Status::Accepted && cache_ttl_.count() > 0)
            remember(key, verdict);
        if (verdict.status == Verdict::Status::Unavailable)
            logUnavailable(verdict);
        later(std::move(verdict));
    };
    if (!caller_.submit(std::move(call), std::move(done)))
    {
        auto verdict = Verdict::unavailable("the authorizer has " + std::to_string(caller_.inFlight()) +
                                            " calls in flight (auth.webhook_concurrency)");
        logUnavailable(verdict);
        return verdict;
    }
    hub::Metrics::add(metrics_.auth_webhook_calls);
    return std::nullopt;
}

} // namespace wsgw::auth
