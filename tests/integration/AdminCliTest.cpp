// The real wsgw-admin binary against a temp database (SPEC §3, issue 2): every
// command's output, the --json shapes, exit codes 0/1/2 and what stderr says,
// secrets never stored in clear, a 100,000-member import. Also the Process
// helper that runs it.

#include "store/Database.h"
#include "store/Migrator.h"
#include "store/Secret.h"
#include "support/Process.h"
#include "support/TempDir.h"
#include "support/TestGateway.h"
#include "support/Wait.h"
#include "support/WsClient.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <regex>
#include <sstream>

using namespace wsgw::test;

namespace {

const std::string kAdmin = WSGW_ADMIN_BIN;

/// Exit statuses of SPEC §3.
constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kUsage = 2;

std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

/// TEXT with every UTC timestamp replaced by "<T>" and every 43-character
/// secret (push key, generated token) by "<SECRET>", for golden comparisons.
std::string normalised(const std::string& text)
{
    static const std::regex time(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");
    static const std::regex secret(R"([A-Za-z0-9_-]{43})");
    return std::regex_replace(std::regex_replace(text, time, "<T>"), secret, "<SECRET>");
}

class AdminCliTest : public ::testing::Test
{
protected:
    /// wsgw-admin --db <temp db> ARGS...
    ProcessResult admin(std::vector<std::string> args, const std::string& stdin_text = {})
    {
        args.insert(args.begin(), {kAdmin, "--db", db});
        return runProcess(args, stdin_text);
    }

    /// wsgw-admin ARGS... with no --db.
    static ProcessResult bare(std::vector<std::string> args, const std::string& stdin_text = {})
    {
        args.insert(args.begin(), kAdmin);
        return runProcess(args, stdin_text);
    }

    /// wsgw-admin --json ARGS..., expected to succeed with one line of JSON.
    Poco::Dynamic::Var json(std::vector<std::string> args)
    {
        auto result = jsonText(std::move(args));
        return Poco::JSON::Parser().parse(result);
    }

    std::string jsonText(std::vector<std::string> args)
    {
        args.insert(args.begin(), "--json");
        auto result = admin(args);
        EXPECT_EQ(result.exit_code, kOk) << result.err;
        // Exactly one compact document, one line.
        EXPECT_EQ(result.out.find('\n'), result.out.size() - 1) << result.out;
        return result.out;
    }

    static Poco::JSON::Object::Ptr object(const Poco::Dynamic::Var& var)
    {
        return var.extract<Poco::JSON::Object::Ptr>();
    }
    static Poco::JSON::Array::Ptr array(const Poco::Dynamic::Var& var) { return var.extract<Poco::JSON::Array::Ptr>(); }

    /// Every value of every column of every table of the database, as SQL
    /// literals, one per line: what anyone who copies the file can read.
    std::string everyStoredValue()
    {
        wsgw::store::Database database(db);
        std::vector<std::string> tables;
        auto list = database.prepare("SELECT name FROM sqlite_master WHERE type = 'table'");
        while (list.step())
            tables.push_back(list.columnText(0));
        std::string all;
        for (const auto& table : tables)
        {
            std::vector<std::string> columns;
            auto info = database.prepare("SELECT name FROM pragma_table_info(?1)");
            info.bind(1, table);
            while (info.step())
                columns.push_back(info.columnText(0));
            for (const auto& column : columns)
            {
                auto values = database.prepare("SELECT quote(\"" + column + "\") FROM \"" + table + "\"");
                while (values.step())
                    all += table + "." + column + " = " + values.columnText(0) + "\n";
            }
        }
        return all;
    }

    /// The SHA-256 (hex) of each token MEMBER holds, sorted.
    std::vector<std::string> storedTokenHashes(int64_t member)
    {
        wsgw::store::Database database(db);
        auto query = database.prepare("SELECT token_hash FROM member_tokens WHERE member_id = ?1 ORDER BY token_hash");
        query.bind(1, member);
        std::vector<std::string> hashes;
        while (query.step())
            hashes.push_back(query.columnText(0));
        return hashes;
    }

    static std::string hashOf(const std::string& token) { return wsgw::store::toHex(wsgw::store::sha256(token)); }

    TempDir dir;
    std::string db = dir.file("wsgw.db");
};

/// What wsgw-admin says whenever --token is given on the command line.
const std::string kTokenOnCommandLine = "wsgw-admin: warning: other local users can read --token in the process list; "
                                        "--token-file FILE|- avoids that\n";

} // namespace

// SPEC §3: app add prints the push key once, on its own labelled line.
TEST_F(AdminCliTest, AppAddPrintsTheKeyOnce)
{
    auto result = admin({"app", "add", "match"});
    EXPECT_EQ(result.exit_code, kOk) << result.err;
    EXPECT_EQ(result.err, "");
    EXPECT_EQ(normalised(result.out), "app 'match' created (public)\n"
                                      "push key: <SECRET>\n"
                                      "Store it now: it is shown only once (wsgw-admin app rotate-key match makes a "
                                      "new one).\n");
    auto added = object(json({"app", "add", "im", "--members"}));
    EXPECT_EQ(added->getValue<std::string>("name"), "im");
    EXPECT_EQ(added->getValue<std::string>("visibility"), "members");
    EXPECT_EQ(added->getArray("grants")->size(), 0u);
    EXPECT_EQ(added->getValue<std::string>("push_key").size(), 43u);
    EXPECT_EQ(added->getValue<std::string>("created").back(), 'Z');
    EXPECT_EQ(object(json({"app", "add", "vip", "--private"}))->getValue<std::string>("visibility"), "private");
    // Shown once: nothing else ever prints it.
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"app", "show", "im"}, {"--json", "app", "show", "im"}, {"app", "list"}, {"--json", "app", "list"}})
        EXPECT_EQ(admin(args).out.find(added->getValue<std::string>("push_key")), std::string::npos);
    EXPECT_FALSE(object(json({"app", "show", "im"}))->has("push_key"));
}

TEST_F(AdminCliTest, DuplicateAppExitsOne)
{
    ASSERT_EQ(admin({"app", "add", "match"}).exit_code, kOk);
    auto again = admin({"app", "add", "match", "--private"});
    EXPECT_EQ(again.exit_code, kFailed);
    EXPECT_EQ(again.err, "wsgw-admin: app 'match' already exists\n");
    EXPECT_EQ(again.out, "");
    // The first one is untouched.
    EXPECT_EQ(object(json({"app", "show", "match"}))->getValue<std::string>("visibility"), "public");
}

TEST_F(AdminCliTest, AppListAndShow)
{
    admin({"app", "add", "match"});
    admin({"app", "add", "vip", "--private"});
    admin({"member", "add", "7"});
    admin({"member", "add", "9"});
    admin({"app", "grant", "vip", "9"});
    admin({"app", "grant", "vip", "7"});
    auto list = admin({"app", "list"});
    EXPECT_EQ(list.exit_code, kOk);
    EXPECT_EQ(normalised(list.out), "NAME   VISIBILITY  GRANTS  CREATED\n"
                                    "match  public      0       <T>\n"
                                    "vip    private     2       <T>\n");
    auto apps = array(json({"app", "list"}));
    ASSERT_EQ(apps->size(), 2u);
    EXPECT_EQ(apps->getObject(0)->getValue<std::string>("name"), "match");
    EXPECT_EQ(apps->getObject(1)->getValue<std::string>("name"), "vip");
    auto grants = apps->getObject(1)->getArray("grants");
    ASSERT_EQ(grants->size(), 2u);
    EXPECT_EQ(grants->getElement<int64_t>(0), 7);
    EXPECT_EQ(grants->getElement<int64_t>(1), 9);
    auto show = admin({"app", "show", "vip"});
    EXPECT_EQ(normalised(show.out), "name:       vip\n"
                                    "visibility: private\n"
                                    "grants:     7, 9\n"
                                    "created:    <T>\n"
                                    "webhook:    (none)\n"
                                    "publish:    off (client publish)\n");
    auto missing = admin({"app", "show", "nosuch"});
    EXPECT_EQ(missing.exit_code, kFailed);
    EXPECT_EQ(missing.err, "wsgw-admin: app 'nosuch' does not exist (see: wsgw-admin app list)\n");
    auto empty = runProcess({kAdmin, "--db", dir.file("empty.db"), "app", "list"});
    EXPECT_EQ(empty.exit_code, kOk);
    EXPECT_EQ(empty.out.substr(0, empty.out.find('\n')), "NAME  VISIBILITY  GRANTS  CREATED");
    EXPECT_NE(empty.out.find("\n(no apps"), std::string::npos) << empty.out;
    EXPECT_EQ(runProcess({kAdmin, "--db", dir.file("empty.db"), "--json", "app", "list"}).out, "[]\n");
}

TEST_F(AdminCliTest, AppSetRemoveRotate)
{
    admin({"app", "add", "match"});
    auto set = admin({"app", "set", "match", "--private"});
    EXPECT_EQ(set.exit_code, kOk);
    EXPECT_EQ(set.out, "app 'match' is now private\n");
    EXPECT_EQ(object(json({"app", "set", "match", "--members"}))->getValue<std::string>("visibility"), "members");
    auto rotated = admin({"app", "rotate-key", "match"});
    EXPECT_EQ(rotated.exit_code, kOk);
    EXPECT_EQ(normalised(rotated.out), "new push key for app 'match' (the old one no longer works)\n"
                                       "push key: <SECRET>\n"
                                       "Store it now: it is shown only once (wsgw-admin app rotate-key match makes "
                                       "a new one).\n");
    std::string key = object(json({"app", "rotate-key", "match"}))->getValue<std::string>("push_key");
    EXPECT_NE(everyStoredValue().find(wsgw::store::toHex(wsgw::store::sha256(key))), std::string::npos);
    auto removed = admin({"app", "remove", "match"});
    EXPECT_EQ(removed.out, "app 'match' removed\n");
    auto again = admin({"app", "remove", "match"});
    EXPECT_EQ(again.exit_code, kFailed);
    EXPECT_EQ(again.err, "wsgw-admin: app 'match' does not exist (see: wsgw-admin app list)\n");
    EXPECT_EQ(admin({"app", "rotate-key", "match"}).exit_code, kFailed);
    EXPECT_EQ(admin({"app", "set", "match", "--public"}).exit_code, kFailed);
}

TEST_F(AdminCliTest, GrantsAndTheirFailures)
{
    admin({"app", "add", "vip", "--private"});
    admin({"app", "add", "match"});
    admin({"member", "add", "7"});
    auto granted = admin({"app", "grant", "vip", "7"});
    EXPECT_EQ(granted.exit_code, kOk);
    EXPECT_EQ(granted.out, "member 7 may subscribe to 'vip'\n");
    EXPECT_EQ(granted.err, "");
    auto twice = admin({"app", "grant", "vip", "7"});
    EXPECT_EQ(twice.exit_code, kFailed);
    EXPECT_NE(twice.err.find("already has a grant"), std::string::npos);
    auto unknown_member = admin({"app", "grant", "vip", "8"});
    EXPECT_EQ(unknown_member.exit_code, kFailed);
    EXPECT_EQ(unknown_member.err, "wsgw-admin: member 8 does not exist (see: wsgw-admin member list)\n");
    auto unknown_app = admin({"app", "grant", "nosuch", "7"});
    EXPECT_EQ(unknown_app.exit_code, kFailed);
    EXPECT_NE(unknown_app.err.find("app 'nosuch' does not exist"), std::string::npos);
    // Decision (issue 2): allowed, with a note, and kept for when the app is private.
    auto public_grant = admin({"app", "grant", "match", "7"});
    EXPECT_EQ(public_grant.exit_code, kOk);
    EXPECT_EQ(public_grant.err, "wsgw-admin: note: app 'match' is public; the grant is kept and applies while the "
                                "app is private\n");
    EXPECT_EQ(array(object(json({"app", "show", "match"}))->get("grants"))->size(), 1u);
    auto revoked = admin({"app", "revoke", "vip", "7"});
    EXPECT_EQ(revoked.exit_code, kOk);
    EXPECT_EQ(revoked.out, "grant of member 7 on 'vip' revoked\n");
    auto missing = admin({"app", "revoke", "vip", "7"});
    EXPECT_EQ(missing.exit_code, kFailed);
    EXPECT_EQ(missing.err, "wsgw-admin: member 7 has no grant on app 'vip'\n");
    EXPECT_EQ(missing.out, "");
}

TEST_F(AdminCliTest, MembersAndTokens)
{
    auto added = admin({"member", "add", "123456"});
    EXPECT_EQ(added.exit_code, kOk);
    EXPECT_EQ(normalised(added.out), "member 123456 created\n"
                                     "token: <SECRET>\n"
                                     "Give it to the member's client now: it is shown only once.\n");
    EXPECT_EQ(added.err, "");
    auto own = admin({"member", "add", "5", "--token", "654321"});
    EXPECT_EQ(own.exit_code, kOk);
    EXPECT_NE(own.out.find("\ntoken: 654321\n"), std::string::npos);
    EXPECT_EQ(own.err, kTokenOnCommandLine +
                           "wsgw-admin: warning: a token shorter than 16 characters is easy to guess; generated tokens "
                           "have 256 bits\n");
    auto long_enough = admin({"member", "add", "6", "--token", "sixteen-chars-ok"});
    EXPECT_EQ(long_enough.exit_code, kOk);
    EXPECT_EQ(long_enough.err, kTokenOnCommandLine);
    auto duplicate = admin({"member", "add", "5"});
    EXPECT_EQ(duplicate.exit_code, kFailed);
    EXPECT_NE(duplicate.err.find("wsgw-admin: member 5 already exists"), std::string::npos);

    auto added_token = object(json({"member", "token", "5", "--add"}));
    EXPECT_EQ(added_token->getValue<int>("tokens"), 2);
    auto replaced = admin({"member", "token", "5"});
    EXPECT_EQ(normalised(replaced.out), "new token for member 5 (its other tokens no longer work)\n"
                                        "token: <SECRET>\n"
                                        "Give it to the member's client now: it is shown only once.\n");
    EXPECT_EQ(object(json({"member", "show", "5"}))->getValue<int>("tokens"), 1);
    auto chosen = admin({"member", "token", "5", "--token", "short", "--add"});
    EXPECT_EQ(chosen.exit_code, kOk);
    EXPECT_NE(chosen.out.find("\ntoken: short\n"), std::string::npos);
    EXPECT_NE(chosen.err.find("warning: a token shorter than 16"), std::string::npos);
    EXPECT_EQ(admin({"member", "token", "99"}).exit_code, kFailed);

    admin({"app", "add", "vip", "--private"});
    admin({"app", "add", "im", "--private"});
    admin({"app", "grant", "vip", "5"});
    admin({"app", "grant", "im", "5"});
    auto show = admin({"member", "show", "5"});
    EXPECT_EQ(normalised(show.out), "member_id: 5\n"
                                    "tokens:    2\n"
                                    "grants:    im, vip\n"
                                    "created:   <T>\n");
    auto table = admin({"member", "list"});
    EXPECT_EQ(normalised(table.out), "MEMBER_ID  TOKENS  GRANTS  CREATED\n"
                                     "5          2       2       <T>\n"
                                     "6          1       0       <T>\n"
                                     "123456     1       0       <T>\n");
    auto members = array(json({"member", "list"}));
    ASSERT_EQ(members->size(), 3u);
    EXPECT_EQ(members->getObject(0)->getValue<int64_t>("member_id"), 5);
    EXPECT_EQ(members->getObject(2)->getValue<int64_t>("member_id"), 123456);

    auto removed = admin({"member", "remove", "5"});
    EXPECT_EQ(removed.out, "member 5 removed\n");
    auto gone = admin({"member", "show", "5"});
    EXPECT_EQ(gone.exit_code, kFailed);
    EXPECT_EQ(gone.err, "wsgw-admin: member 5 does not exist (see: wsgw-admin member list)\n");
    // Removing the member removed its grants.
    EXPECT_EQ(array(object(json({"app", "show", "vip"}))->get("grants"))->size(), 0u);
    auto empty = runProcess({kAdmin, "--db", dir.file("empty.db"), "member", "list"});
    EXPECT_EQ(empty.out.substr(0, empty.out.find('\n')), "MEMBER_ID  TOKENS  GRANTS  CREATED");
    EXPECT_NE(empty.out.find("\n(no members"), std::string::npos) << empty.out;
}

// Issue 9: --token-file FILE|- keeps the token out of /proc/*/cmdline. The
// file's one line is the token, without one trailing LF or CRLF; what is stored
// is its SHA-256, exactly as for --token.
TEST_F(AdminCliTest, TokenFileOrStdinGivesTheToken)
{
    std::string lf = dir.file("lf.txt");
    std::ofstream(lf, std::ios::binary) << "token-from-a-file-lf\n";
    auto added = admin({"member", "add", "5", "--token-file", lf});
    EXPECT_EQ(added.exit_code, kOk) << added.err;
    EXPECT_EQ(added.err, "");
    EXPECT_EQ(added.out, "member 5 created\n"
                         "token: token-from-a-file-lf\n"
                         "Give it to the member's client now: it is shown only once.\n");
    EXPECT_EQ(storedTokenHashes(5), std::vector<std::string>{hashOf("token-from-a-file-lf")});

    std::string crlf = dir.file("crlf.txt");
    std::ofstream(crlf, std::ios::binary) << "token-from-a-file-crlf\r\n";
    auto replaced = object(json({"member", "token", "5", "--token-file", crlf}));
    EXPECT_EQ(replaced->getValue<std::string>("token"), "token-from-a-file-crlf");
    EXPECT_EQ(storedTokenHashes(5), std::vector<std::string>{hashOf("token-from-a-file-crlf")});

    // No newline at all is fine too; stdin with -, in both spellings.
    std::string bare_file = dir.file("bare.txt");
    std::ofstream(bare_file, std::ios::binary) << "token-without-newline";
    ASSERT_EQ(admin({"member", "add", "6", "--token-file", bare_file}).exit_code, kOk);
    EXPECT_EQ(storedTokenHashes(6), std::vector<std::string>{hashOf("token-without-newline")});
    auto from_stdin = admin({"member", "token", "6", "--token-file", "-", "--add"}, "token-from-stdin-1\n");
    EXPECT_EQ(from_stdin.exit_code, kOk) << from_stdin.err;
    EXPECT_EQ(from_stdin.err, "");
    EXPECT_NE(from_stdin.out.find("\ntoken: token-from-stdin-1\n"), std::string::npos) << from_stdin.out;
    ASSERT_EQ(admin({"member", "add", "7", "--token-file=-"}, "token-from-stdin-2\r\n").exit_code, kOk);
    EXPECT_EQ(storedTokenHashes(7), std::vector<std::string>{hashOf("token-from-stdin-2")});
    auto expected = std::vector<std::string>{hashOf("token-from-stdin-1"), hashOf("token-without-newline")};
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(storedTokenHashes(6), expected);

    // Only one newline goes; spaces are part of the token; a short one warns as with --token.
    auto spaced = admin({"member", "token", "7", "--token-file", "-"}, " spaces are kept \n");
    EXPECT_EQ(spaced.exit_code, kOk) << spaced.err;
    EXPECT_EQ(storedTokenHashes(7), std::vector<std::string>{hashOf(" spaces are kept ")});
    auto short_one = admin({"member", "token", "7", "--token-file", "-"}, "short\n");
    EXPECT_EQ(short_one.exit_code, kOk);
    EXPECT_EQ(short_one.err, "wsgw-admin: warning: a token shorter than 16 characters is easy to guess; generated "
                             "tokens have 256 bits\n");
    EXPECT_EQ(storedTokenHashes(7), std::vector<std::string>{hashOf("short")});
    // The longest token and its CRLF fit; one character more does not.
    auto longest = admin({"member", "token", "7", "--token-file", "-"}, std::string(1024, 't') + "\r\n");
    EXPECT_EQ(longest.exit_code, kOk) << longest.err;
    EXPECT_EQ(storedTokenHashes(7), std::vector<std::string>{hashOf(std::string(1024, 't'))});
}

// SPEC §3 / README "Choices": a bad command line exits 2; a token file that
// cannot be used is a command that could not be done, like a bad import file:
// exit 1. Either way one line on stderr, nothing on stdout, nothing changed.
TEST_F(AdminCliTest, BadTokenFilesAreRefused)
{
    ASSERT_EQ(admin({"member", "add", "5", "--token", "the-original-token"}).exit_code, kOk);
    auto original = storedTokenHashes(5);
    std::string good = dir.file("good.txt");
    std::ofstream(good) << "a-perfectly-good-token\n";
    std::string empty = dir.file("empty.txt");
    std::ofstream(empty) << "";
    std::string missing = dir.file("missing.txt");
    struct Case
    {
        std::vector<std::string> args;
        std::string stdin_text;
        int exit_code;
        std::string message;
    };
    const Case cases[] = {
        {{"member", "token", "5", "--token", "another-long-token", "--token-file", good},
         "",
         kUsage,
         "wsgw-admin: give --token or --token-file, not both (see: wsgw-admin member token --help)\n"},
        {{"member", "add", "6", "--token-file", good, "--token", "x"}, "", kUsage, "not both"},
        {{"member", "add", "6", "--token-file"}, "", kUsage, "'--token-file' is missing"},
        {{"member", "token", "5", "--token-file", missing},
         "",
         kFailed,
         "wsgw-admin: cannot read the token file '" + missing + "': No such file or directory\n"},
        {{"member", "token", "5", "--token-file", dir.path().string()}, "", kFailed, "Is a directory"},
        {{"member", "token", "5", "--token-file", empty},
         "",
         kFailed,
         "wsgw-admin: the token file '" + empty + "' is empty (omit --token-file to generate a token)\n"},
        {{"member", "token", "5", "--token-file", "-"}, "", kFailed, "the token on stdin is empty"},
        {{"member", "token", "5", "--token-file", "-"}, "\n", kFailed, "the token on stdin is empty"},
        {{"member", "token", "5", "--token-file", "-"}, "\r\n", kFailed, "the token on stdin is empty"},
        {{"member", "token", "5", "--token-file", "-"},
         "two-newlines-token\n\n",
         kFailed,
         "wsgw-admin: the token on stdin has a control character at byte 19: a token is one line of text (only one "
         "trailing newline is dropped)\n"},
        {{"member", "token", "5", "--token-file", "-"}, "line-one\nline-two\n", kFailed, "control character at byte 9"},
        {{"member", "token", "5", "--token-file", "-"}, std::string("nul\0inside-token", 17), kFailed, "at byte 4"},
        {{"member", "token", "5", "--token-file", "-"}, "tab\tinside-token", kFailed, "at byte 4"},
        {{"member", "token", "5", "--token-file", "-"}, "bare-carriage-return\r", kFailed, "at byte 21"},
        {{"member", "token", "5", "--token-file", "-"}, "del\x7finside-token", kFailed, "at byte 4"},
        {{"member", "token", "5", "--token-file", "-"},
         std::string(1025, 't') + "\n",
         kFailed,
         "the token on stdin is longer than 1024 characters"},
        {{"member", "token", "5", "--token-file", "/dev/zero"}, "", kFailed, "longer than 1024 characters"},
    };
    std::string before = everyStoredValue();
    for (const auto& c : cases)
    {
        auto result = admin(c.args, c.stdin_text);
        std::string what = c.args.back() + " <<< " + c.stdin_text.substr(0, 30);
        EXPECT_EQ(result.exit_code, c.exit_code) << what << ": " << result.err;
        EXPECT_NE(result.err.find(c.message), std::string::npos) << what << ": " << result.err;
        EXPECT_EQ(result.err.rfind("wsgw-admin: ", 0), 0u) << result.err;
        EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << what << ": " << result.err;
        EXPECT_EQ(result.out, "") << what;
    }
    EXPECT_EQ(everyStoredValue(), before);
    EXPECT_EQ(storedTokenHashes(5), original);
    EXPECT_EQ(admin({"member", "show", "6"}).exit_code, kFailed);
}

// --json: one compact line per command, keys in a fixed order (scripts rely on it).
TEST_F(AdminCliTest, JsonShapesKeepTheirKeysInOrder)
{
    EXPECT_EQ(
        normalised(jsonText({"app", "add", "vip", "--private"})),
        R"({"name":"vip","visibility":"private","grants":[],"created":"<T>","webhook":"","client_publish":"off","push_key":"<SECRET>"})"
        "\n");
    EXPECT_EQ(normalised(jsonText({"member", "add", "7"})),
              R"({"member_id":7,"tokens":1,"grants":[],"created":"<T>","token":"<SECRET>"})"
              "\n");
    EXPECT_EQ(jsonText({"app", "grant", "vip", "7"}), R"({"ok":true,"app":"vip","member_id":7,"action":"granted"})"
                                                      "\n");
    EXPECT_EQ(
        normalised(jsonText({"app", "show", "vip"})),
        R"({"name":"vip","visibility":"private","grants":[7],"created":"<T>","webhook":"","client_publish":"off"})"
        "\n");
    EXPECT_EQ(
        normalised(jsonText({"app", "set", "vip", "--members"})),
        R"({"name":"vip","visibility":"members","grants":[7],"created":"<T>","webhook":"","client_publish":"off"})"
        "\n");
    EXPECT_EQ(
        normalised(jsonText({"app", "rotate-key", "vip"})),
        R"({"name":"vip","visibility":"members","grants":[7],"created":"<T>","webhook":"","client_publish":"off","push_key":"<SECRET>"})"
        "\n");
    EXPECT_EQ(
        normalised(jsonText({"app", "list"})),
        R"([{"name":"vip","visibility":"members","grants":[7],"created":"<T>","webhook":"","client_publish":"off"}])"
        "\n");
    EXPECT_EQ(normalised(jsonText({"member", "show", "7"})),
              R"({"member_id":7,"tokens":1,"grants":["vip"],"created":"<T>"})"
              "\n");
    EXPECT_EQ(normalised(jsonText({"member", "token", "7", "--add"})),
              R"({"member_id":7,"tokens":2,"grants":["vip"],"created":"<T>","token":"<SECRET>"})"
              "\n");
    EXPECT_EQ(normalised(jsonText({"member", "list"})),
              R"([{"member_id":7,"tokens":2,"grants":["vip"],"created":"<T>"}])"
              "\n");
    EXPECT_EQ(jsonText({"app", "revoke", "vip", "7"}), R"({"ok":true,"app":"vip","member_id":7,"action":"revoked"})"
                                                       "\n");
    EXPECT_EQ(jsonText({"member", "remove", "7"}), R"({"ok":true,"member_id":7,"action":"removed"})"
                                                   "\n");
    EXPECT_EQ(jsonText({"app", "remove", "vip"}), R"({"ok":true,"app":"vip","action":"removed"})"
                                                  "\n");
    // "created" is the creation time in UTC.
    auto created = object(json({"app", "add", "clock"}))->getValue<std::string>("created");
    std::tm tm{};
    ASSERT_NE(::strptime(created.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm), nullptr) << created;
    EXPECT_LE(std::abs(::timegm(&tm) - std::time(nullptr)), 300) << created;
}

// Issue 2: tokens and push keys never reach the database file in clear.
TEST_F(AdminCliTest, SecretsAreNeverStoredInClear)
{
    std::vector<std::string> secrets;
    secrets.push_back(object(json({"app", "add", "match"}))->getValue<std::string>("push_key"));
    secrets.push_back(object(json({"app", "rotate-key", "match"}))->getValue<std::string>("push_key"));
    secrets.push_back(object(json({"member", "add", "1"}))->getValue<std::string>("token"));
    secrets.push_back(
        object(json({"member", "add", "2", "--token", "my-own-long-token-2"}))->getValue<std::string>("token"));
    secrets.push_back(object(json({"member", "token", "1", "--add"}))->getValue<std::string>("token"));
    secrets.push_back(object(json({"member", "token", "2"}))->getValue<std::string>("token"));
    // Human output too: the line after "push key: " / "token: ".
    auto human_key = admin({"app", "add", "im"}).out;
    secrets.push_back(human_key.substr(human_key.find("push key: ") + 10, 43));
    auto human_token = admin({"member", "add", "4"}).out;
    secrets.push_back(human_token.substr(human_token.find("token: ") + 7, 43));
    ASSERT_EQ(admin({"member", "import", "-"}, "3,imported-token-number-3\n").exit_code, kOk);
    secrets.push_back("imported-token-number-3");

    std::string rows = everyStoredValue();
    ASSERT_NE(rows.find("apps."), std::string::npos) << rows;
    std::string bytes = readFile(db) + readFile(db + "-wal");
    for (const auto& secret : secrets)
    {
        ASSERT_GE(secret.size(), 16u);
        EXPECT_EQ(rows.find(secret), std::string::npos) << secret;
        EXPECT_EQ(bytes.find(secret), std::string::npos) << "in the database file: " << secret;
    }
    // What is stored is the SHA-256, except for the first push key (rotated away)
    // and the token replaced by `member token 2`.
    for (size_t i : {1u, 2u, 4u, 5u, 6u, 7u, 8u})
        EXPECT_NE(rows.find(wsgw::store::toHex(wsgw::store::sha256(secrets[i]))), std::string::npos) << i;
    EXPECT_EQ(rows.find(wsgw::store::toHex(wsgw::store::sha256(secrets[0]))), std::string::npos);
    EXPECT_EQ(rows.find(wsgw::store::toHex(wsgw::store::sha256(secrets[3]))), std::string::npos);
}

// SPEC §3: 2 for usage errors, with a message that says what was wrong and
// where to look; nothing on stdout, nothing done.
TEST_F(AdminCliTest, UsageErrorsExitTwoAndSayWhy)
{
    struct Case
    {
        std::vector<std::string> args;
        std::string message;
    };
    const Case cases[] = {
        {{"app", "add", "bad name"},
         "wsgw-admin: invalid app name 'bad name': use 1 to 64 characters of A-Z a-z 0-9 _ . - "
         "(see: wsgw-admin app add --help)\n"},
        {{"app", "add", std::string(65, 'a')}, "invalid app name"},
        {{"app", "add", "a/b"}, "invalid app name 'a/b'"},
        {{"app", "add", ""}, "invalid app name ''"},
        {{"app", "show", "héllo"}, "invalid app name"},
        {{"app", "grant", "bad!", "7"}, "invalid app name 'bad!'"},
        {{"member", "add", "-5"},
         "wsgw-admin: invalid member id '-5': use an integer from 1 to 9223372036854775807 "
         "(see: wsgw-admin member add --help)\n"},
        {{"member", "add", "0"}, "invalid member id '0'"},
        {{"member", "show", "-1"}, "invalid member id '-1'"},
        {{"member", "add", "9223372036854775808"}, "invalid member id '9223372036854775808'"},
        {{"member", "add", "99999999999999999999999"}, "invalid member id"},
        {{"member", "add", "abc"}, "invalid member id 'abc'"},
        {{"member", "add", "+5"}, "invalid member id '+5'"},
        {{"app", "grant", "vip", "0"}, "invalid member id '0'"},
        {{"app", "revoke", "vip", "-7"}, "invalid member id '-7'"},
        {{"app", "grant", "vip"},
         "wsgw-admin: missing MEMBER_ID: usage is wsgw-admin app grant NAME MEMBER_ID "
         "(see: wsgw-admin app grant --help)\n"},
        {{"app", "add"}, "missing NAME: usage is wsgw-admin app add NAME [--members|--private]"},
        {{"member", "show"}, "missing MEMBER_ID"},
        {{"member", "import"}, "missing FILE"},
        {{"app", "add", "x", "extra"},
         "wsgw-admin: too many arguments: usage is wsgw-admin app add NAME [--members|--private] "
         "(see: wsgw-admin app add --help)\n"},
        {{"app", "list", "extra"}, "too many arguments"},
        {{"db", "check", "now"}, "too many arguments"},
        {{"frobnicate"}, "wsgw-admin: unknown command 'frobnicate' (see: wsgw-admin --help)\n"},
        {{"app", "explode"}, "unknown command 'app explode'; app commands are: add, list, show"},
        {{"app"},
         "wsgw-admin: 'app' needs a command: add, list, show, remove, set, rotate-key, grant, revoke "
         "(see: wsgw-admin app --help)\n"},
        {{"app", "add", "x", "--bogus"},
         "wsgw-admin: unrecognised option '--bogus' (see: wsgw-admin app add --help)\n"},
        {{"--bogus", "app", "list"}, "wsgw-admin: unrecognised option '--bogus' (see: wsgw-admin --help)\n"},
        {{"app", "add", "x", "--members", "--private"}, "choose one of --public, --members, --private"},
        {{"app", "set", "x"}, "say which: --public, --members or --private"},
        {{"member", "add", "5", "--token", ""}, "--token must not be empty"},
        {{"member", "add", "5", "--token", std::string(1025, 't')}, "--token is longer than 1024"},
        {{"member", "add", "5", "--token"}, "--token"},
        {{"--", "app", "list"}, "the command comes before --"},
    };
    admin({"app", "add", "vip", "--private"});
    std::string before = everyStoredValue();
    for (const auto& c : cases)
    {
        auto result = admin(c.args);
        std::string what = c.args.empty() ? "" : c.args[0] + (c.args.size() > 1 ? " " + c.args[1] : "");
        EXPECT_EQ(result.exit_code, kUsage) << what << ": " << result.err;
        EXPECT_NE(result.err.find(c.message), std::string::npos) << what << ": " << result.err;
        EXPECT_EQ(result.err.rfind("wsgw-admin: ", 0), 0u) << result.err;
        EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
        EXPECT_EQ(result.out, "") << what;
    }
    EXPECT_EQ(everyStoredValue(), before);

    // --json changes stdout only: errors stay text on stderr.
    auto json_error = admin({"--json", "app", "add", "bad name"});
    EXPECT_EQ(json_error.exit_code, kUsage);
    EXPECT_EQ(json_error.out, "");
    EXPECT_EQ(json_error.err.rfind("wsgw-admin: invalid app name", 0), 0u);

    auto none = bare({});
    EXPECT_EQ(none.exit_code, kUsage);
    EXPECT_EQ(none.out, "");
    EXPECT_EQ(none.err.rfind("wsgw-admin: no command given\nusage: wsgw-admin", 0), 0u) << none.err;
    auto both = bare({"--db", db, "--config", dir.file("x.ini"), "app", "list"});
    EXPECT_EQ(both.exit_code, kUsage);
    EXPECT_EQ(both.err, "wsgw-admin: give --db or --config, not both (see: wsgw-admin app list --help)\n");
}

// An app name may start with '-' (SPEC §2); after -- it is not an option.
TEST_F(AdminCliTest, DoubleDashEndsOptions)
{
    auto added = admin({"app", "add", "--private", "--", "-x"});
    EXPECT_EQ(added.exit_code, kOk) << added.err;
    EXPECT_EQ(object(json({"app", "show", "--", "-x"}))->getValue<std::string>("visibility"), "private");
    EXPECT_EQ(admin({"app", "remove", "--", "-x"}).exit_code, kOk);
    auto id = admin({"member", "add", "--", "-5"});
    EXPECT_EQ(id.exit_code, kUsage);
    EXPECT_NE(id.err.find("invalid member id '-5'"), std::string::npos);
}

TEST_F(AdminCliTest, HelpForToolGroupAndCommand)
{
    auto tool = bare({"--help"});
    EXPECT_EQ(tool.exit_code, kOk);
    EXPECT_EQ(tool.err, "");
    for (const char* text : {"app add NAME [--members|--private]", "app rotate-key", "member token", "member import",
                             "db check", "/etc/wsgw/wsgw.ini", "./wsgw.db", "Exit status: 0", "2 usage error"})
        EXPECT_NE(tool.out.find(text), std::string::npos) << text;
    EXPECT_EQ(bare({"-h"}).out, tool.out);

    auto group = bare({"member", "--help"});
    EXPECT_EQ(group.exit_code, kOk);
    EXPECT_NE(group.out.find("member token"), std::string::npos);
    EXPECT_EQ(group.out.find("  app add NAME"), std::string::npos);

    auto command = bare({"app", "add", "--help"});
    EXPECT_EQ(command.exit_code, kOk);
    EXPECT_EQ(command.err, "");
    EXPECT_EQ(command.out.rfind("usage: wsgw-admin [--db PATH | --config FILE] [--json] app add NAME", 0), 0u);
    EXPECT_NE(command.out.find("--private"), std::string::npos);
    EXPECT_NE(command.out.find("printed once"), std::string::npos);
    // Positional arguments are not offered as options.
    EXPECT_EQ(command.out.find("--name"), std::string::npos) << command.out;
    EXPECT_NE(bare({"app", "grant", "--help"}).out.find("kept, with a note"), std::string::npos);
    EXPECT_NE(bare({"member", "add", "--help"}).out.find("shorter than 16 characters"), std::string::npos);
    EXPECT_NE(bare({"member", "import", "--help"}).out.find("nothing is imported"), std::string::npos);
    EXPECT_NE(bare({"db", "check", "--help"}).out.find("Never creates or migrates"), std::string::npos);
    // --help wins over a bad or incomplete command line, and touches no database.
    EXPECT_EQ(admin({"app", "grant", "--help"}).exit_code, kOk);
    EXPECT_FALSE(std::filesystem::exists(db));
}

// Issue 2: --config finds the same database as the gateway.
TEST_F(AdminCliTest, ConfigNamesTheDatabase)
{
    std::string ini = dir.file("gw.ini");
    std::ofstream(ini) << "[db]\npath = " << dir.file("from-config.db") << "\n";
    auto added = bare({"--config", ini, "app", "add", "x"});
    EXPECT_EQ(added.exit_code, kOk) << added.err;
    {
        wsgw::store::Database database(dir.file("from-config.db"));
        auto stmt = database.prepare("SELECT count(*) FROM apps WHERE name = 'x'");
        ASSERT_TRUE(stmt.step());
        EXPECT_EQ(stmt.columnInt64(0), 1);
    }
    EXPECT_EQ(array(Poco::JSON::Parser().parse(bare({"--config", ini, "--json", "app", "list"}).out))->size(), 1u);
    EXPECT_FALSE(std::filesystem::exists(db));
    auto bad = bare({"--config", dir.file("missing.ini"), "app", "list"});
    EXPECT_EQ(bad.exit_code, kUsage);
    EXPECT_EQ(bad.err.rfind("wsgw-admin: ", 0), 0u);
    EXPECT_NE(bad.err.find("missing.ini"), std::string::npos);
}

// Issue 2: 100,000 members in one transaction, through stdin.
TEST_F(AdminCliTest, ImportsOneHundredThousandMembers)
{
    std::string csv = "member_id,token\n";
    for (int i = 1; i <= 100000; ++i)
        csv += std::to_string(i) + ",token-of-member-" + std::to_string(i) + "\n";
    auto result = admin({"--json", "member", "import", "-"}, csv);
    ASSERT_EQ(result.exit_code, kOk) << result.err;
    EXPECT_EQ(result.err, "");
    EXPECT_EQ(result.out, R"({"members":100000,"created":100000,"updated":0,"tokens":100000,"short_tokens":0})"
                          "\n");
    auto members = array(json({"member", "list"}));
    ASSERT_EQ(members->size(), 100000u);
    EXPECT_EQ(members->getObject(99999)->getValue<int64_t>("member_id"), 100000);
}

TEST_F(AdminCliTest, ImportReportsCountsAndShortTokens)
{
    admin({"member", "add", "1"});
    std::string path = dir.file("members.csv");
    std::ofstream(path) << "1,long-enough-token-one\n2,short\n2,another-long-token-2\n\n3,tiny\n";
    auto result = admin({"member", "import", path});
    EXPECT_EQ(result.exit_code, kOk) << result.err;
    EXPECT_EQ(result.out, "imported 3 members (2 created, 1 updated), 4 tokens\n");
    EXPECT_EQ(result.err, "wsgw-admin: warning: 2 token(s) shorter than 16 characters\n");
    EXPECT_EQ(object(json({"member", "show", "2"}))->getValue<int>("tokens"), 2);
    auto again = admin({"--json", "member", "import", path});
    EXPECT_EQ(again.out, R"({"members":3,"created":0,"updated":3,"tokens":4,"short_tokens":2})"
                         "\n");
}

TEST_F(AdminCliTest, ImportWithBadLinesImportsNothing)
{
    std::string path = dir.file("members.csv");
    std::ofstream(path) << "1,good-token-number-1\n2\nx,token\n4,good-token-number-4\n-5,t\n6,\n";
    auto result = admin({"member", "import", path});
    EXPECT_EQ(result.exit_code, kFailed);
    EXPECT_EQ(result.out, "");
    EXPECT_EQ(result.err.rfind("wsgw-admin: 4 bad line(s), nothing imported:", 0), 0u) << result.err;
    for (const char* line : {"line 2:", "line 3:", "line 5:", "line 6:"})
        EXPECT_NE(result.err.find(line), std::string::npos) << result.err;
    EXPECT_EQ(result.err.find("line 1:"), std::string::npos);
    EXPECT_EQ(result.err.find("line 4:"), std::string::npos);
    EXPECT_EQ(array(json({"member", "list"}))->size(), 0u);
    auto missing = admin({"member", "import", dir.file("nope.csv")});
    EXPECT_EQ(missing.exit_code, kFailed);
    EXPECT_EQ(missing.err, "wsgw-admin: cannot read '" + dir.file("nope.csv") + "'\n");
}

TEST_F(AdminCliTest, DbMigrateAndCheck)
{
    auto fresh = object(json({"db", "migrate"}));
    EXPECT_EQ(fresh->getValue<std::string>("path"), db);
    EXPECT_EQ(fresh->getValue<int>("version"), wsgw::store::Migrator::latestVersion());
    EXPECT_EQ(fresh->getValue<int>("latest"), wsgw::store::Migrator::latestVersion());
    EXPECT_EQ(fresh->getValue<int>("applied"), wsgw::store::Migrator::latestVersion());
    EXPECT_EQ(object(json({"db", "migrate"}))->getValue<int>("applied"), 0);
    std::string latest = std::to_string(wsgw::store::Migrator::latestVersion());
    EXPECT_EQ(admin({"db", "migrate"}).out,
              "database " + db + " at schema version " + latest + " (0 migration(s) applied)\n");

    auto check = admin({"db", "check"});
    EXPECT_EQ(check.exit_code, kOk) << check.err;
    EXPECT_EQ(check.out, "database " + db + ": schema version " + latest + ", integrity ok, foreign keys ok\n");
    EXPECT_EQ(jsonText({"db", "check"}), R"({"path":")" + db + R"(","version":)" + latest + R"(,"latest":)" + latest +
                                             R"(,"ok":true,"problems":[]})"
                                             "\n");

    // db check creates nothing.
    std::string absent = dir.file("absent.db");
    auto missing = runProcess({kAdmin, "--db", absent, "db", "check"});
    EXPECT_EQ(missing.exit_code, kFailed);
    EXPECT_EQ(missing.err, "wsgw-admin: database '" + absent + "' does not exist (wsgw-admin db migrate creates it)\n");
    EXPECT_FALSE(std::filesystem::exists(absent));

    std::string garbage = dir.file("garbage.db");
    std::ofstream(garbage) << "this is not a database, just text long enough to look like a header\n";
    auto not_db = runProcess({kAdmin, "--db", garbage, "db", "check"});
    EXPECT_EQ(not_db.exit_code, kFailed);
    EXPECT_EQ(not_db.err.rfind("wsgw-admin: database '" + garbage + "': ", 0), 0u) << not_db.err;
    EXPECT_NE(not_db.err.find("not a database"), std::string::npos) << not_db.err;
}

// A database from a newer wsgw is refused by every command, and db check says so.
TEST_F(AdminCliTest, NewerSchemaIsRefused)
{
    ASSERT_EQ(admin({"app", "add", "match"}).exit_code, kOk);
    {
        wsgw::store::Database database(db);
        database.exec("PRAGMA user_version = 999");
    }
    auto list = admin({"app", "list"});
    EXPECT_EQ(list.exit_code, kFailed);
    EXPECT_EQ(list.out, "");
    EXPECT_EQ(list.err.rfind("wsgw-admin: database '" + db + "' has schema version 999", 0), 0u) << list.err;
    auto check = admin({"db", "check"});
    EXPECT_EQ(check.exit_code, kFailed);
    EXPECT_EQ(check.out, "schema version 999 is newer than this wsgw-admin knows\n");
    EXPECT_EQ(check.err, "wsgw-admin: database '" + db + "' failed the check: 1 problem(s), listed on stdout\n");
    auto json_check = object(Poco::JSON::Parser().parse(admin({"--json", "db", "check"}).out));
    EXPECT_FALSE(json_check->getValue<bool>("ok"));
    EXPECT_EQ(json_check->getArray("problems")->size(), 1u);
}

// The helper itself: exit codes, environment, large stdin, background runs.
TEST(ProcessTest, RunsToCompletionWithStdinAndEnvironment)
{
    auto exited = runProcess({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
    EXPECT_EQ(exited.exit_code, 3);
    EXPECT_EQ(exited.out, "out\n");
    EXPECT_EQ(exited.err, "err\n");
    EXPECT_EQ(runProcess({"/bin/sh", "-c", "echo \"$WSGW_TEST_VALUE\""}, "", {{"WSGW_TEST_VALUE", "from the map"}}).out,
              "from the map\n");
    std::string big(4 << 20, 'x');
    auto echoed = runProcess({"/bin/cat"}, big);
    EXPECT_EQ(echoed.exit_code, 0);
    EXPECT_EQ(echoed.out.size(), big.size());
    // A child that ignores its stdin does not hang or kill us (SIGPIPE).
    EXPECT_EQ(runProcess({"/bin/true"}, big).exit_code, 0);
    EXPECT_EQ(runProcess({"/bin/sh", "-c", "kill -TERM $$"}).exit_code, -SIGTERM);
    EXPECT_THROW(runProcess({"/nonexistent/program"}), std::runtime_error);
    EXPECT_THROW(runProcess({"/bin/sleep", "5"}, "", {}, std::chrono::milliseconds(100)), std::runtime_error);
}

TEST(ProcessTest, RunsInTheBackgroundUntilKilled)
{
    TempDir dir;
    Process::Options options;
    options.stdout_path = dir.file("both.log");
    options.stderr_path = dir.file("both.log");
    options.env["WSGW_TEST_VALUE"] = "42";
    Process process({"/bin/sh", "-c", "echo \"value $WSGW_TEST_VALUE\"; echo err >&2; exec sleep 60"}, options);
    EXPECT_GT(process.pid(), 0);
    EXPECT_TRUE(waitUntil([&] { return readFile(dir.file("both.log")) == "value 42\nerr\n"; }))
        << readFile(dir.file("both.log"));
    EXPECT_TRUE(process.running());
    EXPECT_EQ(process.wait(std::chrono::milliseconds(50)), std::nullopt);
    process.kill(SIGTERM);
    EXPECT_EQ(process.wait(), -SIGTERM);
    EXPECT_FALSE(process.running());
    EXPECT_EQ(process.wait(), -SIGTERM);

    Process quick({"/bin/sh", "-c", "exit 7"});
    EXPECT_EQ(quick.wait(), 7);
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

// SPEC §3/§6: `token jwt` signs with the configured secret; without one it
// fails (1); bad arguments are usage errors (2). The gateway side is in GatewayJwtTest.
TEST_F(AdminCliTest, TokenJwtNeedsTheConfiguredSecret)
{
    auto none = admin({"token", "jwt", "42"});
    EXPECT_EQ(none.exit_code, kFailed);
    EXPECT_NE(none.err.find("auth.jwt_secret"), std::string::npos) << none.err;

    const std::string ini = dir.file("wsgw.ini");
    std::ofstream(ini) << "[db]\npath = " << db << "\n[auth]\njwt_secret = cli-secret\njwt_issuer = me\n";
    auto run = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {kAdmin, "--config", ini});
        return runProcess(args);
    };
    const auto before = std::time(nullptr);
    auto minted = run({"--json", "token", "jwt", "42", "--apps", "vip,im", "--ttl", "60"});
    ASSERT_EQ(minted.exit_code, kOk) << minted.err;
    auto object = Poco::JSON::Parser().parse(minted.out).extract<Poco::JSON::Object::Ptr>();
    const auto token = object->getValue<std::string>("token");
    const auto expires_at = object->getValue<int64_t>("expires_at");
    EXPECT_GE(expires_at, before + 60);
    EXPECT_LE(expires_at, std::time(nullptr) + 60);
    EXPECT_EQ(std::count(token.begin(), token.end(), '.'), 2);
    auto plain = run({"token", "jwt", "42"});
    EXPECT_EQ(plain.exit_code, kOk);
    EXPECT_EQ(plain.out.back(), '\n');

    for (const std::vector<std::string>& bad : {std::vector<std::string>{"token", "jwt"},
                                                {"token", "jwt", "0"},
                                                {"token", "jwt", "42", "--ttl", "0"},
                                                {"token", "jwt", "42", "--ttl", "1h"},
                                                {"token", "jwt", "42", "--apps", "bad name"},
                                                {"token", "jwt", "42", "--apps", "a,"},
                                                {"token", "jwt", "42", "43"}})
    {
        auto result = run(bad);
        EXPECT_EQ(result.exit_code, kUsage) << bad.back() << ": " << result.err;
        EXPECT_FALSE(result.err.empty());
    }
    auto help = run({"token", "jwt", "--help"});
    EXPECT_EQ(help.exit_code, kOk);
    EXPECT_NE(help.out.find("--ttl"), std::string::npos);
}

// SPEC §7: an app's backend and client publish. The first --webhook prints the
// secret once; show never does; rotate-key --webhook-secret replaces it; the
// URL is checked; nothing changes on a usage error.
TEST_F(AdminCliTest, AppWebhookAndClientPublish)
{
    auto parseJson = [](const std::string& text) { return object(Poco::JSON::Parser().parse(text)); };
    admin({"app", "add", "chat"});
    auto first = admin({"--json", "app", "set", "chat", "--webhook", "https://backend.example/wsgw"});
    ASSERT_EQ(first.exit_code, 0) << first.err;
    auto secret = parseJson(first.out)->getValue<std::string>("webhook_secret");
    EXPECT_GE(secret.size(), 32u);
    // A second --webhook keeps the secret (and does not show it).
    auto again = admin({"--json", "app", "set", "chat", "--webhook", "http://127.0.0.1:9/x"});
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_EQ(again.out.find("webhook_secret"), std::string::npos) << again.out;
    auto publish = admin({"app", "set", "chat", "--client-publish", "subscribers"});
    ASSERT_EQ(publish.exit_code, 0) << publish.err;
    auto show = admin({"app", "show", "chat"});
    EXPECT_NE(show.out.find("webhook:    http://127.0.0.1:9/x\n"), std::string::npos) << show.out;
    EXPECT_NE(show.out.find("publish:    subscribers"), std::string::npos) << show.out;
    EXPECT_EQ(show.out.find(secret), std::string::npos);
    auto rotated = admin({"--json", "app", "rotate-key", "chat", "--webhook-secret"});
    ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
    auto fresh = parseJson(rotated.out)->getValue<std::string>("webhook_secret");
    EXPECT_NE(fresh, secret);
    EXPECT_EQ(parseJson(rotated.out)->has("push_key"), false);
    for (const std::vector<std::string>& bad :
         {std::vector<std::string>{"app", "set", "chat", "--webhook", "ftp://x/y"},
          {"app", "set", "chat", "--client-publish", "everyone"}})
    {
        auto result = admin(bad);
        EXPECT_EQ(result.exit_code, kUsage) << result.err;
    }
    auto after = parseJson(admin({"--json", "app", "show", "chat"}).out);
    EXPECT_EQ(after->getValue<std::string>("webhook"), "http://127.0.0.1:9/x");
    EXPECT_EQ(after->getValue<std::string>("client_publish"), "subscribers");
    // '' removes the backend.
    ASSERT_EQ(admin({"app", "set", "chat", "--webhook", ""}).exit_code, 0);
    EXPECT_EQ(parseJson(admin({"--json", "app", "show", "chat"}).out)->getValue<std::string>("webhook"), "");
}
