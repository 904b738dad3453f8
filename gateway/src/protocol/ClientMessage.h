#pragma once
/// Decoding of the client's messages (SPEC §1 "Client → server"): the auth
/// message first, then subscribe/unsubscribe. Pure functions of the text; never
/// throw. Any thread.

#include <cstdint>
#include <string>
#include <string_view>

namespace wsgw::protocol {

struct AuthRequest
{
    enum class Kind
    {
        Missing,   ///< not JSON, not an object, member_id absent, 0 or not an integer
        Anonymous, ///< member_id < 0
        Member,    ///< member_id > 0: check the token
    };
    Kind kind = Kind::Missing;
    int64_t member_id = 0;
    std::string token; ///< empty when absent (then no member can match)
};

/// SPEC §1: `{"member_id":123456,"token":"654321"}` or `{"member_id":-1,"token":""}`.
/// A token that is present but not a string makes the message Missing.
AuthRequest parseAuth(std::string_view text);

/// SPEC §6 re-auth: whether a message after the first is an auth message by
/// its shape — a JSON object with a `member_id` key and no `app` key. Such a
/// message then goes through parseAuth(); anything else is a subscribe message.
bool isAuthShaped(std::string_view text);

struct SubscribeRequest
{
    enum class Action
    {
        Bad,         ///< not JSON / not an object / no or empty or invalid app / unknown action
        Subscribe,   ///< {"app":"match"}
        Unsubscribe, ///< {"app":"match","action":"unsubscribe"}
        Publish,     ///< SPEC §7: {"app":"chat","action":"publish","text":"…"} (text required)
        Rpc,         ///< SPEC §7: {"app":"x","action":"rpc","seqno":"…","text":"…"} (seqno required, ≤ 64 chars)
    };
    Action action = Action::Bad;
    std::string app;
    std::string text;  ///< Publish, Rpc
    std::string seqno; ///< Rpc
};

/// Longest RPC seqno (SPEC §7).
inline constexpr size_t kMaxSeqnoLength = 64;

/// SPEC §1: `{"app":"match"}` subscribes, `{"app":"match","action":"unsubscribe"}`
/// unsubscribes; "action":"subscribe" is accepted too; "publish" and "rpc"
/// (SPEC §7) carry a text and an RPC a seqno. App names must match
/// [A-Za-z0-9_.-]{1,64}, else Bad (they could never be registered, and they
/// would break /stat's line format).
SubscribeRequest parseSubscribe(std::string_view text);

} // namespace wsgw::protocol
