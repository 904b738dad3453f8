// `wsgw-admin push NAME --text TEXT [--member ID]`: one push through the local
// gateway, so an operator can test delivery in one line. Push keys are stored
// hashed, so the CLI uses the gateway's per-start admin key from its runtime
// file next to the database (see config/RuntimeFile.h); whoever can read the
// database directory can manage apps anyway.
//
// Output: the gateway's reply; with --json its JSON body as is
//   {"code":202,"message":"queued for 2 connections","recipients":2}

#include "commands/Context.h"
#include "config/RuntimeFile.h"
#include "protocol/ServerMessage.h"
#include "store/Error.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

namespace po = boost::program_options;

namespace wsgw::cli {

void addPushCommand(std::vector<Command>& commands)
{
    commands.push_back(
        {"push", "", "NAME --text TEXT [--member ID]", "send a push through the local gateway",
         "Needs the gateway of this database running; it uses the gateway's per-start admin key.",
         [](po::options_description& options, po::positional_options_description& positional) {
             options.add_options()("name", po::value<std::string>()->required(), "app name")(
                 "text", po::value<std::string>()->required(), "the text subscribers receive")(
                 "member", po::value<std::string>(), "only this member's connections (default: everyone)");
             positional.add("name", 1);
         },
         [](Context& ctx) {
             auto name = requireAppName(ctx.options["name"].as<std::string>());
             int64_t member =
                 ctx.options.count("member") ? requireMemberId(ctx.options["member"].as<std::string>()) : -1;
             auto runtime_path = config::runtimeFilePath(ctx.db_path);
             auto runtime = config::readRuntimeFile(runtime_path);
             if (!runtime)
                 throw CommandError("the gateway for database '" + ctx.db_path + "' is not running (no readable " +
                                    runtime_path + "): start it, or name its configuration with --config");
             std::string body = protocol::serverMessage(name, member, ctx.options["text"].as<std::string>());
             Poco::URI uri(runtime->push_url);
             std::string reply;
             int status = 0;
             try
             {
                 Poco::Net::HTTPClientSession session(uri.getHost(), uri.getPort());
                 session.setTimeout(Poco::Timespan(10, 0));
                 Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, uri.getPathAndQuery(),
                                                Poco::Net::HTTPMessage::HTTP_1_1);
                 request.setContentType("application/json");
                 request.setContentLength(static_cast<std::streamsize>(body.size()));
                 request.set("Authorization", "Bearer " + runtime->admin_key);
                 session.sendRequest(request) << body;
                 Poco::Net::HTTPResponse response;
                 Poco::StreamCopier::copyToString(session.receiveResponse(response), reply);
                 status = static_cast<int>(response.getStatus());
             }
             catch (const Poco::Exception& e)
             {
                 throw CommandError("cannot reach the gateway at " + runtime->push_url + ": " + e.displayText());
             }
             while (!reply.empty() && (reply.back() == '\n' || reply.back() == '\r'))
                 reply.pop_back();
             std::string message = reply;
             try
             {
                 Poco::JSON::Parser parser;
                 message = parser.parse(reply).extract<Poco::JSON::Object::Ptr>()->getValue<std::string>("message");
             }
             catch (const std::exception&)
             {}
             if (status != 202)
             {
                 if (status == 404)
                     throw store::NotFound(message);
                 throw CommandError("the gateway refused the push (" + std::to_string(status) + "): " + message);
             }
             if (ctx.json)
                 ctx.out << reply << '\n';
             else
                 ctx.out << message << '\n';
             return kOk;
         }});
}

} // namespace wsgw::cli
