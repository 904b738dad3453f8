// `wsgw-admin member …`: members and their tokens. Tokens are stored as SHA-256
// only and printed once, when created.
//
// JSON shapes (--json):
//   member add, member token  {"member_id":5,"tokens":1,"grants":[],"created":"…Z","token":"…"}
//   member show               {"member_id":5,"tokens":1,"grants":["vip"],"created":"…Z"}
//   member list               [ <member>, … ] sorted by id
//   member remove             {"ok":true,"member_id":5,"action":"removed"}
//   member import             {"members":3,"created":2,"updated":1,"tokens":4,"short_tokens":0}
// Keys come in exactly this order; "tokens" in a member is how many it holds,
// "grants" the apps it holds a grant on, by name; "created" is UTC.

#include "commands/Context.h"
#include "commands/Output.h"
#include "store/MemberCsv.h"
#include "store/Secret.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>

namespace po = boost::program_options;

namespace wsgw::cli {

namespace {

const std::string kTokenDetails =
    "The token is printed once and stored only as SHA-256; clients send it in their auth message.\n"
    "--token-file FILE (or - for stdin) uses the file's one line (e.g. from an existing user\n"
    "system) instead of a generated 256-bit token; one trailing newline (LF or CRLF) is dropped.\n"
    "--token T does the same, but every local user can read T in the process list.\n"
    "A token shorter than 16 characters is accepted with a warning on stderr.\n"
    "Exit 2 for --token with --token-file or an empty --token; exit 1 if the file cannot be read,\n"
    "is empty, or holds a control character (a token is one line of text).";

void idArgument(po::options_description& options, po::positional_options_description& positional)
{
    options.add_options()("member", po::value<std::string>()->required(), "member id");
    positional.add("member", 1);
}

void tokenOption(po::options_description& options)
{
    options.add_options()("token-file", po::value<std::string>()->value_name("FILE|-"),
                          "read the token from FILE, or stdin with -, instead of generating one")(
        "token", po::value<std::string>()->value_name("T"),
        "use T instead of a generated token (visible to local users: prefer --token-file)");
}

/// The token in the file at PATH, or stdin for "-": its one line without one
/// trailing LF or CRLF. Throws CommandError (exit 1) if it cannot be read, is
/// empty, too long, or holds another control character (NUL included).
std::string readTokenFile(Context& ctx, const std::string& path)
{
    std::string source = path == "-" ? "the token on stdin" : "the token file '" + path + "'";
    std::ifstream file;
    if (path != "-")
    {
        errno = 0;
        file.open(path, std::ios::binary);
        if (!file)
            throw CommandError("cannot read " + source + (errno ? ": " + std::string(std::strerror(errno)) : ""));
    }
    std::istream& in = path == "-" ? ctx.in : file;
    // Read at most what a longest token and its CRLF need, plus one byte to tell
    // "too long" from "exactly full": a wrong path (a log, /dev/zero) is never slurped.
    std::string token(store::kMaxTokenLength + 3, '\0');
    errno = 0;
    in.read(token.data(), static_cast<std::streamsize>(token.size()));
    if (in.bad())
        throw CommandError("cannot read " + source + (errno ? ": " + std::string(std::strerror(errno)) : ""));
    token.resize(static_cast<size_t>(in.gcount()));
    if (token.size() == store::kMaxTokenLength + 3)
        throw CommandError(source + " is longer than " + std::to_string(store::kMaxTokenLength) + " characters");
    if (token.ends_with("\r\n"))
        token.resize(token.size() - 2);
    else if (token.ends_with('\n'))
        token.pop_back();
    if (token.empty())
        throw CommandError(source + " is empty (omit --token-file to generate a token)");
    if (token.size() > store::kMaxTokenLength)
        throw CommandError(source + " is longer than " + std::to_string(store::kMaxTokenLength) + " characters");
    auto control = std::find_if(token.begin(), token.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
    if (control != token.end())
        throw CommandError(source + " has a control character at byte " + std::to_string(control - token.begin() + 1) +
                           ": a token is one line of text (only one trailing newline is dropped)");
    return token;
}

/// The token chosen with --token or --token-file, checked; nullopt to generate
/// one. Called before the database is opened, so a bad token touches nothing and
/// the file is read with the caller's rights, not the database owner's.
std::optional<std::string> chosenToken(Context& ctx)
{
    bool from_file = ctx.options.count("token-file") > 0;
    bool from_line = ctx.options.count("token") > 0;
    if (from_file && from_line)
        throw UsageError("give --token or --token-file, not both");
    if (!from_file && !from_line)
        return std::nullopt;
    std::string token;
    if (from_file)
        token = readTokenFile(ctx, ctx.options["token-file"].as<std::string>());
    else
    {
        token = ctx.options["token"].as<std::string>();
        if (token.empty())
            throw UsageError("--token must not be empty (omit it to generate one)");
        if (token.size() > store::kMaxTokenLength)
            throw UsageError("--token is longer than " + std::to_string(store::kMaxTokenLength) + " characters");
        ctx.warn("warning: other local users can read --token in the process list; --token-file FILE|- avoids that");
    }
    if (token.size() < store::kRecommendedSecretLength)
        ctx.warn("warning: a token shorter than " + std::to_string(store::kRecommendedSecretLength) +
                 " characters is easy to guess; generated tokens have 256 bits");
    return token;
}

void printToken(Context& ctx, const store::MemberInfo& member, const std::string& token, const std::string& headline)
{
    if (ctx.json)
    {
        protocol::JsonWriter json;
        writeMember(json, member, token);
        ctx.out << json.str() << '\n';
        return;
    }
    ctx.out << headline << '\n'
            << "token: " << token << '\n'
            << "Give it to the member's client now: it is shown only once.\n";
}

} // namespace

void addMemberCommands(std::vector<Command>& commands)
{
    commands.push_back(
        {"member", "add", "MEMBER_ID [--token-file FILE|-]", "create a member; print a generated token once",
         kTokenDetails + "\nMEMBER_ID is an integer from 1 to 9223372036854775807; exit 1 if the member exists.",
         [](auto& options, auto& positional) {
             idArgument(options, positional);
             tokenOption(options);
         },
         [](Context& ctx) {
             auto id = requireMemberId(ctx.options["member"].as<std::string>());
             auto chosen = chosenToken(ctx); // before store(): see chosenToken
             auto token = ctx.store().addMember(id, chosen);
             printToken(ctx, ctx.store().getMember(id), token, "member " + std::to_string(id) + " created");
             return kOk;
         }});
    commands.push_back({"member", "list", "", "list every member",
                        "A table MEMBER_ID TOKENS GRANTS CREATED (UTC), sorted by id; --json prints an array.",
                        [](auto&, auto&) {},
                        [](Context& ctx) {
                            auto members = ctx.store().listMembers();
                            if (ctx.json)
                            {
                                protocol::JsonWriter json;
                                json.beginArray();
                                for (const auto& member : members)
                                    writeMember(json, member);
                                json.endArray();
                                ctx.out << json.str() << '\n';
                                return kOk;
                            }
                            std::vector<std::vector<std::string>> rows;
                            for (const auto& member : members)
                                rows.push_back({std::to_string(member.id), std::to_string(member.tokens),
                                                std::to_string(member.granted.size()), isoTime(member.created_at)});
                            printTable(ctx.out, {"MEMBER_ID", "TOKENS", "GRANTS", "CREATED"}, rows);
                            if (members.empty())
                                ctx.out << "(no members: create one with wsgw-admin member add ID)\n";
                            return kOk;
                        }});
    commands.push_back({"member", "show", "MEMBER_ID", "show one member and its grants",
                        "Shows how many tokens the member holds, never the tokens (only hashes are stored).",
                        idArgument, [](Context& ctx) {
                            auto member =
                                ctx.store().getMember(requireMemberId(ctx.options["member"].as<std::string>()));
                            if (ctx.json)
                            {
                                protocol::JsonWriter json;
                                writeMember(json, member);
                                ctx.out << json.str() << '\n';
                                return kOk;
                            }
                            ctx.out << "member_id: " << member.id << '\n'
                                    << "tokens:    " << member.tokens << '\n'
                                    << "grants:    " << joinNames(member.granted) << '\n'
                                    << "created:   " << isoTime(member.created_at) << '\n';
                            return kOk;
                        }});
    commands.push_back(
        {"member", "remove", "MEMBER_ID", "remove a member, its tokens and grants (sessions close)", "", idArgument,
         [](Context& ctx) {
             auto id = requireMemberId(ctx.options["member"].as<std::string>());
             ctx.store().removeMember(id);
             if (ctx.json)
             {
                 protocol::JsonWriter json;
                 json.beginObject().key("ok").value(true).key("member_id").value(id).key("action").value("removed");
                 json.endObject();
                 ctx.out << json.str() << '\n';
             }
             else
                 ctx.out << "member " << id << " removed\n";
             return kOk;
         }});
    commands.push_back(
        {"member", "token", "MEMBER_ID [--token-file FILE|-] [--add]",
         "replace the member's tokens (sessions using old ones close), print the new one once",
         kTokenDetails + "\nWith --add the member keeps its other tokens and no session closes.",
         [](auto& options, auto& positional) {
             idArgument(options, positional);
             tokenOption(options);
             options.add_options()("add", "add this token and keep the member's other tokens");
         },
         [](Context& ctx) {
             auto id = requireMemberId(ctx.options["member"].as<std::string>());
             auto mode = ctx.options.count("add") ? store::Store::TokenMode::Add : store::Store::TokenMode::Replace;
             auto chosen = chosenToken(ctx); // before store(): see chosenToken
             auto token = ctx.store().setToken(id, chosen, mode);
             printToken(ctx, ctx.store().getMember(id), token,
                        mode == store::Store::TokenMode::Add
                            ? "token added for member " + std::to_string(id)
                            : "new token for member " + std::to_string(id) + " (its other tokens no longer work)");
             return kOk;
         }});
    commands.push_back({"member", "import", "FILE",
                        "create or update members from CSV lines MEMBER_ID,TOKEN ('-' = stdin), all or nothing",
                        "One line per token: MEMBER_ID,TOKEN. A member listed on several lines gets all those\n"
                        "tokens; each listed member's tokens become exactly those listed, others are untouched.\n"
                        "Empty lines, lines starting with #, and a header line member_id,token are skipped.\n"
                        "One transaction: if any line is bad, the bad lines are reported by number on stderr,\n"
                        "nothing is imported, and the exit status is 1. Tokens shorter than 16 characters are\n"
                        "imported with one warning that counts them. Prints how many members were imported.",
                        [](auto& options, auto& positional) {
                            options.add_options()("file", po::value<std::string>()->required(), "CSV file or -");
                            positional.add("file", 1);
                        },
                        [](Context& ctx) {
                            auto path = ctx.options["file"].as<std::string>();
                            std::ifstream file;
                            if (path != "-")
                            {
                                file.open(path);
                                if (!file)
                                    throw CommandError("cannot read '" + path + "'");
                            }
                            std::istream& csv = path == "-" ? ctx.in : file;
                            auto result = ctx.store().importMembers(csv);
                            if (result.short_tokens > 0)
                                ctx.warn("warning: " + std::to_string(result.short_tokens) + " token(s) shorter than " +
                                         std::to_string(store::kRecommendedSecretLength) + " characters");
                            size_t updated = result.members - result.created;
                            if (ctx.json)
                            {
                                protocol::JsonWriter json;
                                json.beginObject().key("members").value(static_cast<uint64_t>(result.members));
                                json.key("created").value(static_cast<uint64_t>(result.created));
                                json.key("updated").value(static_cast<uint64_t>(updated));
                                json.key("tokens").value(static_cast<uint64_t>(result.tokens));
                                json.key("short_tokens").value(static_cast<uint64_t>(result.short_tokens));
                                json.endObject();
                                ctx.out << json.str() << '\n';
                            }
                            else
                                ctx.out << "imported " << result.members << " members (" << result.created
                                        << " created, " << updated << " updated), " << result.tokens << " tokens\n";
                            return kOk;
                        }});
}

} // namespace wsgw::cli
