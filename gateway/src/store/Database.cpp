#include "store/Database.h"

#include "store/Error.h"

#include <sqlite3.h>

#include <utility>

namespace wsgw::store {

namespace {

std::string describe(sqlite3* db, int rc, std::string_view what)
{
    std::string message(what);
    message += ": ";
    message += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    return message;
}

} // namespace

Database::Database(const std::string& path, std::chrono::milliseconds busy_timeout, Mode mode) : path_(path)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (mode == Mode::ReadWriteCreate)
        flags |= SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK)
    {
        std::string message = describe(db_, rc, "cannot open database '" + path + "'");
        sqlite3_close(db_);
        db_ = nullptr;
        throw Error(rc, message);
    }
    try
    {
        sqlite3_extended_result_codes(db_, 1);
        check(sqlite3_busy_timeout(db_, static_cast<int>(busy_timeout.count())), "sqlite3_busy_timeout");
        // Reading a page proves the file is a database at all (a text file opens fine).
        exec("PRAGMA foreign_keys = ON");
        {
            auto journal = prepare("PRAGMA journal_mode = WAL");
            journal.step();
        }
        // synchronous=NORMAL is durable across application crashes in WAL mode and
        // avoids an fsync per admin command.
        exec("PRAGMA synchronous = NORMAL");
    }
    catch (...)
    {
        // The destructor does not run for a constructor that throws.
        sqlite3_close_v2(db_);
        db_ = nullptr;
        throw;
    }
}

Database::~Database()
{
    // All statements are finalised by their owners first; close_v2 defers otherwise.
    sqlite3_close_v2(db_);
}

void Database::check(int rc, std::string_view what) const
{
    if (rc != SQLITE_OK)
        throw Error(rc, describe(db_, rc, what));
}

void Database::exec(std::string_view sql)
{
    std::string text(sql);
    char* error = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
    if (rc != SQLITE_OK)
    {
        std::string message = "'" + text.substr(0, 80) + "': " + (error ? error : sqlite3_errstr(rc));
        sqlite3_free(error);
        throw Error(rc, message);
    }
}

Statement Database::prepare(std::string_view sql)
{
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
    if (rc != SQLITE_OK)
        throw Error(rc, describe(db_, rc, "prepare '" + std::string(sql) + "'"));
    return Statement(*this, stmt, std::string(sql));
}

int64_t Database::pragmaInt(const char* sql)
{
    auto stmt = prepare(sql);
    if (!stmt.step())
        throw Error(SQLITE_ERROR, std::string(sql) + ": returned no row");
    return stmt.columnInt64(0);
}

int64_t Database::userVersion()
{
    return pragmaInt("PRAGMA user_version");
}

int64_t Database::dataVersion()
{
    return pragmaInt("PRAGMA data_version");
}

int64_t Database::changes()
{
    return sqlite3_changes64(db_);
}

int64_t Database::lastInsertRowId()
{
    return sqlite3_last_insert_rowid(db_);
}

Statement::Statement(Database& db, sqlite3_stmt* stmt, std::string sql) : db_(db), stmt_(stmt), sql_(std::move(sql))
{}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), sql_(std::move(other.sql_))
{}

Statement::~Statement()
{
    sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, int64_t value)
{
    db_.check(sqlite3_bind_int64(stmt_, index, value), "bind '" + sql_ + "'");
    return *this;
}

Statement& Statement::bind(int index, std::string_view value)
{
    db_.check(sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT),
              "bind '" + sql_ + "'");
    return *this;
}

Statement& Statement::bindNull(int index)
{
    db_.check(sqlite3_bind_null(stmt_, index), "bind '" + sql_ + "'");
    return *this;
}

bool Statement::step()
{
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW)
        return true;
    if (rc == SQLITE_DONE)
        return false;
    throw Error(rc, describe(db_.handle(), rc, "'" + sql_ + "'"));
}

void Statement::run()
{
    while (step())
    {}
}

void Statement::reset()
{
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

int64_t Statement::columnInt64(int column) const
{
    return sqlite3_column_int64(stmt_, column);
}

std::string Statement::columnText(int column) const
{
    const auto* text = sqlite3_column_text(stmt_, column);
    if (!text)
        return {};
    return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

bool Statement::columnIsNull(int column) const
{
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Transaction::Transaction(Database& db, Kind kind) : db_(db)
{
    db_.exec(kind == Kind::Immediate ? "BEGIN IMMEDIATE" : "BEGIN");
}

Transaction::~Transaction()
{
    if (!done_)
        sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit()
{
    db_.exec("COMMIT");
    done_ = true;
}

} // namespace wsgw::store
