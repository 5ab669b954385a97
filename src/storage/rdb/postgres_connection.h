// Thin RAII wrappers over libpq, internal to the storage module: a connection that runs
// parameterized statements (text parameters, NULL for nullopt) and reconnects on request,
// and a result whose rows read like SqliteStatement's. Failures throw StorageError naming the
// URL (without its password); a lost connection or a serialization failure/deadlock throws
// PostgresTransient (dialect.h's TransientError), after which the whole transaction may be run
// again.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "knob/core/error.h"
#include "storage/rdb/dialect.h"

namespace knob::detail {

using PostgresTransient = TransientError;

// One row of a result; columns are read from libpq's text format.
class PostgresRow {
 public:
  PostgresRow(const PGresult* result, int row) : result_(result), row_(row) {}
  bool is_null(int column) const { return PQgetisnull(result_, row_, column) != 0; }
  int64_t int64(int column) const;
  double real(int column) const;
  std::string text(int column) const { return PQgetvalue(result_, row_, column); }
  std::optional<std::string> optional_text(int column) const;

 private:
  const PGresult* result_;
  int row_;
};

class PostgresResult {
 public:
  explicit PostgresResult(PGresult* result) : result_(result, &PQclear) {}
  int size() const { return PQntuples(result_.get()); }
  bool empty() const { return size() == 0; }
  // The rows an INSERT/UPDATE/DELETE changed (0 for other statements).
  int64_t affected_rows() const { return std::strtoll(PQcmdTuples(result_.get()), nullptr, 10); }
  PostgresRow operator[](int row) const { return PostgresRow(result_.get(), row); }

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> result_;
};

// A statement parameter in text form; nullopt is SQL NULL.
using PostgresParam = std::optional<std::string>;
PostgresParam pg_param(int64_t value);
PostgresParam pg_param(double value);  // NaN is NULL
inline PostgresParam pg_param(const std::string& value) { return value; }
inline PostgresParam pg_param(const char* value) { return std::string(value); }
inline PostgresParam pg_param(const std::optional<std::string>& value) { return value; }

class PostgresConnection {
 public:
  // Connects; throws StorageError naming `where` and libpq's reason (unreachable, refused
  // password, no such database).
  PostgresConnection(std::string conninfo, std::string where);
  ~PostgresConnection();
  PostgresConnection(const PostgresConnection&) = delete;
  PostgresConnection& operator=(const PostgresConnection&) = delete;

  // Runs one statement with $1, $2, ... bound to `params` (several statements if none).
  PostgresResult exec(const std::string& sql, const std::vector<PostgresParam>& params = {});
  // Whether the connection is still usable (false after the server dropped it).
  bool ok() const { return conn_ && PQstatus(conn_) == CONNECTION_OK; }
  // Drops the connection and connects again; throws PostgresTransient if that fails.
  void reconnect();
  // ROLLBACK, ignoring failures (the connection may be gone).
  void rollback_quietly();
  const std::string& where() const { return where_; }

 private:
  void connect(bool transient);

  std::string conninfo_;
  std::string where_;
  PGconn* conn_ = nullptr;
};

}  // namespace knob::detail
