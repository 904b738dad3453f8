// `wsgw-admin app …`: apps (tenants), their visibility, push keys and grants.
//
// JSON shapes (--json), one compact document per command:
//   app add, app rotate-key  {"name":"match","visibility":"public","grants":[],"created":"…Z","push_key":"…"}
//   app show, app set        {"name":"match","visibility":"public","grants":[7,9],"created":"…Z",
//                             "webhook":"https://…"|"","client_publish":"off"|"subscribers"}
//                            (app set --webhook adds "webhook_secret":"…" the first time)
//   app rotate-key --webhook-secret  <app> with "webhook_secret":"…"
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
            << "created:    " << isoTime(app.created_at) << '\n'
            << "webhook:    " << (app.webhook_url.empty() ? "(none)" : app.webhook_url) << '\n'
            << "publish:    " << store::toString(app.client_publish) << " (client publish)\n";
}

/// SPEC §7: an absolute http:// or https:// URL with a host, or empty (no backend).
std::string checkWebhookUrl(const std::string& url)
{
    if (url.empty())
        return url;
    for (const std::string scheme : {"http://", "https://"})
    {
        if (url.rfind(scheme, 0) == 0 && url.size() > scheme.size() && url[scheme.size()] != '/' &&
            url.find_first_of(" \t\r\n") == std::string::npos)
            return url;
    }
    throw UsageError("--webhook: '" + url + "' is not an http:// or https:// URL (or '' to remove it)");
}

/// The webhook secret, once: the backend checks X-Wsgw-Signature with it.
void printWebhookSecret(Context& ctx, const store::AppInfo& app, const std::string& secret)
{
    if (ctx.json)
    {
        protocol::JsonWriter json;
        writeApp(json, app);
        std::string text = json.take();
        text.pop_back(); // reopen the object: the secret goes last
        text += ",\"webhook_secret\":";
        protocol::appendJsonString(text, secret);
        ctx.out << text << "}\n";
        return;
    }
    ctx.out << "webhook secret: " << secret << '\n'
            << "Store it in the app's backend now: it is shown only once (wsgw-admin app rotate-key " << app.name
            << " --webhook-secret makes a new one). Every call carries X-Wsgw-Signature: sha256=<hex HMAC-SHA256 "
               "of the body>.\n";
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
    commands.push_back(
        {"app", "set", "NAME [--public|--members|--private] [--webhook URL] [--client-publish off|subscribers]",
         "change who may subscribe, the app's backend, client publish",
         "public: anyone, anonymous clients included; members: any authenticated member;\n"
         "private: members with a grant (wsgw-admin app grant). Grants are kept across changes.\n"
         "Live subscriptions the new visibility no longer allows end with 403.\n"
         "--webhook URL: the app's backend (http:// or https://; '' removes it) receives subscribe and\n"
         "unsubscribe events, client publishes and RPCs, each signed with the webhook secret, which the\n"
         "first --webhook prints once. --client-publish subscribers lets subscribers publish to the app\n"
         "(through the backend's 200 when it has one); off (the default) refuses it.",
         [](auto& options, auto& positional) {
             nameArgument(options, positional);
             visibilityFlags(options);
             options.add_options()("webhook", po::value<std::string>(), "the app's backend URL ('' removes it)")(
                 "client-publish", po::value<std::string>(), "off | subscribers");
         },
         [](Context& ctx) {
             auto name = requireAppName(ctx.options["name"].as<std::string>());
             auto visibility = chosenVisibility(ctx.options);
             std::optional<std::string> webhook;
             if (ctx.options.count("webhook"))
                 webhook = checkWebhookUrl(ctx.options["webhook"].as<std::string>());
             std::optional<store::ClientPublish> publish;
             if (ctx.options.count("client-publish"))
             {
                 publish = store::parseClientPublish(ctx.options["client-publish"].as<std::string>());
                 if (!publish)
                     throw UsageError("--client-publish: say off or subscribers");
             }
             if (!visibility && !webhook && !publish)
                 throw UsageError("say which: --public, --members or --private (or --webhook, --client-publish)");
             auto& store = ctx.store();
             store.getApp(name); // NotFound before any change
             if (visibility)
                 store.setVisibility(name, *visibility);
             if (publish)
                 store.setClientPublish(name, *publish);
             std::string secret;
             if (webhook)
                 secret = store.setWebhook(name, *webhook);
             auto app = store.getApp(name);
             if (!secret.empty())
                 printWebhookSecret(ctx, app, secret);
             else if (ctx.json)
                 printApp(ctx, app);
             else if (!webhook && !publish)
                 ctx.out << "app '" << name << "' is now " << store::toString(app.visibility) << '\n';
             else
                 ctx.out << "app '" << name << "': " << store::toString(app.visibility) << ", webhook "
                         << (app.webhook_url.empty() ? "(none)" : app.webhook_url) << ", client publish "
                         << store::toString(app.client_publish) << '\n';
             return kOk;
         }});
    commands.push_back({"app", "rotate-key", "NAME [--webhook-secret]",
                        "replace the push key (or the webhook secret), print the new one once",
                        "The old key stops working within a second; give backends the new one.\n"
                        "--webhook-secret: replace the secret that signs calls to the app's backend instead.",
                        [](auto& options, auto& positional) {
                            nameArgument(options, positional);
                            options.add_options()("webhook-secret", "replace the webhook secret, not the push key");
                        },
                        [](Context& ctx) {
                            auto name = requireAppName(ctx.options["name"].as<std::string>());
                            if (ctx.options.count("webhook-secret"))
                            {
                                auto secret = ctx.store().rotateWebhookSecret(name);
                                printWebhookSecret(ctx, ctx.store().getApp(name), secret);
                                return kOk;
                            }
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
