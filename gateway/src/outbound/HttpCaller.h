#pragma once
/// Calls to HTTP services the gateway does not control (DESIGN §3): the
/// authorizer webhook now, app backends later. A bounded pool of worker
/// threads, each with kept-alive Poco HTTPClientSessions per endpoint
/// (https:// through NetSSL with certificate and host name verification), a
/// connect timeout and a total deadline per call. No caller ever waits: a call
/// is submitted, or refused at once when the bound is reached, and its result
/// is handed to a completion on a worker thread, which posts it where it
/// belongs (an event loop's queue). submit() and inFlight() any thread;
/// construction and stop() startup/shutdown only.

#include <Poco/Net/Context.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace wsgw::outbound {

/// Where calls go: an absolute http:// or https:// URL, checked once.
struct Endpoint
{
    bool https = false;
    std::string host;
    uint16_t port = 0;
    std::string target; ///< path and query, at least "/"

    /// Parses URL; throws std::invalid_argument saying what is wrong with it.
    static Endpoint parse(const std::string& url);
    /// "scheme://host:port", the key of kept-alive sessions.
    std::string origin() const;
};

/// One POST request.
struct Call
{
    std::shared_ptr<const Endpoint> endpoint;
    std::string body;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers; ///< extra request headers
    std::chrono::milliseconds timeout{2000};                  ///< from submission to the whole body read
};

struct CallResult
{
    enum class Outcome
    {
        Answered, ///< a complete response arrived: see status and body
        TimedOut, ///< the deadline passed first
        Failed,   ///< no connection, a broken one, or a response we refuse (too large, malformed)
    };
    Outcome outcome = Outcome::Failed;
    int status = 0;
    std::string body;
    std::string error;      ///< why, for a log line, when not Answered
    int64_t elapsed_ms = 0; ///< from submission to the result
};

class HttpCaller
{
public:
    struct Options
    {
        std::string name = "outbound"; ///< in thread names and log lines
        size_t max_in_flight = 64;     ///< submitted and not yet completed; also the number of threads at most
        size_t max_response_bytes = 65536;
        std::string ca_file; ///< PEM file of CAs trusted for https:// besides the system's; empty = system only
        int nice = 5;        ///< added to the worker threads' nice value: the event loops win a shared core
    };
    /// Called once per accepted call, on a worker thread, after the call
    /// stopped counting as in flight. Must not block for long.
    using Completion = std::function<void(CallResult&&)>;

    /// Throws std::invalid_argument when the TLS context cannot be made (a bad ca_file). Startup only.
    explicit HttpCaller(Options options);
    ~HttpCaller();
    HttpCaller(const HttpCaller&) = delete;
    HttpCaller& operator=(const HttpCaller&) = delete;

    /// Queues CALL; false at once (nothing queued, DONE not called) when
    /// max_in_flight calls are in flight or the caller is stopped. Any thread.
    bool submit(Call call, Completion done);
    /// Calls submitted and not yet completed. Any thread.
    size_t inFlight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }
    /// Worker threads started so far (they start on demand, up to max_in_flight).
    size_t threads() const;
    /// Ends the workers: queued calls are dropped without their completion, and
    /// calls under way finish first (each within its timeout). Idempotent.
    void stop();

private:
    struct Job
    {
        Call call;
        Completion done;
        std::chrono::steady_clock::time_point submitted;
    };
    class Worker;

    void work(size_t index);

    Options options_;
    Poco::Net::Context::Ptr tls_;
    std::atomic<size_t> in_flight_{0};
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Job> queue_;
    std::vector<std::thread> threads_;
    size_t idle_ = 0;
    bool stopping_ = false;
};

} // namespace wsgw::outbound
