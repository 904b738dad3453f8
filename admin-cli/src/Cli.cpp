#include "Cli.h"

#include "commands/Context.h"
#include "model/Names.h"
#include "store/Error.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <grp.h>
#include <iostream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace po = boost::program_options;

namespace wsgw::cli {

namespace {

/// The packaged configuration: used when neither --db nor --config is given.
constexpr const char* kPackagedConfig = "/etc/wsgw/wsgw.ini";

const std::vector<Command>& allCommands()
{
    static const std::vector<Command> commands = [] {
        std::vector<Command> list;
        addAppCommands(list);
        addMemberCommands(list);
        addPushCommand(list);
        addTokenCommands(list);
        addDbCommands(list);
        return list;
    }();
    return commands;
}

std::string words(const Command& command)
{
    return command.verb.empty() ? command.group : command.group + " " + command.verb;
}

void printUsage(std::ostream& out, const po::options_description& global, const std::string& group = {})
{
    out << "usage: wsgw-admin [--db PATH | --config FILE] [--json] COMMAND [ARGS]\n\n";
    out << "Manage the apps, members, tokens and grants of a wsgw gateway. Changes take\n"
           "effect in a running gateway within a second, without a restart.\n\ncommands:\n";
    size_t width = 0;
    for (const auto& command : allCommands())
        width = std::max(width, words(command).size() + 1 + command.args.size());
    for (const auto& command : allCommands())
    {
        if (!group.empty() && command.group != group)
            continue;
        std::string left = words(command) + " " + command.args;
        out << "  " << left << std::string(width - left.size() + 2, ' ') << command.summary << '\n';
    }
    out << '\n' << global << '\n';
    out << "The database is the one named by --db, else by the [db] path of --config FILE, else of\n"
        << kPackagedConfig << " when it exists, else ./wsgw.db in the working directory. --db and\n"
        << "--config together are a usage error. Every command but `db check` creates and migrates\n"
        << "the database if needed.\n\n"
        << "Push keys and tokens are printed once, when made, and stored only as SHA-256.\n"
        << "--json prints exactly one compact JSON document on stdout; errors stay text on stderr.\n\n"
        << "Exit status: 0 success; 1 the thing named does not exist or already exists, or the\n"
        << "command could not be done (bad import or token file, database error); 2 usage error.\n"
        << "`wsgw-admin COMMAND --help` describes one command; after --, words are arguments\n"
        << "even if they start with - (wsgw-admin app add -- -x).\n";
}

bool isPositional(const po::positional_options_description& positional, const std::string& name)
{
    // Our commands take at most a few positional arguments (never "the rest").
    for (unsigned i = 0; i < positional.max_total_count() && i < 16; ++i)
    {
        if (positional.name_for_position(i) == name)
            return true;
    }
    return false;
}

void printCommandHelp(std::ostream& out, const Command& command, const po::options_description& options,
                      const po::positional_options_description& positional)
{
    out << "usage: wsgw-admin [--db PATH | --config FILE] [--json] " << words(command)
        << (command.args.empty() ? "" : " " + command.args) << "\n\n"
        << command.summary << '\n';
    if (!command.details.empty())
        out << '\n' << command.details << '\n';
    // Positional arguments are options inside program_options; show only real ones.
    po::options_description visible(words(command) + " options");
    for (const auto& option : options.options())
    {
        if (!isPositional(positional, option->long_name()))
            visible.add(option);
    }
    if (!visible.options().empty())
        out << '\n' << visible;
    out << "\nGlobal options (--db, --config, --json) and exit statuses: wsgw-admin --help\n";
}

/// "add, list, show, ..." for GROUP.
std::string verbsOf(const std::string& group)
{
    std::string text;
    for (const auto& command : allCommands())
    {
        if (command.group == group && !command.verb.empty())
            text += (text.empty() ? "" : ", ") + command.verb;
    }
    return text;
}

/// Root managing a database that belongs to the service user: become that user
/// first, so every file SQLite creates (-wal, -shm, the database itself) stays
/// usable by the service (issue 5).
void dropToDatabaseOwner(const std::string& db_path)
{
    if (::geteuid() != 0)
        return;
    struct stat info
    {};
    if (::stat(db_path.c_str(), &info) != 0)
    {
        auto dir = std::filesystem::path(db_path).parent_path();
        if (dir.empty())
            dir = ".";
        if (::stat(dir.c_str(), &info) != 0)
            return;
    }
    if (info.st_uid == 0)
        return;
    if (::setgroups(0, nullptr) != 0 || ::setgid(info.st_gid) != 0 || ::setuid(info.st_uid) != 0)
        throw CommandError("cannot switch to the owner (uid " + std::to_string(info.st_uid) + ") of " + db_path);
}

} // namespace

store::Store& Context::store()
{
    if (!store_)
    {
        dropToDatabaseOwner(db_path);
        store_ = std::make_unique<store::Store>(db_path, settings.db_busy_timeout);
    }
    return *store_;
}

void Context::warn(const std::string& text) const
{
    err << "wsgw-admin: " << text << '\n';
}

std::string requireAppName(const std::string& name)
{
    if (!model::isValidAppName(name))
        throw UsageError("invalid app name '" + name.substr(0, 80) + "': use 1 to 64 characters of A-Z a-z 0-9 _ . -");
    return name;
}

int64_t requireMemberId(const std::string& text)
{
    auto id = model::parseMemberId(text);
    if (!id)
        throw UsageError("invalid member id '" + text.substr(0, 40) +
                         "': use an integer from 1 to 9223372036854775807");
    return *id;
}

int Cli::run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, std::istream& in)
{
    po::options_description global("global options");
    global.add_options()("db", po::value<std::string>(), "the SQLite database file")(
        "config", po::value<std::string>(), "the gateway's INI file; its [db] path is used")(
        "json", "print one JSON document instead of a table")("help,h", "print help")("version",
                                                                                      "print the version and exit");

    std::string help_hint = "wsgw-admin --help";
    std::string db_path; // for messages, once known
    try
    {
        // After "--" every word is an argument, e.g. an app named "-5": keep them
        // away from both parsers' option matching.
        auto terminator = std::find(args.begin(), args.end(), "--");
        std::vector<std::string> options_part(args.begin(), terminator);
        std::vector<std::string> arguments_part(terminator == args.end() ? terminator : terminator + 1, args.end());
        // Global options first; the rest (command words and their options) is the command's.
        auto parsed = po::command_line_parser(options_part).options(global).allow_unregistered().run();
        po::variables_map globals;
        po::store(parsed, globals);
        auto rest = po::collect_unrecognized(parsed.options, po::include_positional);
        if (globals.count("version"))
        {
            out << "wsgw-admin " << WSGW_VERSION << '\n';
            return kOk;
        }
        bool help = globals.count("help") > 0;
        // --help after the command words belongs to the command.
        std::erase_if(rest, [&](const std::string& word) {
            bool is_help = word == "--help" || word == "-h";
            help = help || is_help;
            return is_help;
        });

        if (rest.empty() && !arguments_part.empty())
            throw UsageError("the command comes before --");
        if (rest.empty())
        {
            if (!help)
                err << "wsgw-admin: no command given\n";
            printUsage(help ? out : err, global);
            return help ? kOk : kUsage;
        }
        const Command* command = nullptr;
        size_t used = 0;
        for (const auto& candidate : allCommands())
        {
            if (candidate.group != rest[0])
                continue;
            if (candidate.verb.empty())
            {
                command = &candidate;
                used = 1;
            }
            else if (rest.size() > 1 && candidate.verb == rest[1])
            {
                command = &candidate;
                used = 2;
            }
        }
        if (!command)
        {
            bool known_group = false;
            for (const auto& candidate : allCommands())
                known_group = known_group || candidate.group == rest[0];
            if (known_group && help)
            {
                printUsage(out, global, rest[0]);
                return kOk;
            }
            if (known_group)
            {
                help_hint = "wsgw-admin " + rest[0] + " --help";
                if (rest.size() == 1)
                    throw UsageError("'" + rest[0] + "' needs a command: " + verbsOf(rest[0]));
                throw UsageError("unknown command '" + rest[0] + " " + rest[1] + "'; " + rest[0] +
                                 " commands are: " + verbsOf(rest[0]));
            }
            // An option program_options did not know, before any command word.
            if (rest[0].size() > 1 && rest[0][0] == '-')
                throw UsageError("unrecognised option '" + rest[0] + "'");
            throw UsageError("unknown command '" + rest[0] + "'");
        }
        help_hint = "wsgw-admin " + words(*command) + " --help";

        po::options_description options(words(*command) + " options");
        po::positional_options_description positional;
        command->define(options, positional);
        if (help)
        {
            printCommandHelp(out, *command, options, positional);
            return kOk;
        }

        Context ctx(out, err, in);
        std::vector<std::string> command_args(rest.begin() + static_cast<long>(used), rest.end());
        for (const auto& word : command_args)
        {
            // program_options would call "-5" an unknown option; where a member id is
            // expected, say what is really wrong.
            if (word.size() > 1 && word[0] == '-' && word.find_first_not_of("0123456789", 1) == std::string::npos &&
                isPositional(positional, "member"))
                requireMemberId(word);
        }
        if (!arguments_part.empty())
        {
            command_args.push_back("--");
            command_args.insert(command_args.end(), arguments_part.begin(), arguments_part.end());
        }
        try
        {
            po::store(po::command_line_parser(command_args).options(options).positional(positional).run(), ctx.options);
            po::notify(ctx.options);
        }
        catch (const po::too_many_positional_options_error&)
        {
            throw UsageError("too many arguments: usage is wsgw-admin " + words(*command) + " " + command->args);
        }
        catch (const po::required_option& e)
        {
            // A missing positional argument is named as in the usage line (NAME, MEMBER_ID, FILE).
            std::string name = e.get_option_name();
            std::string bare = name.substr(name.find_first_not_of('-'));
            if (isPositional(positional, bare))
            {
                name = bare == "member" ? "MEMBER_ID" : bare;
                std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
            }
            throw UsageError("missing " + name + ": usage is wsgw-admin " + words(*command) + " " + command->args);
        }

        ctx.json = globals.count("json") > 0;
        if (globals.count("db") && globals.count("config"))
            throw UsageError("give --db or --config, not both");
        std::string config_path = globals.count("config") ? globals["config"].as<std::string>() : "";
        if (config_path.empty() && !globals.count("db") && std::filesystem::exists(kPackagedConfig))
            config_path = kPackagedConfig;
        if (!config_path.empty())
            ctx.settings = config::Settings::fromFile(config_path);
        ctx.db_path = globals.count("db") ? globals["db"].as<std::string>() : ctx.settings.db_path;
        db_path = ctx.db_path;
        return command->run(ctx);
    }
    catch (const UsageError& e)
    {
        err << "wsgw-admin: " << e.what() << " (see: " << help_hint << ")\n";
        return kUsage;
    }
    catch (const po::error& e)
    {
        err << "wsgw-admin: " << e.what() << " (see: " << help_hint << ")\n";
        return kUsage;
    }
    catch (const store::NotFound& e)
    {
        err << "wsgw-admin: " << e.what() << '\n';
        return kFailed;
    }
    catch (const store::AlreadyExists& e)
    {
        err << "wsgw-admin: " << e.what() << '\n';
        return kFailed;
    }
    catch (const store::InvalidInput& e)
    {
        err << "wsgw-admin: " << e.what() << '\n';
        return kFailed;
    }
    catch (const store::Error& e)
    {
        // SQLite failed: name the file, the statement is in the message.
        err << "wsgw-admin: database '" << db_path << "': " << e.what() << '\n';
        return kFailed;
    }
    catch (const config::Error& e)
    {
        err << "wsgw-admin: " << e.what() << '\n';
        return kUsage;
    }
    catch (const std::exception& e)
    {
        // Database errors, an unreachable gateway, unreadable files.
        err << "wsgw-admin: " << e.what() << '\n';
        return kFailed;
    }
}

} // namespace wsgw::cli
