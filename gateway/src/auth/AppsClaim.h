#pragma once
/// The "apps" member shared by a JWT's claims and an authorizer's 200 body
/// (SPEC §6): private apps granted to one session. Pure; any thread.

#include "protocol/FlatJson.h"

#include <optional>
#include <string>
#include <vector>

namespace wsgw::auth {

/// The apps named by FIELD (the "apps" member as FlatJson read it), sorted and
/// without duplicates (empty when absent); nullopt when it is present but not
/// an array of valid app names.
std::optional<std::vector<std::string>> appsClaim(const protocol::JsonField& field);

} // namespace wsgw::auth
