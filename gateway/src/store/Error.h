#pragma once
/// Exceptions of the store: SQLite failures, and the domain outcomes that the
/// CLI maps to its exit codes. Any thread.

#include <stdexcept>
#include <string>

namespace wsgw::store {

/// A SQLite call failed. Carries the SQLite result code and names the statement.
class Error : public std::runtime_error
{
public:
    Error(int sqlite_code, const std::string& what) : std::runtime_error(what), code_(sqlite_code) {}
    int code() const noexcept { return code_; }

private:
    int code_;
};

/// The named app, member, token or grant does not exist (CLI exit 1).
class NotFound : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

/// The named app, member or grant exists already (CLI exit 1).
class AlreadyExists : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

/// Input rejected before it reached SQL: bad name, id out of range, bad CSV line (CLI exit 1 or 2).
class InvalidInput : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

/// The database's schema is newer than this binary knows, or not a wsgw database.
class SchemaMismatch : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

/// The database is a cluster replica's copy (SPEC §9): changes are made on the
/// primary. The message names it (CLI exit 1).
class ReplicaDatabase : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

} // namespace wsgw::store
