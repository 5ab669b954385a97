#include "storage/rdb/sqlite_connection.h"

#include <cmath>

#include "knob/core/error.h"

namespace knob::detail {

void check_sqlite(sqlite3* db, int code, const std::string& where, const std::string& doing) {
  if (code == SQLITE_OK || code == SQLITE_ROW || code == SQLITE_DONE) return;
  std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  if (code == SQLITE_NOTADB) message += " (the file is corrupt or not an SQLite database)";
  if (code == SQLITE_BUSY) message += " (another process held the lock past the busy timeout)";
  throw StorageError(where + ": " + doing + " failed: " + message);
}

SqliteStatement& SqliteStatement::bind(int index, int64_t value) {
  check_sqlite(db_, sqlite3_bind_int64(stmt_, index, value), *where_, "bind");
  return *this;
}

SqliteStatement& SqliteStatement::bind(int index, double value) {
  if (std::isnan(value)) return bind_null(index);
  check_sqlite(db_, sqlite3_bind_double(stmt_, index, value), *where_, "bind");
  return *this;
}

SqliteStatement& SqliteStatement::bind(int index, std::string_view value) {
  check_sqlite(db_,
               sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                                 SQLITE_TRANSIENT),
               *where_, "bind");
  return *this;
}

SqliteStatement& SqliteStatement::bind_null(int index) {
  check_sqlite(db_, sqlite3_bind_null(stmt_, index), *where_, "bind");
  return *this;
}

SqliteStatement& SqliteStatement::bind(int index, const std::optional<std::string>& value) {
  return value ? bind(index, *value) : bind_null(index);
}

bool SqliteStatement::step() {
  int code = sqlite3_step(stmt_);
  check_sqlite(db_, code, *where_, std::string("query '") + sqlite3_sql(stmt_) + "'");
  return code == SQLITE_ROW;
}

void SqliteStatement::run() {
  while (step()) {
  }
}

std::string SqliteStatement::text(int column) const {
  const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  return data ? std::string(data, sqlite3_column_bytes(stmt_, column)) : std::string();
}

std::optional<std::string> SqliteStatement::optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

SqliteConnection::SqliteConnection(const std::string& path, std::string where, int flags)
    : where_(std::move(where)) {
  int code = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (code != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(code);
    sqlite3_close(db_);
    db_ = nullptr;
    throw StorageError(where_ + ": cannot open '" + path + "': " + message);
  }
  sqlite3_extended_result_codes(db_, 0);
}

SqliteConnection::~SqliteConnection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

SqliteStatement SqliteConnection::prepare(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    check_sqlite(db_, sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), where_,
                 "prepare '" + sql + "'");
    it = statements_.emplace(sql, stmt).first;
  }
  return SqliteStatement(db_, it->second, &where_);
}

void SqliteConnection::exec(const std::string& sql) {
  char* error = nullptr;
  int code = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
  if (code != SQLITE_OK) {
    std::string message = error ? error : sqlite3_errstr(code);
    sqlite3_free(error);
    if (code == SQLITE_NOTADB) message += " (the file is corrupt or not an SQLite database)";
    throw StorageError(where_ + ": '" + sql.substr(0, 60) + "' failed: " + message);
  }
}

void SqliteConnection::check_not_moved() {
  int moved = 0;
  if (sqlite3_file_control(db_, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK && moved) {
    throw StorageError(where_ +
                       ": the database file was deleted, moved or replaced while knob had it "
                       "open; stopped rather than write where no one can read (restore the file, "
                       "or start again on a new one)");
  }
}

SqliteTransaction::SqliteTransaction(SqliteConnection& connection, Kind kind)
    : connection_(connection) {
  connection_.prepare(kind == Kind::kWrite ? "BEGIN IMMEDIATE" : "BEGIN").run();
}

SqliteTransaction::~SqliteTransaction() {
  if (done_) return;
  try {
    connection_.prepare("ROLLBACK").run();
  } catch (...) {
    // The transaction is already gone (SQLite rolls back on some errors by itself).
  }
}

void SqliteTransaction::commit() {
  connection_.prepare("COMMIT").run();
  done_ = true;
}

}  // namespace knob::detail
