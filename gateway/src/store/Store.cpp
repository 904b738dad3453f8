#include "store/Store.h"

#include "model/Names.h"
#include "store/Error.h"
#include "store/MemberCsv.h"
#include "store/Migrator.h"
#include "store/Secret.h"

#include <sqlite3.h>

#include <cstring>
#include <ctime>
#include <map>

namespace wsgw::store {

namespace {

int64_t unixNow()
{
    return static_cast<int64_t>(std::time(nullptr));
}

void validateAppName(std::string_view name)
{
    if (!model::isValidAppName(name))
        throw InvalidInput("invalid app name '" + std::string(name.substr(0, 80)) +
                           "': use 1 to 64 characters of A-Z a-z 0-9 _ . -");
}

void validateMemberId(int64_t id)
{
    if (id <= 0)
        throw InvalidInput("invalid member id " + std::to_string(id) + ": member ids are integers from 1 to 2^63-1");
}

void validateToken(const std::string& token)
{
    if (token.empty())
        throw InvalidInput("the token is empty");
    if (token.size() > kMaxTokenLength)
        throw InvalidInput("the token is longer than " + std::to_string(kMaxTokenLength) + " characters");
}

Visibility visibilityColumn(const Statement& stmt, int column)
{
    auto visibility = parseVisibility(stmt.columnText(column));
    if (!visibility)
        throw Error(0, "apps.visibility holds '" + stmt.columnText(column) + "'");
    return *visibility;
}

} // namespace

Store::Store(const std::string& path, std::chrono::milliseconds busy_timeout) : db_(path, busy_timeout)
{
    Migrator::migrate(db_);
}

int64_t Store::appId(std::string_view name)
{
    validateAppName(name);
    auto stmt = db_.prepare("SELECT id FROM apps WHERE name = ?1");
    stmt.bind(1, name);
    if (!stmt.step())
        throw NotFound("app '" + std::string(name) + "' does not exist (see: wsgw-admin app list)");
    return stmt.columnInt64(0);
}

void Store::requireMember(int64_t id)
{
    validateMemberId(id);
    auto stmt = db_.prepare("SELECT 1 FROM members WHERE id = ?1");
    stmt.bind(1, id);
    if (!stmt.step())
        throw NotFound("member " + std::to_string(id) + " does not exist (see: wsgw-admin member list)");
}

std::string Store::addApp(std::string_view name, Visibility visibility)
{
    validateAppName(name);
    std::string key = generateSecret();
    Transaction tx(db_);
    requireWritable();
    auto exists = db_.prepare("SELECT 1 FROM apps WHERE name = ?1");
    exists.bind(1, name);
    if (exists.step())
        throw AlreadyExists("app '" + std::string(name) + "' already exists");
    auto insert = db_.prepare("INSERT INTO apps (name, visibility, push_key_hash, created_at) VALUES (?1, ?2, ?3, ?4)");
    insert.bind(1, name).bind(2, toString(visibility)).bind(3, toHex(sha256(key))).bind(4, unixNow());
    insert.run();
    tx.commit();
    return key;
}

std::vector<AppInfo> Store::listApps()
{
    Transaction tx(db_, Transaction::Kind::Deferred);
    std::vector<AppInfo> apps;
    std::map<int64_t, size_t> by_id;
    auto stmt =
        db_.prepare("SELECT id, name, visibility, created_at, webhook_url, client_publish FROM apps ORDER BY name");
    while (stmt.step())
    {
        by_id[stmt.columnInt64(0)] = apps.size();
        apps.push_back({stmt.columnText(1),
                        visibilityColumn(stmt, 2),
                        stmt.columnInt64(3),
                        {},
                        stmt.columnText(4),
                        parseClientPublish(stmt.columnText(5)).value_or(ClientPublish::Off)});
    }
    auto grants = db_.prepare("SELECT app_id, member_id FROM grants ORDER BY app_id, member_id");
    while (grants.step())
    {
        auto it = by_id.find(grants.columnInt64(0));
        if (it != by_id.end())
            apps[it->second].granted.push_back(grants.columnInt64(1));
    }
    tx.commit();
    return apps;
}

AppInfo Store::getApp(std::string_view name)
{
    Transaction tx(db_, Transaction::Kind::Deferred);
    int64_t id = appId(name);
    auto stmt = db_.prepare("SELECT name, visibility, created_at, webhook_url, client_publish FROM apps WHERE id = ?1");
    stmt.bind(1, id);
    stmt.step();
    AppInfo app{stmt.columnText(0),  visibilityColumn(stmt, 1),
                stmt.columnInt64(2), {},
                stmt.columnText(3),  parseClientPublish(stmt.columnText(4)).value_or(ClientPublish::Off)};
    auto grants = db_.prepare("SELECT member_id FROM grants WHERE app_id = ?1 ORDER BY member_id");
    grants.bind(1, id);
    while (grants.step())
        app.granted.push_back(grants.columnInt64(0));
    tx.commit();
    return app;
}

void Store::removeApp(std::string_view name)
{
    Transaction tx(db_);
    requireWritable();
    int64_t id = appId(name);
    auto stmt = db_.prepare("DELETE FROM apps WHERE id = ?1");
    stmt.bind(1, id);
    stmt.run();
    tx.commit();
}

void Store::setVisibility(std::string_view name, Visibility visibility)
{
    Transaction tx(db_);
    requireWritable();
    int64_t id = appId(name);
    auto stmt = db_.prepare("UPDATE apps SET visibility = ?2 WHERE id = ?1");
    stmt.bind(1, id).bind(2, toString(visibility));
    stmt.run();
    tx.commit();
}

std::string Store::rotateKey(std::string_view name)
{
    std::string key = generateSecret();
    Transaction tx(db_);
    requireWritable();
    int64_t id = appId(name);
    auto stmt = db_.prepare("UPDATE apps SET push_key_hash = ?2 WHERE id = ?1");
    stmt.bind(1, id).bind(2, toHex(sha256(key)));
    stmt.run();
    tx.commit();
    return key;
}

std::string_view toString(ClientPublish mode)
{
    return mode == ClientPublish::Subscribers ? "subscribers" : "off";
}

std::optional<ClientPublish> parseClientPublish(std::string_view text)
{
    if (text == "off")
        return ClientPublish::Off;
    if (text == "subscribers")
        return ClientPublish::Subscribers;
    return std::nullopt;
}

std::string Store::setWebhook(std::string_view name, std::string_view url)
{
    Transaction tx(db_);
    int64_t id = appId(name);
    auto current = db_.prepare("SELECT webhook_secret FROM apps WHERE id = ?1");
    current.bind(1, id);
    current.step();
    std::string secret;
    if (!url.empty() && current.columnText(0).empty())
        secret = generateSecret();
    auto stmt = db_.prepare("UPDATE apps SET webhook_url = ?2, webhook_secret = CASE WHEN ?3 = '' THEN "
                            "webhook_secret ELSE ?3 END WHERE id = ?1");
    stmt.bind(1, id).bind(2, url).bind(3, secret);
    stmt.run();
    tx.commit();
    return secret;
}

std::string Store::rotateWebhookSecret(std::string_view name)
{
    std::string secret = generateSecret();
    Transaction tx(db_);
    int64_t id = appId(name);
    auto stmt = db_.prepare("UPDATE apps SET webhook_secret = ?2 WHERE id = ?1");
    stmt.bind(1, id).bind(2, secret);
    stmt.run();
    tx.commit();
    return secret;
}

void Store::setClientPublish(std::string_view name, ClientPublish mode)
{
    Transaction tx(db_);
    int64_t id = appId(name);
    auto stmt = db_.prepare("UPDATE apps SET client_publish = ?2 WHERE id = ?1");
    stmt.bind(1, id).bind(2, toString(mode));
    stmt.run();
    tx.commit();
}

void Store::grant(std::string_view app, int64_t member)
{
    Transaction tx(db_);
    requireWritable();
    int64_t id = appId(app);
    requireMember(member);
    auto stmt = db_.prepare("INSERT INTO grants (app_id, member_id, created_at) VALUES (?1, ?2, ?3) "
                            "ON CONFLICT DO NOTHING");
    stmt.bind(1, id).bind(2, member).bind(3, unixNow());
    stmt.run();
    if (db_.changes() == 0)
        throw AlreadyExists("member " + std::to_string(member) + " already has a grant on app '" + std::string(app) +
                            "'");
    tx.commit();
}

void Store::revoke(std::string_view app, int64_t member)
{
    Transaction tx(db_);
    requireWritable();
    int64_t id = appId(app);
    requireMember(member);
    auto stmt = db_.prepare("DELETE FROM grants WHERE app_id = ?1 AND member_id = ?2");
    stmt.bind(1, id).bind(2, member);
    stmt.run();
    if (db_.changes() == 0)
        throw NotFound("member " + std::to_string(member) + " has no grant on app '" + std::string(app) + "'");
    tx.commit();
}

void Store::insertToken(int64_t member, std::string_view token, int64_t now)
{
    auto stmt = db_.prepare("INSERT INTO member_tokens (member_id, token_hash, created_at) VALUES (?1, ?2, ?3) "
                            "ON CONFLICT DO NOTHING");
    stmt.bind(1, member).bind(2, toHex(sha256(token))).bind(3, now);
    stmt.run();
}

std::string Store::addMember(int64_t id, const std::optional<std::string>& token)
{
    validateMemberId(id);
    std::string secret = token ? *token : generateSecret();
    validateToken(secret);
    Transaction tx(db_);
    requireWritable();
    auto exists = db_.prepare("SELECT 1 FROM members WHERE id = ?1");
    exists.bind(1, id);
    if (exists.step())
        throw AlreadyExists("member " + std::to_string(id) + " already exists (new token: wsgw-admin member token " +
                            std::to_string(id) + ")");
    int64_t now = unixNow();
    auto insert = db_.prepare("INSERT INTO members (id, created_at) VALUES (?1, ?2)");
    insert.bind(1, id).bind(2, now);
    insert.run();
    insertToken(id, secret, now);
    tx.commit();
    return secret;
}

std::vector<MemberInfo> Store::listMembers()
{
    Transaction tx(db_, Transaction::Kind::Deferred);
    std::vector<MemberInfo> members;
    std::map<int64_t, size_t> by_id;
    auto stmt =
        db_.prepare("SELECT m.id, m.created_at, (SELECT count(*) FROM member_tokens t WHERE t.member_id = m.id) "
                    "FROM members m ORDER BY m.id");
    while (stmt.step())
    {
        by_id[stmt.columnInt64(0)] = members.size();
        members.push_back({stmt.columnInt64(0), stmt.columnInt64(1), stmt.columnInt64(2), {}});
    }
    auto grants = db_.prepare("SELECT g.member_id, a.name FROM grants g JOIN apps a ON a.id = g.app_id "
                              "ORDER BY g.member_id, a.name");
    while (grants.step())
    {
        auto it = by_id.find(grants.columnInt64(0));
        if (it != by_id.end())
            members[it->second].granted.push_back(grants.columnText(1));
    }
    tx.commit();
    return members;
}

MemberInfo Store::getMember(int64_t id)
{
    Transaction tx(db_, Transaction::Kind::Deferred);
    requireMember(id);
    auto stmt = db_.prepare("SELECT m.created_at, (SELECT count(*) FROM member_tokens t WHERE t.member_id = m.id) "
                            "FROM members m WHERE m.id = ?1");
    stmt.bind(1, id);
    stmt.step();
    MemberInfo member{id, stmt.columnInt64(0), stmt.columnInt64(1), {}};
    auto grants = db_.prepare("SELECT a.name FROM grants g JOIN apps a ON a.id = g.app_id WHERE g.member_id = ?1 "
                              "ORDER BY a.name");
    grants.bind(1, id);
    while (grants.step())
        member.granted.push_back(grants.columnText(0));
    tx.commit();
    return member;
}

void Store::removeMember(int64_t id)
{
    Transaction tx(db_);
    requireWritable();
    requireMember(id);
    auto stmt = db_.prepare("DELETE FROM members WHERE id = ?1");
    stmt.bind(1, id);
    stmt.run();
    tx.commit();
}

std::string Store::setToken(int64_t id, const std::optional<std::string>& token, TokenMode mode)
{
    std::string secret = token ? *token : generateSecret();
    validateToken(secret);
    Transaction tx(db_);
    requireWritable();
    requireMember(id);
    if (mode == TokenMode::Replace)
    {
        auto clear = db_.prepare("DELETE FROM member_tokens WHERE member_id = ?1");
        clear.bind(1, id);
        clear.run();
    }
    insertToken(id, secret, unixNow());
    tx.commit();
    return secret;
}

ImportResult Store::importMembers(std::istream& csv)
{
    auto rows = parseMemberCsv(csv);
    ImportResult result;
    int64_t now = unixNow();
    Transaction tx(db_);
    requireWritable();
    auto insert_member = db_.prepare("INSERT INTO members (id, created_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING");
    auto clear_tokens = db_.prepare("DELETE FROM member_tokens WHERE member_id = ?1");
    auto insert_token = db_.prepare("INSERT INTO member_tokens (member_id, token_hash, created_at) "
                                    "VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING");
    std::unordered_set<int64_t> seen;
    seen.reserve(rows.size());
    for (const auto& row : rows)
    {
        if (seen.insert(row.member_id).second)
        {
            ++result.members;
            insert_member.bind(1, row.member_id).bind(2, now);
            insert_member.run();
            insert_member.reset();
            if (db_.changes() > 0)
                ++result.created;
            // Listed members end up with exactly the listed tokens.
            clear_tokens.bind(1, row.member_id);
            clear_tokens.run();
            clear_tokens.reset();
        }
        insert_token.bind(1, row.member_id).bind(2, toHex(sha256(row.token))).bind(3, now);
        insert_token.run();
        insert_token.reset();
        ++result.tokens;
        if (row.token.size() < kRecommendedSecretLength)
            ++result.short_tokens;
    }
    tx.commit();
    return result;
}

int64_t Store::generation()
{
    auto stmt = db_.prepare("SELECT value FROM meta WHERE key = 'generation'");
    return stmt.step() ? stmt.columnInt64(0) : 0;
}

void Store::requireWritable()
{
    if (auto primary = replicaOf())
        throw ReplicaDatabase("this database is a cluster replica's copy: make changes on the primary" +
                              (primary->empty() ? std::string(" (not known yet)") : " (" + *primary + ")") +
                              ", with wsgw-admin against its database; they reach every replica within a second");
}

std::optional<std::string> Store::replicaOf()
{
    auto stmt = db_.prepare("SELECT primary_node FROM cluster_role WHERE id = 1 AND role = 'replica'");
    if (!stmt.step())
        return std::nullopt;
    return stmt.columnText(0);
}

void Store::setReplicaOf(const std::optional<std::string>& primary)
{
    Transaction tx(db_);
    if (primary)
    {
        auto stmt = db_.prepare("INSERT INTO cluster_role (id, role, primary_node, updated_at) "
                                "VALUES (1, 'replica', ?1, ?2) "
                                "ON CONFLICT (id) DO UPDATE SET primary_node = ?1, updated_at = ?2");
        stmt.bind(1, *primary).bind(2, unixNow());
        stmt.run();
    }
    else
        db_.exec("DELETE FROM cluster_role");
    tx.commit();
}

DatabaseImage Store::exportImage()
{
    DatabaseImage image;
    // One read transaction: the pages and the generation are of the same commit.
    Transaction tx(db_, Transaction::Kind::Deferred);
    image.generation = generation();
    sqlite3_int64 size = 0;
    unsigned char* bytes = sqlite3_serialize(db_.handle(), "main", &size, 0);
    if (!bytes)
        throw Error(SQLITE_NOMEM, "sqlite3_serialize of '" + db_.path() + "' failed");
    image.bytes.assign(reinterpret_cast<const char*>(bytes), static_cast<size_t>(size));
    sqlite3_free(bytes);
    tx.commit();
    return image;
}

void Store::importImage(std::string_view image, const std::string& primary)
{
    if (image.size() < 100)
        throw Error(SQLITE_NOTADB, "the database image is " + std::to_string(image.size()) + " bytes: not a database");
    // The image comes from a WAL database; an in-memory copy cannot use WAL, so
    // mark it a rollback-journal file (header bytes 18 and 19, sqlite.org/fileformat.html).
    auto* copy = static_cast<unsigned char*>(sqlite3_malloc64(image.size()));
    if (!copy)
        throw Error(SQLITE_NOMEM, "no memory for the database image");
    std::memcpy(copy, image.data(), image.size());
    copy[18] = 1;
    copy[19] = 1;
    db_.exec("ATTACH ':memory:' AS incoming");
    struct Detach
    {
        Database& db;
        ~Detach() { sqlite3_exec(db.handle(), "DETACH incoming", nullptr, nullptr, nullptr); }
    } detach{db_};
    const auto size = static_cast<sqlite3_int64>(image.size());
    db_.check(sqlite3_deserialize(db_.handle(), "incoming", copy, size, size,
                                  SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE),
              "sqlite3_deserialize of the primary's database image");
    int64_t version = 0;
    {
        auto stmt = db_.prepare("PRAGMA incoming.user_version");
        if (stmt.step())
            version = stmt.columnInt64(0);
    }
    if (version != db_.userVersion())
        throw SchemaMismatch("the primary's database has schema version " + std::to_string(version) +
                             ", this replica's " + std::to_string(db_.userVersion()) +
                             ": run the same wsgw version on every node");
    Transaction tx(db_);
    // Children first, then parents in; ids are copied, so a live session's token
    // row keeps its id and survives the copy.
    db_.exec("DELETE FROM main.grants; DELETE FROM main.member_tokens; DELETE FROM main.members; "
             "DELETE FROM main.apps;"
             "INSERT INTO main.apps SELECT * FROM incoming.apps;"
             "INSERT INTO main.members SELECT * FROM incoming.members;"
             "INSERT INTO main.member_tokens SELECT * FROM incoming.member_tokens;"
             "INSERT INTO main.grants SELECT * FROM incoming.grants;"
             // The triggers counted every copied row: the generation is the primary's.
             "UPDATE main.meta SET value = (SELECT value FROM incoming.meta WHERE key = 'generation') "
             "WHERE key = 'generation';");
    auto role = db_.prepare("INSERT INTO cluster_role (id, role, primary_node, updated_at) "
                            "VALUES (1, 'replica', ?1, ?2) "
                            "ON CONFLICT (id) DO UPDATE SET primary_node = ?1, updated_at = ?2");
    role.bind(1, primary).bind(2, unixNow());
    role.run();
    tx.commit();
}

Snapshot Store::loadSnapshot()
{
    Snapshot snapshot;
    // One read transaction, so apps, tokens and grants are from the same commit.
    Transaction tx(db_, Transaction::Kind::Deferred);
    std::map<int64_t, Snapshot::App*> by_id;
    auto generation = db_.prepare("SELECT value FROM meta WHERE key = 'generation'");
    if (generation.step())
        snapshot.generation = generation.columnInt64(0);
    auto apps = db_.prepare(
        "SELECT id, name, visibility, push_key_hash, webhook_url, webhook_secret, client_publish FROM apps");
    while (apps.step())
    {
        auto hash = digestFromHex(apps.columnText(3));
        if (!hash)
            throw Error(0, "apps.push_key_hash of '" + apps.columnText(1) + "' is not a SHA-256 hex digest");
        auto& app = snapshot.apps[apps.columnText(1)];
        app.visibility = visibilityColumn(apps, 2);
        app.push_key_hash = *hash;
        app.webhook_url = apps.columnText(4);
        app.webhook_secret = apps.columnText(5);
        app.client_publish = apps.columnText(6) == "subscribers";
        by_id[apps.columnInt64(0)] = &app;
    }
    auto members = db_.prepare("SELECT id FROM members");
    while (members.step())
        snapshot.members[members.columnInt64(0)];
    auto tokens = db_.prepare("SELECT id, member_id, token_hash FROM member_tokens");
    while (tokens.step())
    {
        auto hash = digestFromHex(tokens.columnText(2));
        if (!hash)
            throw Error(0, "member_tokens.token_hash of row " + std::to_string(tokens.columnInt64(0)) +
                               " is not a SHA-256 hex digest");
        snapshot.members[tokens.columnInt64(1)].push_back({tokens.columnInt64(0), *hash});
    }
    auto grants = db_.prepare("SELECT app_id, member_id FROM grants");
    while (grants.step())
    {
        auto it = by_id.find(grants.columnInt64(0));
        if (it != by_id.end())
            it->second->granted.insert(grants.columnInt64(1));
    }
    tx.commit();
    return snapshot;
}

} // namespace wsgw::store
