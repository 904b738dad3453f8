#pragma once
/// Output helpers of wsgw-admin: aligned tables, UTC timestamps, and the JSON
/// shapes scripts rely on (documented in each command file).

#include "protocol/JsonWriter.h"
#include "store/Store.h"

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace wsgw::cli {

/// Unix seconds as UTC ISO-8601, e.g. 2026-11-22T16:30:00Z.
std::string isoTime(int64_t unix_seconds);

/// Prints ROWS under HEADER with columns padded to their widest cell.
void printTable(std::ostream& out, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);

/// `{"name":…,"visibility":…,"grants":[…],"created":…}` (push_key added by the caller when shown).
void writeApp(protocol::JsonWriter& json, const store::AppInfo& app, const std::string& push_key = {});
/// `{"member_id":…,"tokens":…,"grants":[…],"created":…}` (token added when shown).
void writeMember(protocol::JsonWriter& json, const store::MemberInfo& member, const std::string& token = {});

/// "7, 9" or "(none)".
std::string joinIds(const std::vector<int64_t>& ids);
std::string joinNames(const std::vector<std::string>& names);

} // namespace wsgw::cli
