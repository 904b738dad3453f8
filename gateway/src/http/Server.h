#pragma once
/// The stat port's HTTP/1.1 server (loopback, low rate; the public port is
/// served on the event loops): Poco's TCPServer with our own connection loop, so that
/// every request passes a guard Poco 1.11 lacks (SPEC §5): a total deadline for
/// reading the request (408; Poco's timeout is per read, so a 1-byte-per-second
/// client would live forever), framing checks before any handler (400/501),
/// 400 for headers Poco cannot parse instead of a silent close, and a stop that
/// ends idle keep-alive connections at once. Start and stop from one thread.

#include "config/Settings.h"

#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/ThreadPool.h>

#include <chrono>
#include <memory>
#include <string>

namespace wsgw::http {

class ConnectionTracker;

class Server
{
public:
    /// Serves SOCKET (bound and listening) with FACTORY's handlers on up to
    /// MAX_THREADS pool threads; REQUEST_DEADLINE bounds reading one request.
    Server(const std::string& name, const Poco::Net::ServerSocket& socket,
           Poco::Net::HTTPRequestHandlerFactory::Ptr factory, Poco::Net::HTTPServerParams::Ptr params,
           std::chrono::milliseconds request_deadline);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    void start();
    /// Stops accepting, ends idle keep-alive connections, waits for requests in progress.
    void stop();

private:
    std::shared_ptr<ConnectionTracker> tracker_;
    Poco::ThreadPool pool_;
    std::unique_ptr<Poco::Net::TCPServer> tcp_;
    bool stopped_ = false;
};

/// Called by a handler once it has read the whole request: from then on
/// the request deadline no longer answers 408 (the reply is being made).
/// Pool threads, inside a handler only.
void markRequestRead();

} // namespace wsgw::http
