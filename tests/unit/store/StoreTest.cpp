// Store: schema migrations, constraints, every repository operation and its
// failures, secrets stored only as hashes, concurrency, change detection.

#include "store/Store.h"

#include "model/Names.h"
#include "store/Database.h"
#include "store/Error.h"
#include "store/MemberCsv.h"
#include "store/Migrator.h"
#include "store/SchemaScripts.h"
#include "store/Secret.h"
#include "support/TempDir.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <future>
#include <sstream>
#include <thread>

using namespace wsgw::store;
using namespace wsgw::model;
using wsgw::test::TempDir;

namespace {

int64_t count(Database& db, const std::string& sql)
{
    auto stmt = db.prepare(sql);
    stmt.step();
    return stmt.columnInt64(0);
}

} // namespace

TEST(MigratorTest, CreatesNewestSchemaFromEmpty)
{
    TempDir dir;
    Database db(dir.file("w.db"));
    EXPECT_EQ(Migrator::migrate(db), Migrator::latestVersion());
    EXPECT_EQ(db.userVersion(), Migrator::latestVersion());
    EXPECT_EQ(count(db, "SELECT count(*) FROM sqlite_schema WHERE type='table' AND name IN "
                        "('apps','members','member_tokens','grants')"),
              4);
    EXPECT_EQ(Migrator::migrate(db), 0); // idempotent
}

TEST(MigratorTest, MigratesFromEveryEarlierVersion)
{
    for (int from = 0; from < Migrator::latestVersion(); ++from)
    {
        TempDir dir;
        Database db(dir.file("w.db"));
        Migrator::migrateTo(db, from);
        ASSERT_EQ(db.userVersion(), from);
        EXPECT_EQ(Migrator::migrate(db), Migrator::latestVersion() - from) << "from " << from;
        EXPECT_EQ(db.userVersion(), Migrator::latestVersion());
    }
}

TEST(MigratorTest, RefusesDatabaseNewerThanBinary)
{
    TempDir dir;
    {
        Database db(dir.file("w.db"));
        Migrator::migrate(db);
        db.exec("PRAGMA user_version = " + std::to_string(Migrator::latestVersion() + 1));
    }
    try
    {
        Store store(dir.file("w.db"));
        FAIL() << "expected SchemaMismatch";
    }
    catch (const SchemaMismatch& e)
    {
        EXPECT_NE(std::string(e.what()).find("newer than this wsgw knows"), std::string::npos) << e.what();
    }
}

TEST(MigratorTest, RefusesForeignDatabase)
{
    TempDir dir;
    {
        Database db(dir.file("w.db"));
        db.exec("CREATE TABLE something (x)");
    }
    EXPECT_THROW(Store(dir.file("w.db")), SchemaMismatch);
}

TEST(MigratorTest, RefusesFileThatIsNotADatabase)
{
    TempDir dir;
    {
        std::ofstream out(dir.file("w.db"));
        out << "this is not a database, just text that is long enough to look like a header page";
    }
    EXPECT_THROW(Store(dir.file("w.db")), Error);
}

TEST(SchemaTest, ConstraintsRejectBadRows)
{
    TempDir dir;
    Store store(dir.file("w.db"));
    auto& db = store.database();
    std::string hash(64, 'a');
    EXPECT_THROW(db.exec("INSERT INTO apps (name, visibility, push_key_hash, created_at) VALUES ('bad name', "
                         "'public', '" +
                         hash + "', 0)"),
                 Error);
    EXPECT_THROW(db.exec("INSERT INTO apps (name, visibility, push_key_hash, created_at) VALUES ('ok', 'secret', '" +
                         hash + "', 0)"),
                 Error);
    EXPECT_THROW(db.exec("INSERT INTO members (id, created_at) VALUES (0, 0)"), Error);
    EXPECT_THROW(db.exec("INSERT INTO grants (app_id, member_id, created_at) VALUES (99, 99, 0)"), Error);
}

TEST(SchemaTest, RemovingAppOrMemberRemovesItsGrants)
{
    TempDir dir;
    Store store(dir.file("w.db"));
    store.addApp("a", Visibility::Private);
    store.addApp("b", Visibility::Private);
    store.addMember(1, std::nullopt);
    store.addMember(2, std::nullopt);
    store.grant("a", 1);
    store.grant("b", 1);
    store.grant("b", 2);
    store.removeApp("a");
    EXPECT_EQ(count(store.database(), "SELECT count(*) FROM grants"), 2);
    store.removeMember(1);
    EXPECT_EQ(count(store.database(), "SELECT count(*) FROM grants"), 1);
    EXPECT_EQ(count(store.database(), "SELECT count(*) FROM member_tokens WHERE member_id = 1"), 0);
}

TEST(StoreTest, AddAppStoresOnlyTheKeyHash)
{
    TempDir dir;
    Store store(dir.file("w.db"));
    std::string key = store.addApp("match", Visibility::Public);
    EXPECT_GE(key.size(), 22u); // >= 128 bits of base64url
    auto stmt = store.database().prepare("SELECT push_key_hash FROM apps WHERE name = 'match'");
    ASSERT_TRUE(stmt.step());
    EXPECT_EQ(stmt.columnText(0), toHex(sha256(key)));
    EXPECT_EQ(count(store.database(), "SELECT count(*) FROM apps WHERE instr(push_key_hash, '" + key + "') > 0"), 0);
}

TEST(StoreTest, AppLifecycle)
{
    TempDir dir;
    Store store(dir.file("w.db"));
    store.addApp("match", Visibility::Public);
    store.addApp("im", Visibility::Members);
    EXPECT_THROW(store.addApp("match", Visibility::Private), AlreadyExists);
    EXPECT_THROW(store.addApp("bad/name", Visibility::Public), InvalidInput);
    EXPECT_THROW(store.addApp(std::string(65, 'a'), Visibility::Public), InvalidInput);

    auto apps = store.listApps();
    ASSERT_EQ(apps.size(), 2u);
    EXPECT_EQ(apps[0].name, "im"); // sorted by name
    EXPECT_EQ(apps[0].visibility, Visibility::Members);

    store.setVisibility("match", Visibility::Private);
    EXPECT_EQ(store.getApp("match").visibility, Visibility::Private);
    EXPECT_THROW(store.setVisibility("nosuch", Visibility::Public), NotFound);

    std::string key = store.rotateKey("match");
    EXPECT_TRUE(store.loadSnapshot().apps.at("match").push_key_hash == sha256(key));
    EXPECT_THROW(store.rotateKey("nosuch"), NotFound);

    store.removeApp("match");
    EXPECT_THROW(store.getApp("match"), NotFound);
    EXPECT_THROW(store.removeApp("match"), NotFound);
}

TEST(StoreTest, GrantsAndTheirFailures)
{
    TempDir dir;
    Store store(dir.file("w.db"));
    store.addApp("vip", Visibility::Private);
    store.addApp("match", Visibility::Public);
    store.addMember(7, std::nullopt);
    store.grant("vip", 7);
    EXPECT_THROW(store.grant("vip", 7), AlreadyExists);
    EXPECT_THROW(store.grant("vip", 8), NotFound);    // unknown member
    EXPECT_THROW(store.grant("nosuch", 7), NotFound); // unknown app
    // Decision (README): a grant on a non-private app is kept and applies while it is private.
    EXPECT_NO_THROW(store.grant("match", 7));
    EXPECT_EQ(store.getApp("vip").granted, std::vector<int64_t>{7});
    EXPECT_EQ(store.getMember(7).granted, (std::vector<std::string>{"match", "vip"}));
    store.revoke("vip", 7);
    EXPECT_THROW(store.revoke("vip", 7), NotFound); // revoke of a missing grant
    EXPECT_TRUE(store.getApp("vip").granted.empty());
}

TEST(StoreTest, MembersAndTokens)
{
    TempDir dir;
    Store store(dir.file("w.db"));
    std::string generated = store.addMember(123456, std::nullopt);
    EXPECT_GE(generated.size(), 22u);
    store.addMember(42, std::string("654321"));
    EXPECT_THROW(store.addMember(42, std::nullopt), AlreadyExists);
    EXPECT_THROW(store.addMember(0, std::nullopt), InvalidInput);
    EXPECT_THROW(store.addMember(-5, std::nullopt), InvalidInput);
    EXPECT_THROW(store.addMember(9, std::string("")), InvalidInput);

    auto snapshot = store.loadSnapshot();
    auto first = snapshot.matchToken(42, sha256("654321"));
    ASSERT_TRUE(first);
    EXPECT_FALSE(snapshot.matchToken(42, sha256("wrong")));
    EXPECT_FALSE(snapshot.matchToken(43, sha256("654321")));
    EXPECT_TRUE(snapshot.matchToken(123456, sha256(generated)));

    store.setToken(42, std::string("second-token-long"), Store::TokenMode::Add);
    EXPECT_EQ(store.getMember(42).tokens, 2);
    store.setToken(42, std::string("third-token-long"), Store::TokenMode::Replace);
    EXPECT_EQ(store.getMember(42).tokens, 1);
    snapshot = store.loadSnapshot();
    EXPECT_FALSE(snapshot.hasToken(42, *first));
    EXPECT_TRUE(snapshot.matchToken(42, sha256("third-token-long")));
    EXPECT_THROW(store.setToken(99, std::nullopt, Store::TokenMode::Replace), NotFound);

    EXPECT_EQ(store.listMembers().size(), 2u);
    store.removeMember(42);
    EXPECT_THROW(store.getMember(42), NotFound);
    EXPECT_THROW(store.removeMember(42), NotFound);
}

TEST(StoreTest, TokensAreNeverStoredInClear)
{
    TempDir dir;
    Store store(dir.file("w.db"));
    std::string token = store.addMember(1, std::nullopt);
    store.addMember(2, std::string("my-own-secret-token"));
    std::stringstream csv("3,imported-secret-token\n");
    store.importMembers(csv);
    for (const std::string& secret : {token, std::string("my-own-secret-token"), std::string("imported-secret-token")})
    {
        EXPECT_EQ(count(store.database(), "SELECT count(*) FROM member_tokens WHERE token_hash = '" + secret + "'"), 0);
        EXPECT_EQ(count(store.database(),
                        "SELECT count(*) FROM member_tokens WHERE token_hash = '" + toHex(sha256(secret)) + "'"),
                  1);
    }
}

TEST(StoreTest, ImportCreatesAndUpdatesInOneTransaction)
{
    TempDir dir;
    Store store(dir.file("w.db"));
    store.addMember(1, std::string("old-token-of-one"));
    std::stringstream csv("member_id,token\n1,new-token-of-one\r\n2,token-two-xxxxxxx\n\n# comment\n2,short\n");
    auto result = store.importMembers(csv);
    EXPECT_EQ(result.members, 2u);
    EXPECT_EQ(result.created, 1u);
    EXPECT_EQ(result.tokens, 3u);
    EXPECT_EQ(result.short_tokens, 1u);
    auto snapshot = store.loadSnapshot();
    EXPECT_FALSE(snapshot.matchToken(1, sha256("old-token-of-one")));
    EXPECT_TRUE(snapshot.matchToken(1, sha256("new-token-of-one")));
    EXPECT_TRUE(snapshot.matchToken(2, sha256("short")));
    EXPECT_TRUE(snapshot.matchToken(2, sha256("token-two-xxxxxxx")));
}

TEST(StoreTest, ImportWithBadLinesImportsNothingAndNamesThem)
{
    TempDir dir;
    Store store(dir.file("w.db"));
    std::stringstream csv("1,good-token\nabc,tok\n3,\n-4,tok\n5\n18446744073709551616,tok\n");
    try
    {
        store.importMembers(csv);
        FAIL() << "expected InvalidInput";
    }
    catch (const InvalidInput& e)
    {
        std::string message = e.what();
        for (const char* line : {"line 2", "line 3", "line 4", "line 5", "line 6"})
            EXPECT_NE(message.find(line), std::string::npos) << line << " in " << message;
        EXPECT_EQ(message.find("line 1:"), std::string::npos);
    }
    EXPECT_TRUE(store.listMembers().empty());
}

TEST(StoreTest, ImportsManyMembers)
{
    TempDir dir;
    Store store(dir.file("w.db"));
    std::stringstream csv;
    for (int i = 1; i <= 20000; ++i)
        csv << i << ",token-" << i << "-abcdefghijk\n";
    auto result = store.importMembers(csv);
    EXPECT_EQ(result.members, 20000u);
    EXPECT_EQ(count(store.database(), "SELECT count(*) FROM member_tokens"), 20000);
}

TEST(StoreTest, SnapshotHoldsAppsGrantsAndKeys)
{
    TempDir dir;
    Store store(dir.file("w.db"));
    std::string key = store.addApp("vip", Visibility::Private);
    store.addApp("im", Visibility::Members);
    store.addMember(5, std::nullopt);
    store.grant("vip", 5);
    auto snapshot = store.loadSnapshot();
    ASSERT_NE(snapshot.findApp("vip"), nullptr);
    EXPECT_EQ(snapshot.findApp("vip")->visibility, Visibility::Private);
    EXPECT_TRUE(snapshot.findApp("vip")->granted.count(5));
    EXPECT_TRUE(constantTimeEquals(snapshot.findApp("vip")->push_key_hash, sha256(key)));
    EXPECT_EQ(snapshot.findApp("nosuch"), nullptr);
    EXPECT_EQ(snapshot.findApp("im")->visibility, Visibility::Members);
}

TEST(StoreTest, DataVersionChangesWhenAnotherConnectionCommits)
{
    TempDir dir;
    Store watcher(dir.file("w.db"));
    Store writer(dir.file("w.db"));
    int64_t before = watcher.dataVersion();
    EXPECT_EQ(watcher.dataVersion(), before); // stable without commits
    writer.addApp("match", Visibility::Public);
    EXPECT_NE(watcher.dataVersion(), before);
}

TEST(StoreTest, WriterProceedsWhileReaderHoldsSnapshotTransaction)
{
    TempDir dir;
    Store reader(dir.file("w.db"));
    Store writer(dir.file("w.db"));
    writer.addApp("one", Visibility::Public);
    Transaction read(reader.database(), Transaction::Kind::Deferred);
    auto stmt = reader.database().prepare("SELECT count(*) FROM apps");
    stmt.step();
    EXPECT_EQ(stmt.columnInt64(0), 1);
    // WAL: a writer is not blocked by an open read transaction.
    EXPECT_NO_THROW(writer.addApp("two", Visibility::Public));
    stmt.reset();
    stmt.step();
    EXPECT_EQ(stmt.columnInt64(0), 1); // the reader still sees its snapshot
}

TEST(StoreTest, SecondWriterWaitsForBusyTimeoutInsteadOfFailing)
{
    TempDir dir;
    Store holder(dir.file("w.db"));
    Store impatient(dir.file("w.db"), std::chrono::milliseconds(0));
    Store patient(dir.file("w.db"), std::chrono::seconds(10));
    std::promise<void> release;
    std::future<void> released = release.get_future();
    auto tx = std::make_unique<Transaction>(holder.database()); // BEGIN IMMEDIATE: holds the write lock
    try
    {
        impatient.addApp("x", Visibility::Public);
        FAIL() << "the write lock is not held";
    }
    catch (const Error& e)
    {
        EXPECT_EQ(e.code() & 0xff, SQLITE_BUSY);
    }
    auto writer = std::async(std::launch::async, [&] { return patient.addApp("y", Visibility::Public); });
    // Whenever the lock is released, the patient writer must then succeed.
    tx->commit();
    tx.reset();
    EXPECT_NO_THROW(writer.get());
    EXPECT_EQ(holder.getApp("y").name, "y");
}

TEST(NamesTest, AppNames)
{
    EXPECT_TRUE(isValidAppName("match"));
    EXPECT_TRUE(isValidAppName("A-z_0.9"));
    EXPECT_TRUE(isValidAppName(std::string(64, 'a')));
    EXPECT_FALSE(isValidAppName(""));
    EXPECT_FALSE(isValidAppName(std::string(65, 'a')));
    EXPECT_FALSE(isValidAppName("a b"));
    EXPECT_FALSE(isValidAppName("a/b"));
    EXPECT_FALSE(isValidAppName("é"));
}

TEST(NamesTest, MemberIds)
{
    EXPECT_EQ(parseMemberId("1"), 1);
    EXPECT_EQ(parseMemberId("9223372036854775807"), INT64_MAX);
    EXPECT_FALSE(parseMemberId("9223372036854775808"));
    EXPECT_FALSE(parseMemberId("0"));
    EXPECT_FALSE(parseMemberId("-1"));
    EXPECT_FALSE(parseMemberId("+1"));
    EXPECT_FALSE(parseMemberId("01"));
    EXPECT_FALSE(parseMemberId("1e3"));
    EXPECT_FALSE(parseMemberId(" 1"));
    EXPECT_FALSE(parseMemberId(""));
}

TEST(SecretTest, GeneratedSecretsAreLongUrlSafeAndDistinct)
{
    std::string a = generateSecret();
    std::string b = generateSecret();
    EXPECT_EQ(a.size(), 43u);
    EXPECT_NE(a, b);
    EXPECT_EQ(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos);
}

TEST(SecretTest, Sha256KnownAnswerAndHexRoundTrip)
{
    EXPECT_EQ(toHex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    auto digest = sha256("abc");
    EXPECT_TRUE(digestFromHex(toHex(digest)) == digest);
    EXPECT_FALSE(digestFromHex("zz"));
    EXPECT_TRUE(constantTimeEquals(digest, sha256("abc")));
    EXPECT_FALSE(constantTimeEquals(digest, sha256("abd")));
}

// SPEC §9: the primary's image copied into a replica's file: the same apps,
// members, token ids, grants and generation; the replica's role row stays.
TEST(StoreReplicaTest, ImageCopiesEverythingButTheRole)
{
    TempDir dir;
    Store primary(dir.file("primary.db"));
    primary.addApp("match", Visibility::Public);
    primary.addApp("vip", Visibility::Private);
    primary.addMember(7, std::string("token-of-seven-xyz"));
    primary.grant("vip", 7);
    auto image = primary.exportImage();
    EXPECT_EQ(image.generation, primary.generation());

    Store replica(dir.file("replica.db"));
    replica.addApp("stale", Visibility::Public);
    replica.setReplicaOf(std::string());
    replica.importImage(image.bytes, "node-a");
    auto copied = replica.loadSnapshot();
    auto original = primary.loadSnapshot();
    EXPECT_EQ(copied.generation, original.generation);
    EXPECT_EQ(copied.apps.size(), 2u);
    EXPECT_FALSE(copied.findApp("stale"));
    ASSERT_TRUE(copied.findApp("vip"));
    EXPECT_EQ(copied.findApp("vip")->granted.count(7), 1u);
    ASSERT_EQ(copied.members.at(7).size(), 1u);
    EXPECT_EQ(copied.members.at(7)[0].id, original.members.at(7)[0].id); // live sessions keep their token row
    EXPECT_EQ(replica.replicaOf(), "node-a");

    // Copying again (a newer image) replaces, never merges.
    primary.removeApp("match");
    replica.importImage(primary.exportImage().bytes, "node-a");
    EXPECT_FALSE(replica.loadSnapshot().findApp("match"));
}

TEST(StoreReplicaTest, ReplicaRefusesWritesNamingThePrimary)
{
    TempDir dir;
    Store db(dir.file("replica.db"));
    db.setReplicaOf(std::string("node-a:5000"));
    try
    {
        db.addApp("x", Visibility::Public);
        FAIL() << "a replica's database took a write";
    }
    catch (const ReplicaDatabase& e)
    {
        EXPECT_NE(std::string(e.what()).find("node-a:5000"), std::string::npos) << e.what();
    }
    EXPECT_THROW(db.addMember(5, std::nullopt), ReplicaDatabase);
    std::istringstream csv("5,token-of-five-xyz\n");
    EXPECT_THROW(db.importMembers(csv), ReplicaDatabase);
    db.setReplicaOf(std::nullopt); // promoted, or alone again
    EXPECT_NO_THROW(db.addApp("x", Visibility::Public));
}

TEST(StoreReplicaTest, GarbageAndOtherSchemasAreRefused)
{
    TempDir dir;
    Store db(dir.file("replica.db"));
    EXPECT_THROW(db.importImage("not a database", "p"), Error);
    Database old(dir.file("old.db"));
    Migrator::migrateTo(old, 2);
    sqlite3_int64 size = 0;
    unsigned char* bytes = sqlite3_serialize(old.handle(), "main", &size, 0);
    std::string image(reinterpret_cast<const char*>(bytes), static_cast<size_t>(size));
    sqlite3_free(bytes);
    EXPECT_THROW(db.importImage(image, "p"), SchemaMismatch);
}
