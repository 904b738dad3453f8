#include "support/WebhookServer.h"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>
#include <Poco/ThreadPool.h>

#include <mutex>
#include <thread>

namespace wsgw::test {

namespace {

class Handler : public Poco::Net::HTTPRequestHandler
{
public:
    explicit Handler(WebhookServer& server) : server_(server) {}

    void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override
    {
        HookRequest hook;
        hook.peer = request.clientAddress().toString();
        hook.method = request.getMethod();
        hook.uri = request.getURI();
        for (const auto& [name, value] : request)
            hook.headers[Poco::toLower(name)] = value;
        Poco::StreamCopier::copyToString(request.stream(), hook.body);
        auto answer = server_.handle(std::move(hook));
        response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(answer.status));
        response.setContentType("application/json");
        response.setContentLength(static_cast<std::streamsize>(answer.body.size()));
        response.send() << answer.body;
    }

private:
    WebhookServer& server_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory
{
public:
    explicit Factory(WebhookServer& server) : server_(server) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override
    {
        return new Handler(server_);
    }

private:
    WebhookServer& server_;
};

} // namespace

WebhookServer::WebhookServer(Handler handler, const Options& options) : handler_(std::move(handler))
{
    Poco::Net::ServerSocket socket;
    https_ = !options.cert_file.empty() && !options.key_file.empty();
    if (https_)
    {
        static std::once_flag once;
        std::call_once(once, [] { Poco::Net::initializeSSL(); });
        Poco::Net::Context::Ptr context =
            new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, options.key_file, options.cert_file, "",
                                   Poco::Net::Context::VERIFY_NONE);
        socket = Poco::Net::SecureServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0), 256, context);
    }
    else
    {
        socket = Poco::Net::ServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0), 256);
    }
    port_ = socket.address().port();
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(200);
    params->setMaxQueued(512);
    params->setKeepAlive(true);
    params->setKeepAliveTimeout(
        Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(options.keep_alive).count()));
    pool_ = std::make_unique<Poco::ThreadPool>(2, 200);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), *pool_, socket, params);
    server_->start();
}

WebhookServer::~WebhookServer()
{
    release();
    server_->stopAll(true);
    pool_->joinAll();
}

std::string WebhookServer::url(const std::string& path) const
{
    return std::string(https_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<HookRequest> WebhookServer::requests() const
{
    std::lock_guard lock(mutex_);
    return requests_;
}

size_t WebhookServer::count() const
{
    std::lock_guard lock(mutex_);
    return requests_.size();
}

size_t WebhookServer::inFlight() const
{
    std::lock_guard lock(mutex_);
    return in_flight_;
}

void WebhookServer::hold()
{
    std::lock_guard lock(mutex_);
    held_ = true;
}

void WebhookServer::release()
{
    {
        std::lock_guard lock(mutex_);
        held_ = false;
    }
    changed_.notify_all();
}

bool WebhookServer::waitForInFlight(size_t n, std::chrono::milliseconds timeout) const
{
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return in_flight_ >= n; });
}

HookAnswer WebhookServer::handle(HookRequest request)
{
    {
        std::unique_lock lock(mutex_);
        requests_.push_back(request);
        ++in_flight_;
        changed_.notify_all();
        changed_.wait(lock, [&] { return !held_; });
    }
    HookAnswer answer = handler_(request);
    if (answer.delay.count() > 0)
        std::this_thread::sleep_for(answer.delay);
    {
        std::lock_guard lock(mutex_);
        --in_flight_;
    }
    changed_.notify_all();
    return answer;
}

} // namespace wsgw::test
