// PostgresStorage: studies in a PostgreSQL database, in Optuna's RDB schema (version 12,
// alembic v3.0.0.d, with PostgreSQL ENUM types as SQLAlchemy creates them), so Optuna opens
// what knob writes and knob continues what Optuna wrote — and workers on many machines share
// one study: trial numbers are allocated under a lock on the study row, WAITING trials are
// claimed with SELECT ... FOR UPDATE SKIP LOCKED. A dropped connection is re-opened and the
// failed transaction run again (a few times, with backoff). One connection per instance; its
// methods may be called from any thread (they take turns).
//
// The URL is libpq's, or SQLAlchemy's spelling of it:
//   postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=require&...]
//   postgresql+psycopg2://...   (as Optuna's --storage takes it)
// The database must exist; knob creates the tables in it on first use.
//
// Example:
//   auto storage = knob::open_storage("postgresql://knob@db.example.org:5432/studies");
//   auto storage2 = std::make_shared<knob::PostgresStorage>("postgresql://knob@localhost/knob");
#pragma once

#include <memory>
#include <mutex>

#include "knob/storage/storage.h"

namespace knob {

namespace detail {
class PostgresConnection;
}

class PostgresStorage : public Storage {
 public:
  // Connects and opens (or creates) the schema. Throws InvalidArgument for a malformed URL,
  // StorageError naming the URL (password hidden) when the server cannot be reached, refuses
  // the login, or holds a database that is not an Optuna/knob one of the schema knob reads.
  explicit PostgresStorage(const std::string& url);
  ~PostgresStorage() override;

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

  // Heartbeats by the server's clock (LOCALTIMESTAMP, in the session's time zone) as Optuna
  // writes them; stale trials are taken FOR UPDATE SKIP LOCKED, so concurrent callers split
  // them without waiting on each other.
  void record_heartbeat(int64_t trial_id) override;
  std::vector<int64_t> fail_stale_trials(int64_t study_id, double grace_period_seconds) override;

  // Reading only what changed (see Storage::trials_since).
  std::vector<FrozenTrial> trials_since(int64_t study_id, int64_t after_trial_id,
                                        const std::vector<int64_t>& trial_ids) override;

  // The URL with its password replaced by "***" (as errors name it).
  static std::string redacted_url(const std::string& url);
  // The backend process id of this storage's connection (tests terminate it).
  int backend_pid();

 private:
  enum class Tx { kRead, kWrite };
  template <class F>
  auto transact(Tx kind, F&& body);
  void open_schema();
  void check_study_exists(int64_t study_id);
  void lock_study(int64_t study_id);
  struct TrialRow {
    int64_t study_id;
    int64_t number;
    TrialState state;
  };
  TrialRow updatable_trial(int64_t trial_id);
  int64_t insert_trial(int64_t study_id, const FrozenTrial& templ);
  // Inserts or refreshes the trial's heartbeat, in the caller's transaction; false if there
  // is no such trial.
  bool write_heartbeat(int64_t trial_id);
  void insert_param(int64_t trial_id, int64_t study_id, const std::string& name, double value,
                    const Distribution& distribution);
  void upsert_attr(const char* table, const char* owner, int64_t id, const std::string& key,
                   const Json& value);
  std::map<std::string, Json> read_attrs(const char* table, const char* owner, int64_t id);
  std::vector<FrozenTrial> read_trials(const std::string& where_clause,
                                       const std::vector<std::optional<std::string>>& params,
                                       const std::vector<TrialState>& states);

  std::string where_;
  std::unique_ptr<detail::PostgresConnection> db_;
  std::mutex mutex_;
};

}  // namespace knob
