#pragma once
/// Thin RAII wrapper over the SQLite C API: one connection, prepared statements,
/// transactions. Every result code is checked; failures throw store::Error naming
/// the statement. A Database is used by one thread at a time.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace wsgw::store {

class Statement;

class Database
{
public:
    enum class Mode
    {
        ReadWriteCreate, ///< create the file if missing (gateway start, CLI)
        ReadWrite,       ///< the file must exist
    };

    /// Opens PATH, enables foreign keys and WAL, sets the busy timeout.
    /// Throws store::Error if the file cannot be opened or is not a database.
    explicit Database(const std::string& path, std::chrono::milliseconds busy_timeout = std::chrono::seconds(5),
                      Mode mode = Mode::ReadWriteCreate);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    /// Runs one or more statements that return no rows.
    void exec(std::string_view sql);
    /// Prepares one statement; throws store::Error with the SQL text on failure.
    Statement prepare(std::string_view sql);

    /// PRAGMA user_version.
    int64_t userVersion();
    /// PRAGMA data_version: changes whenever another connection commits to the file.
    int64_t dataVersion();
    /// Rows changed by the last INSERT/UPDATE/DELETE on this connection.
    int64_t changes();
    int64_t lastInsertRowId();

    const std::string& path() const noexcept { return path_; }
    sqlite3* handle() const noexcept { return db_; }

    /// Throws store::Error for RC unless it is SQLITE_OK, naming WHAT.
    void check(int rc, std::string_view what) const;

private:
    int64_t pragmaInt(const char* sql);

    sqlite3* db_ = nullptr;
    std::string path_;
};

/// A prepared statement. Bind parameters are 1-based, columns 0-based.
class Statement
{
public:
    Statement(Database& db, sqlite3_stmt* stmt, std::string sql);
    ~Statement();
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&&) = delete;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int index, int64_t value);
    Statement& bind(int index, std::string_view value);
    Statement& bindNull(int index);

    /// Steps once: true if a row is available, false when done. Throws on error
    /// (SQLITE_BUSY after the busy timeout included).
    bool step();
    /// Steps to completion, for statements that return no rows.
    void run();
    /// Resets the statement and clears its bindings so it can run again.
    void reset();

    int64_t columnInt64(int column) const;
    std::string columnText(int column) const;
    bool columnIsNull(int column) const;

private:
    Database& db_;
    sqlite3_stmt* stmt_;
    std::string sql_;
};

/// A transaction that rolls back unless commit() is called. Writers use
/// Immediate so that they take the write lock up front and wait for it with the
/// busy timeout instead of failing halfway (sqlite.org/lang_transaction.html).
class Transaction
{
public:
    enum class Kind
    {
        Deferred,
        Immediate,
    };
    explicit Transaction(Database& db, Kind kind = Kind::Immediate);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    void commit();

private:
    Database& db_;
    bool done_ = false;
};

} // namespace wsgw::store
