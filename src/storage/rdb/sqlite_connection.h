// Thin RAII wrappers over the sqlite3 C API, internal to the storage module: a connection
// that caches prepared statements, a statement with typed binds and reads, and a
// transaction guard that rolls back unless committed. Every failure throws StorageError
// naming the database.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace knob::detail {

class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt, const std::string* where)
      : db_(db), stmt_(stmt), where_(where) {}
  ~SqliteStatement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  SqliteStatement& bind(int index, int64_t value);
  SqliteStatement& bind(int index, double value);  // NaN binds as NULL, as SQLite does
  SqliteStatement& bind(int index, std::string_view value);
  SqliteStatement& bind(int index, const std::string& value) {
    return bind(index, std::string_view(value));
  }
  SqliteStatement& bind_null(int index);
  SqliteStatement& bind(int index, const std::optional<std::string>& value);
  SqliteStatement& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  SqliteStatement& bind(int index, const char* value) {
    return bind(index, std::string_view(value));
  }

  // Steps once; returns true while there is a row to read.
  bool step();
  // Steps to completion (for statements that return no rows).
  void run();

  bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  int64_t int64(int column) const { return sqlite3_column_int64(stmt_, column); }
  double real(int column) const { return sqlite3_column_double(stmt_, column); }
  std::string text(int column) const;
  std::optional<std::string> optional_text(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  const std::string* where_;
};

class SqliteConnection {
 public:
  // Opens the database file with sqlite3_open_v2's `flags` (by default read-write, creating
  // it if absent); `where` names it in error messages.
  SqliteConnection(const std::string& path, std::string where,
                   int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  ~SqliteConnection();
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  // A cached prepared statement, reset and ready to bind.
  SqliteStatement prepare(const std::string& sql);
  // Runs one or more statements without results (DDL, PRAGMA, BEGIN/COMMIT).
  void exec(const std::string& sql);
  int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }
  const std::string& where() const { return where_; }
  // Throws StorageError when the database file was deleted, renamed or replaced since it was
  // opened: what is written to it then can never be read again.
  void check_not_moved();

 private:
  sqlite3* db_ = nullptr;
  std::string where_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

// BEGIN IMMEDIATE (write) or BEGIN (read) on construction; ROLLBACK unless commit() ran.
class SqliteTransaction {
 public:
  enum class Kind { kRead, kWrite };
  SqliteTransaction(SqliteConnection& connection, Kind kind);
  ~SqliteTransaction();
  void commit();

 private:
  SqliteConnection& connection_;
  bool done_ = false;
};

// Throws StorageError for an SQLite result code that is not OK/ROW/DONE.
void check_sqlite(sqlite3* db, int code, const std::string& where, const std::string& doing);

}  // namespace knob::detail
