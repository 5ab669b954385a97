// SqliteStorage: studies in one SQLite file, in Optuna's RDB schema (version 12, alembic
// v3.0.0.d), so `optuna.load_study(storage="sqlite:///path.db")` opens what knob writes and
// knob continues what Optuna wrote.
//
// The file runs in WAL mode with a busy timeout: many threads and processes can share it,
// every write is one short transaction, trial numbers never collide. A file that is not an
// SQLite database, or an SQLite database that is not an Optuna/knob one, is refused with
// StorageError and left untouched.
//
// Example:
//   auto storage = std::make_shared<knob::SqliteStorage>("studies.db");
#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include "knob/storage/storage.h"

namespace knob {

namespace detail {
class SqliteConnection;
class SqliteStatement;
}  // namespace detail

class SqliteStorage : public Storage {
 public:
  // Opens or creates the database at `path` (":memory:" for a private in-memory database).
  // `busy_timeout_ms` bounds how long a write waits for another process's lock.
  explicit SqliteStorage(const std::string& path, int busy_timeout_ms = 60000);
  ~SqliteStorage() override;

  int64_t create_study(const std::string& name,
                       const std::vector<StudyDirection>& directions) override;
  void delete_study(int64_t study_id) override;
  int64_t study_id_from_name(const std::string& name) override;
  std::string study_name_from_id(int64_t study_id) override;
  std::vector<StudyDirection> study_directions(int64_t study_id) override;
  void set_study_user_attr(int64_t study_id, const std::string& key, const Json& value) override;
  void set_study_system_attr(int64_t study_id, const std::string& key, const Json& value) override;
  std::map<std::string, Json> study_user_attrs(int64_t study_id) override;
  std::map<std::string, Json> study_system_attrs(int64_t study_id) override;
  std::vector<StudySummary> all_studies() override;

  using Storage::claim_waiting_trial;
  using Storage::create_trial;  // and the overloads without a heartbeat
  int64_t create_trial(int64_t study_id, const FrozenTrial* templ, bool with_heartbeat) override;
  bool create_trials_once(int64_t study_id, const std::string& once_key,
                          const std::vector<FrozenTrial>& templates) override;
  std::optional<int64_t> claim_waiting_trial(int64_t study_id, bool with_heartbeat) override;
  void set_trial_param(int64_t trial_id, const std::string& name, double internal_value,
                       const Distribution& distribution) override;
  bool set_trial_state_values(int64_t trial_id, TrialState state,
                              const std::vector<double>& values = {}) override;
  void set_trial_intermediate_values(int64_t trial_id,
                                     const std::map<int64_t, double>& values) override;
  void set_trial_user_attr(int64_t trial_id, const std::string& key, const Json& value) override;
  void set_trial_system_attr(int64_t trial_id, const std::string& key, const Json& value) override;
  FrozenTrial trial(int64_t trial_id) override;
  int64_t trial_id_from_number(int64_t study_id, int64_t number) override;
  std::vector<FrozenTrial> trials(int64_t study_id,
                                  const std::vector<TrialState>& states = {}) override;
  int64_t n_trials(int64_t study_id, std::optional<TrialState> state = std::nullopt) override;

  // Heartbeats are SQLite's CURRENT_TIMESTAMP (UTC, whole seconds), as Optuna's: a trial's
  // silence counts from the end of its heartbeat's second (stale trials fail up to 1 s late).
  void record_heartbeat(int64_t trial_id) override;
  std::vector<int64_t> fail_stale_trials(int64_t study_id, double grace_period_seconds) override;

  // Reading only what changed (see Storage::trials_since).
  std::vector<FrozenTrial> trials_since(int64_t study_id, int64_t after_trial_id,
                                        const std::vector<int64_t>& trial_ids) override;

  // The schema knob writes and reads (Optuna's).
  static constexpr int kSchemaVersion = 12;
  static constexpr const char* kAlembicRevision = "v3.0.0.d";

 private:
  struct TrialRow;
  void open_schema();
  void check_study_exists(int64_t study_id);
  TrialRow updatable_trial(int64_t trial_id);
  int64_t insert_trial(int64_t study_id, const FrozenTrial& templ);
  // Inserts or refreshes the trial's heartbeat, in the caller's write transaction.
  void write_heartbeat(int64_t trial_id);
  void insert_param(int64_t trial_id, int64_t study_id, const std::string& name, double value,
                    const Distribution& distribution);
  void set_study_attr(const char* table, int64_t study_id, const std::string& key,
                      const Json& value);
  void set_trial_attr(const char* table, int64_t trial_id, const std::string& key,
                      const Json& value);
  void upsert_attr(const char* table, const char* owner, int64_t id, const std::string& key,
                   const Json& value);
  std::map<std::string, Json> read_attrs(const char* table, const char* owner, int64_t id);
  // Binds the where clause's parameters.
  using Binder = std::function<void(detail::SqliteStatement&)>;
  std::vector<FrozenTrial> read_trials(const std::string& where_clause, const Binder& bind,
                                       const std::vector<TrialState>& states);

  std::string where_;
  int busy_timeout_ms_;
  std::unique_ptr<detail::SqliteConnection> db_;
  std::mutex mutex_;
};

}  // namespace knob
