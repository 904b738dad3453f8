// The real wsgw binary, one member with several connections (issue 9 item 1):
// whichever of them closes, in whatever order and however (close frame, TCP
// drop, a close the server starts), a push to the member counts exactly the
// live ones and each of them receives it — with one event loop and with several.

#include "support/Http.h"
#include "support/TestGateway.h"
#include "support/Wait.h"
#include "support/WsClient.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <memory>

using namespace wsgw::test;
using namespace std::chrono_literals;
using wsgw::transport::Opcode;

namespace {

constexpr int64_t kMember = 4242;
constexpr int64_t kBystander = 7;
const std::string kToken = "token-of-4242-xyz";
const std::string kBystanderToken = "token-of-seven-xyz";

/// How a connection ends.
enum class Ending
{
    CloseFrame,  ///< the client sends a close frame, the server echoes it and closes TCP
    TcpDrop,     ///< the client closes TCP without a close handshake
    ServerClose, ///< the server closes it (1002 for a bad frame), then the client drops TCP
};

const char* name(Ending ending)
{
    switch (ending)
    {
    case Ending::CloseFrame:
        return "close frame";
    case Ending::TcpDrop:
        return "TCP drop";
    case Ending::ServerClose:
        return "server close";
    }
    return "?";
}

std::string pushBody(int64_t member, const std::string& text)
{
    return R"({"app":"match","member_id":)" + std::to_string(member) + R"(,"text":")" + text + "\"}";
}

std::string queuedFor(size_t count)
{
    return "queued for " + std::to_string(count) + (count == 1 ? " connection" : " connections");
}

class GatewayMemberTest : public ::testing::TestWithParam<int>
{
protected:
    void SetUp() override
    {
        gateway = std::make_unique<TestGateway>(TestGateway::Settings{{"server.threads", std::to_string(GetParam())}});
        key = gateway->addApp("match");
        gateway->addMember(kMember, kToken);
        gateway->addMember(kBystander, kBystanderToken);
        bystander = connect(kBystander, kBystanderToken);
    }

    std::unique_ptr<WsClient> connect(int64_t member, const std::string& token)
    {
        auto client = std::make_unique<WsClient>(gateway->port());
        EXPECT_EQ(client->auth(member, token), reply(200, "hello " + std::to_string(member)));
        EXPECT_EQ(client->subscribe("match"), reply(200, "subscribe match success"));
        return client;
    }

    int64_t openConnections() const
    {
        Poco::JSON::Parser parser;
        auto stats = parser.parse(httpRequest(gateway->statPort(), "GET", "/stat?format=json").body)
                         .extract<Poco::JSON::Object::Ptr>();
        return stats->getValue<int64_t>("connections");
    }

    /// Waits until the gateway has reaped every ended connection: LIVE of the
    /// member's plus the bystander are open and subscribed.
    void waitForLive(size_t live)
    {
        const auto expected = static_cast<int64_t>(live) + 1;
        ASSERT_TRUE(waitUntil([&] {
            return openConnections() == expected && gateway->stat() == "match " + std::to_string(expected) + "\n";
        })) << "open: "
            << openConnections() << ", stat: " << gateway->stat();
    }

    /// Pushes to the member; the reply must count exactly the live connections
    /// and each of them must receive the push. Returns false (and fails) if not.
    bool pushToMember(const std::array<std::unique_ptr<WsClient>, 3>& clients)
    {
        size_t live = std::count_if(clients.begin(), clients.end(), [](const auto& c) { return c != nullptr; });
        std::string text = "to-4242-#" + std::to_string(++pushes);
        auto result = push(gateway->port(), pushBody(kMember, text), key);
        bool ok = true;
        if (result.status != 202 || result.body.find(queuedFor(live)) == std::string::npos)
        {
            ADD_FAILURE() << "expected 202 " << queuedFor(live) << ", got " << result.status << " " << result.body;
            ok = false;
        }
        for (size_t i = 0; i < clients.size(); ++i)
        {
            if (!clients[i])
                continue;
            auto message = clients[i]->receive(2s);
            if (!message || message->payload != pushBody(kMember, text))
            {
                ADD_FAILURE() << "connection " << i << " did not receive " << text << "; got "
                              << (message ? message->payload : std::string("nothing"));
                ok = false;
            }
        }
        return ok;
    }

    void end(std::unique_ptr<WsClient>& client, Ending ending)
    {
        switch (ending)
        {
        case Ending::CloseFrame:
            client->sendFrame(Opcode::Close, std::string("\x03\xe8", 2));
            EXPECT_EQ(client->receiveClose(), 1000);
            EXPECT_TRUE(client->waitForEof());
            break;
        case Ending::TcpDrop:
            break;
        case Ending::ServerClose:
            // SPEC §5: RSV1 without an extension -> 1002; the server starts the close.
            client->sendFrame(Opcode::Text, "x", true, 0x4);
            EXPECT_EQ(client->receiveClose(), 1002);
            break;
        }
        client.reset();
    }

    std::unique_ptr<TestGateway> gateway;
    std::string key;
    std::unique_ptr<WsClient> bystander;
    int pushes = 0;
};

} // namespace

// Issue 9 item 1: after one of a member's connections closed, targeted pushes
// reached nobody (the member index entry was removed at close and again at reap).
TEST_P(GatewayMemberTest, PushCountsExactlyTheLiveConnectionsInEveryClosingOrder)
{
    for (Ending ending : {Ending::CloseFrame, Ending::TcpDrop, Ending::ServerClose})
    {
        std::array<size_t, 3> order{0, 1, 2};
        bool failed = false;
        do
        {
            SCOPED_TRACE(::testing::Message() << name(ending) << ", order " << order[0] << order[1] << order[2]);
            std::array<std::unique_ptr<WsClient>, 3> clients;
            for (auto& client : clients)
                client = connect(kMember, kToken);
            waitForLive(3);
            failed = !pushToMember(clients);
            size_t live = 3;
            for (size_t i : order)
            {
                if (failed)
                    break; // one failing order says enough; go on with the next way of ending
                end(clients[i], ending);
                waitForLive(--live);
                failed = !pushToMember(clients);
            }
        } while (!failed && std::next_permutation(order.begin(), order.end()));
    }
    // The bystander got none of the member's pushes, and broadcasts still reach it.
    auto result = push(gateway->port(), pushBody(-1, "everyone"), key);
    EXPECT_EQ(result.status, 202) << result.body;
    EXPECT_NE(result.body.find(queuedFor(1)), std::string::npos) << result.body;
    EXPECT_EQ(bystander->receiveText(), pushBody(-1, "everyone"));
}

// The member reconnects after all its connections closed: the new one is counted.
TEST_P(GatewayMemberTest, ReconnectAfterEveryConnectionClosedIsReached)
{
    std::array<std::unique_ptr<WsClient>, 3> clients;
    for (auto& client : clients)
        client = connect(kMember, kToken);
    waitForLive(3);
    end(clients[1], Ending::CloseFrame);
    end(clients[0], Ending::ServerClose);
    end(clients[2], Ending::TcpDrop);
    waitForLive(0);
    EXPECT_TRUE(pushToMember(clients));
    clients[0] = connect(kMember, kToken);
    waitForLive(1);
    EXPECT_TRUE(pushToMember(clients));
}

INSTANTIATE_TEST_SUITE_P(Loops, GatewayMemberTest, ::testing::Values(1, 2, 3),
                         [](const ::testing::TestParamInfo<int>& param_info) {
                             return "Threads" + std::to_string(param_info.param);
                         });
