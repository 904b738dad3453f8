#pragma once
/// wsgw-admin: manage apps, members, tokens and grants in the wsgw database,
/// and push through the local gateway (SPEC §3). Cli::run is the whole tool,
/// callable from tests with their own streams; main() only wires std streams.

#include <iosfwd>
#include <string>
#include <vector>

namespace wsgw::cli {

/// Exit statuses (SPEC §3).
enum ExitCode : int
{
    kOk = 0,
    kFailed = 1, ///< the thing named does not exist or already exists, or the command could not be done
    kUsage = 2,  ///< the command line is wrong
};

class Cli
{
public:
    /// ARGS excludes the program name. Output to OUT (tables or --json), every
    /// error and warning to ERR prefixed "wsgw-admin: ". Returns the exit status.
    static int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, std::istream& in);
};

} // namespace wsgw::cli
