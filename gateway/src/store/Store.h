#pragma once
/// The wsgw database: apps, members, tokens and grants, as used by wsgw-admin
/// (every command) and by the gateway (snapshot and change detection).
/// Opening migrates the schema. One thread at a time per Store; several Stores
/// (processes or threads) may use one file concurrently: writers take the lock
/// with BEGIN IMMEDIATE and wait up to the busy timeout.

#include "store/Database.h"
#include "store/Snapshot.h"

#include <chrono>
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsgw::store {

/// Whether an app's subscribers may publish to it (SPEC §7).
enum class ClientPublish
{
    Off,
    Subscribers,
};

std::string_view toString(ClientPublish mode);
std::optional<ClientPublish> parseClientPublish(std::string_view text);

struct AppInfo
{
    std::string name;
    Visibility visibility = Visibility::Public;
    int64_t created_at = 0;       ///< unix seconds
    std::vector<int64_t> granted; ///< members with a grant, ascending
    std::string webhook_url;      ///< SPEC §7: the app's backend; empty = none (the secret is never shown)
    ClientPublish client_publish = ClientPublish::Off;
};

struct MemberInfo
{
    int64_t id = 0;
    int64_t created_at = 0;           ///< unix seconds
    int64_t tokens = 0;               ///< how many tokens the member holds
    std::vector<std::string> granted; ///< private apps granted, by name
};

/// A consistent copy of the whole database file (SPEC §9: what the primary ships).
struct DatabaseImage
{
    int64_t generation = 0; ///< meta.generation of the copied state
    std::string bytes;      ///< the database file's pages (sqlite3_serialize)
};

struct ImportResult
{
    size_t members = 0;      ///< distinct members in the file
    size_t created = 0;      ///< of which were new
    size_t tokens = 0;       ///< tokens stored
    size_t short_tokens = 0; ///< tokens under kRecommendedSecretLength
};

class Store
{
public:
    /// Opens (creating if missing) and migrates the database at PATH.
    explicit Store(const std::string& path, std::chrono::milliseconds busy_timeout = std::chrono::seconds(5));

    Database& database() noexcept { return db_; }

    // Apps. Names are validated first: InvalidInput for a bad one.

    /// Creates an app; returns its push key, which is never stored. AlreadyExists if present.
    std::string addApp(std::string_view name, Visibility visibility);
    std::vector<AppInfo> listApps();
    /// NotFound if absent.
    AppInfo getApp(std::string_view name);
    /// Removes the app and its grants. NotFound if absent.
    void removeApp(std::string_view name);
    /// Changes who may subscribe; grants are kept. NotFound if absent.
    void setVisibility(std::string_view name, Visibility visibility);
    /// Replaces the push key; returns the new one. NotFound if absent.
    std::string rotateKey(std::string_view name);
    /// SPEC §7: sets the app's backend (an http:// or https:// URL, checked by the
    /// caller; empty removes it). Returns the new webhook secret when the app had
    /// none (the first webhook), else an empty string. NotFound if absent.
    std::string setWebhook(std::string_view name, std::string_view url);
    /// Replaces the webhook secret; returns the new one. NotFound if absent.
    std::string rotateWebhookSecret(std::string_view name);
    /// NotFound if absent.
    void setClientPublish(std::string_view name, ClientPublish mode);
    /// Lets MEMBER subscribe to APP. NotFound if either is absent; AlreadyExists
    /// if granted already. A grant on an app that is not private is stored and
    /// takes effect while the app is private.
    void grant(std::string_view app, int64_t member);
    /// NotFound if the app, member or grant is absent.
    void revoke(std::string_view app, int64_t member);

    // Members. Ids must be > 0: InvalidInput otherwise.

    /// Creates a member with TOKEN (or a generated one); returns the token. AlreadyExists if present.
    std::string addMember(int64_t id, const std::optional<std::string>& token);
    std::vector<MemberInfo> listMembers();
    /// NotFound if absent.
    MemberInfo getMember(int64_t id);
    /// Removes the member with its tokens and grants. NotFound if absent.
    void removeMember(int64_t id);

    enum class TokenMode
    {
        Replace, ///< the new token is the member's only one (live sessions end)
        Add,     ///< the member keeps its other tokens
    };
    /// Stores TOKEN (or a generated one) for member ID; returns it. NotFound if absent.
    std::string setToken(int64_t id, const std::optional<std::string>& token, TokenMode mode);

    /// Creates or updates every member of a `MEMBER_ID,TOKEN` file in one
    /// transaction: each listed member's tokens become exactly those listed.
    /// InvalidInput (with line numbers) and nothing imported if any line is bad.
    ImportResult importMembers(std::istream& csv);

    // Gateway side.

    /// Reads everything the gateway needs in one read transaction.
    Snapshot loadSnapshot();
    /// Changes when another connection commits (PRAGMA data_version).
    int64_t dataVersion() { return db_.dataVersion(); }
    /// meta.generation: incremented by every change to apps, members, tokens or grants.
    int64_t generation();

    // Cluster (SPEC §9).

    /// The whole database as of one read transaction, with its generation.
    DatabaseImage exportImage();
    /// Replaces apps, members, tokens, grants and the generation with those of
    /// IMAGE (a primary's exportImage()) in one transaction, and records PRIMARY
    /// as the primary. This database's own cluster_role row is kept. Throws
    /// SchemaMismatch if IMAGE is of another schema version, store::Error if it
    /// is not a database.
    void importImage(std::string_view image, const std::string& primary);
    /// Marks this database as a replica's copy of PRIMARY's (wsgw-admin then
    /// refuses writes), or, with nullopt, as writable again (primary or alone).
    void setReplicaOf(const std::optional<std::string>& primary);
    /// The primary this database is a replica of; nullopt when it is writable.
    std::optional<std::string> replicaOf();

private:
    int64_t appId(std::string_view name);
    void requireMember(int64_t id);
    void insertToken(int64_t member, std::string_view token, int64_t now);
    /// Throws ReplicaDatabase when this is a replica's copy. Inside the write transaction.
    void requireWritable();

    Database db_;
};

} // namespace wsgw::store
