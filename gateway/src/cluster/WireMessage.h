#pragma once
/// What one node publishes to the others (SPEC §9, DESIGN §4): the push already
/// serialised as the server frame's payload, behind a one-line header with the
/// publishing node (so it skips its own echo) and the member id (so a
/// member-targeted push is filtered on arrival without parsing the JSON):
///   "1 <node id> <member_id>\n<payload>"
/// and the names of the keys and channels under cluster.prefix. Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsgw::cluster {

struct WireMessage
{
    std::string_view node;
    int64_t member_id = -1;
    std::string_view payload; ///< {"app":…,"member_id":…,"text":…}, framed by the receiver
};

std::string encodeWire(std::string_view node, int64_t member_id, std::string_view payload);
/// Nullopt for bytes that are not a version-1 message (another version, or garbage).
std::optional<WireMessage> decodeWire(std::string_view bytes);

/// PREFIX:app:NAME, the channel of one app.
std::string appChannel(std::string_view prefix, std::string_view app);
/// The app of CHANNEL if it is PREFIX:app:NAME.
std::optional<std::string_view> appOfChannel(std::string_view prefix, std::string_view channel);
/// PREFIX:db — the key holding the primary's latest database image, and the
/// channel announcing each new one.
std::string databaseKey(std::string_view prefix);
/// PREFIX:node:ID — a node's heartbeat hash; PREFIX:node:* matches them all.
std::string nodeKey(std::string_view prefix, std::string_view node);

} // namespace wsgw::cluster
