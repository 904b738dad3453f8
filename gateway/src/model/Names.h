/// The vocabulary every layer shares (SPEC §2): which app names and member ids are valid. Pure; any thread.

#include <cstdint>
#include <optional>
#include <string_view>

namespace wsgw::model {

/// SPEC §2: an app name is [A-Za-z0-9_.-]{1,64}.
bool isValidAppName(std::string_view name);

/// SPEC §2: a member id is a positive 64-bit integer, written in decimal without
/// sign, spaces or leading zeros beyond "0"; nullopt for anything else.
std::optional<int64_t> parseMemberId(std::string_view text);

} // namespace wsgw::model
