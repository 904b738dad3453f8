#include "hub/Permissions.h"

namespace wsgw::hub {

Decision decide(const store::Snapshot& snapshot, config::UnknownApps unknown, std::string_view app,
                const Subscriber& who)
{
    const auto* entry = snapshot.findApp(app);
    if (!entry)
        return unknown == config::UnknownApps::Public ? Decision::Allowed : Decision::NotFound;
    switch (entry->visibility)
    {
    case store::Visibility::Public:
        return Decision::Allowed;
    case store::Visibility::Members:
        return who.isMember() ? Decision::Allowed : Decision::Forbidden;
    case store::Visibility::Private:
        // SPEC §6: a JWT's apps claim grants those private apps to its session too.
        return who.isMember() && (entry->granted.count(who.member_id) || who.sessionGrants(app)) ? Decision::Allowed
                                                                                                 : Decision::Forbidden;
    }
    return Decision::Forbidden;
}

bool appExists(const store::Snapshot& snapshot, config::UnknownApps unknown, std::string_view app)
{
    return unknown == config::UnknownApps::Public || snapshot.findApp(app) != nullptr;
}

} // namespace wsgw::hub
