// `wsgw-admin app …`: apps (tenants), their visibility, push keys and grants.
//
// JSON shapes (--json), one compact document per command:
//   app add, app rotate-key  {"name":"match","visibility":"public","grants":[],"created":"…Z","push_key":"…"}
//   app show, app set        {"name":"match","visibility":"public","grants":[7,9],"created":"…Z"}
//   app list                 [ <app>, … ] sorted by name
//   app remove               {"ok":true,"app":"match","action":"removed"}
//   app grant / app revoke   {"ok":true,"app":"vip","member_id":7,"action":"granted"|"revoked"}
// Keys come in exactly this order; "grants" holds member ids ascending, "created" is UTC.

#include "commands/Context.h"
#include "commands/Output.h"

namespace po = boost::program_options;

namespace wsgw::cli {

namespace {

void nameArgument(po::options_description& options, po::positional_options_description& positional)
{
    options.add_options()("name", po::value<std::string>()->required(), "app name");
    positional.add("name", 1);
}

void visibilityFlags(po::options_description& options)
{
    options.add_options()("public", "anyone may subscribe, anonymous clients included")(
        "members", "any authenticated member may subscribe")("private", "only members with a grant may subscribe");
}

/// The visibility chosen by --public/--members/--private; FALLBACK when none.
std::optional<store::Visibility> chosenVisibility(const po::variables_map& options)
{
    std::optional<store::Visibility> chosen;
    int count = 0;
    for (auto [flag, visibility] :
         {std::pair{"public", store::Visibility::Public}, std::pair{"members", store::Visibility::Members},
          std::pair{"private", store::Visibility::Private}})
    {
        if (options.count(flag))
        {
            chosen = visibility;
            ++count;
        }
    }
    if (count > 1)
        throw UsageError("choose one of --public, --members, --private");
    return chosen;
}

void printApp(Context& ctx, const store::AppInfo& app)
{
    if (ctx.json)
    {
        protocol::JsonWriter json;
        writeApp(json, app);
        ctx.out << json.str() << '\n';
        return;
    }
    ctx.out << "name:       " << app.name << '\n'
            << "visibility: " << store::toString(app.visibility) << '\n'
            << "grants:     " << joinIds(app.granted) << '\n'
            << "created:    " << isoTime(app.created_at) << '\n';
}

void printDone(Context& ctx, const std::string& app, const char* action, const std::string& text)
{
    if (ctx.json)
    {
        protocol::JsonWriter json;
        json.beginObject().key("ok").value(true).key("app").value(app).key("action").value(action).endObject();
        ctx.out << json.str() << '\n';
    }
    else
        ctx.out << text << '\n';
}

void printGrant(Context& ctx, const std::string& app, int64_t member, const char* action, const std::string& text)
{
    if (ctx.json)
    {
        protocol::JsonWriter json;
        json.beginObject().key("ok").value(true).key("app").value(app).key("member_id").value(member);
        json.key("action").value(action);
        json.endObject();
        ctx.out << json.str() << '\n';
    }
    else
        ctx.out << text << '\n';
}

void printKey(Context& ctx, const store::AppInfo& app, const std::string& key, const std::string& headline)
{
    if (ctx.json)
    {
        protocol::JsonWriter json;
        writeApp(json, app, key);
        ctx.out << json.str() << '\n';
        return;
    }
    ctx.out << headline << '\n'
            << "push key: " << key << '\n'
            << "Store it now: it is shown only once (wsgw-admin app rotate-key " << app.name << " makes a new one).\n";
}

} // namespace

void addAppCommands(std::vector<Command>& commands)
{
    commands.push_back(
        {"app", "add", "NAME [--members|--private]", "create an app (public by default), print its push key once",
         "The push key (Authorization: Bearer KEY on POST /push) is printed once and stored only\n"
         "as SHA-256; lost, it can only be replaced: wsgw-admin app rotate-key NAME.\n"
         "NAME is 1 to 64 characters of A-Z a-z 0-9 _ . -; exit 1 if the app exists.",
         [](auto& options, auto& positional) {
             nameArgument(options, positional);
             visibilityFlags(options);
         },
         [](Context& ctx) {
             auto name = requireAppName(ctx.options["name"].as<std::string>());
             auto visibility = chosenVisibility(ctx.options).value_or(store::Visibility::Public);
             auto key = ctx.store().addApp(name, visibility);
             auto app = ctx.store().getApp(name);
             printKey(ctx, app, key, "app '" + name + "' created (" + std::string(store::toString(visibility)) + ")");
             return kOk;
         }});
    commands.push_back({"app", "list", "", "list every app",
                        "A table NAME VISIBILITY GRANTS CREATED (UTC), sorted by name; --json prints an array.",
                        [](auto&, auto&) {},
                        [](Context& ctx) {
                            auto apps = ctx.store().listApps();
                            if (ctx.json)
                            {
                                protocol::JsonWriter json;
                                json.beginArray();
                                for (const auto& app : apps)
                                    writeApp(json, app);
                                json.endArray();
                                ctx.out << json.str() << '\n';
                                return kOk;
                            }
                            std::vector<std::vector<std::string>> rows;
                            for (const auto& app : apps)
                                rows.push_back({app.name, std::string(store::toString(app.visibility)),
                                                std::to_string(app.granted.size()), isoTime(app.created_at)});
                            printTable(ctx.out, {"NAME", "VISIBILITY", "GRANTS", "CREATED"}, rows);
                            if (apps.empty())
                                ctx.out << "(no apps: create one with wsgw-admin app add NAME)\n";
                            return kOk;
                        }});
    commands.push_back({"app", "show", "NAME", "show one app and the members granted to it",
                        "Never shows the push key (only its hash is stored).", nameArgument, [](Context& ctx) {
                            printApp(ctx, ctx.store().getApp(requireAppName(ctx.options["name"].as<std::string>())));
                            return kOk;
                        }});
    commands.push_back({"app", "remove", "NAME", "remove an app and its grants (subscribers get 403)",
                        "A running gateway ends the app's subscriptions within a second.", nameArgument,
                        [](Context& ctx) {
                            auto name = requireAppName(ctx.options["name"].as<std::string>());
                            ctx.store().removeApp(name);
                            printDone(ctx, name, "removed", "app '" + name + "' removed");
                            return kOk;
                        }});
    commands.push_back({"app", "set", "NAME --public|--members|--private", "change who may subscribe",
                        "public: anyone, anonymous clients included; members: any authenticated member;\n"
                        "private: members with a grant (wsgw-admin app grant). Grants are kept across changes.\n"
                        "Live subscriptions the new visibility no longer allows end with 403.",
                        [](auto& options, auto& positional) {
                            nameArgument(options, positional);
                            visibilityFlags(options);
                        },
                        [](Context& ctx) {
                            auto name = requireAppName(ctx.options["name"].as<std::string>());
                            auto visibility = chosenVisibility(ctx.options);
                            if (!visibility)
                                throw UsageError("say which: --public, --members or --private");
                            ctx.store().setVisibility(name, *visibility);
                            auto app = ctx.store().getApp(name);
                            if (ctx.json)
                                printApp(ctx, app);
                            else
                                ctx.out << "app '" << name << "' is now " << store::toString(*visibility) << '\n';
                            return kOk;
                        }});
    commands.push_back({"app", "rotate-key", "NAME", "replace the push key, print the new one once",
                        "The old key stops working within a second; give backends the new one.", nameArgument,
                        [](Context& ctx) {
                            auto name = requireAppName(ctx.options["name"].as<std::string>());
                            auto key = ctx.store().rotateKey(name);
                            printKey(ctx, ctx.store().getApp(name), key,
                                     "new push key for app '" + name + "' (the old one no longer works)");
                            return kOk;
                        }});
    auto grant_arguments = [](po::options_description& options, po::positional_options_description& positional) {
        nameArgument(options, positional);
        options.add_options()("member", po::value<std::string>()->required(), "member id");
        positional.add("member", 1);
    };
    commands.push_back({"app", "grant", "NAME MEMBER_ID", "allow a member to subscribe to a private app",
                        "The member must exist (wsgw-admin member add); exit 1 if it does not or already has the\n"
                        "grant. A grant on a public or members app is kept, with a note on stderr, and takes\n"
                        "effect while the app is private.",
                        grant_arguments, [](Context& ctx) {
                            auto name = requireAppName(ctx.options["name"].as<std::string>());
                            auto member = requireMemberId(ctx.options["member"].as<std::string>());
                            ctx.store().grant(name, member);
                            auto visibility = ctx.store().getApp(name).visibility;
                            if (visibility != store::Visibility::Private)
                                ctx.warn("note: app '" + name + "' is " + std::string(store::toString(visibility)) +
                                         "; the grant is kept and applies while the app is private");
                            printGrant(ctx, name, member, "granted",
                                       "member " + std::to_string(member) + " may subscribe to '" + name + "'");
                            return kOk;
                        }});
    commands.push_back({"app", "revoke", "NAME MEMBER_ID", "remove a grant (live subscriptions end with 403)",
                        "Exit 1 if the app, the member or the grant does not exist.", grant_arguments,
                        [](Context& ctx) {
                            auto name = requireAppName(ctx.options["name"].as<std::string>());
                            auto member = requireMemberId(ctx.options["member"].as<std::string>());
                            ctx.store().revoke(name, member);
                            printGrant(ctx, name, member, "revoked",
                                       "grant of member " + std::to_string(member) + " on '" + name + "' revoked");
                            return kOk;
                        }});
}

} // namespace wsgw::cli
