// `wsgw-admin db …`: schema migration and an integrity check.
//
// JSON shapes (--json):
//   db migrate  {"path":"…","version":1,"latest":1,"applied":0}
//   db check    {"path":"…","version":1,"latest":1,"ok":true,"problems":[]}

#include "commands/Context.h"
#include "protocol/JsonWriter.h"
#include "store/Database.h"
#include "store/Error.h"
#include "store/Migrator.h"

#include <algorithm>
#include <sys/stat.h>

namespace wsgw::cli {

void addDbCommands(std::vector<Command>& commands)
{
    commands.push_back(
        {"db", "migrate", "", "create the database or bring it to the newest schema",
         "Prints the schema version reached and how many migration scripts were applied (0: it was\n"
         "up to date). Every other command but db check does the same implicitly.",
         [](auto&, auto&) {},
         [](Context& ctx) {
             // Store's constructor migrates; count what it applied.
             int64_t before = 0;
             struct stat info
             {};
             if (::stat(ctx.db_path.c_str(), &info) == 0)
             {
                 store::Database probe(ctx.db_path, std::chrono::seconds(5), store::Database::Mode::ReadWrite);
                 before = probe.userVersion();
             }
             int64_t version = ctx.store().database().userVersion();
             int64_t applied = version - std::min(before, version);
             if (ctx.json)
             {
                 protocol::JsonWriter json;
                 json.beginObject().key("path").value(ctx.db_path).key("version").value(version);
                 json.key("latest").value(store::Migrator::latestVersion()).key("applied").value(applied);
                 json.endObject();
                 ctx.out << json.str() << '\n';
             }
             else
                 ctx.out << "database " << ctx.db_path << " at schema version " << version << " (" << applied
                         << " migration(s) applied)\n";
             return kOk;
         }});
    commands.push_back(
        {"db", "check", "", "check schema version, integrity and foreign keys (changes nothing)",
         "Never creates or migrates the database. Exit 0 if the schema is the newest this\n"
         "wsgw-admin knows and PRAGMA integrity_check and foreign_key_check find nothing; else 1,\n"
         "with each problem listed (and exit 1 if the file does not exist).",
         [](auto&, auto&) {},
         [](Context& ctx) {
             struct stat info
             {};
             if (::stat(ctx.db_path.c_str(), &info) != 0)
                 throw store::NotFound("database '" + ctx.db_path +
                                       "' does not exist (wsgw-admin db migrate creates it)");
             store::Database db(ctx.db_path, std::chrono::seconds(5), store::Database::Mode::ReadWrite);
             std::vector<std::string> problems;
             int64_t version = db.userVersion();
             if (version < store::Migrator::latestVersion())
                 problems.push_back("schema version " + std::to_string(version) + " is older than " +
                                    std::to_string(store::Migrator::latestVersion()) + ": run wsgw-admin db migrate");
             if (version > store::Migrator::latestVersion())
                 problems.push_back("schema version " + std::to_string(version) +
                                    " is newer than this wsgw-admin knows");
             auto integrity = db.prepare("PRAGMA integrity_check");
             while (integrity.step())
             {
                 if (integrity.columnText(0) != "ok")
                     problems.push_back("integrity: " + integrity.columnText(0));
             }
             auto keys = db.prepare("PRAGMA foreign_key_check");
             while (keys.step())
                 problems.push_back("foreign key: row " + std::to_string(keys.columnInt64(1)) + " of " +
                                    keys.columnText(0) + " points nowhere");
             if (ctx.json)
             {
                 protocol::JsonWriter json;
                 json.beginObject().key("path").value(ctx.db_path).key("version").value(version);
                 json.key("latest").value(store::Migrator::latestVersion());
                 json.key("ok").value(problems.empty()).key("problems").beginArray();
                 for (const auto& problem : problems)
                     json.value(problem);
                 json.endArray().endObject();
                 ctx.out << json.str() << '\n';
             }
             else if (problems.empty())
                 ctx.out << "database " << ctx.db_path << ": schema version " << version
                         << ", integrity ok, foreign keys ok\n";
             else
             {
                 for (const auto& problem : problems)
                     ctx.out << problem << '\n';
             }
             if (problems.empty())
                 return kOk;
             ctx.warn("database '" + ctx.db_path + "' failed the check: " + std::to_string(problems.size()) +
                      " problem(s), listed on stdout");
             return kFailed;
         }});
}

} // namespace wsgw::cli
