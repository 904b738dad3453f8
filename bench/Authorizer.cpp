/// wsgw-bench-authorizer: the "local authorizer that answers in 5 ms" of issue 11's bench.
/// An HTTP server on 127.0.0.1:PORT (0 = any; the port chosen is printed on stdout) that
/// answers every POST with 200 and an empty body after DELAY_MS, with keep-alive and enough
/// threads for the gateway's whole auth.webhook_concurrency. Runs until SIGTERM/SIGINT.

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/ThreadPool.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <istream>
#include <thread>

namespace {

std::atomic<bool> stopping{false};
std::atomic<unsigned long> answered{0};

class Answer : public Poco::Net::HTTPRequestHandler
{
public:
    explicit Answer(int delay_ms) : delay_ms_(delay_ms) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override
    {
        request.stream().ignore(1 << 20);
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
        response.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
        response.setContentLength(0);
        response.send();
        answered.fetch_add(1, std::memory_order_relaxed);
    }

private:
    int delay_ms_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory
{
public:
    explicit Factory(int delay_ms) : delay_ms_(delay_ms) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override
    {
        return new Answer(delay_ms_);
    }

private:
    int delay_ms_;
};

} // namespace

int main(int argc, char** argv)
{
    if (argc != 3)
    {
        std::fprintf(stderr, "usage: wsgw-bench-authorizer PORT DELAY_MS\n");
        return 2;
    }
    const int port = std::atoi(argv[1]);
    const int delay_ms = std::atoi(argv[2]);
    std::signal(SIGTERM, [](int) { stopping = true; });
    std::signal(SIGINT, [](int) { stopping = true; });
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)), 1024);
    auto* params = new Poco::Net::HTTPServerParams;
    // Each kept-alive connection holds one of Poco's server threads for its
    // life: room for every caller the gateway may open (256 app-backend calls
    // and 64 logins in flight), or a connection waits in the queue and its
    // call times out (5 of 244,000 RPCs did, with 256).
    params->setMaxThreads(1024);
    params->setMaxQueued(4096);
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(0); // unlimited
    params->setKeepAliveTimeout(Poco::Timespan(60, 0));
    Poco::ThreadPool pool(16, 1024);
    Poco::Net::HTTPServer server(new Factory(delay_ms), pool, socket, params);
    server.start();
    std::printf("%d\n", static_cast<int>(socket.address().port()));
    std::fflush(stdout);
    while (!stopping)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    server.stopAll(true);
    std::fprintf(stderr, "wsgw-bench-authorizer: answered %lu\n", answered.load());
    return 0;
}
