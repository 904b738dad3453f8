#pragma once
/// The push endpoint's logic without HTTP (SPEC §1 "Push"): decode, check app
/// and key against the loop's permission snapshot, frame once; then, with the
/// recipient counts, build the reply byte for byte. Pure apart from the
/// counters; any thread (the loops call it).

#include "config/Settings.h"
#include "hub/Metrics.h"
#include "store/Secret.h"
#include "store/Snapshot.h"
#include "transport/EventLoop.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsgw::http {

struct PushReply
{
    int status = 202;
    std::string body; ///< JSON
};

/// A push request after its checks, before delivery.
struct PreparedPush
{
    struct Result
    {
        int status = 202;
        std::string message;
        size_t outgoing = 0; ///< index into pushes when status is 202
    };
    bool batch = false;
    std::optional<PushReply> immediate;      ///< set when the body as a whole is refused: no delivery
    std::vector<Result> results;             ///< one per item, in order
    std::vector<transport::Outgoing> pushes; ///< the accepted items, framed once
};

class PushService
{
public:
    /// ADMIN_KEY_HASH, when set, is accepted as the push key of every app
    /// (wsgw-admin push on the same host).
    PushService(const config::Settings& settings, hub::Metrics& metrics, std::optional<store::Digest> admin_key_hash);

    /// BEARER: the token of the Authorization header, empty when absent.
    PreparedPush prepare(std::string_view body, std::string_view bearer, const store::Snapshot& snapshot) const;

    /// The reply once COUNTS (recipients per entry of prepared.pushes) are known.
    /// In a cluster (SPEC §9) NODES holds the PUBLISH answer per entry: the 202
    /// then says "published" with `nodes` and this node's `recipients`, and an
    /// entry that could not be published (-1) makes the reply unavailable().
    PushReply finish(const PreparedPush& prepared, const std::vector<size_t>& counts,
                     const std::vector<int64_t>* nodes = nullptr) const;
    /// SPEC §9: a Redis server the request needs is unreachable: 503
    /// "cluster broker unavailable", never a silent 202.
    PushReply unavailable(const PreparedPush& prepared) const;

private:
    /// 0 when the key fits APP, else 401 with MESSAGE set.
    int authorize(const store::Snapshot& snapshot, const std::string& app, std::string_view bearer,
                  std::string& message) const;

    const config::Settings& settings_;
    hub::Metrics& metrics_;
    std::optional<store::Digest> admin_key_hash_;
};

} // namespace wsgw::http
