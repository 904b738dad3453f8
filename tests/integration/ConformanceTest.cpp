// RFC 6455 conformance, table-driven, against the real server path twice: the
// echo testee (wsgw-echo-testee, the production transport with an echo
// handler) and the real gateway. Cases follow the Autobahn|Testsuite sections
// (1-7, 9): framing, pings, reserved bits and opcodes, fragmentation, UTF-8,
// close handling, limits.

#include "support/Process.h"
#include "support/TestGateway.h"
#include "support/Wait.h"
#include "support/WsClient.h"

#include <gtest/gtest.h>

#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

using namespace wsgw::test;
using namespace std::chrono_literals;
using wsgw::transport::makeClientFrame;
using wsgw::transport::Opcode;

namespace {

/// Runs wsgw-echo-testee on a free port for the whole test suite.
class Testee
{
public:
    Testee()
    {
        out_ = dir_.file("out");
        Process::Options options;
        options.stdout_path = out_;
        options.stderr_path = out_;
        // The same message limit as the gateway below, so both answer the same table.
        process_ = std::make_unique<Process>(std::vector<std::string>{WSGW_ECHO_TESTEE_BIN, "0", "65536"}, options);
        bool reported = waitUntil(
            [&] {
                std::ifstream in(out_);
                for (std::string word; in >> word;)
                {
                    if (word.rfind("127.0.0.1:", 0) == 0)
                        port_ = std::stoi(word.substr(10));
                }
                return port_ != 0;
            },
            10s);
        if (!reported)
            throw std::runtime_error("the testee did not report its port");
    }
    ~Testee()
    {
        process_->kill(SIGTERM);
        process_->wait();
    }
    int port() const { return port_; }

private:
    TempDir dir_;
    std::string out_;
    std::unique_ptr<Process> process_;
    int port_ = 0;
};

enum class Target
{
    Testee,
    Gateway,
};

class ConformanceTest : public ::testing::TestWithParam<Target>
{
protected:
    static void SetUpTestSuite()
    {
        testee_ = new Testee;
        gateway_ = new TestGateway(TestGateway::Settings{{"ws.max_message_bytes", "65536"}});
    }
    static void TearDownTestSuite()
    {
        delete testee_;
        delete gateway_;
    }

    /// A connection ready for the case: on the gateway, authenticated anonymously.
    std::unique_ptr<WsClient> connect()
    {
        if (GetParam() == Target::Testee)
            return std::make_unique<WsClient>(testee_->port());
        auto client = std::make_unique<WsClient>(gateway_->port());
        EXPECT_EQ(client->auth(-1, ""), reply(200, "hello stranger"));
        return client;
    }

    static Testee* testee_;
    static TestGateway* gateway_;
};

Testee* ConformanceTest::testee_ = nullptr;
TestGateway* ConformanceTest::gateway_ = nullptr;

std::string frame(Opcode opcode, std::string_view payload, bool fin = true, uint8_t rsv = 0)
{
    return makeClientFrame(opcode, payload, 0x37fa213d, fin, rsv);
}

std::string closePayload(uint16_t code, std::string_view reason = {})
{
    std::string payload;
    payload.push_back(static_cast<char>(code >> 8));
    payload.push_back(static_cast<char>(code & 0xff));
    payload.append(reason);
    return payload;
}

} // namespace

// Autobahn 5.x, 6.x, 7.x: each protocol violation gets its close code, then TCP closes.
TEST_P(ConformanceTest, ViolationsCloseWithTheRightCode)
{
    struct Case
    {
        const char* name;
        std::string bytes;
        uint16_t code;
    };
    std::string length_2_63 = std::string("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00", 10) + "\x01\x02\x03\x04";
    std::vector<Case> cases = {
        {"unmasked text", std::string("\x81\x01", 2) + "a", 1002},
        {"RSV1", frame(Opcode::Text, "x", true, 0x4), 1002},
        {"RSV2", frame(Opcode::Text, "x", true, 0x2), 1002},
        {"RSV3 on ping", frame(Opcode::Ping, "x", true, 0x1), 1002},
        {"continuation without start", frame(Opcode::Continuation, "x"), 1002},
        {"text inside a fragmented message", frame(Opcode::Text, "a", false) + frame(Opcode::Text, "b"), 1002},
        {"ping of 126 bytes", frame(Opcode::Ping, std::string(126, 'p')), 1002},
        {"fragmented ping", frame(Opcode::Ping, "p", false), 1002},
        {"fragmented close", frame(Opcode::Close, closePayload(1000), false), 1002},
        {"close with 1 byte", frame(Opcode::Close, "\x03"), 1002},
        {"length with the top bit set (2^63)", length_2_63, 1002},
        {"invalid UTF-8 text", frame(Opcode::Text, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"), 1007},
        {"overlong UTF-8", frame(Opcode::Text, "\xc0\xaf"), 1007},
        {"invalid UTF-8 close reason", frame(Opcode::Close, closePayload(1000, "\xff")), 1007},
        {"message over the limit", frame(Opcode::Binary, std::string(70000, 'b')), 1009},
        {"fragments over the limit",
         frame(Opcode::Binary, std::string(40000, 'a'), false) + frame(Opcode::Continuation, std::string(40000, 'a')),
         1009},
    };
    for (uint8_t opcode : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15})
        cases.push_back({"reserved opcode", frame(static_cast<Opcode>(opcode), ""), 1002});
    for (uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535})
        cases.push_back({"invalid close code", frame(Opcode::Close, closePayload(code)), 1002});
    for (const auto& c : cases)
    {
        SCOPED_TRACE(c.name);
        auto client = connect();
        client->sendRaw(c.bytes);
        EXPECT_EQ(client->receiveClose(), c.code);
        EXPECT_TRUE(client->waitForEof());
    }
}

// Autobahn 6.x: invalid UTF-8 fails fast, in the fragment that contains it.
TEST_P(ConformanceTest, InvalidUtf8FailsFastPerFragment)
{
    auto client = connect();
    client->sendRaw(frame(Opcode::Text, "valid ", false));
    client->sendRaw(frame(Opcode::Continuation, "\xf4\x90\x80\x80", false)); // > U+10FFFF, message not finished
    EXPECT_EQ(client->receiveClose(), 1007);
}

// Autobahn 7.x: valid close codes and an empty close are echoed.
TEST_P(ConformanceTest, ValidClosesAreEchoed)
{
    for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999})
    {
        SCOPED_TRACE(code);
        auto client = connect();
        client->sendRaw(frame(Opcode::Close, closePayload(code, "bye")));
        EXPECT_EQ(client->receiveClose(), code);
        EXPECT_TRUE(client->waitForEof());
    }
    auto client = connect();
    client->sendRaw(frame(Opcode::Close, ""));
    EXPECT_EQ(client->receiveClose(), 1005); // an empty close answered with an empty close
    EXPECT_TRUE(client->waitForEof());
}

// Autobahn 2.x: pings are answered with their payload, also between fragments;
// a ping flood is answered in full.
TEST_P(ConformanceTest, PingFloodGetsPongsForTheLatestPings)
{
    auto client = connect();
    client->sendRaw(frame(Opcode::Ping, std::string(125, 'p')));
    auto pong = client->receive();
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->kind, WsMessage::Kind::Pong);
    EXPECT_EQ(pong->payload, std::string(125, 'p'));
    client->sendRaw(frame(Opcode::Pong, "unsolicited")); // ignored
    std::string flood;
    for (int i = 0; i < 2000; ++i)
        flood += frame(Opcode::Ping, std::to_string(i));
    client->sendRaw(flood);
    // SPEC §5 / RFC 6455 §5.5.3: a pong may answer only the latest of the pings
    // that arrived before it went out, so memory does not grow with the flood;
    // pongs come in order, and the last ping is answered.
    int last = -1;
    while (last < 1999)
    {
        auto message = client->receive();
        ASSERT_TRUE(message) << "after pong " << last;
        ASSERT_EQ(message->kind, WsMessage::Kind::Pong);
        int number = std::stoi(message->payload);
        ASSERT_GT(number, last);
        last = number;
    }
    client->sendRaw(frame(Opcode::Ping, "after"));
    auto after = client->receive();
    ASSERT_TRUE(after);
    EXPECT_EQ(after->payload, "after");
}

// Autobahn 1.x, 5.x, 6.x, 9.x: the echo testee returns every message whole,
// however it was framed.
// (The gateway answers with its own protocol instead; its tests cover that.)
TEST(EchoTesteeTest, EchoesMessagesHoweverFramed)
{
    Testee testee;
    auto client = std::make_unique<WsClient>(testee.port());
    for (size_t size : {0, 1, 125, 126, 127, 65535, 65536})
    {
        std::string text(size, 'a');
        client->sendRaw(frame(Opcode::Text, text));
        EXPECT_EQ(client->receiveText(10s), text) << size;
    }
    client->sendRaw(frame(Opcode::Binary, std::string("\x00\xff\x10", 3)));
    auto binary = client->receive();
    ASSERT_TRUE(binary);
    EXPECT_EQ(binary->kind, WsMessage::Kind::Binary);
    EXPECT_EQ(binary->payload, std::string("\x00\xff\x10", 3));
    // Fragments with a ping between them; a character split across fragments.
    client->sendRaw(frame(Opcode::Text, "κό", false) + frame(Opcode::Ping, "mid") +
                    frame(Opcode::Continuation, "σμ\xce", false) + frame(Opcode::Continuation, "\xb5"));
    auto pong = client->receive();
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->kind, WsMessage::Kind::Pong);
    EXPECT_EQ(client->receiveText(), "κόσμε");
    // Empty fragments.
    client->sendRaw(frame(Opcode::Text, "", false) + frame(Opcode::Continuation, "", false) +
                    frame(Opcode::Continuation, ""));
    EXPECT_EQ(client->receiveText(), "");
    // One byte at a time.
    std::string slow = frame(Opcode::Text, "byte by byte");
    for (char byte : slow)
        client->sendRaw(std::string(1, byte));
    EXPECT_EQ(client->receiveText(), "byte by byte");
}

INSTANTIATE_TEST_SUITE_P(BothTargets, ConformanceTest, ::testing::Values(Target::Testee, Target::Gateway),
                         [](const ::testing::TestParamInfo<Target>& param) {
                             return param.param == Target::Testee ? "Testee" : "Gateway";
                         });
