// The real wsgw-admin binary against a temp database (SPEC §3): every
// command's output, the --json shapes, exit codes 0/1/2 and what stderr says,
// secrets never stored in clear, a 100,000-member import.

#include "store/Database.h"
#include "store/Secret.h"
#include "support/TempDir.h"
#include "support/TestGateway.h"
#include "support/WsClient.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <fstream>

using namespace wsgw::test;

namespace {

class AdminCliTest : public ::testing::Test
{
protected:
    CommandResult admin(std::vector<std::string> args, const std::string& stdin_text = {})
    {
        args.insert(args.begin(), {adminBinary(), "--db", db});
        return runCommand(args, stdin_text);
    }

    Poco::Dynamic::Var json(std::vector<std::string> args)
    {
        args.insert(args.begin(), "--json");
        auto result = admin(args);
        EXPECT_EQ(result.exit_code, 0) << result.err;
        Poco::JSON::Parser parser;
        return parser.parse(result.out);
    }

    static Poco::JSON::Object::Ptr object(const Poco::Dynamic::Var& var)
    {
        return var.extract<Poco::JSON::Object::Ptr>();
    }

    /// Every text value in the database's tables, joined.
    std::string everyStoredValue()
    {
        wsgw::store::Database database(db);
        std::string all;
        for (const char* sql :
             {"SELECT name || ' ' || push_key_hash FROM apps", "SELECT token_hash FROM member_tokens"})
        {
            auto stmt = database.prepare(sql);
            while (stmt.step())
                all += stmt.columnText(0) + "\n";
        }
        return all;
    }

    TempDir dir;
    std::string db = dir.file("wsgw.db");
};

} // namespace

TEST_F(AdminCliTest, AppAddPrintsTheKeyOnce)
{
    auto result = admin({"app", "add", "match"});
    EXPECT_EQ(result.exit_code, 0);
    EXPECT_NE(result.out.find("app 'match' created (public)\npush key: "), std::string::npos) << result.out;
    EXPECT_NE(result.out.find("shown only once"), std::string::npos);
    auto added = object(json({"app", "add", "im", "--members"}));
    EXPECT_EQ(added->getValue<std::string>("name"), "im");
    EXPECT_EQ(added->getValue<std::string>("visibility"), "members");
    EXPECT_EQ(added->getArray("grants")->size(), 0u);
    EXPECT_EQ(added->getValue<std::string>("push_key").size(), 43u);
    EXPECT_EQ(added->getValue<std::string>("created").back(), 'Z');
    // Shown once: nothing else ever prints it.
    auto shown = admin({"--json", "app", "show", "im"});
    EXPECT_EQ(shown.out.find(added->getValue<std::string>("push_key")), std::string::npos);
    EXPECT_FALSE(object(json({"app", "show", "im"}))->has("push_key"));
}

TEST_F(AdminCliTest, AppListAndShow)
{
    admin({"app", "add", "match"});
    admin({"app", "add", "vip", "--private"});
    admin({"member", "add", "7"});
    admin({"app", "grant", "vip", "7"});
    auto list = admin({"app", "list"});
    EXPECT_EQ(list.exit_code, 0);
    EXPECT_EQ(list.out.substr(0, list.out.find('\n')), "NAME   VISIBILITY  GRANTS  CREATED");
    EXPECT_NE(list.out.find("\nmatch  public      0       "), std::string::npos) << list.out;
    EXPECT_NE(list.out.find("\nvip    private     1       "), std::string::npos) << list.out;
    auto apps = json({"app", "list"}).extract<Poco::JSON::Array::Ptr>();
    ASSERT_EQ(apps->size(), 2u);
    EXPECT_EQ(apps->getObject(1)->getValue<std::string>("name"), "vip");
    EXPECT_EQ(apps->getObject(1)->getArray("grants")->getElement<int64_t>(0), 7);
    auto show = admin({"app", "show", "vip"});
    EXPECT_NE(show.out.find("visibility: private\n"), std::string::npos) << show.out;
    EXPECT_NE(show.out.find("grants:     7\n"), std::string::npos) << show.out;
    auto empty = runCommand({adminBinary(), "--db", dir.file("empty.db"), "app", "list"});
    EXPECT_NE(empty.out.find("(no apps"), std::string::npos);
}

TEST_F(AdminCliTest, AppSetRemoveRotate)
{
    admin({"app", "add", "match"});
    EXPECT_EQ(object(json({"app", "set", "match", "--members"}))->getValue<std::string>("visibility"), "members");
    EXPECT_EQ(admin({"app", "set", "match"}).exit_code, 2);
    EXPECT_EQ(admin({"app", "set", "match", "--public", "--private"}).exit_code, 2);
    auto rotated = object(json({"app", "rotate-key", "match"}));
    std::string key = rotated->getValue<std::string>("push_key");
    EXPECT_NE(everyStoredValue().find(wsgw::store::toHex(wsgw::store::sha256(key))), std::string::npos);
    auto removed = object(json({"app", "remove", "match"}));
    EXPECT_EQ(removed->getValue<std::string>("action"), "removed");
    auto again = admin({"app", "remove", "match"});
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_EQ(again.err, "wsgw-admin: app 'match' does not exist (see: wsgw-admin app list)\n");
}

TEST_F(AdminCliTest, GrantsAndTheirFailures)
{
    admin({"app", "add", "vip", "--private"});
    admin({"app", "add", "match"});
    admin({"member", "add", "7"});
    EXPECT_EQ(admin({"app", "grant", "vip", "7"}).exit_code, 0);
    auto twice = admin({"app", "grant", "vip", "7"});
    EXPECT_EQ(twice.exit_code, 1);
    EXPECT_NE(twice.err.find("already has a grant"), std::string::npos);
    auto unknown_member = admin({"app", "grant", "vip", "8"});
    EXPECT_EQ(unknown_member.exit_code, 1);
    EXPECT_NE(unknown_member.err.find("member 8 does not exist"), std::string::npos);
    // Decision (README): allowed, with a note, and kept for when the app is private.
    auto public_grant = admin({"app", "grant", "match", "7"});
    EXPECT_EQ(public_grant.exit_code, 0);
    EXPECT_NE(public_grant.err.find("note: app 'match' is public"), std::string::npos) << public_grant.err;
    EXPECT_EQ(object(json({"app", "revoke", "vip", "7"}))->getValue<std::string>("action"), "revoked");
    auto missing = admin({"app", "revoke", "vip", "7"});
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_NE(missing.err.find("has no grant"), std::string::npos);
}

TEST_F(AdminCliTest, MembersAndTokens)
{
    auto added = object(json({"member", "add", "123456"}));
    EXPECT_EQ(added->getValue<int64_t>("member_id"), 123456);
    EXPECT_EQ(added->getValue<int>("tokens"), 1);
    EXPECT_GE(added->getValue<std::string>("token").size(), 22u);
    auto own = admin({"member", "add", "5", "--token", "654321"});
    EXPECT_EQ(own.exit_code, 0);
    EXPECT_NE(own.out.find("token: 654321\n"), std::string::npos);
    EXPECT_NE(own.err.find("warning: a token shorter than 16 characters"), std::string::npos) << own.err;
    EXPECT_EQ(admin({"member", "add", "5"}).exit_code, 1);
    EXPECT_EQ(object(json({"member", "token", "5", "--add"}))->getValue<int>("tokens"), 2);
    EXPECT_EQ(object(json({"member", "token", "5"}))->getValue<int>("tokens"), 1);
    auto members = json({"member", "list"}).extract<Poco::JSON::Array::Ptr>();
    ASSERT_EQ(members->size(), 2u);
    EXPECT_EQ(members->getObject(0)->getValue<int64_t>("member_id"), 5);
    auto table = admin({"member", "list"});
    EXPECT_EQ(table.out.substr(0, table.out.find('\n')), "MEMBER_ID  TOKENS  GRANTS  CREATED");
    EXPECT_EQ(object(json({"member", "remove", "5"}))->getValue<std::string>("action"), "removed");
    EXPECT_EQ(admin({"member", "show", "5"}).exit_code, 1);
    EXPECT_NE(admin({"member", "show", "123456"}).out.find("member_id: 123456\n"), std::string::npos);
}

TEST_F(AdminCliTest, SecretsAreNeverStoredInClear)
{
    std::vector<std::string> secrets;
    secrets.push_back(object(json({"app", "add", "match"}))->getValue<std::string>("push_key"));
    secrets.push_back(object(json({"app", "rotate-key", "match"}))->getValue<std::string>("push_key"));
    secrets.push_back(object(json({"member", "add", "1"}))->getValue<std::string>("token"));
    secrets.push_back(
        object(json({"member", "add", "2", "--token", "my-own-long-token-2"}))->getValue<std::string>("token"));
    secrets.push_back(object(json({"member", "token", "1", "--add"}))->getValue<std::string>("token"));
    admin({"member", "import", "-"}, "3,imported-token-number-3\n");
    secrets.push_back("imported-token-number-3");
    std::ifstream file(db, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    std::ifstream wal(db + "-wal", std::ios::binary);
    bytes.append((std::istreambuf_iterator<char>(wal)), std::istreambuf_iterator<char>());
    std::string rows = everyStoredValue();
    for (const auto& secret : secrets)
    {
        EXPECT_EQ(rows.find(secret), std::string::npos) << secret;
        EXPECT_EQ(bytes.find(secret), std::string::npos) << "in the database file: " << secret;
    }
    // Each secret is there as its SHA-256, except the first push key (rotated away).
    EXPECT_NE(rows.find(wsgw::store::toHex(wsgw::store::sha256(secrets[1]))), std::string::npos);
    EXPECT_NE(rows.find(wsgw::store::toHex(wsgw::store::sha256(secrets[5]))), std::string::npos);
}

// SPEC §3: 2 for usage errors, with a message that says what was wrong.
TEST_F(AdminCliTest, UsageErrorsExitTwoAndSayWhy)
{
    struct Case
    {
        std::vector<std::string> args;
        std::string message;
    };
    const Case cases[] = {
        {{"app", "add", "bad name"}, "invalid app name 'bad name'"},
        {{"app", "add", std::string(65, 'a')}, "invalid app name"},
        {{"app", "add", "a/b"}, "invalid app name"},
        {{"member", "add", "-5"}, "invalid number '-5'"},
        {{"member", "add", "0"}, "invalid member id '0'"},
        {{"member", "add", "9223372036854775808"}, "invalid member id"},
        {{"member", "add", "abc"}, "invalid member id 'abc'"},
        {{"app", "grant", "vip"}, "missing --member"},
        {{"app", "add"}, "missing --name"},
        {{"app", "add", "x", "extra"}, "too many arguments: usage is wsgw-admin app add NAME"},
        {{"frobnicate"}, "unknown command 'frobnicate'"},
        {{"app", "explode"}, "unknown command 'app explode'"},
        {{"app", "add", "x", "--bogus"}, "--bogus"},
        {{"member", "add", "5", "--token", ""}, "--token must not be empty"},
    };
    for (const auto& c : cases)
    {
        auto result = admin(c.args);
        EXPECT_EQ(result.exit_code, 2) << c.args[0] << " " << result.err;
        EXPECT_NE(result.err.find(c.message), std::string::npos) << result.err;
        EXPECT_EQ(result.err.rfind("wsgw-admin: ", 0), 0u) << result.err;
        EXPECT_TRUE(result.out.empty()) << result.out;
    }
    auto none = runCommand({adminBinary()});
    EXPECT_EQ(none.exit_code, 2);
    EXPECT_NE(none.err.find("usage: wsgw-admin"), std::string::npos);
    auto both = runCommand({adminBinary(), "--db", db, "--config", "x.ini", "app", "list"});
    EXPECT_EQ(both.exit_code, 2);
    EXPECT_NE(both.err.find("not both"), std::string::npos);
}

TEST_F(AdminCliTest, HelpForToolGroupAndCommand)
{
    auto tool = runCommand({adminBinary(), "--help"});
    EXPECT_EQ(tool.exit_code, 0);
    for (const char* command : {"app add", "app rotate-key", "member import", "push", "db check"})
        EXPECT_NE(tool.out.find(command), std::string::npos) << command;
    auto group = runCommand({adminBinary(), "member", "--help"});
    EXPECT_EQ(group.exit_code, 0);
    EXPECT_NE(group.out.find("member token"), std::string::npos);
    auto command = runCommand({adminBinary(), "app", "add", "--help"});
    EXPECT_EQ(command.exit_code, 0);
    EXPECT_NE(command.out.find("--private"), std::string::npos);
}

// Issue 2: --config finds the same database as the gateway.
TEST_F(AdminCliTest, ConfigNamesTheDatabase)
{
    std::string ini = dir.file("gw.ini");
    std::ofstream(ini) << "[db]\npath = " << dir.file("from-config.db") << "\n";
    EXPECT_EQ(runCommand({adminBinary(), "--config", ini, "app", "add", "x"}).exit_code, 0);
    wsgw::store::Database database(dir.file("from-config.db"));
    auto stmt = database.prepare("SELECT count(*) FROM apps WHERE name = 'x'");
    stmt.step();
    EXPECT_EQ(stmt.columnInt64(0), 1);
    auto bad = runCommand({adminBinary(), "--config", dir.file("missing.ini"), "app", "list"});
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_NE(bad.err.find("missing.ini"), std::string::npos);
}

// Issue 2: 100,000 members in one transaction, through stdin.
TEST_F(AdminCliTest, ImportsOneHundredThousandMembers)
{
    std::string csv = "member_id,token\n";
    for (int i = 1; i <= 100000; ++i)
        csv += std::to_string(i) + ",token-of-member-" + std::to_string(i) + "\n";
    auto result = admin({"--json", "member", "import", "-"}, csv);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    auto summary = object(Poco::JSON::Parser().parse(result.out));
    EXPECT_EQ(summary->getValue<int>("members"), 100000);
    EXPECT_EQ(summary->getValue<int>("created"), 100000);
    EXPECT_EQ(json({"member", "list"}).extract<Poco::JSON::Array::Ptr>()->size(), 100000u);
}

TEST_F(AdminCliTest, ImportWithBadLinesImportsNothing)
{
    std::string path = dir.file("members.csv");
    std::ofstream(path) << "1,good-token-number-1\n2\nx,token\n4,good-token-number-4\n-5,t\n";
    auto result = admin({"member", "import", path});
    EXPECT_EQ(result.exit_code, 1);
    for (const char* line : {"line 2:", "line 3:", "line 5:"})
        EXPECT_NE(result.err.find(line), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("nothing imported"), std::string::npos);
    EXPECT_EQ(json({"member", "list"}).extract<Poco::JSON::Array::Ptr>()->size(), 0u);
    auto missing = admin({"member", "import", dir.file("nope.csv")});
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_NE(missing.err.find("cannot read"), std::string::npos);
}

TEST_F(AdminCliTest, DbMigrateAndCheck)
{
    auto migrate = object(json({"db", "migrate"}));
    EXPECT_EQ(migrate->getValue<int>("version"), migrate->getValue<int>("latest"));
    auto check = admin({"db", "check"});
    EXPECT_EQ(check.exit_code, 0) << check.err;
    EXPECT_NE(check.out.find("integrity ok"), std::string::npos);
    EXPECT_TRUE(object(json({"db", "check"}))->getValue<bool>("ok"));
    auto missing = runCommand({adminBinary(), "--db", dir.file("absent.db"), "db", "check"});
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_NE(missing.err.find("does not exist"), std::string::npos);
    EXPECT_FALSE(std::ifstream(dir.file("absent.db")).good()); // check created nothing
}

// wsgw-admin push reaches subscribers through the running gateway.
TEST(AdminPushTest, PushThroughTheLocalGateway)
{
    TestGateway gateway;
    gateway.addApp("match");
    WsClient client(gateway.port());
    ASSERT_EQ(client.auth(-1, ""), reply(200, "hello stranger"));
    ASSERT_EQ(client.subscribe("match"), reply(200, "subscribe match success"));
    auto result = gateway.admin({"push", "match", "--text", "from the operator"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, "queued for 1 connection\n");
    EXPECT_EQ(client.receiveText(), R"({"app":"match","member_id":-1,"text":"from the operator"})");
    auto unknown = gateway.admin({"push", "nosuch", "--text", "x"});
    EXPECT_EQ(unknown.exit_code, 1);
    EXPECT_NE(unknown.err.find("unknown app nosuch"), std::string::npos);
    gateway.terminate();
    auto stopped = gateway.admin({"push", "match", "--text", "x"});
    EXPECT_EQ(stopped.exit_code, 1);
    EXPECT_NE(stopped.err.find("not running"), std::string::npos) << stopped.err;
}
