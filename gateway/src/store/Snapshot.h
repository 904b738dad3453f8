#pragma once
/// An immutable picture of everything the gateway needs from the database:
/// apps with visibility and push-key hash, members' token hashes, grants.
/// Built by Store::loadSnapshot(); shared read-only between threads once built.

#include "store/Secret.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace wsgw::store {

/// SPEC §2: who may subscribe to an app.
enum class Visibility
{
    Public,  ///< anyone, anonymous included
    Members, ///< any authenticated member
    Private, ///< members holding a grant
};

std::string_view toString(Visibility visibility);
std::optional<Visibility> parseVisibility(std::string_view text);

struct Snapshot
{
    struct App
    {
        Visibility visibility = Visibility::Public;
        Digest push_key_hash{};
        std::unordered_set<int64_t> granted; ///< member ids with a grant
        std::string webhook_url;             ///< SPEC §7: the app's backend; empty = none
        std::string webhook_secret;          ///< signs every call to it (HMAC-SHA256)
        bool client_publish = false;         ///< subscribers may publish (client_publish = subscribers)
    };
    struct Token
    {
        int64_t id = 0; ///< row id: a replaced token gets a new one
        Digest hash{};
    };

    int64_t generation = 0; ///< meta.generation: counts every change; identifies this state
    std::unordered_map<std::string, App> apps;
    std::unordered_map<int64_t, std::vector<Token>> members;

    const App* findApp(std::string_view name) const;

    /// The id of MEMBER's token that hashes to TOKEN_HASH, or nullopt if the
    /// member is unknown or no token matches. Compares every token in constant time.
    std::optional<int64_t> matchToken(int64_t member, const Digest& token_hash) const;

    /// True while MEMBER exists and still holds the token with TOKEN_ID.
    bool hasToken(int64_t member, int64_t token_id) const;
};

} // namespace wsgw::store
