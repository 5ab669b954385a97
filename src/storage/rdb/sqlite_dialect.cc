// SQLite's dialect of Optuna's RDB schema, and SqliteStorage, which opens RdbStorage with it.
// Writers are serialized by the database's write lock, taken at BEGIN IMMEDIATE (so no row
// locks); reads that need one snapshot run in a plain BEGIN. SQLite's busy timeout is its
// retry: a transaction is tried once.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <thread>

#include "knob/core/error.h"
#include "knob/storage/sqlite_storage.h"
#include "storage/rdb/dialect.h"
#include "storage/rdb/dialects.h"
#include "storage/rdb/schema.h"
#include "storage/rdb/sqlite_connection.h"

namespace knob {

namespace {

using detail::SqlRow;
using detail::SqlValue;
using detail::SqlValues;
using detail::Tx;

// Optuna's schema v3.0.0.d as SQLAlchemy creates it for SQLite (optuna/storages/_rdb/models.py,
// 3.1), and knob's indexes (schema.h's kKnobIndexes) at its end; schema.h's create_revision
// adds what v3.2.0.a has beyond it.
constexpr const char* kSchema = R"sql(
CREATE TABLE studies (
  study_id INTEGER NOT NULL, study_name VARCHAR(512) NOT NULL, PRIMARY KEY (study_id));
CREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name);
CREATE TABLE version_info (
  version_info_id INTEGER NOT NULL, schema_version INTEGER, library_version VARCHAR(256),
  PRIMARY KEY (version_info_id), CHECK (version_info_id=1));
CREATE TABLE study_directions (
  study_direction_id INTEGER NOT NULL, direction VARCHAR(8) NOT NULL, study_id INTEGER NOT NULL,
  objective INTEGER NOT NULL, PRIMARY KEY (study_direction_id), UNIQUE (study_id, objective),
  FOREIGN KEY(study_id) REFERENCES studies (study_id));
CREATE TABLE study_user_attributes (
  study_user_attribute_id INTEGER NOT NULL, study_id INTEGER, "key" VARCHAR(512), value_json TEXT,
  PRIMARY KEY (study_user_attribute_id), UNIQUE (study_id, "key"),
  FOREIGN KEY(study_id) REFERENCES studies (study_id));
CREATE TABLE study_system_attributes (
  study_system_attribute_id INTEGER NOT NULL, study_id INTEGER, "key" VARCHAR(512),
  value_json TEXT, PRIMARY KEY (study_system_attribute_id), UNIQUE (study_id, "key"),
  FOREIGN KEY(study_id) REFERENCES studies (study_id));
CREATE TABLE trials (
  trial_id INTEGER NOT NULL, number INTEGER, study_id INTEGER, state VARCHAR(8) NOT NULL,
  datetime_start DATETIME, datetime_complete DATETIME, PRIMARY KEY (trial_id),
  FOREIGN KEY(study_id) REFERENCES studies (study_id));
CREATE TABLE trial_user_attributes (
  trial_user_attribute_id INTEGER NOT NULL, trial_id INTEGER, "key" VARCHAR(512), value_json TEXT,
  PRIMARY KEY (trial_user_attribute_id), UNIQUE (trial_id, "key"),
  FOREIGN KEY(trial_id) REFERENCES trials (trial_id));
CREATE TABLE trial_system_attributes (
  trial_system_attribute_id INTEGER NOT NULL, trial_id INTEGER, "key" VARCHAR(512),
  value_json TEXT, PRIMARY KEY (trial_system_attribute_id), UNIQUE (trial_id, "key"),
  FOREIGN KEY(trial_id) REFERENCES trials (trial_id));
CREATE TABLE trial_params (
  param_id INTEGER NOT NULL, trial_id INTEGER, param_name VARCHAR(512), param_value FLOAT,
  distribution_json TEXT, PRIMARY KEY (param_id), UNIQUE (trial_id, param_name),
  FOREIGN KEY(trial_id) REFERENCES trials (trial_id));
CREATE TABLE trial_values (
  trial_value_id INTEGER NOT NULL, trial_id INTEGER NOT NULL, objective INTEGER NOT NULL,
  value FLOAT, value_type VARCHAR(7) NOT NULL, PRIMARY KEY (trial_value_id),
  UNIQUE (trial_id, objective), FOREIGN KEY(trial_id) REFERENCES trials (trial_id));
CREATE TABLE trial_intermediate_values (
  trial_intermediate_value_id INTEGER NOT NULL, trial_id INTEGER NOT NULL, step INTEGER NOT NULL,
  intermediate_value FLOAT, intermediate_value_type VARCHAR(7) NOT NULL,
  PRIMARY KEY (trial_intermediate_value_id), UNIQUE (trial_id, step),
  FOREIGN KEY(trial_id) REFERENCES trials (trial_id));
CREATE TABLE trial_heartbeats (
  trial_heartbeat_id INTEGER NOT NULL, trial_id INTEGER NOT NULL, heartbeat DATETIME NOT NULL,
  PRIMARY KEY (trial_heartbeat_id), UNIQUE (trial_id),
  FOREIGN KEY(trial_id) REFERENCES trials (trial_id));
CREATE TABLE alembic_version (
  version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
CREATE INDEX ix_trials_study_id_knob ON trials (study_id, number);
CREATE INDEX ix_trials_waiting_knob ON trials (study_id, trial_id) WHERE state = 'WAITING';
)sql";

constexpr detail::SqlSpelling kSqliteSql = {
    .lock_study = "",
    .lock_for_update = "",
    .lock_for_share = "",
    .skip_locked = "",
    .skip_locked_of_t = "",
    // CROSS JOIN: SQLite joins in the order written.
    .ordered_join = "CROSS JOIN",
    .no_index = "+",
    // Heartbeats are SQLite's CURRENT_TIMESTAMP (UTC, whole seconds), as Optuna writes them and
    // compares them with CURRENT_TIMESTAMP. Optuna's check (`(now - heartbeat).seconds > grace`)
    // takes a heartbeat even a fraction of a second ahead of its whole-second "now" for one a
    // day old, so knob's heartbeats keep whole seconds too, and knob counts a trial's silence
    // from the end of its heartbeat's second: a live trial is never failed early; a dead one up
    // to 1 s late.
    .heartbeat_now = "CURRENT_TIMESTAMP",
    .heartbeat_silence = "(julianday('now') - julianday(h.heartbeat)) * 86400.0 - 1",
    .heartbeat_stale = "silent > ?",
    // The ids bound as one JSON array, unpacked by json_each.
    .trial_id_in_list = "t.trial_id IN (SELECT value FROM json_each(?))",
};

using SqliteRow = detail::SqlRowOf<detail::SqliteStatement>;

class SqliteDialect : public detail::Dialect {
 public:
  SqliteDialect(const std::string& path, int busy_timeout_ms, OpenMode mode)
      : Dialect("sqlite:///" + path, kSqliteSql),
        busy_timeout_ms_(busy_timeout_ms),
        mode_(mode),
        db_(open_name(path, mode), where(), open_flags(path, mode)) {
    db_.exec("PRAGMA busy_timeout = " + std::to_string(busy_timeout_ms));
    // Read-only: SQLite itself refuses every change (the connection stays read-write when
    // the OS allows, so a WAL file's -wal and -shm are removed on close as by any reader).
    if (mode == OpenMode::kReadOnly) db_.exec("PRAGMA query_only = ON");
  }

  SchemaRevision open_schema(std::optional<SchemaRevision> requested) override;
  std::set<std::string> table_names() override {
    std::set<std::string> names;
    query("SELECT name FROM sqlite_master WHERE type = 'table'", {},
          [&](const SqlRow& r) { names.insert(r.text(0)); });
    return names;
  }

  void begin(Tx kind) override {
    if (kind == Tx::kRead) return;
    db_.check_not_moved();  // a deleted file would swallow every write (tests/faults)
    db_.prepare(kind == Tx::kWrite ? "BEGIN IMMEDIATE" : "BEGIN").run();
  }
  void commit(Tx kind) override {
    if (kind != Tx::kRead) db_.prepare("COMMIT").run();
  }
  void rollback(Tx kind) noexcept override {
    if (kind == Tx::kRead) return;
    try {
      db_.prepare("ROLLBACK").run();
    } catch (...) {
      // The transaction is already gone (SQLite rolls back on some errors by itself).
    }
  }
  int max_attempts() const override { return 1; }
  std::chrono::milliseconds pause_before_retry(int) const override {
    return std::chrono::milliseconds(0);
  }

  void query(const std::string& sql, const SqlValues& params, const detail::RowFn& each) override {
    auto q = db_.prepare(sql);
    bind(q, params);
    SqliteRow row(q);
    while (q.step()) each(row);
  }
  bool query_first(const std::string& sql, const SqlValues& params,
                   const detail::RowFn& each) override {
    auto q = db_.prepare(sql);
    bind(q, params);
    if (!q.step()) return false;
    each(SqliteRow(q));
    return true;
  }
  int64_t run(const std::string& sql, const SqlValues& params) override {
    auto q = db_.prepare(sql);
    bind(q, params);
    q.run();
    return db_.changes();
  }
  std::optional<int64_t> insert_returning_id(const std::string& sql, const SqlValues& params,
                                             const char*) override {
    if (run(sql, params) == 0) return std::nullopt;
    return db_.last_insert_rowid();
  }
  void run_script(const std::string& sql) override { db_.exec(sql); }
  SqlValue id_list(const std::vector<int64_t>& ids) const override {
    Json listed = ids;
    return dumps(listed);
  }

 private:
  static void bind(detail::SqliteStatement& q, const SqlValues& params) {
    for (size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      params[i].visit([&](const auto& value) {
        if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::nullopt_t>) {
          q.bind_null(index);
        } else {
          q.bind(index, value);
        }
      });
    }
  }
  void use_wal();
  static int open_flags(const std::string& path, OpenMode mode) {
    switch (mode) {
      case OpenMode::kReadOnly:
        if (needs_immutable(path)) return SQLITE_OPEN_READONLY | SQLITE_OPEN_URI;
        return SQLITE_OPEN_READWRITE;  // read-only when the OS says so; query_only above
      case OpenMode::kExisting:
        return SQLITE_OPEN_READWRITE;
      case OpenMode::kCreate:
        break;
    }
    return SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  }
  static std::string open_name(const std::string& path, OpenMode mode) {
    if (mode != OpenMode::kReadOnly || !needs_immutable(path)) return path;
    std::string uri = "file:";
    for (char c : path) {
      if (c == '?' || c == '#' || c == '%') {
        static const char* kHex = "0123456789ABCDEF";
        uri += std::string("%") + kHex[static_cast<unsigned char>(c) >> 4] + kHex[c & 15];
      } else {
        uri += c;
      }
    }
    return uri + "?immutable=1";
  }
  // A WAL database can be read only beside its -shm file; when that file is absent and cannot
  // be made (a read-only directory), no process can be writing the database either (a writer
  // needs the -wal and -shm files), so it is read as immutable: without locks or -shm.
  static bool needs_immutable(const std::string& path) {
    if (::access((path + "-shm").c_str(), F_OK) == 0 ||
        ::access((path + "-wal").c_str(), F_OK) == 0) {
      return false;
    }
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
    if (::access(dir.c_str(), W_OK) == 0) return false;
    unsigned char header[20] = {};
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (!file) return false;
    const size_t n = std::fread(header, 1, sizeof header, file);
    std::fclose(file);
    return n == sizeof header && header[18] == 2 && header[19] == 2;  // WAL file format
  }

  int busy_timeout_ms_;
  OpenMode mode_;
  detail::SqliteConnection db_;
};

SchemaRevision SqliteDialect::open_schema(std::optional<SchemaRevision> requested) {
  // Read before writing anything: a foreign or corrupt file must stay untouched.
  std::set<std::string> tables = table_names();
  if (!tables.empty() && !detail::has_study_tables(tables)) {
    throw StorageError(where() +
                       ": this SQLite file is not an Optuna/knob study database (it has no "
                       "version_info/trials tables); knob leaves it untouched");
  }
  if (mode_ != OpenMode::kCreate) {
    // Read-only and delete: use the file as it is; no journal-mode switch, no index, no schema.
    if (tables.empty()) {
      throw StorageError(where() +
                         ": this SQLite file holds no studies (it has no Optuna/knob "
                         "tables); knob leaves it untouched");
    }
    return detail::check_schema_revision(*this, tables, requested);
  }
  if (tables.empty()) {
    use_wal();
    const bool created = detail::run_transaction(*this, Tx::kWrite, [&] {
      if (!table_names().empty()) return false;  // another process created it meanwhile
      run_script(kSchema);
      detail::create_revision(*this, requested.value_or(kDefaultSchemaRevision));
      return true;
    });
    if (created) return requested.value_or(kDefaultSchemaRevision);
    tables = table_names();
  }
  const SchemaRevision revision = detail::check_schema_revision(*this, tables, requested);
  use_wal();
  run_script(detail::kKnobIndexes);
  return revision;
}

// WAL lets readers run beside a writer, across processes; NORMAL sync is safe in WAL (a crash
// loses at most the last commits on power loss, never corrupts). Switching to WAL rewrites the
// file header, so it waits until the file is known to be ours.
void SqliteDialect::use_wal() {
  // Changing the journal mode ignores the busy timeout: when many processes open a new file at
  // once, retry while another holds the lock (up to about the busy timeout).
  for (int attempt = 0;; ++attempt) {
    try {
      db_.exec("PRAGMA journal_mode = WAL");
      break;
    } catch (const StorageError& e) {
      if (attempt >= busy_timeout_ms_ / 20 ||
          std::string(e.what()).find("locked") == std::string::npos) {
        throw;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  db_.exec("PRAGMA synchronous = NORMAL");
}

}  // namespace

namespace detail {

std::unique_ptr<Dialect> sqlite_dialect(const std::string& path, int busy_timeout_ms,
                                        OpenMode mode) {
  return std::make_unique<SqliteDialect>(path, busy_timeout_ms, mode);
}

}  // namespace detail

SqliteStorage::SqliteStorage(const std::string& path, int busy_timeout_ms,
                             std::optional<SchemaRevision> schema)
    : SqliteStorage(path, busy_timeout_ms, OpenMode::kCreate, schema) {}

SqliteStorage::SqliteStorage(const std::string& path, int busy_timeout_ms, OpenMode mode,
                             std::optional<SchemaRevision> schema)
    : RdbStorage(std::make_unique<SqliteDialect>(path, busy_timeout_ms, mode), schema) {}

}  // namespace knob
