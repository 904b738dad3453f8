// wsgw-echo-testee PORT: the gateway's production WebSocket path — HTTP reading
// on the loops, handshake, event loops, frame parser and writer, limits, close
// logic — with an echo handler instead of the auth protocol, so that external
// RFC 6455 conformance suites (Autobahn|Testsuite's fuzzing client, cases
// 1-7, 9, 10) can be pointed at it. Test-only; not installed.

#include "config/Settings.h"
#include "hub/Metrics.h"
#include "hub/PeerLimits.h"
#include "hub/SnapshotHolder.h"
#include "transport/EventLoop.h"
#include "transport/Handshake.h"
#include "transport/LoopGroup.h"

#include <Poco/Net/ServerSocket.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
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
    void onAuthTimeout(transport::EventLoop&, transport::Connection&) override {}
    void onSnapshot(transport::EventLoop&, transport::Connection&) override {}
};

/// Upgrades every valid WebSocket handshake; anything else is a 400.
class UpgradeOnly : public transport::HttpHandler
{
public:
    void onRequest(transport::EventLoop& loop, transport::Connection& c,
                   const transport::HttpRequestReader& request) override
    {
        const auto& head = request.request();
        const std::string key = head.get("Sec-WebSocket-Key", "");
        if (!transport::headerHasToken(head.get("Upgrade", ""), "websocket") ||
            head.get("Sec-WebSocket-Version", "") != "13" || !transport::isValidClientKey(key))
        {
            transport::HttpResponse response;
            response.status = 400;
            response.body = "{\"code\":400,\"message\":\"WebSocket upgrades only\"}\n";
            response.close = true;
            loop.respond(c, response);
            return;
        }
        if (loop.peers().admit(c.peer.sin6_addr) != hub::PeerLimits::Admission::Admitted)
        {
            transport::HttpResponse response;
            response.status = 503;
            response.close = true;
            loop.respond(c, response);
            return;
        }
        loop.upgrade(c, transport::computeAccept(key), c.peer);
    }
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
    UpgradeOnly upgrades;
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress(settings.address, settings.port), 64);
    transport::LoopGroup loops(settings, echo, upgrades, metrics, peers, snapshots);
    loops.start();
    loops.listen(socket.impl()->sockfd());
    std::cout << "listening on 127.0.0.1:" << socket.address().port() << std::endl;

    int signal = 0;
    sigwait(&signals, &signal);
    loops.shutdown(std::chrono::seconds(2));
    return 0;
}
