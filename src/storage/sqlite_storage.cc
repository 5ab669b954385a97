#include "knob/storage/sqlite_storage.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <thread>
#include <unordered_map>

#include "knob/core/error.h"
#include "rdb_rows.h"
#include "sqlite_connection.h"
#include "trial_rules.h"

namespace knob {

using detail::SqliteTransaction;
using detail::value_to_store;
using detail::value_type;
using Lock = std::lock_guard<std::mutex>;

namespace {

// Optuna's schema as SQLAlchemy creates it for SQLite (optuna/storages/_rdb/models.py, 3.1).
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

// The two indexes above are knob's additions (Optuna 3.1 has none on trials.study_id):
// without the first, every per-study read scans all trials; without the second (partial:
// it holds only WAITING rows, so it costs nearly nothing to keep), claim_waiting_trial —
// run before every trial — scans all the study's trials. Extra indexes are invisible to
// Optuna and alembic.
constexpr const char* kKnobIndexes = R"sql(
CREATE INDEX IF NOT EXISTS ix_trials_study_id_knob ON trials (study_id, number);
CREATE INDEX IF NOT EXISTS ix_trials_waiting_knob ON trials (study_id, trial_id)
  WHERE state = 'WAITING';
)sql";

std::optional<TimePoint> stored_time(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  return parse_datetime(*text);
}

std::optional<std::string> time_text(const std::optional<TimePoint>& time) {
  if (!time) return std::nullopt;
  return format_datetime(*time);
}

}  // namespace

struct SqliteStorage::TrialRow {
  int64_t study_id;
  int64_t number;
  TrialState state;
};

SqliteStorage::SqliteStorage(const std::string& path, int busy_timeout_ms)
    : where_("sqlite:///" + path),
      busy_timeout_ms_(busy_timeout_ms),
      db_(std::make_unique<detail::SqliteConnection>(path, where_)) {
  db_->exec("PRAGMA busy_timeout = " + std::to_string(busy_timeout_ms));
  open_schema();
}

SqliteStorage::~SqliteStorage() = default;

void SqliteStorage::open_schema() {
  auto table_names = [&] {
    std::set<std::string> names;
    auto q = db_->prepare("SELECT name FROM sqlite_master WHERE type = 'table'");
    while (q.step()) names.insert(q.text(0));
    return names;
  };
  // Read before writing anything: a foreign or corrupt file must stay untouched.
  std::set<std::string> tables = table_names();
  if (!tables.empty() && (!tables.count("version_info") || !tables.count("trials"))) {
    throw StorageError(where_ +
                       ": this SQLite file is not an Optuna/knob study database (it has no "
                       "version_info/trials tables); knob leaves it untouched");
  }
  // WAL lets readers run beside a writer, across processes; NORMAL sync is safe in WAL
  // (a crash loses at most the last commits on power loss, never corrupts). Switching to WAL
  // rewrites the file header, so it waits until the file is known to be ours.
  auto use_wal = [&] {
    // Changing the journal mode ignores the busy timeout: when many processes open a new file
    // at once, retry while another holds the lock (up to about the busy timeout).
    for (int attempt = 0;; ++attempt) {
      try {
        db_->exec("PRAGMA journal_mode = WAL");
        break;
      } catch (const StorageError& e) {
        if (attempt >= busy_timeout_ms_ / 20 ||
            std::string(e.what()).find("locked") == std::string::npos) {
          throw;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    db_->exec("PRAGMA synchronous = NORMAL");
  };
  if (tables.empty()) {
    use_wal();
    SqliteTransaction tx(*db_, SqliteTransaction::Kind::kWrite);
    if (table_names().empty()) {  // another process may have created it meanwhile
      db_->exec(kSchema);
      db_->prepare(
             "INSERT INTO version_info (version_info_id, schema_version, library_version) "
             "VALUES (1, ?, '3.1.0')")
          .bind(1, kSchemaVersion)
          .run();
      db_->prepare("INSERT INTO alembic_version (version_num) VALUES (?)")
          .bind(1, kAlembicRevision)
          .run();
    }
    tx.commit();
    return;
  }
  std::optional<int64_t> schema_version;
  {
    auto q = db_->prepare("SELECT schema_version FROM version_info WHERE version_info_id = 1");
    if (q.step() && !q.is_null(0)) schema_version = q.int64(0);
  }
  std::string revision = "(none)";
  if (tables.count("alembic_version")) {
    auto q = db_->prepare("SELECT version_num FROM alembic_version");
    if (q.step()) revision = q.text(0);
  }
  if (schema_version != kSchemaVersion || revision != kAlembicRevision) {
    throw StorageError(where_ + ": schema version " +
                       (schema_version ? std::to_string(*schema_version) : "(none)") +
                       " (alembic " + revision + "); knob reads Optuna's schema " +
                       std::to_string(kSchemaVersion) + " (" + kAlembicRevision +
                       ", Optuna 3.x). Upgrade it with `optuna storage upgrade --storage " +
                       where_ + "`; knob leaves it untouched");
  }
  use_wal();
  db_->exec(kKnobIndexes);
}

void SqliteStorage::check_study_exists(int64_t study_id) {
  auto q = db_->prepare("SELECT 1 FROM studies WHERE study_id = ?");
  if (!q.bind(1, study_id).step()) {
    throw NotFound("no study with id " + std::to_string(study_id) + " in " + where_);
  }
}

// ---------------------------------------------------------------- studies

int64_t SqliteStorage::create_study(const std::string& name,
                                    const std::vector<StudyDirection>& directions) {
  detail::check_study_name(name);
  detail::check_directions(directions);
  Lock lock(mutex_);
  SqliteTransaction tx(*db_, SqliteTransaction::Kind::kWrite);
  if (db_->prepare("SELECT 1 FROM studies WHERE study_name = ?").bind(1, name).step()) {
    throw AlreadyExists("a study named '" + name + "' already exists in " + where_);
  }
  db_->prepare("INSERT INTO studies (study_name) VALUES (?)").bind(1, name).run();
  int64_t study_id = db_->last_insert_rowid();
  for (size_t i = 0; i < directions.size(); ++i) {
    db_->prepare("INSERT INTO study_directions (direction, study_id, objective) VALUES (?, ?, ?)")
        .bind(1, to_string(directions[i]))
        .bind(2, study_id)
        .bind(3, static_cast<int64_t>(i))
        .run();
  }
  tx.commit();
  return study_id;
}

void SqliteStorage::delete_study(int64_t study_id) {
  Lock lock(mutex_);
  SqliteTransaction tx(*db_, SqliteTransaction::Kind::kWrite);
  check_study_exists(study_id);
  for (const char* table :
       {"trial_params", "trial_values", "trial_intermediate_values", "trial_user_attributes",
        "trial_system_attributes", "trial_heartbeats"}) {
    db_->prepare(std::string("DELETE FROM ") + table +
                 " WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = ?)")
        .bind(1, study_id)
        .run();
  }
  for (const char* table : {"trials", "study_directions", "study_user_attributes",
                            "study_system_attributes", "studies"}) {
    db_->prepare(std::string("DELETE FROM ") + table + " WHERE study_id = ?")
        .bind(1, study_id)
        .run();
  }
  tx.commit();
}

int64_t SqliteStorage::study_id_from_name(const std::string& name) {
  Lock lock(mutex_);
  auto q = db_->prepare("SELECT study_id FROM studies WHERE study_name = ?");
  if (!q.bind(1, name).step()) throw NotFound("no study named '" + name + "' in " + where_);
  return q.int64(0);
}

std::string SqliteStorage::study_name_from_id(int64_t study_id) {
  Lock lock(mutex_);
  auto q = db_->prepare("SELECT study_name FROM studies WHERE study_id = ?");
  if (!q.bind(1, study_id).step()) {
    throw NotFound("no study with id " + std::to_string(study_id) + " in " + where_);
  }
  return q.text(0);
}

std::vector<StudyDirection> SqliteStorage::study_directions(int64_t study_id) {
  Lock lock(mutex_);
  std::vector<StudyDirection> out;
  auto q =
      db_->prepare("SELECT direction FROM study_directions WHERE study_id = ? ORDER BY objective");
  q.bind(1, study_id);
  while (q.step()) out.push_back(parse_direction(q.text(0), "study_directions.direction"));
  if (out.empty()) check_study_exists(study_id);
  return out;
}

void SqliteStorage::upsert_attr(const char* table, const char* owner, int64_t id,
                                const std::string& key, const Json& value) {
  db_->prepare(std::string("INSERT INTO ") + table + " (" + owner +
               ", \"key\", value_json) VALUES (?, ?, ?) ON CONFLICT (" + owner +
               ", \"key\") DO UPDATE SET value_json = excluded.value_json")
      .bind(1, id)
      .bind(2, key)
      .bind(3, dumps(value))
      .run();
}

std::map<std::string, Json> SqliteStorage::read_attrs(const char* table, const char* owner,
                                                      int64_t id) {
  std::map<std::string, Json> out;
  auto q = db_->prepare(std::string("SELECT \"key\", value_json FROM ") + table + " WHERE " +
                        owner + " = ?");
  q.bind(1, id);
  while (q.step()) out[q.text(0)] = loads(q.text(1), std::string(table) + ".value_json");
  return out;
}

void SqliteStorage::set_study_attr(const char* table, int64_t study_id, const std::string& key,
                                   const Json& value) {
  Lock lock(mutex_);
  SqliteTransaction tx(*db_, SqliteTransaction::Kind::kWrite);
  check_study_exists(study_id);
  upsert_attr(table, "study_id", study_id, key, value);
  tx.commit();
}

void SqliteStorage::set_study_user_attr(int64_t study_id, const std::string& key,
                                        const Json& value) {
  set_study_attr("study_user_attributes", study_id, key, value);
}

void SqliteStorage::set_study_system_attr(int64_t study_id, const std::string& key,
                                          const Json& value) {
  set_study_attr("study_system_attributes", study_id, key, value);
}

std::map<std::string, Json> SqliteStorage::study_user_attrs(int64_t study_id) {
  Lock lock(mutex_);
  check_study_exists(study_id);
  return read_attrs("study_user_attributes", "study_id", study_id);
}

std::map<std::string, Json> SqliteStorage::study_system_attrs(int64_t study_id) {
  Lock lock(mutex_);
  check_study_exists(study_id);
  return read_attrs("study_system_attributes", "study_id", study_id);
}

std::vector<StudySummary> SqliteStorage::all_studies() {
  std::vector<std::pair<int64_t, std::string>> studies;
  {
    Lock lock(mutex_);
    auto q = db_->prepare("SELECT study_id, study_name FROM studies ORDER BY study_id");
    while (q.step()) studies.emplace_back(q.int64(0), q.text(1));
  }
  return detail::summarize_studies(*this, studies);
}

// ---------------------------------------------------------------- trials (writes)

int64_t SqliteStorage::insert_trial(int64_t study_id, const FrozenTrial& t) {
  detail::check_template(t);
  int64_t number = 0;
  {
    // Numbers are dense (0..n-1), so max + 1 is the count — read off the index, not a scan.
    auto q = db_->prepare("SELECT COALESCE(MAX(number), -1) + 1 FROM trials WHERE study_id = ?");
    q.bind(1, study_id).step();
    number = q.int64(0);
  }
  std::optional<TimePoint> start = t.datetime_start;
  if (t.state == TrialState::kRunning && !start) start = now();
  db_->prepare(
         "INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete) "
         "VALUES (?, ?, ?, ?, ?)")
      .bind(1, number)
      .bind(2, study_id)
      .bind(3, to_string(t.state))
      .bind(4, time_text(start))
      .bind(5, time_text(t.datetime_complete))
      .run();
  int64_t trial_id = db_->last_insert_rowid();
  for (const auto& [name, value] : t.internal_params) {
    insert_param(trial_id, study_id, name, value, t.distributions.at(name));
  }
  for (size_t i = 0; i < t.values.size(); ++i) {
    db_->prepare(
           "INSERT INTO trial_values (trial_id, objective, value, value_type) "
           "VALUES (?, ?, ?, ?)")
        .bind(1, trial_id)
        .bind(2, static_cast<int64_t>(i))
        .bind(3, value_to_store(t.values[i]))  // +-inf: NULL + tag
        .bind(4, value_type(t.values[i]))
        .run();
  }
  for (const auto& [step, value] : t.intermediate_values) {
    db_->prepare(
           "INSERT INTO trial_intermediate_values "
           "(trial_id, step, intermediate_value, intermediate_value_type) VALUES (?, ?, ?, ?)")
        .bind(1, trial_id)
        .bind(2, step)
        .bind(3, value_to_store(value))
        .bind(4, value_type(value))
        .run();
  }
  for (const auto& [key, value] : t.user_attrs) {
    upsert_attr("trial_user_attributes", "trial_id", trial_id, key, value);
  }
  for (const auto& [key, value] : t.system_attrs) {
    upsert_attr("trial_system_attributes", "trial_id", trial_id, key, value);
  }
  return trial_id;
}

void SqliteStorage::insert_param(int64_t trial_id, int64_t study_id, const std::string& name,
                                 double value, const Distribution& distribution) {
  // One earlier use of the name in this study decides compatibility (Optuna's query: the
  // first trial_params row of the study's trials with that name). CROSS JOIN makes SQLite
  // walk the study's trials by ix_trials_study_id_knob and probe trial_params by its
  // (trial_id, param_name) key, stopping at the first hit; the former
  // "trial_id IN (SELECT ...)" form built the list of all the study's trials first: O(trials)
  // per suggest, the storage's top cost in bench/storage.
  const std::string json = distribution_to_json(distribution);
  auto q = db_->prepare(
      "SELECT p.distribution_json FROM trials t CROSS JOIN trial_params p "
      "ON p.trial_id = t.trial_id WHERE t.study_id = ? AND p.param_name = ? LIMIT 1");
  if (q.bind(1, study_id).bind(2, name).step()) {
    std::string earlier = q.text(0);
    if (earlier != json) {  // the same JSON is the same distribution: compatible
      check_compatible(name, json_to_distribution(earlier, "trial_params.distribution_json"),
                       distribution);
    }
  }
  db_->prepare(
         "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) "
         "VALUES (?, ?, ?, ?) ON CONFLICT (trial_id, param_name) DO UPDATE SET "
         "param_value = excluded.param_value, distribution_json = excluded.distribution_json")
      .bind(1, trial_id)
      .bind(2, name)
      .bind(3, value)
      .bind(4, json)
      .run();
}

int64_t SqliteStorage::create_trial(int64_t study_id, const FrozenTrial* templ,
                                    bool with_heartbeat) {
  Lock lock(mutex_);
  SqliteTransaction tx(*db_, SqliteTransaction::Kind::kWrite);
  check_study_exists(study_id);
  int64_t trial_id = insert_trial(study_id, templ ? *templ : FrozenTrial{});
  if (with_heartbeat) write_heartbeat(trial_id);
  tx.commit();
  return trial_id;
}

bool SqliteStorage::create_trials_once(int64_t study_id, const std::string& once_key,
                                       const std::vector<FrozenTrial>& templates) {
  Lock lock(mutex_);
  SqliteTransaction tx(*db_, SqliteTransaction::Kind::kWrite);
  check_study_exists(study_id);
  auto q = db_->prepare("SELECT 1 FROM study_system_attributes WHERE study_id = ? AND \"key\" = ?");
  if (q.bind(1, study_id).bind(2, once_key).step()) return false;
  upsert_attr("study_system_attributes", "study_id", study_id, once_key, true);
  for (const auto& templ : templates) insert_trial(study_id, templ);
  tx.commit();
  return true;
}

std::optional<int64_t> SqliteStorage::claim_waiting_trial(int64_t study_id, bool with_heartbeat) {
  Lock lock(mutex_);
  SqliteTransaction tx(*db_, SqliteTransaction::Kind::kWrite);
  check_study_exists(study_id);
  auto q = db_->prepare(
      "SELECT trial_id FROM trials WHERE study_id = ? AND state = 'WAITING' "
      "ORDER BY trial_id LIMIT 1");
  if (!q.bind(1, study_id).step()) return std::nullopt;
  int64_t trial_id = q.int64(0);
  db_->prepare("UPDATE trials SET state = 'RUNNING', datetime_start = ? WHERE trial_id = ?")
      .bind(1, format_datetime(now()))
      .bind(2, trial_id)
      .run();
  if (with_heartbeat) write_heartbeat(trial_id);
  tx.commit();
  return trial_id;
}

SqliteStorage::TrialRow SqliteStorage::updatable_trial(int64_t trial_id) {
  auto q = db_->prepare("SELECT study_id, number, state FROM trials WHERE trial_id = ?");
  if (!q.bind(1, trial_id).step()) {
    throw NotFound("no trial with id " + std::to_string(trial_id) + " in " + where_);
  }
  TrialRow row{q.int64(0), q.int64(1), parse_trial_state(q.text(2), "trials.state")};
  detail::check_trial_updatable(row.number, row.state);
  return row;
}

void SqliteStorage::set_trial_param(int64_t trial_id, const std::string& name,
                                    double internal_value, const Distribution& distribution) {
  Lock lock(mutex_);
  SqliteTransaction tx(*db_, SqliteTransaction::Kind::kWrite);
  TrialRow row = updatable_trial(trial_id);
  insert_param(trial_id, row.study_id, name, internal_value, distribution);
  tx.commit();
}

bool SqliteStorage::set_trial_state_values(int64_t trial_id, TrialState state,
                                           const std::vector<double>& values) {
  detail::check_values(values);
  Lock lock(mutex_);
  SqliteTransaction tx(*db_, SqliteTransaction::Kind::kWrite);
  auto q = db_->prepare("SELECT state FROM trials WHERE trial_id = ?");
  if (!q.bind(1, trial_id).step()) {
    throw NotFound("no trial with id " + std::to_string(trial_id) + " in " + where_);
  }
  if (!detail::transition_allowed(parse_trial_state(q.text(0), "trials.state"), state)) {
    return false;
  }
  const std::string time = format_datetime(now());
  if (state == TrialState::kRunning) {
    db_->prepare("UPDATE trials SET state = ?, datetime_start = ? WHERE trial_id = ?")
        .bind(1, to_string(state))
        .bind(2, time)
        .bind(3, trial_id)
        .run();
  } else if (is_finished(state)) {
    db_->prepare("UPDATE trials SET state = ?, datetime_complete = ? WHERE trial_id = ?")
        .bind(1, to_string(state))
        .bind(2, time)
        .bind(3, trial_id)
        .run();
  } else {
    db_->prepare("UPDATE trials SET state = ? WHERE trial_id = ?")
        .bind(1, to_string(state))
        .bind(2, trial_id)
        .run();
  }
  for (size_t i = 0; i < values.size(); ++i) {
    db_->prepare(
           "INSERT INTO trial_values (trial_id, objective, value, value_type) "
           "VALUES (?, ?, ?, ?) ON CONFLICT (trial_id, objective) DO UPDATE SET "
           "value = excluded.value, value_type = excluded.value_type")
        .bind(1, trial_id)
        .bind(2, static_cast<int64_t>(i))
        .bind(3, value_to_store(values[i]))  // +-inf: NULL + tag
        .bind(4, value_type(values[i]))
        .run();
  }
  tx.commit();
  return true;
}

void SqliteStorage::set_trial_intermediate_values(int64_t trial_id,
                                                  const std::map<int64_t, double>& values) {
  Lock lock(mutex_);
  SqliteTransaction tx(*db_, SqliteTransaction::Kind::kWrite);
  updatable_trial(trial_id);
  for (const auto& [step, value] : values) {
    db_->prepare(
           "INSERT INTO trial_intermediate_values "
           "(trial_id, step, intermediate_value, intermediate_value_type) VALUES (?, ?, ?, ?) "
           "ON CONFLICT (trial_id, step) DO UPDATE SET intermediate_value = "
           "excluded.intermediate_value, intermediate_value_type = "
           "excluded.intermediate_value_type")
        .bind(1, trial_id)
        .bind(2, step)
        .bind(3, value_to_store(value))
        .bind(4, value_type(value))
        .run();
  }
  tx.commit();
}

void SqliteStorage::set_trial_attr(const char* table, int64_t trial_id, const std::string& key,
                                   const Json& value) {
  Lock lock(mutex_);
  SqliteTransaction tx(*db_, SqliteTransaction::Kind::kWrite);
  updatable_trial(trial_id);
  upsert_attr(table, "trial_id", trial_id, key, value);
  tx.commit();
}

void SqliteStorage::set_trial_user_attr(int64_t trial_id, const std::string& key,
                                        const Json& value) {
  set_trial_attr("trial_user_attributes", trial_id, key, value);
}

void SqliteStorage::set_trial_system_attr(int64_t trial_id, const std::string& key,
                                          const Json& value) {
  set_trial_attr("trial_system_attributes", trial_id, key, value);
}

// ---------------------------------------------------------------- trials (reads)

std::vector<FrozenTrial> SqliteStorage::read_trials(const std::string& where_clause,
                                                    const Binder& bind,
                                                    const std::vector<TrialState>& states) {
  SqliteTransaction tx(*db_, SqliteTransaction::Kind::kRead);  // one consistent snapshot
  std::vector<FrozenTrial> out;
  std::unordered_map<int64_t, size_t> index;  // trial_id -> position in out
  {
    auto q = db_->prepare(
        "SELECT trial_id, number, state, datetime_start, datetime_complete FROM trials t WHERE " +
        where_clause + " ORDER BY number");
    bind(q);
    while (q.step()) {
      TrialState state = parse_trial_state(q.text(2), "trials.state");
      if (!states.empty() && std::find(states.begin(), states.end(), state) == states.end()) {
        continue;
      }
      FrozenTrial t;
      t.trial_id = q.int64(0);
      t.number = q.int64(1);
      t.state = state;
      t.datetime_start = stored_time(q.optional_text(3));
      t.datetime_complete = stored_time(q.optional_text(4));
      index[t.trial_id] = out.size();
      out.push_back(std::move(t));
    }
  }
  if (out.empty()) {
    tx.commit();
    return out;
  }
  detail::DistributionCache parsed;
  for (const auto& table : detail::kTrialTableQueries) {
    auto q = db_->prepare(std::string(table.select) + " FROM " + table.from +
                          " x JOIN trials t ON t.trial_id = x.trial_id WHERE " + where_clause);
    bind(q);
    while (q.step()) {
      auto it = index.find(q.int64(0));
      if (it != index.end()) detail::read_row(table.table, q, out[it->second], parsed);
    }
  }
  tx.commit();
  return out;
}

FrozenTrial SqliteStorage::trial(int64_t trial_id) {
  Lock lock(mutex_);
  auto found = read_trials("t.trial_id = ?", [&](auto& q) { q.bind(1, trial_id); }, {});
  if (found.empty())
    throw NotFound("no trial with id " + std::to_string(trial_id) + " in " + where_);
  return std::move(found.front());
}

int64_t SqliteStorage::trial_id_from_number(int64_t study_id, int64_t number) {
  Lock lock(mutex_);
  auto q = db_->prepare("SELECT trial_id FROM trials WHERE study_id = ? AND number = ?");
  if (!q.bind(1, study_id).bind(2, number).step()) {
    throw NotFound("study " + std::to_string(study_id) + " has no trial number " +
                   std::to_string(number) + " in " + where_);
  }
  return q.int64(0);
}

std::vector<FrozenTrial> SqliteStorage::trials(int64_t study_id,
                                               const std::vector<TrialState>& states) {
  Lock lock(mutex_);
  check_study_exists(study_id);
  return read_trials(
      "t.study_id = ?", [&](auto& q) { q.bind(1, study_id); }, states);
}

int64_t SqliteStorage::n_trials(int64_t study_id, std::optional<TrialState> state) {
  Lock lock(mutex_);
  check_study_exists(study_id);
  auto q = db_->prepare(state ? "SELECT COUNT(*) FROM trials WHERE study_id = ? AND state = ?"
                              : "SELECT COUNT(*) FROM trials WHERE study_id = ?");
  q.bind(1, study_id);
  if (state) q.bind(2, to_string(*state));
  q.step();
  return q.int64(0);
}

// ---------------------------------------------------------------- heartbeats

// Heartbeats are SQLite's CURRENT_TIMESTAMP (UTC, whole seconds), as Optuna writes them and
// compares them with CURRENT_TIMESTAMP. Optuna's check (`(now - heartbeat).seconds > grace`)
// takes a heartbeat even a fraction of a second ahead of its whole-second "now" for one a day
// old, so knob's heartbeats keep whole seconds too, and knob counts a trial's silence from the
// end of its heartbeat's second: a live trial is never failed early; a dead one up to 1 s late.
void SqliteStorage::record_heartbeat(int64_t trial_id) {
  Lock lock(mutex_);
  SqliteTransaction tx(*db_, SqliteTransaction::Kind::kWrite);
  if (!db_->prepare("SELECT 1 FROM trials WHERE trial_id = ?").bind(1, trial_id).step()) {
    throw NotFound("no trial with id " + std::to_string(trial_id) + " in " + where_);
  }
  write_heartbeat(trial_id);
  tx.commit();
}

void SqliteStorage::write_heartbeat(int64_t trial_id) {
  db_->prepare(
         "INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES (?, CURRENT_TIMESTAMP) "
         "ON CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat")
      .bind(1, trial_id)
      .run();
}

std::vector<int64_t> SqliteStorage::fail_stale_trials(int64_t study_id,
                                                      double grace_period_seconds) {
  detail::check_grace_period(grace_period_seconds);
  Lock lock(mutex_);
  // A write transaction holds the database's write lock from its start: other processes
  // wait, then see these trials FAIL; the conditional UPDATE below is the guard all the same.
  SqliteTransaction tx(*db_, SqliteTransaction::Kind::kWrite);
  check_study_exists(study_id);
  std::vector<std::pair<int64_t, double>> stale;  // trial id, seconds since the heartbeat
  {
    auto q = db_->prepare(
        "SELECT t.trial_id, (julianday('now') - julianday(h.heartbeat)) * 86400.0 - 1 AS silent "
        "FROM trials t JOIN trial_heartbeats h ON h.trial_id = t.trial_id "
        "WHERE t.study_id = ? AND t.state = 'RUNNING' AND silent > ? ORDER BY t.trial_id");
    q.bind(1, study_id).bind(2, grace_period_seconds);
    while (q.step()) stale.emplace_back(q.int64(0), q.real(1));
  }
  std::vector<int64_t> failed;
  const std::string time = format_datetime(now());
  for (const auto& [trial_id, silent] : stale) {
    db_->prepare(
           "UPDATE trials SET state = 'FAIL', datetime_complete = ? "
           "WHERE trial_id = ? AND state = 'RUNNING'")
        .bind(1, time)
        .bind(2, trial_id)
        .run();
    if (db_->changes() != 1) continue;
    upsert_attr("trial_system_attributes", "trial_id", trial_id, "fail_reason",
                detail::stale_fail_reason(silent, grace_period_seconds));
    failed.push_back(trial_id);
  }
  tx.commit();
  return failed;
}

// ---------------------------------------------------------------- reading only what changed

std::vector<FrozenTrial> SqliteStorage::trials_since(int64_t study_id, int64_t after_trial_id,
                                                     const std::vector<int64_t>& trial_ids) {
  Json listed = trial_ids;  // bound as one JSON array, unpacked by json_each
  Lock lock(mutex_);
  check_study_exists(study_id);
  // The trials by their primary key (a range and a few lookups: a MULTI-INDEX OR), the other
  // tables by their (trial_id, ...) unique indexes: the cost follows what changed, not the
  // study's size. The unary + keeps SQLite off ix_trials_study_id_knob, which would walk all
  // of the study's trials.
  return read_trials(
      "+t.study_id = ?1 AND (t.trial_id > ?2 OR t.trial_id IN (SELECT value FROM json_each(?3)))",
      [&](auto& q) { q.bind(1, study_id).bind(2, after_trial_id).bind(3, dumps(listed)); }, {});
}

}  // namespace knob
