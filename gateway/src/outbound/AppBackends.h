#pragma once
/// Calls to the apps' own backends (SPEC §7, DESIGN §3): every request signed
/// with the app's webhook secret (X-Wsgw-Signature: sha256=<hex HMAC-SHA256 of
/// the body>, X-Wsgw-App: NAME). Client publishes and RPCs are single calls
/// whose answers go to a completion; subscription events are queued per app,
/// sent in batches (a JSON array of at most 100 items, or whatever waited
/// 100 ms), one batch in flight per app so their order holds, retried with
/// backoff for up to apps.webhook_retry_ms, then dropped and counted. A queue
/// is capped (apps.max_queued_events); past it events are dropped and counted.
/// Nothing here ever waits on a backend in the caller's thread.
/// event(), call() any thread; construction and stop() startup/shutdown only.

#include "config/Settings.h"
#include "hub/Metrics.h"
#include "outbound/HttpCaller.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace wsgw::outbound {

/// SPEC §7: "sha256=" and the hex HMAC-SHA256 of BODY keyed with SECRET.
std::string signature(std::string_view secret, std::string_view body);

class AppBackends
{
public:
    using Clock = std::chrono::steady_clock;

    /// METRICS must outlive this.
    AppBackends(const config::Settings& settings, hub::Metrics& metrics);
    ~AppBackends();
    AppBackends(const AppBackends&) = delete;
    AppBackends& operator=(const AppBackends&) = delete;

    /// Queues EVENT (one serialised JSON object) for APP's backend at URL,
    /// signed with SECRET when its batch goes. Never blocks on the network.
    void event(const std::string& app, const std::string& url, const std::string& secret, std::string event);
    /// POSTs BODY to APP's backend at URL, signed; DONE gets the result on a
    /// worker thread. False at once when apps.webhook_concurrency calls are in
    /// flight (DONE is then not called).
    bool call(const std::string& app, const std::string& url, const std::string& secret, std::string body,
              HttpCaller::Completion done);

    /// Ends the event thread and the workers; queued events are dropped. Idempotent.
    void stop();

    /// Events waiting (queued or in a batch under way), all apps. For tests and /metrics.
    size_t queuedEvents() const;

private:
    struct Queue
    {
        std::string url;
        std::string secret;
        std::deque<std::string> items;
        Clock::time_point oldest{};     ///< when the oldest queued item came
        std::vector<std::string> batch; ///< being sent, or waiting for its retry
        Clock::time_point first_try{};  ///< of the current batch
        Clock::time_point next_try{};   ///< retry not before
        int attempts = 0;
        bool in_flight = false;
    };

    void run();
    /// Sends what is due; returns when to look again. Holds mutex_.
    Clock::time_point dispatch(Clock::time_point now);
    void sendBatch(const std::string& app, Queue& queue);
    void finishBatch(const std::string& app, bool ok);
    Call signedCall(const std::string& app, const std::string& url, const std::string& secret, std::string body);
    std::shared_ptr<const Endpoint> endpoint(const std::string& url);

    std::chrono::milliseconds timeout_;
    std::chrono::milliseconds retry_;
    size_t max_queued_;
    hub::Metrics& metrics_;
    HttpCaller calls_;  ///< publishes and RPCs
    HttpCaller events_; ///< event batches (one per app at a time)

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::map<std::string, Queue> queues_;
    std::map<std::string, std::shared_ptr<const Endpoint>> endpoints_;
    size_t queued_ = 0;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace wsgw::outbound
