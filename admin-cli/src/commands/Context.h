#pragma once
/// What every command gets: the parsed options, output streams, the output
/// mode, and the database (opened on first use, after dropping root privileges
/// to the database owner). One command per process.

#include "Cli.h"
#include "config/Settings.h"
#include "store/Store.h"

#include <boost/program_options.hpp>

#include <functional>
#include <iosfwd>
#include <memory>
#include <stdexcept>
#include <string>

namespace wsgw::cli {

/// The command line is wrong: exit 2 with the message and a pointer to --help.
class UsageError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

/// The command could not be done for a reason that is not "not found" or
/// "already exists" (unreachable gateway, unreadable file): exit 1.
class CommandError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

struct Context
{
    Context(std::ostream& out_stream, std::ostream& err_stream, std::istream& in_stream)
        : out(out_stream), err(err_stream), in(in_stream)
    {}

    boost::program_options::variables_map options; ///< the command's own options
    std::ostream& out;
    std::ostream& err;
    std::istream& in;
    bool json = false;
    std::string db_path;
    config::Settings settings; ///< from --config or the packaged file, else defaults

    /// The store at db_path, created and migrated if missing.
    store::Store& store();

    /// Warning or note on stderr, prefixed like every message of the tool.
    void warn(const std::string& text) const;

private:
    std::unique_ptr<store::Store> store_;
};

/// One command: `GROUP VERB`, its options and positional arguments, and what it does.
/// Adding a command is one entry in its group's add*Commands and one run function.
struct Command
{
    std::string group;   ///< "app", "member", "db", "push", "token"
    std::string verb;    ///< "add", ... ; empty for a one-word command (push)
    std::string args;    ///< usage after the words, e.g. "NAME [--members|--private]"
    std::string summary; ///< one line for the command list
    std::string details; ///< more for `COMMAND --help`: the decisions a user should know; may be empty
    std::function<void(boost::program_options::options_description&,
                       boost::program_options::positional_options_description&)>
        define;
    std::function<int(Context&)> run;
};

/// The commands of each group, in the order --help lists them.
void addAppCommands(std::vector<Command>& commands);
void addMemberCommands(std::vector<Command>& commands);
void addDbCommands(std::vector<Command>& commands);
void addPushCommand(std::vector<Command>& commands);
void addTokenCommands(std::vector<Command>& commands);

/// Checks an app name given on the command line (UsageError if bad).
std::string requireAppName(const std::string& name);
/// Parses a member id given on the command line (UsageError if not 1..2^63-1).
int64_t requireMemberId(const std::string& text);

} // namespace wsgw::cli
