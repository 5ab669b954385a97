#include "knob/storage/rdb_storage.h"

#include <algorithm>
#include <unordered_map>
#include <utility>

#include "knob/core/error.h"
#include "storage/rdb/dialect.h"
#include "storage/rdb/rdb_rows.h"
#include "storage/trial_rules.h"

namespace knob {

using detail::Dialect;
using detail::SqlRow;
using detail::SqlValues;
using detail::Tx;
using detail::value_to_store;
using detail::value_type;
using Lock = std::lock_guard<std::mutex>;

namespace {

std::optional<TimePoint> stored_time(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  return parse_datetime(*text);
}

std::optional<std::string> time_text(const std::optional<TimePoint>& time) {
  if (!time) return std::nullopt;
  return format_datetime(*time);
}

[[noreturn]] void throw_no_study(int64_t study_id, const Dialect& d) {
  throw NotFound("no study with id " + std::to_string(study_id) + " in " + d.where());
}

[[noreturn]] void throw_no_trial(int64_t trial_id, const Dialect& d) {
  throw NotFound("no trial with id " + std::to_string(trial_id) + " in " + d.where());
}

void check_study_exists(Dialect& d, int64_t study_id) {
  if (!d.exists("SELECT 1 FROM studies WHERE study_id = ?", {study_id})) {
    throw_no_study(study_id, d);
  }
}

// Locks the study row until the transaction ends (where the dialect locks rows): trial numbers
// and create_trials_once are decided by one writer at a time. Throws NotFound.
void lock_study(Dialect& d, int64_t study_id) {
  if (!d.exists(std::string("SELECT 1 FROM studies WHERE study_id = ?") + d.sql().lock_study,
                {study_id})) {
    throw_no_study(study_id, d);
  }
}

struct TrialRow {
  int64_t study_id;
  int64_t number;
  TrialState state;
};

// The trial's row, share-locked (where the dialect locks rows) until the transaction ends so
// that it cannot finish meanwhile; throws NotFound, or Error if it is finished.
TrialRow updatable_trial(Dialect& d, int64_t trial_id) {
  std::optional<TrialRow> row;
  d.query_first(
      std::string("SELECT study_id, number, state FROM trials WHERE trial_id = ?") +
          d.sql().lock_for_share,
      {trial_id}, [&](const SqlRow& r) {
        row = TrialRow{r.int64(0), r.int64(1), parse_trial_state(r.text(2), "trials.state")};
      });
  if (!row) throw_no_trial(trial_id, d);
  detail::check_trial_updatable(row->number, row->state);
  return *row;
}

void upsert_attr(Dialect& d, const char* table, const char* owner, int64_t id,
                 const std::string& key, const Json& value) {
  d.run(std::string("INSERT INTO ") + table + " (" + owner +
            ", \"key\", value_json) VALUES (?, ?, ?) ON CONFLICT (" + owner +
            ", \"key\") DO UPDATE SET value_json = excluded.value_json",
        {id, key, dumps(value)});
}

std::map<std::string, Json> read_attrs(Dialect& d, const char* table, const char* owner,
                                       int64_t id) {
  std::map<std::string, Json> out;
  d.query(std::string("SELECT \"key\", value_json FROM ") + table + " WHERE " + owner + " = ?",
          {id}, [&](const SqlRow& r) {
            out[r.text(0)] = loads(r.text(1), std::string(table) + ".value_json");
          });
  return out;
}

// Inserts or refreshes the trial's heartbeat, by the database's clock, in the caller's write
// transaction; false if there is no such trial.
bool write_heartbeat(Dialect& d, int64_t trial_id) {
  return d.run(std::string("INSERT INTO trial_heartbeats (trial_id, heartbeat) SELECT trial_id, ") +
                   d.sql().heartbeat_now +
                   " FROM trials WHERE trial_id = ? "
                   "ON CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat",
               {trial_id}) > 0;
}

// Records a parameter after checking it against the study's earlier use of the name.
void insert_param(Dialect& d, int64_t trial_id, int64_t study_id, const std::string& name,
                  double value, const Distribution& distribution) {
  // One earlier use of the name in this study decides compatibility (Optuna's query: the
  // first trial_params row of the study's trials with that name). In SQLite, CROSS JOIN makes
  // it walk the study's trials by ix_trials_study_id_knob and probe trial_params by its
  // (trial_id, param_name) key, stopping at the first hit; the former
  // "trial_id IN (SELECT ...)" form built the list of all the study's trials first: O(trials)
  // per suggest, the storage's top cost in bench/storage.
  const std::string json = distribution_to_json(distribution);
  const std::optional<std::string> earlier =
      d.query_text(std::string("SELECT p.distribution_json FROM trials t ") + d.sql().ordered_join +
                       " trial_params p ON p.trial_id = t.trial_id "
                       "WHERE t.study_id = ? AND p.param_name = ? LIMIT 1",
                   {study_id, name});
  if (earlier && *earlier != json) {  // the same JSON is the same distribution: compatible
    check_compatible(name, json_to_distribution(*earlier, "trial_params.distribution_json"),
                     distribution);
  }
  d.run(
      "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) "
      "VALUES (?, ?, ?, ?) ON CONFLICT (trial_id, param_name) DO UPDATE SET "
      "param_value = excluded.param_value, distribution_json = excluded.distribution_json",
      {trial_id, name, value, json});
}

// Creates a trial from a template, numbered after the study's last one, in a write
// transaction that holds lock_study(study_id).
int64_t insert_trial(Dialect& d, int64_t study_id, const FrozenTrial& t) {
  detail::check_template(t);
  // Numbers are dense (0..n-1), so max + 1 is the count — read off the index, not a scan.
  const int64_t number = *d.query_int64(
      "SELECT COALESCE(MAX(number), -1) + 1 FROM trials WHERE study_id = ?", {study_id});
  std::optional<TimePoint> start = t.datetime_start;
  if (t.state == TrialState::kRunning && !start) start = now();
  const int64_t trial_id = *d.insert_returning_id(
      "INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete) "
      "VALUES (?, ?, ?, ?, ?)",
      {number, study_id, to_string(t.state), time_text(start), time_text(t.datetime_complete)},
      "trial_id");
  for (const auto& [name, value] : t.internal_params) {
    insert_param(d, trial_id, study_id, name, value, t.distributions.at(name));
  }
  for (size_t i = 0; i < t.values.size(); ++i) {
    d.run("INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?, ?, ?, ?)",
          {trial_id, static_cast<int64_t>(i), value_to_store(t.values[i]),  // +-inf: NULL + tag
           value_type(t.values[i])});
  }
  for (const auto& [step, value] : t.intermediate_values) {
    d.run(
        "INSERT INTO trial_intermediate_values "
        "(trial_id, step, intermediate_value, intermediate_value_type) VALUES (?, ?, ?, ?)",
        {trial_id, step, value_to_store(value), value_type(value)});
  }
  for (const auto& [key, value] : t.user_attrs) {
    upsert_attr(d, "trial_user_attributes", "trial_id", trial_id, key, value);
  }
  for (const auto& [key, value] : t.system_attrs) {
    upsert_attr(d, "trial_system_attributes", "trial_id", trial_id, key, value);
  }
  return trial_id;
}

// The trials matching `where_clause` (over trials t, its `?`s bound to `params` in each read),
// ordered by number, optionally only those in `states`; in the caller's snapshot transaction.
std::vector<FrozenTrial> read_trials(Dialect& d, const std::string& where_clause,
                                     const SqlValues& params,
                                     const std::vector<TrialState>& states) {
  std::vector<FrozenTrial> out;
  std::unordered_map<int64_t, size_t> index;  // trial_id -> position in out
  d.query("SELECT trial_id, number, state, datetime_start, datetime_complete FROM trials t WHERE " +
              where_clause + " ORDER BY number",
          params, [&](const SqlRow& r) {
            TrialState state = parse_trial_state(r.text(2), "trials.state");
            if (!states.empty() && std::find(states.begin(), states.end(), state) == states.end()) {
              return;
            }
            FrozenTrial t;
            t.trial_id = r.int64(0);
            t.number = r.int64(1);
            t.state = state;
            t.datetime_start = stored_time(r.optional_text(3));
            t.datetime_complete = stored_time(r.optional_text(4));
            index[t.trial_id] = out.size();
            out.push_back(std::move(t));
          });
  if (out.empty()) return out;
  detail::DistributionCache parsed;
  for (const auto& table : detail::kTrialTableQueries) {
    d.query(std::string(table.select) + " FROM " + table.from +
                " x JOIN trials t ON t.trial_id = x.trial_id WHERE " + where_clause,
            params, [&](const SqlRow& r) {
              auto it = index.find(r.int64(0));
              if (it != index.end()) detail::read_row(table.table, r, out[it->second], parsed);
            });
  }
  return out;
}

}  // namespace

RdbStorage::RdbStorage(std::unique_ptr<Dialect> dialect, std::optional<SchemaRevision> schema)
    : dialect_(std::move(dialect)), schema_revision_(dialect_->open_schema(schema)) {}

RdbStorage::~RdbStorage() = default;

template <class F>
auto RdbStorage::transact(Tx kind, F&& body) {
  Lock lock(mutex_);
  return detail::run_transaction(*dialect_, kind, std::forward<F>(body));
}

void RdbStorage::with_dialect(const std::function<void(Dialect&)>& body) {
  Lock lock(mutex_);
  body(*dialect_);
}

// ---------------------------------------------------------------- studies

int64_t RdbStorage::create_study(const std::string& name,
                                 const std::vector<StudyDirection>& directions) {
  detail::check_study_name(name);
  detail::check_directions(directions);
  Dialect& d = *dialect_;
  return transact(Tx::kWrite, [&] {
    std::optional<int64_t> study_id = d.insert_returning_id(
        "INSERT INTO studies (study_name) VALUES (?) ON CONFLICT (study_name) DO NOTHING", {name},
        "study_id");
    if (!study_id) {
      throw AlreadyExists("a study named '" + name + "' already exists in " + d.where());
    }
    for (size_t i = 0; i < directions.size(); ++i) {
      d.run("INSERT INTO study_directions (direction, study_id, objective) VALUES (?, ?, ?)",
            {to_string(directions[i]), *study_id, static_cast<int64_t>(i)});
    }
    return *study_id;
  });
}

void RdbStorage::delete_study(int64_t study_id) {
  Dialect& d = *dialect_;
  transact(Tx::kWrite, [&] {
    lock_study(d, study_id);
    for (const char* table :
         {"trial_params", "trial_values", "trial_intermediate_values", "trial_user_attributes",
          "trial_system_attributes", "trial_heartbeats"}) {
      d.run(std::string("DELETE FROM ") + table +
                " WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = ?)",
            {study_id});
    }
    for (const char* table : {"trials", "study_directions", "study_user_attributes",
                              "study_system_attributes", "studies"}) {
      d.run(std::string("DELETE FROM ") + table + " WHERE study_id = ?", {study_id});
    }
  });
}

int64_t RdbStorage::study_id_from_name(const std::string& name) {
  Dialect& d = *dialect_;
  return transact(Tx::kRead, [&] {
    auto id = d.query_int64("SELECT study_id FROM studies WHERE study_name = ?", {name});
    if (!id) throw NotFound("no study named '" + name + "' in " + d.where());
    return *id;
  });
}

std::string RdbStorage::study_name_from_id(int64_t study_id) {
  Dialect& d = *dialect_;
  return transact(Tx::kRead, [&] {
    auto name = d.query_text("SELECT study_name FROM studies WHERE study_id = ?", {study_id});
    if (!name) throw_no_study(study_id, d);
    return *name;
  });
}

std::vector<StudyDirection> RdbStorage::study_directions(int64_t study_id) {
  Dialect& d = *dialect_;
  return transact(Tx::kRead, [&] {
    std::vector<StudyDirection> out;
    d.query("SELECT direction FROM study_directions WHERE study_id = ? ORDER BY objective",
            {study_id}, [&](const SqlRow& r) {
              out.push_back(parse_direction(r.text(0), "study_directions.direction"));
            });
    if (out.empty()) check_study_exists(d, study_id);
    return out;
  });
}

void RdbStorage::set_study_attr(const char* table, int64_t study_id, const std::string& key,
                                const Json& value) {
  Dialect& d = *dialect_;
  transact(Tx::kWrite, [&] {
    check_study_exists(d, study_id);
    upsert_attr(d, table, "study_id", study_id, key, value);
  });
}

void RdbStorage::set_study_user_attr(int64_t study_id, const std::string& key, const Json& value) {
  set_study_attr("study_user_attributes", study_id, key, value);
}

void RdbStorage::set_study_system_attr(int64_t study_id, const std::string& key,
                                       const Json& value) {
  set_study_attr("study_system_attributes", study_id, key, value);
}

std::map<std::string, Json> RdbStorage::study_attrs(const char* table, int64_t study_id) {
  Dialect& d = *dialect_;
  return transact(Tx::kRead, [&] {
    check_study_exists(d, study_id);
    return read_attrs(d, table, "study_id", study_id);
  });
}

std::map<std::string, Json> RdbStorage::study_user_attrs(int64_t study_id) {
  return study_attrs("study_user_attributes", study_id);
}

std::map<std::string, Json> RdbStorage::study_system_attrs(int64_t study_id) {
  return study_attrs("study_system_attributes", study_id);
}

std::vector<StudySummary> RdbStorage::all_studies() {
  return detail::summarize_studies(*this, study_names());
}

std::vector<std::pair<int64_t, std::string>> RdbStorage::study_names() {
  Dialect& d = *dialect_;
  return transact(Tx::kRead, [&] {
    std::vector<std::pair<int64_t, std::string>> out;
    d.query("SELECT study_id, study_name FROM studies ORDER BY study_id", {},
            [&](const SqlRow& r) { out.emplace_back(r.int64(0), r.text(1)); });
    return out;
  });
}

// ---------------------------------------------------------------- trials (writes)

int64_t RdbStorage::create_trial(int64_t study_id, const FrozenTrial* templ, bool with_heartbeat) {
  Dialect& d = *dialect_;
  return transact(Tx::kWrite, [&] {
    lock_study(d, study_id);
    int64_t trial_id = insert_trial(d, study_id, templ ? *templ : FrozenTrial{});
    if (with_heartbeat) write_heartbeat(d, trial_id);
    return trial_id;
  });
}

bool RdbStorage::create_trials_once(int64_t study_id, const std::string& once_key,
                                    const std::vector<FrozenTrial>& templates) {
  Dialect& d = *dialect_;
  return transact(Tx::kWrite, [&] {
    lock_study(d, study_id);
    if (d.exists("SELECT 1 FROM study_system_attributes WHERE study_id = ? AND \"key\" = ?",
                 {study_id, once_key})) {
      return false;
    }
    upsert_attr(d, "study_system_attributes", "study_id", study_id, once_key, true);
    for (const auto& templ : templates) insert_trial(d, study_id, templ);
    return true;
  });
}

std::optional<int64_t> RdbStorage::claim_waiting_trial(int64_t study_id, bool with_heartbeat) {
  Dialect& d = *dialect_;
  return transact(Tx::kWrite, [&]() -> std::optional<int64_t> {
    check_study_exists(d, study_id);
    // skip_locked: a trial another worker is claiming right now is passed over, not waited on.
    auto trial_id = d.query_int64(
        std::string("SELECT trial_id FROM trials WHERE study_id = ? AND state = 'WAITING' "
                    "ORDER BY trial_id LIMIT 1") +
            d.sql().skip_locked,
        {study_id});
    if (!trial_id) return std::nullopt;
    d.run("UPDATE trials SET state = 'RUNNING', datetime_start = ? WHERE trial_id = ?",
          {format_datetime(now()), *trial_id});
    if (with_heartbeat) write_heartbeat(d, *trial_id);
    return trial_id;
  });
}

void RdbStorage::set_trial_param(int64_t trial_id, const std::string& name, double internal_value,
                                 const Distribution& distribution) {
  Dialect& d = *dialect_;
  transact(Tx::kWrite, [&] {
    TrialRow row = updatable_trial(d, trial_id);
    insert_param(d, trial_id, row.study_id, name, internal_value, distribution);
  });
}

bool RdbStorage::set_trial_state_values(int64_t trial_id, TrialState state,
                                        const std::vector<double>& values) {
  detail::check_values(values);
  Dialect& d = *dialect_;
  return transact(Tx::kWrite, [&] {
    auto current = d.query_text(
        std::string("SELECT state FROM trials WHERE trial_id = ?") + d.sql().lock_for_update,
        {trial_id});
    if (!current) throw_no_trial(trial_id, d);
    if (!detail::transition_allowed(parse_trial_state(*current, "trials.state"), state)) {
      return false;
    }
    const std::string time = format_datetime(now());
    if (state == TrialState::kRunning) {
      d.run("UPDATE trials SET state = ?, datetime_start = ? WHERE trial_id = ?",
            {to_string(state), time, trial_id});
    } else if (is_finished(state)) {
      d.run("UPDATE trials SET state = ?, datetime_complete = ? WHERE trial_id = ?",
            {to_string(state), time, trial_id});
    } else {
      d.run("UPDATE trials SET state = ? WHERE trial_id = ?", {to_string(state), trial_id});
    }
    for (size_t i = 0; i < values.size(); ++i) {
      d.run(
          "INSERT INTO trial_values (trial_id, objective, value, value_type) "
          "VALUES (?, ?, ?, ?) ON CONFLICT (trial_id, objective) DO UPDATE SET "
          "value = excluded.value, value_type = excluded.value_type",
          {trial_id, static_cast<int64_t>(i), value_to_store(values[i]),  // +-inf: NULL + tag
           value_type(values[i])});
    }
    return true;
  });
}

void RdbStorage::set_trial_intermediate_values(int64_t trial_id,
                                               const std::map<int64_t, double>& values) {
  Dialect& d = *dialect_;
  transact(Tx::kWrite, [&] {
    updatable_trial(d, trial_id);
    for (const auto& [step, value] : values) {
      d.run(
          "INSERT INTO trial_intermediate_values "
          "(trial_id, step, intermediate_value, intermediate_value_type) VALUES (?, ?, ?, ?) "
          "ON CONFLICT (trial_id, step) DO UPDATE SET intermediate_value = "
          "excluded.intermediate_value, intermediate_value_type = "
          "excluded.intermediate_value_type",
          {trial_id, step, value_to_store(value), value_type(value)});
    }
  });
}

void RdbStorage::set_trial_attr(const char* table, int64_t trial_id, const std::string& key,
                                const Json& value) {
  Dialect& d = *dialect_;
  transact(Tx::kWrite, [&] {
    updatable_trial(d, trial_id);
    upsert_attr(d, table, "trial_id", trial_id, key, value);
  });
}

void RdbStorage::set_trial_user_attr(int64_t trial_id, const std::string& key, const Json& value) {
  set_trial_attr("trial_user_attributes", trial_id, key, value);
}

void RdbStorage::set_trial_system_attr(int64_t trial_id, const std::string& key,
                                       const Json& value) {
  set_trial_attr("trial_system_attributes", trial_id, key, value);
}

// ---------------------------------------------------------------- trials (reads)

FrozenTrial RdbStorage::trial(int64_t trial_id) {
  Dialect& d = *dialect_;
  return transact(Tx::kSnapshot, [&] {
    auto found = read_trials(d, "t.trial_id = ?", {trial_id}, {});
    if (found.empty()) throw_no_trial(trial_id, d);
    return std::move(found.front());
  });
}

int64_t RdbStorage::trial_id_from_number(int64_t study_id, int64_t number) {
  Dialect& d = *dialect_;
  return transact(Tx::kRead, [&] {
    auto id = d.query_int64("SELECT trial_id FROM trials WHERE study_id = ? AND number = ?",
                            {study_id, number});
    if (!id) {
      throw NotFound("study " + std::to_string(study_id) + " has no trial number " +
                     std::to_string(number) + " in " + d.where());
    }
    return *id;
  });
}

std::vector<FrozenTrial> RdbStorage::trials(int64_t study_id,
                                            const std::vector<TrialState>& states) {
  Dialect& d = *dialect_;
  return transact(Tx::kSnapshot, [&] {
    check_study_exists(d, study_id);
    return read_trials(d, "t.study_id = ?", {study_id}, states);
  });
}

int64_t RdbStorage::n_trials(int64_t study_id, std::optional<TrialState> state) {
  Dialect& d = *dialect_;
  return transact(Tx::kRead, [&] {
    check_study_exists(d, study_id);
    return *(state ? d.query_int64("SELECT COUNT(*) FROM trials WHERE study_id = ? AND state = ?",
                                   {study_id, to_string(*state)})
                   : d.query_int64("SELECT COUNT(*) FROM trials WHERE study_id = ?", {study_id}));
  });
}

// ---------------------------------------------------------------- heartbeats

void RdbStorage::record_heartbeat(int64_t trial_id) {
  Dialect& d = *dialect_;
  transact(Tx::kWrite, [&] {
    if (!write_heartbeat(d, trial_id)) throw_no_trial(trial_id, d);
  });
}

std::vector<int64_t> RdbStorage::fail_stale_trials(int64_t study_id, double grace_period_seconds) {
  detail::check_grace_period(grace_period_seconds);
  Dialect& d = *dialect_;
  return transact(Tx::kWrite, [&] {
    check_study_exists(d, study_id);
    // The stale trials, locked where the dialect locks rows: one another caller is failing (or
    // its owner finishing) right now is skipped. The conditional UPDATE is the guard all the
    // same: a trial no longer RUNNING is left alone.
    std::vector<std::pair<int64_t, double>> stale;  // trial id, seconds since the heartbeat
    d.query(std::string("SELECT t.trial_id, ") + d.sql().heartbeat_silence +
                " AS silent FROM trials t JOIN trial_heartbeats h ON h.trial_id = t.trial_id "
                "WHERE t.study_id = ? AND t.state = 'RUNNING' AND " +
                d.sql().heartbeat_stale + " ORDER BY t.trial_id" + d.sql().skip_locked_of_t,
            {study_id, grace_period_seconds},
            [&](const SqlRow& r) { stale.emplace_back(r.int64(0), r.real(1)); });
    std::vector<int64_t> failed;
    const std::string time = format_datetime(now());
    for (const auto& [trial_id, silent] : stale) {
      if (d.run("UPDATE trials SET state = 'FAIL', datetime_complete = ? "
                "WHERE trial_id = ? AND state = 'RUNNING'",
                {time, trial_id}) != 1) {
        continue;
      }
      upsert_attr(d, "trial_system_attributes", "trial_id", trial_id, "fail_reason",
                  detail::stale_fail_reason(silent, grace_period_seconds));
      failed.push_back(trial_id);
    }
    return failed;
  });
}

// ---------------------------------------------------------------- reading only what changed

std::vector<FrozenTrial> RdbStorage::trials_since(int64_t study_id, int64_t after_trial_id,
                                                  const std::vector<int64_t>& trial_ids) {
  Dialect& d = *dialect_;
  const detail::SqlValue listed = d.id_list(trial_ids);
  return transact(Tx::kSnapshot, [&] {
    check_study_exists(d, study_id);
    // The trials by their primary key (a range and a few lookups), the other tables by their
    // (trial_id, ...) unique indexes: the cost follows what changed, not the study's size.
    // no_index keeps SQLite off ix_trials_study_id_knob, which would walk all of the study's
    // trials.
    return read_trials(d,
                       std::string(d.sql().no_index) + "t.study_id = ? AND (t.trial_id > ? OR " +
                           d.sql().trial_id_in_list + ")",
                       {study_id, after_trial_id, listed}, {});
  });
}

}  // namespace knob
