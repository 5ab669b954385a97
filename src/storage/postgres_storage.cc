#include "knob/storage/postgres_storage.h"

#include <algorithm>
#include <chrono>
#include <regex>
#include <set>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include "knob/core/error.h"
#include "knob/storage/sqlite_storage.h"
#include "postgres_connection.h"
#include "rdb_rows.h"
#include "trial_rules.h"

namespace knob {

using detail::pg_param;
using detail::PostgresResult;
using detail::value_to_store;
using detail::value_type;
using Lock = std::lock_guard<std::mutex>;

namespace {

// Optuna's schema as SQLAlchemy creates it on PostgreSQL (optuna/storages/_rdb/models.py,
// 3.1): Enum columns are ENUM types named after the Python enums, Float is DOUBLE PRECISION,
// DateTime is TIMESTAMP WITHOUT TIME ZONE, ids are SERIAL. Constraint names are PostgreSQL's
// defaults, as SQLAlchemy leaves them unnamed. tests/postgres/schema_and_interop.py compares
// it with what Optuna creates.
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

// knob's additions, as in SQLite (see sqlite_storage.cc): per-study reads by index, and a
// partial index of the WAITING trials for claim_waiting_trial. Invisible to Optuna/alembic.
constexpr const char* kKnobIndexes = R"sql(
CREATE INDEX IF NOT EXISTS ix_trials_study_id_knob ON trials (study_id, number);
CREATE INDEX IF NOT EXISTS ix_trials_waiting_knob ON trials (study_id, trial_id)
  WHERE state = 'WAITING';
)sql";

// Serializes schema creation among knob processes opening an empty database at once.
constexpr const char* kSchemaLockKey = "7021494137845760";  // any constant

constexpr int kAttempts = 5;  // of a transaction that failed by a lost connection or deadlock

const std::string kUrlForms =
    "must be postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?OPTION=VALUE&...] "
    "(postgresql+psycopg2:// is accepted too)";

// The libpq URL for a libpq or SQLAlchemy one; throws InvalidArgument for a malformed one.
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

std::optional<TimePoint> stored_time(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  return parse_datetime(*text);
}

detail::PostgresParam time_param(const std::optional<TimePoint>& time) {
  if (!time) return std::nullopt;
  return format_datetime(*time);
}

}  // namespace

std::string PostgresStorage::redacted_url(const std::string& url) {
  static const std::regex userinfo(R"(^([A-Za-z0-9+.-]+://[^:/@?]*):[^@/?]*@)");
  static const std::regex query_password(R"(([?&]password=)[^&]*)");
  std::string out = std::regex_replace(url, userinfo, "$1:***@");
  return std::regex_replace(out, query_password, "$1***");
}

PostgresStorage::PostgresStorage(const std::string& url) : where_(redacted_url(url)) {
  db_ = std::make_unique<detail::PostgresConnection>(libpq_url(url), where_);
  open_schema();
}

PostgresStorage::~PostgresStorage() = default;

int PostgresStorage::backend_pid() {
  Lock lock(mutex_);
  return static_cast<int>(db_->exec("SELECT pg_backend_pid()")[0].int64(0));
}

// Runs `body` in one transaction (REPEATABLE READ for reads: one snapshot). If the connection
// is lost or the server aborts the transaction (deadlock), it reconnects and runs the whole
// body again, up to kAttempts times with growing pauses. (Should the connection drop after
// COMMIT reached the server but before its answer came back, a write is done twice — libpq
// cannot tell; a created trial would then exist twice, numbered apart.)
template <class F>
auto PostgresStorage::transact(Tx kind, F&& body) {
  Lock lock(mutex_);
  for (int attempt = 1;; ++attempt) {
    try {
      if (!db_->ok()) db_->reconnect();
      db_->exec(kind == Tx::kRead ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN");
      if constexpr (std::is_void_v<decltype(body())>) {
        body();
        db_->exec("COMMIT");
        return;
      } else {
        auto result = body();
        db_->exec("COMMIT");
        return result;
      }
    } catch (const detail::PostgresTransient& e) {
      db_->rollback_quietly();
      if (attempt >= kAttempts) {
        throw StorageError(std::string(e.what()) + " (gave up after " + std::to_string(attempt) +
                           " attempts)");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50 << (attempt - 1)));
    } catch (...) {
      db_->rollback_quietly();
      throw;
    }
  }
}

void PostgresStorage::open_schema() {
  auto table_names = [&] {
    std::set<std::string> names;
    auto r = db_->exec(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()");
    for (int i = 0; i < r.size(); ++i) names.insert(r[i].text(0));
    return names;
  };
  transact(Tx::kWrite, [&] {
    std::set<std::string> tables = table_names();
    if (tables.empty()) {
      db_->exec("SELECT pg_advisory_xact_lock(" + std::string(kSchemaLockKey) + ")");
      tables = table_names();  // another process may have created it meanwhile
      if (tables.empty()) {
        db_->exec(kSchema);
        db_->exec(
            "INSERT INTO version_info (version_info_id, schema_version, library_version) "
            "VALUES (1, $1, '3.1.0')",
            {pg_param(int64_t{SqliteStorage::kSchemaVersion})});
        db_->exec("INSERT INTO alembic_version (version_num) VALUES ($1)",
                  {pg_param(SqliteStorage::kAlembicRevision)});
        db_->exec(kKnobIndexes);
        return;
      }
    }
    if (!tables.count("version_info") || !tables.count("trials")) {
      throw StorageError(where_ +
                         ": this PostgreSQL database is not an Optuna/knob study database (it "
                         "has tables but no version_info/trials); knob leaves it untouched");
    }
    std::optional<int64_t> schema_version;
    auto v = db_->exec("SELECT schema_version FROM version_info WHERE version_info_id = 1");
    if (!v.empty() && !v[0].is_null(0)) schema_version = v[0].int64(0);
    std::string revision = "(none)";
    if (tables.count("alembic_version")) {
      auto r = db_->exec("SELECT version_num FROM alembic_version");
      if (!r.empty()) revision = r[0].text(0);
    }
    if (schema_version != SqliteStorage::kSchemaVersion ||
        revision != SqliteStorage::kAlembicRevision) {
      throw StorageError(where_ + ": schema version " +
                         (schema_version ? std::to_string(*schema_version) : "(none)") +
                         " (alembic " + revision + "); knob reads Optuna's schema " +
                         std::to_string(SqliteStorage::kSchemaVersion) + " (" +
                         SqliteStorage::kAlembicRevision +
                         ", Optuna 3.x). Upgrade it with `optuna storage upgrade --storage " +
                         where_ + "`; knob leaves it untouched");
    }
    // Optional: a role that may use but not alter Optuna's tables works without them.
    db_->exec("SAVEPOINT knob_indexes");
    try {
      db_->exec(kKnobIndexes);
      db_->exec("RELEASE SAVEPOINT knob_indexes");
    } catch (const detail::PostgresTransient&) {
      throw;
    } catch (const StorageError&) {
      db_->exec("ROLLBACK TO SAVEPOINT knob_indexes");
    }
  });
}

void PostgresStorage::check_study_exists(int64_t study_id) {
  if (db_->exec("SELECT 1 FROM studies WHERE study_id = $1", {pg_param(study_id)}).empty()) {
    throw NotFound("no study with id " + std::to_string(study_id) + " in " + where_);
  }
}

// Locks the study row until the transaction ends: trial numbers and create_trials_once are
// decided by one writer at a time. NO KEY UPDATE does not block other sessions' foreign-key
// checks (inserting attributes, params, ... of the study's trials).
void PostgresStorage::lock_study(int64_t study_id) {
  if (db_->exec("SELECT 1 FROM studies WHERE study_id = $1 FOR NO KEY UPDATE", {pg_param(study_id)})
          .empty()) {
    throw NotFound("no study with id " + std::to_string(study_id) + " in " + where_);
  }
}

// ---------------------------------------------------------------- studies

int64_t PostgresStorage::create_study(const std::string& name,
                                      const std::vector<StudyDirection>& directions) {
  detail::check_study_name(name);
  detail::check_directions(directions);
  return transact(Tx::kWrite, [&] {
    auto r = db_->exec(
        "INSERT INTO studies (study_name) VALUES ($1) ON CONFLICT (study_name) DO NOTHING "
        "RETURNING study_id",
        {pg_param(name)});
    if (r.empty()) throw AlreadyExists("a study named '" + name + "' already exists in " + where_);
    int64_t study_id = r[0].int64(0);
    for (size_t i = 0; i < directions.size(); ++i) {
      db_->exec("INSERT INTO study_directions (direction, study_id, objective) VALUES ($1, $2, $3)",
                {pg_param(to_string(directions[i])), pg_param(study_id),
                 pg_param(static_cast<int64_t>(i))});
    }
    return study_id;
  });
}

void PostgresStorage::delete_study(int64_t study_id) {
  transact(Tx::kWrite, [&] {
    lock_study(study_id);
    for (const char* table :
         {"trial_params", "trial_values", "trial_intermediate_values", "trial_user_attributes",
          "trial_system_attributes", "trial_heartbeats"}) {
      db_->exec(std::string("DELETE FROM ") + table +
                    " WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = $1)",
                {pg_param(study_id)});
    }
    for (const char* table : {"trials", "study_directions", "study_user_attributes",
                              "study_system_attributes", "studies"}) {
      db_->exec(std::string("DELETE FROM ") + table + " WHERE study_id = $1", {pg_param(study_id)});
    }
  });
}

int64_t PostgresStorage::study_id_from_name(const std::string& name) {
  return transact(Tx::kRead, [&] {
    auto r = db_->exec("SELECT study_id FROM studies WHERE study_name = $1", {pg_param(name)});
    if (r.empty()) throw NotFound("no study named '" + name + "' in " + where_);
    return r[0].int64(0);
  });
}

std::string PostgresStorage::study_name_from_id(int64_t study_id) {
  return transact(Tx::kRead, [&] {
    auto r = db_->exec("SELECT study_name FROM studies WHERE study_id = $1", {pg_param(study_id)});
    if (r.empty()) throw NotFound("no study with id " + std::to_string(study_id) + " in " + where_);
    return r[0].text(0);
  });
}

std::vector<StudyDirection> PostgresStorage::study_directions(int64_t study_id) {
  return transact(Tx::kRead, [&] {
    check_study_exists(study_id);
    std::vector<StudyDirection> out;
    auto r =
        db_->exec("SELECT direction FROM study_directions WHERE study_id = $1 ORDER BY objective",
                  {pg_param(study_id)});
    for (int i = 0; i < r.size(); ++i) {
      out.push_back(parse_direction(r[i].text(0), "study_directions.direction"));
    }
    return out;
  });
}

void PostgresStorage::upsert_attr(const char* table, const char* owner, int64_t id,
                                  const std::string& key, const Json& value) {
  db_->exec(std::string("INSERT INTO ") + table + " (" + owner +
                ", key, value_json) VALUES ($1, $2, $3) ON CONFLICT (" + owner +
                ", key) DO UPDATE SET value_json = excluded.value_json",
            {pg_param(id), pg_param(key), pg_param(dumps(value))});
}

std::map<std::string, Json> PostgresStorage::read_attrs(const char* table, const char* owner,
                                                        int64_t id) {
  std::map<std::string, Json> out;
  auto r =
      db_->exec(std::string("SELECT key, value_json FROM ") + table + " WHERE " + owner + " = $1",
                {pg_param(id)});
  for (int i = 0; i < r.size(); ++i) {
    out[r[i].text(0)] = loads(r[i].text(1), std::string(table) + ".value_json");
  }
  return out;
}

void PostgresStorage::set_study_user_attr(int64_t study_id, const std::string& key,
                                          const Json& value) {
  transact(Tx::kWrite, [&] {
    check_study_exists(study_id);
    upsert_attr("study_user_attributes", "study_id", study_id, key, value);
  });
}

void PostgresStorage::set_study_system_attr(int64_t study_id, const std::string& key,
                                            const Json& value) {
  transact(Tx::kWrite, [&] {
    check_study_exists(study_id);
    upsert_attr("study_system_attributes", "study_id", study_id, key, value);
  });
}

std::map<std::string, Json> PostgresStorage::study_user_attrs(int64_t study_id) {
  return transact(Tx::kRead, [&] {
    check_study_exists(study_id);
    return read_attrs("study_user_attributes", "study_id", study_id);
  });
}

std::map<std::string, Json> PostgresStorage::study_system_attrs(int64_t study_id) {
  return transact(Tx::kRead, [&] {
    check_study_exists(study_id);
    return read_attrs("study_system_attributes", "study_id", study_id);
  });
}

std::vector<StudySummary> PostgresStorage::all_studies() {
  auto studies = transact(Tx::kRead, [&] {
    std::vector<std::pair<int64_t, std::string>> out;
    auto r = db_->exec("SELECT study_id, study_name FROM studies ORDER BY study_id");
    for (int i = 0; i < r.size(); ++i) out.emplace_back(r[i].int64(0), r[i].text(1));
    return out;
  });
  return detail::summarize_studies(*this, studies);
}

// ---------------------------------------------------------------- trials (writes)

// In a transaction that holds lock_study(study_id).
int64_t PostgresStorage::insert_trial(int64_t study_id, const FrozenTrial& t) {
  detail::check_template(t);
  int64_t number = db_->exec("SELECT COALESCE(MAX(number), -1) + 1 FROM trials WHERE study_id = $1",
                             {pg_param(study_id)})[0]
                       .int64(0);
  std::optional<TimePoint> start = t.datetime_start;
  if (t.state == TrialState::kRunning && !start) start = now();
  int64_t trial_id =
      db_->exec(
             "INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete) "
             "VALUES ($1, $2, $3, $4, $5) RETURNING trial_id",
             {pg_param(number), pg_param(study_id), pg_param(to_string(t.state)), time_param(start),
              time_param(t.datetime_complete)})[0]
          .int64(0);
  for (const auto& [name, value] : t.internal_params) {
    insert_param(trial_id, study_id, name, value, t.distributions.at(name));
  }
  for (size_t i = 0; i < t.values.size(); ++i) {
    db_->exec(
        "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES ($1, $2, $3, $4)",
        {pg_param(trial_id), pg_param(static_cast<int64_t>(i)),
         pg_param(value_to_store(t.values[i])), pg_param(value_type(t.values[i]))});
  }
  for (const auto& [step, value] : t.intermediate_values) {
    db_->exec(
        "INSERT INTO trial_intermediate_values "
        "(trial_id, step, intermediate_value, intermediate_value_type) VALUES ($1, $2, $3, $4)",
        {pg_param(trial_id), pg_param(step), pg_param(value_to_store(value)),
         pg_param(value_type(value))});
  }
  for (const auto& [key, value] : t.user_attrs) {
    upsert_attr("trial_user_attributes", "trial_id", trial_id, key, value);
  }
  for (const auto& [key, value] : t.system_attrs) {
    upsert_attr("trial_system_attributes", "trial_id", trial_id, key, value);
  }
  return trial_id;
}

void PostgresStorage::insert_param(int64_t trial_id, int64_t study_id, const std::string& name,
                                   double value, const Distribution& distribution) {
  // One earlier use of the name in this study decides compatibility (as in SQLite).
  const std::string json = distribution_to_json(distribution);
  auto r = db_->exec(
      "SELECT p.distribution_json FROM trials t JOIN trial_params p ON p.trial_id = t.trial_id "
      "WHERE t.study_id = $1 AND p.param_name = $2 LIMIT 1",
      {pg_param(study_id), pg_param(name)});
  if (!r.empty()) {
    std::string earlier = r[0].text(0);
    if (earlier != json) {
      check_compatible(name, json_to_distribution(earlier, "trial_params.distribution_json"),
                       distribution);
    }
  }
  db_->exec(
      "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) "
      "VALUES ($1, $2, $3, $4) ON CONFLICT (trial_id, param_name) DO UPDATE SET "
      "param_value = excluded.param_value, distribution_json = excluded.distribution_json",
      {pg_param(trial_id), pg_param(name), pg_param(value), pg_param(json)});
}

int64_t PostgresStorage::create_trial(int64_t study_id, const FrozenTrial* templ,
                                      bool with_heartbeat) {
  return transact(Tx::kWrite, [&] {
    lock_study(study_id);
    int64_t trial_id = insert_trial(study_id, templ ? *templ : FrozenTrial{});
    if (with_heartbeat) write_heartbeat(trial_id);
    return trial_id;
  });
}

bool PostgresStorage::create_trials_once(int64_t study_id, const std::string& once_key,
                                         const std::vector<FrozenTrial>& templates) {
  return transact(Tx::kWrite, [&] {
    lock_study(study_id);
    if (!db_->exec("SELECT 1 FROM study_system_attributes WHERE study_id = $1 AND key = $2",
                   {pg_param(study_id), pg_param(once_key)})
             .empty()) {
      return false;
    }
    upsert_attr("study_system_attributes", "study_id", study_id, once_key, true);
    for (const auto& templ : templates) insert_trial(study_id, templ);
    return true;
  });
}

std::optional<int64_t> PostgresStorage::claim_waiting_trial(int64_t study_id, bool with_heartbeat) {
  return transact(Tx::kWrite, [&]() -> std::optional<int64_t> {
    check_study_exists(study_id);
    // SKIP LOCKED: a trial another worker is claiming right now is passed over, not waited on.
    auto r = db_->exec(
        "UPDATE trials SET state = 'RUNNING', datetime_start = $2 WHERE trial_id = ("
        "SELECT trial_id FROM trials WHERE study_id = $1 AND state = 'WAITING' "
        "ORDER BY trial_id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING trial_id",
        {pg_param(study_id), time_param(now())});
    if (r.empty()) return std::nullopt;
    const int64_t trial_id = r[0].int64(0);
    if (with_heartbeat) write_heartbeat(trial_id);
    return trial_id;
  });
}

// The trial's row, share-locked until the transaction ends so that it cannot finish meanwhile;
// throws NotFound, or Error if it is finished.
PostgresStorage::TrialRow PostgresStorage::updatable_trial(int64_t trial_id) {
  auto r = db_->exec("SELECT study_id, number, state FROM trials WHERE trial_id = $1 FOR SHARE",
                     {pg_param(trial_id)});
  if (r.empty()) throw NotFound("no trial with id " + std::to_string(trial_id) + " in " + where_);
  TrialRow row{r[0].int64(0), r[0].int64(1), parse_trial_state(r[0].text(2), "trials.state")};
  detail::check_trial_updatable(row.number, row.state);
  return row;
}

void PostgresStorage::set_trial_param(int64_t trial_id, const std::string& name,
                                      double internal_value, const Distribution& distribution) {
  transact(Tx::kWrite, [&] {
    TrialRow row = updatable_trial(trial_id);
    insert_param(trial_id, row.study_id, name, internal_value, distribution);
  });
}

bool PostgresStorage::set_trial_state_values(int64_t trial_id, TrialState state,
                                             const std::vector<double>& values) {
  detail::check_values(values);
  return transact(Tx::kWrite, [&] {
    auto r =
        db_->exec("SELECT state FROM trials WHERE trial_id = $1 FOR UPDATE", {pg_param(trial_id)});
    if (r.empty()) {
      throw NotFound("no trial with id " + std::to_string(trial_id) + " in " + where_);
    }
    if (!detail::transition_allowed(parse_trial_state(r[0].text(0), "trials.state"), state)) {
      return false;
    }
    const auto time = time_param(now());
    if (state == TrialState::kRunning) {
      db_->exec("UPDATE trials SET state = $1, datetime_start = $2 WHERE trial_id = $3",
                {pg_param(to_string(state)), time, pg_param(trial_id)});
    } else if (is_finished(state)) {
      db_->exec("UPDATE trials SET state = $1, datetime_complete = $2 WHERE trial_id = $3",
                {pg_param(to_string(state)), time, pg_param(trial_id)});
    } else {
      db_->exec("UPDATE trials SET state = $1 WHERE trial_id = $2",
                {pg_param(to_string(state)), pg_param(trial_id)});
    }
    for (size_t i = 0; i < values.size(); ++i) {
      db_->exec(
          "INSERT INTO trial_values (trial_id, objective, value, value_type) "
          "VALUES ($1, $2, $3, $4) ON CONFLICT (trial_id, objective) DO UPDATE SET "
          "value = excluded.value, value_type = excluded.value_type",
          {pg_param(trial_id), pg_param(static_cast<int64_t>(i)),
           pg_param(value_to_store(values[i])), pg_param(value_type(values[i]))});
    }
    return true;
  });
}

void PostgresStorage::set_trial_intermediate_values(int64_t trial_id,
                                                    const std::map<int64_t, double>& values) {
  transact(Tx::kWrite, [&] {
    updatable_trial(trial_id);
    for (const auto& [step, value] : values) {
      db_->exec(
          "INSERT INTO trial_intermediate_values "
          "(trial_id, step, intermediate_value, intermediate_value_type) VALUES ($1, $2, $3, $4) "
          "ON CONFLICT (trial_id, step) DO UPDATE SET intermediate_value = "
          "excluded.intermediate_value, intermediate_value_type = "
          "excluded.intermediate_value_type",
          {pg_param(trial_id), pg_param(step), pg_param(value_to_store(value)),
           pg_param(value_type(value))});
    }
  });
}

void PostgresStorage::set_trial_user_attr(int64_t trial_id, const std::string& key,
                                          const Json& value) {
  transact(Tx::kWrite, [&] {
    updatable_trial(trial_id);
    upsert_attr("trial_user_attributes", "trial_id", trial_id, key, value);
  });
}

void PostgresStorage::set_trial_system_attr(int64_t trial_id, const std::string& key,
                                            const Json& value) {
  transact(Tx::kWrite, [&] {
    updatable_trial(trial_id);
    upsert_attr("trial_system_attributes", "trial_id", trial_id, key, value);
  });
}

// ---------------------------------------------------------------- trials (reads)

// In a read transaction (one snapshot).
std::vector<FrozenTrial> PostgresStorage::read_trials(
    const std::string& where_clause, const std::vector<detail::PostgresParam>& params,
    const std::vector<TrialState>& states) {
  std::vector<FrozenTrial> out;
  std::unordered_map<int64_t, size_t> index;  // trial_id -> position in out
  auto r = db_->exec(
      "SELECT trial_id, number, state, datetime_start, datetime_complete FROM trials t WHERE " +
          where_clause + " ORDER BY number",
      params);
  for (int i = 0; i < r.size(); ++i) {
    auto row = r[i];
    TrialState state = parse_trial_state(row.text(2), "trials.state");
    if (!states.empty() && std::find(states.begin(), states.end(), state) == states.end()) {
      continue;
    }
    FrozenTrial t;
    t.trial_id = row.int64(0);
    t.number = row.int64(1);
    t.state = state;
    t.datetime_start = stored_time(row.optional_text(3));
    t.datetime_complete = stored_time(row.optional_text(4));
    index[t.trial_id] = out.size();
    out.push_back(std::move(t));
  }
  if (out.empty()) return out;
  detail::DistributionCache parsed;
  for (const auto& table : detail::kTrialTableQueries) {
    auto rows = db_->exec(std::string(table.select) + " FROM " + table.from +
                              " x JOIN trials t ON t.trial_id = x.trial_id WHERE " + where_clause,
                          params);
    for (int i = 0; i < rows.size(); ++i) {
      auto it = index.find(rows[i].int64(0));
      if (it != index.end()) detail::read_row(table.table, rows[i], out[it->second], parsed);
    }
  }
  return out;
}

FrozenTrial PostgresStorage::trial(int64_t trial_id) {
  return transact(Tx::kRead, [&] {
    auto found = read_trials("t.trial_id = $1", {pg_param(trial_id)}, {});
    if (found.empty()) {
      throw NotFound("no trial with id " + std::to_string(trial_id) + " in " + where_);
    }
    return std::move(found.front());
  });
}

int64_t PostgresStorage::trial_id_from_number(int64_t study_id, int64_t number) {
  return transact(Tx::kRead, [&] {
    auto r = db_->exec("SELECT trial_id FROM trials WHERE study_id = $1 AND number = $2",
                       {pg_param(study_id), pg_param(number)});
    if (r.empty()) {
      throw NotFound("study " + std::to_string(study_id) + " has no trial number " +
                     std::to_string(number) + " in " + where_);
    }
    return r[0].int64(0);
  });
}

std::vector<FrozenTrial> PostgresStorage::trials(int64_t study_id,
                                                 const std::vector<TrialState>& states) {
  return transact(Tx::kRead, [&] {
    check_study_exists(study_id);
    return read_trials("t.study_id = $1", {pg_param(study_id)}, states);
  });
}

int64_t PostgresStorage::n_trials(int64_t study_id, std::optional<TrialState> state) {
  return transact(Tx::kRead, [&] {
    check_study_exists(study_id);
    auto r =
        state ? db_->exec("SELECT COUNT(*) FROM trials WHERE study_id = $1 AND state = $2",
                          {pg_param(study_id), pg_param(to_string(*state))})
              : db_->exec("SELECT COUNT(*) FROM trials WHERE study_id = $1", {pg_param(study_id)});
    return r[0].int64(0);
  });
}

// ---------------------------------------------------------------- heartbeats

void PostgresStorage::record_heartbeat(int64_t trial_id) {
  transact(Tx::kWrite, [&] {
    if (!write_heartbeat(trial_id)) {
      throw NotFound("no trial with id " + std::to_string(trial_id) + " in " + where_);
    }
  });
}

bool PostgresStorage::write_heartbeat(int64_t trial_id) {
  return !db_->exec(
                 "INSERT INTO trial_heartbeats (trial_id, heartbeat) "
                 "SELECT trial_id, LOCALTIMESTAMP FROM trials WHERE trial_id = $1 "
                 "ON CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat "
                 "RETURNING trial_id",
                 {pg_param(trial_id)})
              .empty();
}

std::vector<int64_t> PostgresStorage::fail_stale_trials(int64_t study_id,
                                                        double grace_period_seconds) {
  detail::check_grace_period(grace_period_seconds);
  return transact(Tx::kWrite, [&] {
    check_study_exists(study_id);
    // A trial another caller is failing (or its owner finishing) right now is locked: skipped
    // here. Re-read under the lock, a trial already FAIL no longer matches.
    auto r = db_->exec(
        "UPDATE trials u SET state = 'FAIL', datetime_complete = $3 FROM ("
        "SELECT t.trial_id, EXTRACT(EPOCH FROM LOCALTIMESTAMP - h.heartbeat) AS silent "
        "FROM trials t JOIN trial_heartbeats h ON h.trial_id = t.trial_id "
        "WHERE t.study_id = $1 AND t.state = 'RUNNING' "
        "AND h.heartbeat < LOCALTIMESTAMP - $2::double precision * INTERVAL '1 second' "
        "ORDER BY t.trial_id FOR UPDATE OF t SKIP LOCKED) s "
        "WHERE u.trial_id = s.trial_id AND u.state = 'RUNNING' RETURNING u.trial_id, s.silent",
        {pg_param(study_id), pg_param(grace_period_seconds), time_param(now())});
    std::vector<int64_t> failed;
    for (int i = 0; i < r.size(); ++i) {
      const int64_t trial_id = r[i].int64(0);
      upsert_attr("trial_system_attributes", "trial_id", trial_id, "fail_reason",
                  detail::stale_fail_reason(r[i].real(1), grace_period_seconds));
      failed.push_back(trial_id);
    }
    std::sort(failed.begin(), failed.end());
    return failed;
  });
}

// ---------------------------------------------------------------- reading only what changed

std::vector<FrozenTrial> PostgresStorage::trials_since(int64_t study_id, int64_t after_trial_id,
                                                       const std::vector<int64_t>& trial_ids) {
  std::string listed = "{";  // an int[] literal
  for (size_t i = 0; i < trial_ids.size(); ++i) {
    listed += (i ? "," : "") + std::to_string(trial_ids[i]);
  }
  listed += "}";
  return transact(Tx::kRead, [&] {
    check_study_exists(study_id);
    // The trials by their primary key (a range and a few lookups), the other tables by their
    // (trial_id, ...) unique indexes: the cost follows what changed, not the study's size.
    return read_trials("t.study_id = $1 AND (t.trial_id > $2 OR t.trial_id = ANY($3::int[]))",
                       {pg_param(study_id), pg_param(after_trial_id), pg_param(listed)}, {});
  });
}

}  // namespace knob
