#pragma once
/// The push endpoint's logic without HTTP: decode, check app and key, frame
/// once, hand to the loops, build the reply (SPEC §1 "Push"). Pool threads;
/// any number at once.

#include "config/Settings.h"
#include "hub/Metrics.h"
#include "hub/SnapshotHolder.h"
#include "store/Secret.h"
#include "transport/LoopGroup.h"

#include <optional>
#include <string>
#include <string_view>

namespace wsgw::http {

struct PushReply
{
    int status = 202;
    std::string body; ///< JSON
};

class PushService
{
public:
    /// ADMIN_KEY_HASH, when set, is accepted as the push key of every app
    /// (wsgw-admin push on the same host).
    PushService(const config::Settings& settings, hub::SnapshotHolder& snapshots, transport::LoopGroup& loops,
                hub::Metrics& metrics, std::optional<store::Digest> admin_key_hash);

    /// BEARER: the token of the Authorization header, empty when absent.
    PushReply handle(std::string_view body, std::string_view bearer);

private:
    /// 0 when the key fits APP, else 401 with MESSAGE set.
    int authorize(const store::Snapshot& snapshot, const std::string& app, std::string_view bearer,
                  std::string& message) const;

    const config::Settings& settings_;
    hub::SnapshotHolder& snapshots_;
    transport::LoopGroup& loops_;
    hub::Metrics& metrics_;
    std::optional<store::Digest> admin_key_hash_;
};

} // namespace wsgw::http
