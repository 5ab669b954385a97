#include "storage/rdb/postgres_connection.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace knob::detail {

namespace {

std::string trimmed(const char* message) {
  std::string text = message ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

int64_t PostgresRow::int64(int column) const {
  return std::strtoll(PQgetvalue(result_, row_, column), nullptr, 10);
}

double PostgresRow::real(int column) const {
  return std::strtod(PQgetvalue(result_, row_, column), nullptr);  // also "NaN", "Infinity"
}

std::optional<std::string> PostgresRow::optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

PostgresParam pg_param(int64_t value) { return std::to_string(value); }

PostgresParam pg_param(double value) {
  if (std::isnan(value)) return std::nullopt;
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);  // round-trips exactly
  return std::string(text);
}

PostgresConnection::PostgresConnection(std::string conninfo, std::string where)
    : conninfo_(std::move(conninfo)), where_(std::move(where)) {
  connect(false);
}

PostgresConnection::~PostgresConnection() {
  if (conn_) PQfinish(conn_);
}

void PostgresConnection::connect(bool transient) {
  if (conn_) PQfinish(conn_);
  // Defaults first; the URL (expanded from dbname) overrides them.
  const char* keys[] = {"connect_timeout", "application_name", "client_encoding", "dbname",
                        nullptr};
  const char* values[] = {"10", "knob", "UTF8", conninfo_.c_str(), nullptr};
  conn_ = PQconnectdbParams(keys, values, 1);
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string message =
        where_ + ": cannot connect to PostgreSQL: " + trimmed(PQerrorMessage(conn_));
    PQfinish(conn_);
    conn_ = nullptr;
    if (transient) throw PostgresTransient(message);
    throw StorageError(message);
  }
  // Messages from the server (NOTICE) would go to stderr: keep them quiet.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  // What reading rows assumes, whatever the server's defaults: ISO timestamps
  // ("YYYY-MM-DD HH:MM:SS[.ffffff]", as parse_datetime reads) and doubles that round-trip.
  PQclear(PQexec(conn_, "SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 3"));
}

void PostgresConnection::reconnect() { connect(true); }

void PostgresConnection::rollback_quietly() {
  if (ok()) PQclear(PQexec(conn_, "ROLLBACK"));
}

PostgresResult PostgresConnection::exec(const std::string& sql,
                                        const std::vector<PostgresParam>& params) {
  if (!conn_) throw PostgresTransient(where_ + ": not connected to PostgreSQL");
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  // Without parameters, the simple protocol: it also runs several statements (the schema).
  PGresult* raw = params.empty() ? PQexec(conn_, sql.c_str())
                                 : PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()),
                                                nullptr, values.data(), nullptr, nullptr, 0);
  PostgresResult result(raw);
  const auto status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  const char* code = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
  const std::string sqlstate = code ? code : "";
  std::string message = where_ + ": " + trimmed(PQerrorMessage(conn_));
  // Class 08: connection exceptions; 57P01-57P03: the server ended or refuses the session;
  // 40001/40P01: serialization failure, deadlock. The transaction failed as a whole.
  if (PQstatus(conn_) != CONNECTION_OK || sqlstate.rfind("08", 0) == 0 ||
      sqlstate.rfind("57P0", 0) == 0 || sqlstate == "40001" || sqlstate == "40P01") {
    throw PostgresTransient(message);
  }
  throw StorageError(message + " (in: " + sql.substr(0, 120) + ")");
}

}  // namespace knob::detail
