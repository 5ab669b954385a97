// PostgreSQL's dialect of Optuna's RDB schema, and PostgresStorage, which opens RdbStorage
// with it. Writers lock rows (the study row while trial numbers are allocated, a trial row
// while it changes state; WAITING and stale trials FOR UPDATE SKIP LOCKED); reads run in one
// REPEATABLE READ snapshot. A transaction that failed by a lost connection, a serialization
// failure or a deadlock is run again on a fresh connection, with backoff for about 13 s (a
// server restart).
#include "storage/rdb/postgres_dialect.h"

#include <algorithm>
#include <chrono>
#include <regex>
#include <set>

#include "knob/core/error.h"
#include "knob/storage/postgres_storage.h"
#include "storage/rdb/dialect.h"
#include "storage/rdb/dialects.h"
#include "storage/rdb/postgres_connection.h"
#include "storage/rdb/schema.h"

namespace knob {

namespace detail {

namespace {

const std::string kUrlForms =
    "must be postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?OPTION=VALUE&...] "
    "(postgresql+psycopg2:// is accepted too)";

}  // namespace

std::string libpq_url(const std::string& url) {
  const std::string shown = PostgresStorage::redacted_url(url);
  static const std::regex scheme(R"(^(postgresql|postgres)(\+[A-Za-z0-9_]+)?://)");
  std::smatch match;
  if (!std::regex_search(url, match, scheme)) throw_invalid("storage", shown, kUrlForms);
  std::string out = "postgresql://" + url.substr(static_cast<size_t>(match.length(0)));
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(out.c_str(), &error);
  if (!options) {
    std::string reason = error ? error : "unreadable";
    PQfreemem(error);
    while (!reason.empty() && reason.back() == '\n') reason.pop_back();
    throw_invalid("storage", shown, kUrlForms + "; libpq: " + reason);
  }
  std::string port;
  for (auto* o = options; o->keyword; ++o) {
    if (std::string(o->keyword) == "port" && o->val) port = o->val;
  }
  PQconninfoFree(options);
  KNOB_CHECK(port.find_first_not_of("0123456789,") == std::string::npos, "storage", shown,
             kUrlForms + " (the port '" + port + "' is not a number)");
  return out;
}

std::string numbered_placeholders(const std::string& sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  char quote = 0;  // the quote character of the string or identifier we are in, if any
  for (char c : sql) {
    if (quote) {
      if (c == quote) quote = 0;  // a doubled quote closes and reopens: the same
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '?') {
      out += '$' + std::to_string(++n);
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace detail

namespace {

using detail::pg_param;
using detail::PostgresParam;
using detail::SqlRow;
using detail::SqlValue;
using detail::SqlValues;
using detail::Tx;

// Optuna's schema v3.0.0.d as SQLAlchemy creates it on PostgreSQL (optuna/storages/_rdb/
// models.py, 3.1; schema.h's create_revision adds what v3.2.0.a has beyond it): Enum columns are
// ENUM types named after the Python enums, Float is DOUBLE PRECISION, DateTime is TIMESTAMP WITHOUT
// TIME ZONE, ids are SERIAL. Constraint names are PostgreSQL's defaults, as SQLAlchemy leaves them
// unnamed. tests/postgres/schema_and_interop.py compares it with what Optuna creates.
constexpr const char* kSchema = R"sql(
CREATE TYPE studydirection AS ENUM ('NOT_SET', 'MINIMIZE', 'MAXIMIZE');
CREATE TYPE trialstate AS ENUM ('RUNNING', 'COMPLETE', 'PRUNED', 'FAIL', 'WAITING');
CREATE TYPE trialvaluetype AS ENUM ('FINITE', 'INF_POS', 'INF_NEG');
CREATE TYPE trialintermediatevaluetype AS ENUM ('FINITE', 'INF_POS', 'INF_NEG', 'NAN');
CREATE TABLE studies (
  study_id SERIAL NOT NULL, study_name VARCHAR(512) NOT NULL, PRIMARY KEY (study_id));
CREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name);
CREATE TABLE version_info (
  version_info_id INTEGER NOT NULL, schema_version INTEGER, library_version VARCHAR(256),
  PRIMARY KEY (version_info_id), CHECK (version_info_id=1));
CREATE TABLE study_directions (
  study_direction_id SERIAL NOT NULL, direction studydirection NOT NULL,
  study_id INTEGER NOT NULL, objective INTEGER NOT NULL, PRIMARY KEY (study_direction_id),
  UNIQUE (study_id, objective), FOREIGN KEY(study_id) REFERENCES studies (study_id));
CREATE TABLE study_user_attributes (
  study_user_attribute_id SERIAL NOT NULL, study_id INTEGER, key VARCHAR(512), value_json TEXT,
  PRIMARY KEY (study_user_attribute_id), UNIQUE (study_id, key),
  FOREIGN KEY(study_id) REFERENCES studies (study_id));
CREATE TABLE study_system_attributes (
  study_system_attribute_id SERIAL NOT NULL, study_id INTEGER, key VARCHAR(512),
  value_json TEXT, PRIMARY KEY (study_system_attribute_id), UNIQUE (study_id, key),
  FOREIGN KEY(study_id) REFERENCES studies (study_id));
CREATE TABLE trials (
  trial_id SERIAL NOT NULL, number INTEGER, study_id INTEGER, state trialstate NOT NULL,
  datetime_start TIMESTAMP WITHOUT TIME ZONE, datetime_complete TIMESTAMP WITHOUT TIME ZONE,
  PRIMARY KEY (trial_id), FOREIGN KEY(study_id) REFERENCES studies (study_id));
CREATE TABLE trial_user_attributes (
  trial_user_attribute_id SERIAL NOT NULL, trial_id INTEGER, key VARCHAR(512), value_json TEXT,
  PRIMARY KEY (trial_user_attribute_id), UNIQUE (trial_id, key),
  FOREIGN KEY(trial_id) REFERENCES trials (trial_id));
CREATE TABLE trial_system_attributes (
  trial_system_attribute_id SERIAL NOT NULL, trial_id INTEGER, key VARCHAR(512),
  value_json TEXT, PRIMARY KEY (trial_system_attribute_id), UNIQUE (trial_id, key),
  FOREIGN KEY(trial_id) REFERENCES trials (trial_id));
CREATE TABLE trial_params (
  param_id SERIAL NOT NULL, trial_id INTEGER, param_name VARCHAR(512),
  param_value DOUBLE PRECISION, distribution_json TEXT, PRIMARY KEY (param_id),
  UNIQUE (trial_id, param_name), FOREIGN KEY(trial_id) REFERENCES trials (trial_id));
CREATE TABLE trial_values (
  trial_value_id SERIAL NOT NULL, trial_id INTEGER NOT NULL, objective INTEGER NOT NULL,
  value DOUBLE PRECISION, value_type trialvaluetype NOT NULL, PRIMARY KEY (trial_value_id),
  UNIQUE (trial_id, objective), FOREIGN KEY(trial_id) REFERENCES trials (trial_id));
CREATE TABLE trial_intermediate_values (
  trial_intermediate_value_id SERIAL NOT NULL, trial_id INTEGER NOT NULL,
  step INTEGER NOT NULL, intermediate_value DOUBLE PRECISION,
  intermediate_value_type trialintermediatevaluetype NOT NULL,
  PRIMARY KEY (trial_intermediate_value_id), UNIQUE (trial_id, step),
  FOREIGN KEY(trial_id) REFERENCES trials (trial_id));
CREATE TABLE trial_heartbeats (
  trial_heartbeat_id SERIAL NOT NULL, trial_id INTEGER NOT NULL,
  heartbeat TIMESTAMP WITHOUT TIME ZONE NOT NULL, PRIMARY KEY (trial_heartbeat_id),
  UNIQUE (trial_id), FOREIGN KEY(trial_id) REFERENCES trials (trial_id));
CREATE TABLE alembic_version (
  version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
)sql";

// Serializes schema creation among knob processes opening an empty database at once.
constexpr const char* kSchemaLockKey = "7021494137845760";  // any constant

// Tries of a transaction that failed by a lost connection or a deadlock, and the pause after
// each failed one: 50 ms doubling up to 2 s, about 13 s in all — long enough for a server
// restart (tests/faults: pg_ctl restart under working workers), short enough that an outage
// surfaces as an error soon.
constexpr int kAttempts = 12;
constexpr int kMaxPauseMs = 2000;

constexpr detail::SqlSpelling kPostgresSql = {
    // NO KEY UPDATE does not block other sessions' foreign-key checks (inserting attributes,
    // params, ... of the study's trials).
    .lock_study = " FOR NO KEY UPDATE",
    .lock_for_update = " FOR UPDATE",
    .lock_for_share = " FOR SHARE",
    .skip_locked = " FOR UPDATE SKIP LOCKED",
    .skip_locked_of_t = " FOR UPDATE OF t SKIP LOCKED",
    .ordered_join = "JOIN",
    .no_index = "",
    // Heartbeats by the server's clock, in the session's time zone, as Optuna writes them.
    .heartbeat_now = "LOCALTIMESTAMP",
    .heartbeat_silence = "EXTRACT(EPOCH FROM LOCALTIMESTAMP - h.heartbeat)",
    .heartbeat_stale = "h.heartbeat < LOCALTIMESTAMP - ?::double precision * INTERVAL '1 second'",
    // The ids bound as one int[] literal.
    .trial_id_in_list = "t.trial_id = ANY(?::int[])",
};

using PostgresRowView = detail::SqlRowOf<detail::PostgresRow>;

class PostgresDialect : public detail::Dialect {
 public:
  explicit PostgresDialect(const std::string& url)
      : Dialect(PostgresStorage::redacted_url(url), kPostgresSql),
        db_(detail::libpq_url(url), where()) {}

  SchemaRevision open_schema(std::optional<SchemaRevision> requested) override;
  std::set<std::string> table_names() override {
    std::set<std::string> names;
    query("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()",
          {}, [&](const SqlRow& r) { names.insert(r.text(0)); });
    return names;
  }

  // Reads run in one snapshot; a connection the server dropped is opened again first.
  void begin(Tx kind) override {
    if (!db_.ok()) db_.reconnect();
    db_.exec(kind == Tx::kWrite ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  }
  void commit(Tx) override { db_.exec("COMMIT"); }
  void rollback(Tx) noexcept override { db_.rollback_quietly(); }
  // (Should the connection drop after COMMIT reached the server but before its answer came
  // back, a write is done twice — libpq cannot tell; a created trial would then exist twice,
  // numbered apart.)
  int max_attempts() const override { return kAttempts; }
  std::chrono::milliseconds pause_before_retry(int attempt) const override {
    return std::chrono::milliseconds(std::min(50 << std::min(attempt - 1, 10), kMaxPauseMs));
  }

  void query(const std::string& sql, const SqlValues& params, const detail::RowFn& each) override {
    auto r = exec(sql, params);
    for (int i = 0; i < r.size(); ++i) each(PostgresRowView(r[i]));
  }
  bool query_first(const std::string& sql, const SqlValues& params,
                   const detail::RowFn& each) override {
    auto r = exec(sql, params);
    if (r.empty()) return false;
    each(PostgresRowView(r[0]));
    return true;
  }
  int64_t run(const std::string& sql, const SqlValues& params) override {
    return exec(sql, params).affected_rows();
  }
  std::optional<int64_t> insert_returning_id(const std::string& sql, const SqlValues& params,
                                             const char* id_column) override {
    auto r = exec(sql + " RETURNING " + id_column, params);
    if (r.empty()) return std::nullopt;
    return r[0].int64(0);
  }
  // Without parameters libpq's simple protocol runs several statements.
  void run_script(const std::string& sql) override { db_.exec(sql); }
  SqlValue id_list(const std::vector<int64_t>& ids) const override {
    std::string listed = "{";  // an int[] literal
    for (size_t i = 0; i < ids.size(); ++i) listed += (i ? "," : "") + std::to_string(ids[i]);
    return listed + "}";
  }

  int backend_pid() { return static_cast<int>(db_.exec("SELECT pg_backend_pid()")[0].int64(0)); }

 private:
  detail::PostgresResult exec(const std::string& sql, const SqlValues& params) {
    if (params.empty()) return db_.exec(sql);
    std::vector<PostgresParam> values;
    values.reserve(params.size());
    for (const auto& p : params) {
      values.push_back(p.visit([](const auto& value) -> PostgresParam {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, std::nullopt_t>) {
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, std::string_view>) {
          return std::string(value);
        } else {
          return pg_param(value);
        }
      }));
    }
    return db_.exec(detail::numbered_placeholders(sql), values);
  }
  detail::PostgresConnection db_;
};

SchemaRevision PostgresDialect::open_schema(std::optional<SchemaRevision> requested) {
  return detail::run_transaction(*this, Tx::kWrite, [&] {
    std::set<std::string> tables = table_names();
    if (tables.empty()) {
      db_.exec("SELECT pg_advisory_xact_lock(" + std::string(kSchemaLockKey) + ")");
      tables = table_names();  // another process may have created it meanwhile
      if (tables.empty()) {
        run_script(kSchema);
        detail::create_revision(*this, requested.value_or(kDefaultSchemaRevision));
        run_script(detail::kKnobIndexes);
        return requested.value_or(kDefaultSchemaRevision);
      }
    }
    if (!detail::has_study_tables(tables)) {
      throw StorageError(where() +
                         ": this PostgreSQL database is not an Optuna/knob study database (it "
                         "has tables but no version_info/trials); knob leaves it untouched");
    }
    const SchemaRevision revision = detail::check_schema_revision(*this, tables, requested);
    // Optional: a role that may use but not alter Optuna's tables works without them.
    db_.exec("SAVEPOINT knob_indexes");
    try {
      run_script(detail::kKnobIndexes);
      db_.exec("RELEASE SAVEPOINT knob_indexes");
    } catch (const detail::TransientError&) {
      throw;
    } catch (const StorageError&) {
      db_.exec("ROLLBACK TO SAVEPOINT knob_indexes");
    }
    return revision;
  });
}

}  // namespace

std::string PostgresStorage::redacted_url(const std::string& url) {
  static const std::regex userinfo(R"(^([A-Za-z0-9+.-]+://[^:/@?]*):[^@/?]*@)");
  static const std::regex query_password(R"(([?&]password=)[^&]*)");
  std::string out = std::regex_replace(url, userinfo, "$1:***@");
  return std::regex_replace(out, query_password, "$1***");
}

namespace detail {

std::unique_ptr<Dialect> postgres_dialect(const std::string& url) {
  return std::make_unique<PostgresDialect>(url);
}

}  // namespace detail

PostgresStorage::PostgresStorage(const std::string& url, std::optional<SchemaRevision> schema)
    : RdbStorage(std::make_unique<PostgresDialect>(url), schema) {}

int PostgresStorage::backend_pid() {
  int pid = 0;
  with_dialect([&](detail::Dialect& d) { pid = static_cast<PostgresDialect&>(d).backend_pid(); });
  return pid;
}

}  // namespace knob
