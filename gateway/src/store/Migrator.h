#pragma once
/// Brings a database to the newest schema version this binary knows, tracked in
/// PRAGMA user_version. Startup only (gateway) or once per CLI run.

#include "store/Database.h"

namespace wsgw::store {

class Migrator
{
public:
    /// The newest schema version embedded in this binary.
    static int latestVersion();

    /// Applies every script newer than the database's version, each in its own
    /// IMMEDIATE transaction. Returns how many were applied (0 when up to date).
    /// Throws SchemaMismatch if the database is newer than this binary, or if
    /// it holds tables but no wsgw version.
    static int migrate(Database& db);

    /// Applies scripts up to TARGET only (tests use it to build earlier versions).
    static int migrateTo(Database& db, int target);
};

} // namespace wsgw::store
