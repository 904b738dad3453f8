#pragma once
/// Parser of `wsgw-admin member import` files: lines `MEMBER_ID,TOKEN`. Pure; any thread.

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

namespace wsgw::store {

struct MemberCsvRow
{
    size_t line = 0; ///< 1-based line number in the file
    int64_t member_id = 0;
    std::string token;
};

/// Tokens longer than this are refused everywhere (a token is a credential, not a document).
inline constexpr size_t kMaxTokenLength = 1024;

/// Parses the whole input. Blank lines and lines starting with '#' are skipped,
/// as is a first line `member_id,token` (a header). CRLF line ends are accepted.
/// The token is everything after the first comma, taken as is.
/// Throws InvalidInput naming every bad line (up to 20, then a count) if any
/// line is bad, so that nothing of a bad file is imported.
std::vector<MemberCsvRow> parseMemberCsv(std::istream& in);

} // namespace wsgw::store
