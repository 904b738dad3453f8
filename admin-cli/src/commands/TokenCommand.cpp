// `wsgw-admin token jwt MEMBER_ID [--apps A,B] [--ttl SECONDS]`: a member JWT
// signed HS256 with the configured auth.jwt_secret (SPEC §3, §6), for tests and
// operators; a real deployment's login service mints its own. The token carries
// sub, iat, exp, the apps claim when given, and iss/aud when the configuration
// checks them, so the gateway of that configuration accepts it.
//
// Output: the token; with --json {"token":"…","expires_at":<Unix seconds>}

#include "commands/Context.h"
#include "model/Names.h"
#include "protocol/JsonWriter.h"

#include <Poco/JSON/Array.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <Poco/Timestamp.h>

#include <charconv>
#include <sstream>

namespace po = boost::program_options;

namespace wsgw::cli {

namespace {

constexpr int64_t kMaxTtl = 10LL * 366 * 24 * 3600; // ten years, in seconds

int64_t requireTtl(const std::string& text)
{
    int64_t ttl = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ttl);
    if (ec != std::errc() || end != text.data() + text.size() || ttl < 1 || ttl > kMaxTtl)
        throw UsageError("invalid --ttl '" + text.substr(0, 40) + "': use whole seconds from 1 to " +
                         std::to_string(kMaxTtl));
    return ttl;
}

std::vector<std::string> requireApps(const std::string& list)
{
    std::vector<std::string> apps;
    std::istringstream in(list);
    for (std::string name; std::getline(in, name, ',');)
        apps.push_back(requireAppName(name));
    if (apps.empty() || list.back() == ',')
        throw UsageError("invalid --apps '" + list.substr(0, 80) + "': use app names separated by commas");
    return apps;
}

} // namespace

void addTokenCommands(std::vector<Command>& commands)
{
    commands.push_back(
        {"token", "jwt", "MEMBER_ID [--apps A,B] [--ttl SECONDS]",
         "mint a member JWT (HS256) with the configured auth.jwt_secret",
         "The secret is [auth] jwt_secret of --config (or of the packaged configuration); without one\n"
         "this fails (exit 1). The token logs MEMBER_ID in (SPEC §6) until it expires; --apps grants\n"
         "those private apps to its sessions. It is printed, never stored. iss and aud are set when\n"
         "the configuration checks them.",
         [](po::options_description& options, po::positional_options_description& positional) {
             options.add_options()("member", po::value<std::string>()->required(), "member id")(
                 "apps", po::value<std::string>(), "private apps the token grants, separated by commas")(
                 "ttl", po::value<std::string>()->default_value("3600"), "seconds until the token expires");
             positional.add("member", 1);
         },
         [](Context& ctx) {
             const int64_t member = requireMemberId(ctx.options["member"].as<std::string>());
             const int64_t ttl = requireTtl(ctx.options["ttl"].as<std::string>());
             std::vector<std::string> apps;
             if (ctx.options.count("apps"))
                 apps = requireApps(ctx.options["apps"].as<std::string>());
             const auto& settings = ctx.settings;
             if (settings.jwt_secret.empty())
                 throw CommandError("no auth.jwt_secret in the configuration: set [auth] jwt_secret in the "
                                    "gateway's wsgw.ini and name it with --config");

             const int64_t now = Poco::Timestamp().epochTime();
             Poco::JWT::Token token;
             token.setType("JWT");
             token.setSubject(std::to_string(member));
             token.payload().set("iat", now);
             token.payload().set("exp", now + ttl);
             if (!settings.jwt_issuer.empty())
                 token.setIssuer(settings.jwt_issuer);
             if (!settings.jwt_audience.empty())
                 token.setAudience(settings.jwt_audience);
             if (!apps.empty())
             {
                 Poco::JSON::Array::Ptr claim = new Poco::JSON::Array;
                 for (const auto& app : apps)
                     claim->add(app);
                 token.payload().set("apps", claim);
             }
             Poco::JWT::Signer signer(settings.jwt_secret);
             const std::string jwt = signer.sign(token, Poco::JWT::Signer::ALGO_HS256);
             if (ctx.json)
             {
                 protocol::JsonWriter json;
                 json.beginObject().key("token").value(jwt).key("expires_at").value(now + ttl).endObject();
                 ctx.out << json.take() << '\n';
             }
             else
                 ctx.out << jwt << '\n';
             return kOk;
         }});
}

} // namespace wsgw::cli
