// Issue 6: faults and hostile peers against the real binaries. A broken
// database at start, kill -9 and restart, disk full under wsgw-admin, many
// silent connections, resets mid-frame, half-closed sockets, hostile push
// bodies, and secrets that must never appear in logs or stats.

#include "store/Database.h"
#include "support/Http.h"
#include "support/TestGateway.h"
#include "support/Wait.h"
#include "support/WsClient.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <functional>
#include <sys/socket.h>
#include <unistd.h>

using namespace wsgw::test;
using namespace std::chrono_literals;

namespace {

/// Runs wsgw --config INI to completion (for start-up failures).
CommandResult runGateway(const std::string& ini)
{
    return runCommand({wsgwBinary(), "--config", ini});
}

std::string writeIni(const TempDir& dir, const std::string& db)
{
    std::string ini = dir.file("wsgw.ini");
    std::ofstream(ini) << "[server]\nport = 0\nstat_port = 0\naddress = 127.0.0.1\n[db]\npath = " << db << "\n";
    return ini;
}

} // namespace

// Issue 6: a database that is corrupt, unreadable or of another program stops
// the start with a clear error and a non-zero exit; nothing listens.
TEST(GatewayStartupTest, BrokenDatabaseIsAClearErrorAtStart)
{
    TempDir dir;
    struct Case
    {
        const char* name;
        std::function<std::string()> make; ///< returns the database path
        const char* message;
    };
    const Case cases[] = {
        {"not a database",
         [&] {
             std::ofstream(dir.file("text.db")) << std::string(8192, 'x');
             return dir.file("text.db");
         },
         "file is not a database"},
        {"directory missing", [&] { return dir.file("no/such/dir/wsgw.db"); }, "cannot open database"},
        {"a foreign database",
         [&] {
             wsgw::store::Database other(dir.file("other.db"));
             other.exec("CREATE TABLE customers (id)");
             return dir.file("other.db");
         },
         "not a wsgw database"},
        {"a newer schema",
         [&] {
             wsgw::store::Database newer(dir.file("newer.db"));
             newer.exec("PRAGMA user_version = 999");
             return dir.file("newer.db");
         },
         "newer than this wsgw knows"},
    };
    for (const auto& c : cases)
    {
        auto result = runGateway(writeIni(dir, c.make()));
        EXPECT_NE(result.exit_code, 0) << c.name;
        EXPECT_NE((result.out + result.err).find(c.message), std::string::npos) << c.name << ": " << result.err;
        EXPECT_EQ((result.out + result.err).find("listening"), std::string::npos) << c.name;
    }
}

// Issue 6: a bad configuration exits 78 (EX_CONFIG) naming the key.
TEST(GatewayStartupTest, BadConfigurationExits78)
{
    TempDir dir;
    std::string ini = dir.file("bad.ini");
    std::ofstream(ini) << "[ws]\nauth_window_ms = soon\n";
    auto result = runGateway(ini);
    EXPECT_EQ(result.exit_code, 78);
    EXPECT_NE(result.err.find("ws.auth_window_ms"), std::string::npos) << result.err;
}

// Issue 6: kill -9 and restart: nothing in the store is lost, clients reconnect and resubscribe.
TEST(GatewayCrashTest, KillNineAndRestartLosesNothing)
{
    std::string db;
    std::string key;
    TempDir keep;
    {
        TestGateway first;
        key = first.addApp("match");
        first.addMember(7, "token-of-seven-xyz");
        WsClient client(first.port());
        ASSERT_EQ(client.auth(7, "token-of-seven-xyz"), reply(200, "hello 7"));
        ::kill(first.pid(), SIGKILL);
        EXPECT_TRUE(client.waitForEof());
        // Keep the database files for the second gateway.
        for (const char* suffix : {"", "-wal", "-shm"})
        {
            std::ifstream from(first.dbPath() + suffix, std::ios::binary);
            if (from)
                std::ofstream(keep.file(std::string("wsgw.db") + suffix), std::ios::binary) << from.rdbuf();
        }
        first.terminate(); // reaps the killed process
    }
    TestGateway second(TestGateway::Settings{{"db.path", keep.file("wsgw.db")}});
    WsClient client(second.port());
    EXPECT_EQ(client.auth(7, "token-of-seven-xyz"), reply(200, "hello 7"));
    EXPECT_EQ(client.subscribe("match"), reply(200, "subscribe match success"));
    EXPECT_EQ(push(second.port(), R"({"app":"match","text":"after the crash"})", key).status, 202);
    EXPECT_EQ(client.receiveText(), R"({"app":"match","member_id":-1,"text":"after the crash"})");
}

// Issue 6: disk full while wsgw-admin writes: a clear error and the database unchanged.
TEST(AdminFaultTest, DiskFullLeavesTheDatabaseUnchanged)
{
    TempDir dir;
    std::string db = dir.file("wsgw.db");
    ASSERT_EQ(runCommand({adminBinary(), "--db", db, "app", "add", "before"}).exit_code, 0);
    std::string csv;
    for (int i = 1; i <= 20000; ++i)
        csv += std::to_string(i) + ",a-rather-long-token-for-member-" + std::to_string(i) + "\n";
    // The file-size limit makes the kernel refuse writes past 64 KiB, as a full disk does;
    // SIGXFSZ ignored, so the write fails with EFBIG instead of killing the process.
    auto result = runCommand(
        {"/bin/sh", "-c", "trap '' XFSZ; ulimit -f 128; exec \"$0\" --db \"$1\" member import -", adminBinary(), db},
        csv);
    EXPECT_EQ(result.exit_code, 1) << result.err;
    EXPECT_NE(result.err.find("wsgw-admin: "), std::string::npos);
    auto check = runCommand({adminBinary(), "--db", db, "--json", "member", "list"});
    EXPECT_EQ(check.exit_code, 0) << check.err;
    EXPECT_EQ(check.out, "[]\n"); // nothing of the failed import
    auto integrity = runCommand({adminBinary(), "--db", db, "db", "check"});
    EXPECT_EQ(integrity.exit_code, 0) << integrity.out << integrity.err;
    EXPECT_NE(runCommand({adminBinary(), "--db", db, "app", "show", "before"}).out.find("before"), std::string::npos);
}

// Issue 6: many connections that never authenticate are all closed when the
// window ends, while a well-behaved client is served throughout.
TEST(GatewayHostileTest, ManySilentConnectionsDoNotHurtOthers)
{
    TestGateway gateway(TestGateway::Settings{{"ws.auth_window_ms", "500"}});
    std::string key = gateway.addApp("match");
    std::vector<std::unique_ptr<WsClient>> silent;
    for (int i = 0; i < 500; ++i)
        silent.push_back(std::make_unique<WsClient>(gateway.port()));
    WsClient good(gateway.port());
    ASSERT_EQ(good.auth(-1, ""), reply(200, "hello stranger"));
    ASSERT_EQ(good.subscribe("match"), reply(200, "subscribe match success"));
    ASSERT_EQ(push(gateway.port(), R"({"app":"match","text":"served"})", key).status, 202);
    EXPECT_EQ(good.receiveText(), R"({"app":"match","member_id":-1,"text":"served"})");
    for (auto& client : silent)
    {
        ASSERT_EQ(client->receiveText(3s), reply(400, "missing auth message"));
        ASSERT_EQ(client->receiveClose(), 1008);
    }
    auto stats = httpRequest(gateway.statPort(), "GET", "/stat?format=json").body;
    EXPECT_NE(stats.find("\"auth_timeouts\":500"), std::string::npos) << stats;
    ASSERT_EQ(push(gateway.port(), R"({"app":"match","text":"still served"})", key).status, 202);
    EXPECT_EQ(good.receiveText(), R"({"app":"match","member_id":-1,"text":"still served"})");
}

// Issue 6: a TCP reset in the middle of a frame, and a client that half-closes,
// cost the gateway nothing but that connection.
TEST(GatewayHostileTest, ResetMidFrameAndHalfCloseAreCleanedUp)
{
    TestGateway gateway;
    std::string key = gateway.addApp("match");
    WsClient good(gateway.port());
    ASSERT_EQ(good.auth(-1, ""), reply(200, "hello stranger"));
    ASSERT_EQ(good.subscribe("match"), reply(200, "subscribe match success"));
    {
        WsClient reset(gateway.port());
        ASSERT_EQ(reset.auth(-1, ""), reply(200, "hello stranger"));
        std::string frame = wsgw::transport::makeClientFrame(wsgw::transport::Opcode::Text, std::string(1000, 'a'), 9);
        reset.sendRaw(frame.substr(0, 500)); // half a frame...
        linger hard{1, 0};
        ::setsockopt(reset.fd(), SOL_SOCKET, SO_LINGER, &hard, sizeof(hard)); // ...then RST on close
    }
    {
        WsClient half(gateway.port());
        ASSERT_EQ(half.auth(-1, ""), reply(200, "hello stranger"));
        ASSERT_EQ(half.subscribe("match"), reply(200, "subscribe match success"));
        half.shutdownWrite();
        EXPECT_TRUE(half.waitForEof());
    }
    EXPECT_TRUE(waitUntil([&] {
        auto stats = httpRequest(gateway.statPort(), "GET", "/stat?format=json").body;
        return stats.find("\"connections\":1,") != std::string::npos;
    }));
    ASSERT_EQ(push(gateway.port(), R"({"app":"match","text":"fine"})", key).status, 202);
    EXPECT_EQ(good.receiveText(), R"({"app":"match","member_id":-1,"text":"fine"})");
}

// Issue 6: JSON by type and range; every hostile body is a 400 that names the problem.
TEST(GatewayHostileTest, HostilePushBodiesAre400)
{
    TestGateway gateway(TestGateway::Settings{{"push.require_key", "false"}, {"apps.unknown", "public"}});
    WsClient client(gateway.port());
    ASSERT_EQ(client.auth(-1, ""), reply(200, "hello stranger"));
    ASSERT_EQ(client.subscribe("match"), reply(200, "subscribe match success"));
    const std::string bodies[] = {
        std::string(10000, '[') + std::string(10000, ']'),                // deep nesting
        R"({"app":"match","text":"x","member_id":18446744073709551617})", // not "member 1"
        R"({"app":"match","text":"x","member_id":-9223372036854775809})",
        R"({"app":"match","text":"x","member_id":1e3})",
        R"({"app":"match","text":"x","member_id":"123"})",
        R"({"app":"match","text":"x","member_id":true})",
        R"({"app":"match","text":{"nested":"object"}})",
        R"({"app":"match","text":null})",
        std::string(R"({"app":"match","text":"bad )") + "\xff\xfe" + "\"}", // invalid UTF-8
        R"({"app":"match","text":"\ud800"})",                               // lone surrogate
        R"({"app":"match\u0000x","text":"x"})",                             // NUL in the app name
    };
    for (const auto& body : bodies)
    {
        auto result = push(gateway.port(), body, "");
        EXPECT_EQ(result.status, 400) << body.substr(0, 80);
        EXPECT_NE(result.body.find("\"code\":400"), std::string::npos);
    }
    // NUL inside a text is valid JSON and arrives escaped.
    ASSERT_EQ(push(gateway.port(), R"({"app":"match","text":"a\u0000b"})", "").status, 202);
    EXPECT_EQ(client.receiveText(), R"({"app":"match","member_id":-1,"text":"a\u0000b"})");
}

// Issue 6: tokens and push keys appear in no log line and no stat or metrics output.
TEST(GatewaySecretsTest, SecretsNeverLeak)
{
    TestGateway gateway(TestGateway::Settings{{"limits.auth_failures_per_ip", "0"}});
    std::vector<std::string> secrets;
    secrets.push_back(gateway.addApp("vip", "--private"));
    gateway.addMember(7, "seven-secret-token-value");
    secrets.push_back("seven-secret-token-value");
    ASSERT_EQ(gateway.admin({"app", "grant", "vip", "7"}).exit_code, 0);
    WsClient member(gateway.port());
    ASSERT_EQ(member.auth(7, "seven-secret-token-value"), reply(200, "hello 7"));
    ASSERT_EQ(member.subscribe("vip"), reply(200, "subscribe vip success"));
    WsClient guesser(gateway.port());
    ASSERT_EQ(guesser.auth(7, "a-wrong-guess-secret"), reply(401, "unauthorized"));
    secrets.push_back("a-wrong-guess-secret");
    ASSERT_EQ(push(gateway.port(), R"({"app":"vip","text":"x"})", secrets[0]).status, 202);
    ASSERT_EQ(push(gateway.port(), R"({"app":"vip","text":"x"})", "wrong-push-key-secret").status, 401);
    secrets.push_back("wrong-push-key-secret");
    std::string rotated = gateway.admin({"--json", "app", "rotate-key", "vip"}).out;
    ASSERT_EQ(gateway.admin({"member", "token", "7", "--token", "replacement-secret-token"}).exit_code, 0);
    secrets.push_back("replacement-secret-token");
    EXPECT_EQ(member.receiveClose(), 1008); // the token was replaced
    std::string outputs = gateway.stat() + httpRequest(gateway.statPort(), "GET", "/stat?format=json").body +
                          httpRequest(gateway.statPort(), "GET", "/metrics").body;
    gateway.terminate();
    std::string log = gateway.log();
    for (const auto& secret : secrets)
    {
        EXPECT_EQ(log.find(secret), std::string::npos) << "in the log: " << secret;
        EXPECT_EQ(outputs.find(secret), std::string::npos) << "in stat/metrics: " << secret;
    }
    EXPECT_FALSE(log.empty());
}
