#pragma once
/// The "apps" member shared by a JWT's claims and an authorizer's 200 body
/// (SPEC §6): private apps granted to one session. Pure; any thread.

#include <optional>
#include <string>
#include <vector>

namespace Poco::JSON {
class Object;
}

namespace wsgw::auth {

/// OBJECT's "apps", sorted and without duplicates (empty when absent); nullopt
/// when it is present but not an array of valid app names.
std::optional<std::vector<std::string>> appsClaim(const Poco::JSON::Object& object);

} // namespace wsgw::auth
