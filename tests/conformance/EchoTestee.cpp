// wsgw-echo-testee PORT: the gateway's production WebSocket path — HTTP server
// and guard, handshake, event loops, frame parser and writer, limits, close
// logic — with an echo handler instead of the auth protocol, so that external
// RFC 6455 conformance suites (Autobahn|Testsuite's fuzzing client, cases
// 1-7, 9, 10) can be pointed at it. Test-only; not installed.

#include "config/Settings.h"
#include "http/JsonReply.h"
#include "http/Server.h"
#include "http/UpgradeHandler.h"
#include "hub/Metrics.h"
#include "hub/PeerLimits.h"
#include "hub/SnapshotHolder.h"
#include "transport/EventLoop.h"
#include "transport/LoopGroup.h"

#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <set>
#include <string>

namespace {

using namespace wsgw;

/// Echoes every text and binary message back as it came (fragmented messages
/// arrive reassembled and go back as one frame).
class EchoHandler : public transport::MessageHandler
{
public:
    void onMessage(transport::EventLoop& loop, transport::Connection& c, transport::MessageKind kind,
                   std::string_view payload) override
    {
        loop.sendFrame(c, kind == transport::MessageKind::Text ? transport::Opcode::Text : transport::Opcode::Binary,
                       payload);
    }
};

class EchoRouter : public Poco::Net::HTTPRequestHandlerFactory
{
public:
    EchoRouter(transport::LoopGroup& loops, hub::PeerLimits& peers, hub::Metrics& metrics)
        : loops_(loops), peers_(peers), metrics_(metrics)
    {}

    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest& request) override
    {
        if (http::UpgradeHandler::isUpgrade(request))
            return new http::UpgradeHandler(loops_, peers_, metrics_, origins_);
        return nullptr;
    }

private:
    transport::LoopGroup& loops_;
    hub::PeerLimits& peers_;
    hub::Metrics& metrics_;
    const std::set<std::string> origins_;
};

} // namespace

int main(int argc, char** argv)
{
    if (argc < 2 || argc > 3)
    {
        std::cerr << "usage: wsgw-echo-testee PORT [MAX_MESSAGE_BYTES]   (port 0 picks a free port and prints it)\n";
        return 2;
    }
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    config::Settings settings;
    settings.address = "127.0.0.1";
    settings.port = static_cast<uint16_t>(std::atoi(argv[1]));
    settings.threads = 1;
    settings.auth_window = std::chrono::hours(24); // no auth protocol here
    // Autobahn sends messages up to 16 MiB in cases 9.x.
    settings.max_message_bytes = argc == 3 ? std::strtoull(argv[2], nullptr, 10) : 16 * 1024 * 1024 + 1024;
    settings.max_queue_bytes = 64 * 1024 * 1024;

    hub::Metrics metrics;
    hub::PeerLimits peers({});
    hub::SnapshotHolder snapshots(std::make_shared<const store::Snapshot>());
    EchoHandler echo;
    transport::LoopGroup loops(settings, echo, metrics, peers, snapshots);
    loops.start();

    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress(settings.address, settings.port), 64);
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(4);
    http::Server server("echo-http", socket, new EchoRouter(loops, peers, metrics), params, std::chrono::seconds(10));
    server.start();
    std::cout << "listening on 127.0.0.1:" << socket.address().port() << std::endl;

    int signal = 0;
    sigwait(&signals, &signal);
    server.stop();
    loops.shutdown(std::chrono::seconds(2));
    return 0;
}
