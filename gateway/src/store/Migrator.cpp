#include "store/Migrator.h"

#include "store/Error.h"
#include "store/SchemaScripts.h"

#include <string>

namespace wsgw::store {

int Migrator::latestVersion()
{
    return schemaScripts().empty() ? 0 : schemaScripts().back().version;
}

int Migrator::migrate(Database& db)
{
    return migrateTo(db, latestVersion());
}

int Migrator::migrateTo(Database& db, int target)
{
    int64_t current = db.userVersion();
    if (current > latestVersion())
        throw SchemaMismatch("database '" + db.path() + "' has schema version " + std::to_string(current) +
                             ", newer than this wsgw knows (" + std::to_string(latestVersion()) +
                             "): upgrade wsgw, or point it at another database");
    if (current == 0)
    {
        auto tables = db.prepare("SELECT count(*) FROM sqlite_schema");
        tables.step();
        if (tables.columnInt64(0) != 0)
            throw SchemaMismatch("database '" + db.path() +
                                 "' already holds tables but no wsgw schema version: it is not a wsgw database");
    }
    int applied = 0;
    for (const auto& script : schemaScripts())
    {
        if (script.version <= current || script.version > target)
            continue;
        Transaction tx(db);
        // Re-read inside the write lock: another process may have migrated meanwhile.
        if (db.userVersion() >= script.version)
            continue;
        try
        {
            db.exec(script.sql);
        }
        catch (const Error& e)
        {
            throw Error(e.code(), std::string("schema ") + script.file + ": " + e.what());
        }
        db.exec("PRAGMA user_version = " + std::to_string(script.version));
        tx.commit();
        ++applied;
    }
    return applied;
}

} // namespace wsgw::store
