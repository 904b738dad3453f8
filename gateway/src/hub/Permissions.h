#pragma once
/// Who may subscribe to what (SPEC §2), decided from an immutable store
/// snapshot; never touches SQLite. Pure; any thread.

#include "config/Settings.h"
#include "hub/Subscriber.h"
#include "store/Snapshot.h"

#include <string_view>

namespace wsgw::hub {

enum class Decision
{
    Allowed,
    Forbidden, ///< 403: anonymous on a members app, or no grant on a private app
    NotFound,  ///< 404: the app is not registered (and unknown apps are rejected)
};

/// SPEC §2: public = anyone; members = any authenticated member; private =
/// members holding a grant, stored or in the session's JWT (SPEC §6). Unregistered apps follow UNKNOWN.
Decision decide(const store::Snapshot& snapshot, config::UnknownApps unknown, std::string_view app,
                const Subscriber& who);

/// Whether a push to APP can be accepted at all (404 otherwise).
bool appExists(const store::Snapshot& snapshot, config::UnknownApps unknown, std::string_view app);

} // namespace wsgw::hub
