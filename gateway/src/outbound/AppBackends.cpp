#include "outbound/AppBackends.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <random>
#include <stdexcept>

namespace wsgw::outbound {

namespace {

constexpr size_t kBatchItems = 100;
constexpr auto kBatchAge = std::chrono::milliseconds(100);
constexpr auto kFirstBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::milliseconds(2000);

Poco::Logger& logger()
{
    return Poco::Logger::get("wsgw.backend");
}

} // namespace

std::string signature(std::string_view secret, std::string_view body)
{
    // OpenSSL's HMAC (Poco 1.11's HMACEngine cannot take its SHA2Engine).
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &length);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "sha256=";
    for (unsigned int i = 0; i < length; ++i)
    {
        out += kHex[mac[i] >> 4];
        out += kHex[mac[i] & 15];
    }
    return out;
}

AppBackends::AppBackends(const config::Settings& settings, hub::Metrics& metrics)
    : timeout_(settings.app_webhook_timeout), retry_(settings.app_webhook_retry),
      max_queued_(settings.app_max_queued_events), metrics_(metrics), calls_([&] {
          HttpCaller::Options options;
          options.name = "backend";
          options.max_in_flight = settings.app_webhook_concurrency;
          return options;
      }()),
      events_([&] {
          HttpCaller::Options options;
          options.name = "events";
          options.max_in_flight = 16;
          return options;
      }())
{
    thread_ = std::thread([this] { run(); });
}

AppBackends::~AppBackends()
{
    stop();
}

void AppBackends::stop()
{
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && !thread_.joinable())
            return;
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
        thread_.join();
    calls_.stop();
    events_.stop();
}

size_t AppBackends::queuedEvents() const
{
    std::lock_guard lock(mutex_);
    return queued_;
}

std::shared_ptr<const Endpoint> AppBackends::endpoint(const std::string& url)
{
    // Called with mutex_ held or from call(), which takes it here.
    auto it = endpoints_.find(url);
    if (it != endpoints_.end())
        return it->second;
    std::shared_ptr<const Endpoint> parsed;
    try
    {
        parsed = std::make_shared<const Endpoint>(Endpoint::parse(url));
    }
    catch (const std::invalid_argument& e)
    {
        logger().error("app backend %s is not usable: %s", url, std::string(e.what()));
    }
    if (endpoints_.size() > 4096)
        endpoints_.clear();
    endpoints_[url] = parsed;
    return parsed;
}

Call AppBackends::signedCall(const std::string& app, const std::string& url, const std::string& secret,
                             std::string body)
{
    Call call;
    call.endpoint = endpoint(url);
    call.headers = {{"X-Wsgw-Signature", signature(secret, body)}, {"X-Wsgw-App", app}};
    call.body = std::move(body);
    call.timeout = timeout_;
    return call;
}

bool AppBackends::call(const std::string& app, const std::string& url, const std::string& secret, std::string body,
                       HttpCaller::Completion done)
{
    Call request;
    {
        std::lock_guard lock(mutex_);
        request = signedCall(app, url, secret, std::move(body));
    }
    if (!request.endpoint)
    {
        CallResult failed;
        failed.error = "the app's webhook URL is not usable";
        done(std::move(failed));
        return true;
    }
    if (!calls_.submit(std::move(request), std::move(done)))
        return false;
    hub::Metrics::add(metrics_.backend_calls);
    return true;
}

void AppBackends::event(const std::string& app, const std::string& url, const std::string& secret, std::string event)
{
    {
        std::lock_guard lock(mutex_);
        if (stopping_)
            return;
        auto& queue = queues_[app];
        if (queue.items.size() >= max_queued_)
        {
            hub::Metrics::add(metrics_.backend_events_dropped);
            return;
        }
        queue.url = url;
        queue.secret = secret;
        if (queue.items.empty())
            queue.oldest = Clock::now();
        queue.items.push_back(std::move(event));
        ++queued_;
        // The thread looks at ages on its own; only a full batch needs it now.
        if (queue.items.size() < kBatchItems || queue.in_flight)
            return;
    }
    wake_.notify_one();
}

void AppBackends::run()
{
    pthread_setname_np(pthread_self(), "events");
    std::unique_lock lock(mutex_);
    while (!stopping_)
    {
        auto next = dispatch(Clock::now());
        wake_.wait_until(lock, next);
    }
}

AppBackends::Clock::time_point AppBackends::dispatch(Clock::time_point now)
{
    auto next = now + kBatchAge;
    for (auto it = queues_.begin(); it != queues_.end();)
    {
        auto& [app, queue] = *it;
        if (queue.in_flight)
        {
            ++it;
            continue;
        }
        if (queue.batch.empty() && !queue.items.empty() &&
            (queue.items.size() >= kBatchItems || now - queue.oldest >= kBatchAge))
        {
            const size_t n = std::min(kBatchItems, queue.items.size());
            queue.batch.assign(std::make_move_iterator(queue.items.begin()),
                               std::make_move_iterator(queue.items.begin() + static_cast<std::ptrdiff_t>(n)));
            queue.items.erase(queue.items.begin(), queue.items.begin() + static_cast<std::ptrdiff_t>(n));
            queue.oldest = now;
            queue.first_try = now;
            queue.next_try = now;
            queue.attempts = 0;
        }
        if (!queue.batch.empty())
        {
            if (now >= queue.next_try)
                sendBatch(app, queue);
            else
                next = std::min(next, queue.next_try);
        }
        else if (!queue.items.empty())
        {
            next = std::min(next, queue.oldest + kBatchAge);
        }
        else if (!queue.in_flight)
        {
            it = queues_.erase(it); // idle: an app without events costs nothing
            continue;
        }
        ++it;
    }
    return next;
}

void AppBackends::sendBatch(const std::string& app, Queue& queue)
{
    std::string body = "[";
    for (size_t i = 0; i < queue.batch.size(); ++i)
    {
        if (i > 0)
            body += ',';
        body += queue.batch[i];
    }
    body += ']';
    auto request = signedCall(app, queue.url, queue.secret, std::move(body));
    if (!request.endpoint)
    {
        // A URL that cannot be called never will be: the batch goes.
        hub::Metrics::add(metrics_.backend_events_dropped, queue.batch.size());
        queued_ -= queue.batch.size();
        queue.batch.clear();
        return;
    }
    queue.in_flight = true;
    ++queue.attempts;
    auto done = [this, app](CallResult&& result) {
        const bool ok = result.outcome == CallResult::Outcome::Answered && result.status >= 200 && result.status < 300;
        if (!ok)
            logger().debug("events for app %s not taken: %s", app,
                           result.outcome == CallResult::Outcome::Answered ? "status " + std::to_string(result.status)
                                                                           : result.error);
        finishBatch(app, ok);
    };
    if (!events_.submit(std::move(request), std::move(done)))
    {
        queue.in_flight = false;
        queue.next_try = Clock::now() + kFirstBackoff;
    }
}

void AppBackends::finishBatch(const std::string& app, bool ok)
{
    {
        std::lock_guard lock(mutex_);
        auto it = queues_.find(app);
        if (it == queues_.end())
            return;
        auto& queue = it->second;
        queue.in_flight = false;
        const auto now = Clock::now();
        if (ok)
        {
            hub::Metrics::add(metrics_.backend_events_sent, queue.batch.size());
            queued_ -= queue.batch.size();
            queue.batch.clear();
        }
        else if (now - queue.first_try >= retry_)
        {
            hub::Metrics::add(metrics_.backend_events_dropped, queue.batch.size());
            logger().warning("app %s: %z events dropped: its backend did not take them within %s ms", app,
                             queue.batch.size(), std::to_string(retry_.count()));
            queued_ -= queue.batch.size();
            queue.batch.clear();
        }
        else
        {
            // Exponential backoff with jitter (0.5-1x), capped.
            static thread_local std::minstd_rand random{std::random_device{}()};
            auto backoff = std::min<std::chrono::milliseconds>(kMaxBackoff,
                                                               kFirstBackoff * (1 << std::min(queue.attempts - 1, 10)));
            auto jittered = std::chrono::milliseconds(
                backoff.count() / 2 + static_cast<int64_t>(random() % static_cast<unsigned>(backoff.count() / 2 + 1)));
            queue.next_try = std::min(now + jittered, queue.first_try + retry_);
        }
    }
    wake_.notify_one();
}

} // namespace wsgw::outbound
