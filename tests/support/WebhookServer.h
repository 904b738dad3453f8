#pragma once
/// A real HTTP server on 127.0.0.1, port 0, playing a webhook the gateway
/// calls (the authorizer of SPEC §6): it records every request, answers as
/// the test says, and can hold requests until released. Test support.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace Poco::Net {
class HTTPServer;
}
namespace Poco {
class ThreadPool;
}

namespace wsgw::test {

struct HookRequest
{
    std::string peer; ///< "ADDRESS:PORT" of the caller's TCP connection
    std::string method;
    std::string uri;
    std::map<std::string, std::string> headers; ///< names lower-case
    std::string body;
};

struct HookAnswer
{
    int status = 200;
    std::string body;
    std::chrono::milliseconds delay{0}; ///< waits this long before answering
};

class WebhookServer
{
public:
    using Handler = std::function<HookAnswer(const HookRequest&)>;

    struct Options
    {
        /// When both are set: https with this certificate and key (PEM files).
        std::string cert_file;
        std::string key_file;
        std::chrono::milliseconds keep_alive{10000}; ///< an idle kept-alive connection is closed after this
    };

    explicit WebhookServer(Handler handler) : WebhookServer(std::move(handler), Options{}) {}
    WebhookServer(Handler handler, const Options& options);
    ~WebhookServer();
    WebhookServer(const WebhookServer&) = delete;
    WebhookServer& operator=(const WebhookServer&) = delete;

    int port() const noexcept { return port_; }
    std::string url(const std::string& path = "/auth") const;

    /// Every request received so far (complete ones: headers and body read).
    std::vector<HookRequest> requests() const;
    size_t count() const;
    /// Requests received and not yet answered.
    size_t inFlight() const;
    /// From now on requests wait (unanswered) until release().
    void hold();
    void release();
    /// Waits until N requests are unanswered at once; false after TIMEOUT.
    bool waitForInFlight(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

    // Called by the request handler (server threads).
    HookAnswer handle(HookRequest request);

private:
    Handler handler_;
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::vector<HookRequest> requests_;
    size_t in_flight_ = 0;
    bool held_ = false;
    std::unique_ptr<Poco::ThreadPool> pool_;
    std::unique_ptr<Poco::Net::HTTPServer> server_;
    int port_ = 0;
    bool https_ = false;
};

} // namespace wsgw::test
