#pragma once
/// What the server sends (SPEC §1 "Server → client"): every message is
/// {"app":…,"member_id":…,"text":…} with keys in that order, and gateway replies
/// carry {"code":N,"message":"…"} as their text. Pure; any thread.

#include <cstdint>
#include <string>
#include <string_view>

namespace wsgw::protocol {

/// `{"app":APP,"member_id":MEMBER_ID,"text":TEXT}`, compact. TEXT must be valid UTF-8.
std::string serverMessage(std::string_view app, int64_t member_id, std::string_view text);

/// The gateway replies of SPEC §1, byte for byte.
enum class Reply
{
    MissingAuth,        ///< 400 missing auth message (then close 1008)
    HelloStranger,      ///< 200 hello stranger
    HelloMember,        ///< 200 hello <member id>
    Unauthorized,       ///< 401 unauthorized (connection stays, anonymous)
    BadSubscribe,       ///< 400 bad subscribe message
    SubscribeSuccess,   ///< 200 subscribe <app> success
    SubscribeForbidden, ///< 403 subscribe <app> forbidden
    SubscribeNotFound,  ///< 404 subscribe <app> not found
    UnsubscribeSuccess, ///< 200 unsubscribe <app> success
    // Extensions beyond the original (README):
    TooManySubscriptions, ///< 429 subscribe <app> refused: too many subscriptions
    // SPEC §6 (JWT sessions):
    TokenExpired,   ///< 401 token expired (then close 1008)
    BadAuthMessage, ///< 400 bad auth message (a re-auth for another member; nothing changes)
    // SPEC §6 (authorizer webhook):
    AuthUnavailable, ///< 503 auth unavailable (the authorizer is down or saturated; a login then closes 1011)
    // SPEC §7 (client publish):
    PublishSuccess,     ///< 200 publish <app> success
    PublishForbidden,   ///< 403 publish <app> forbidden
    PublishUnavailable, ///< 503 publish <app> unavailable (the app's backend is down, slow or saturated)
    PublishTooFast,     ///< 429 publish <app> refused: too many messages
};

/// The reply's text: `{"code":N,"message":"…"}`. SUBJECT is the member id
/// (HelloMember) or the app name (subscribe replies); ignored otherwise.
std::string replyText(Reply reply, std::string_view subject = {});

/// The whole server message for a reply: app "gateway", member_id -1.
std::string gatewayReply(Reply reply, std::string_view subject = {});

/// SPEC §7: the RPC answer frame: the original's three keys first, then seqno and code,
/// `{"app":APP,"member_id":MEMBER_ID,"text":TEXT,"seqno":SEQNO,"code":CODE}`.
std::string rpcReply(std::string_view app, int64_t member_id, std::string_view text, std::string_view seqno, int code);

} // namespace wsgw::protocol
