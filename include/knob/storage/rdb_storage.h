// RdbStorage: the one implementation of Storage over Optuna's RDB schema (version 12, alembic
// v3.0.0.d or v3.2.0.a: schema_revision.h), as Optuna's RDBStorage is one implementation over
// SQLAlchemy. What each database
// does differently — placeholders, upserts, row locks, clocks, schema DDL, retries — is its
// dialect's (internal); construct it through SqliteStorage or PostgresStorage, which pick one.
//
// Thread-safety: one connection per instance; its methods may be called from any thread (they
// take turns). Example:
//   std::unique_ptr<knob::RdbStorage> storage = std::make_unique<knob::SqliteStorage>("s.db");
#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include "knob/storage/schema_revision.h"
#include "knob/storage/storage.h"

namespace knob {

namespace detail {
class Dialect;
enum class Tx;
}  // namespace detail

class RdbStorage : public Storage {
 public:
  ~RdbStorage() override;

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
  std::vector<std::pair<int64_t, std::string>> study_names() override;

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

  // Heartbeats by the database's clock, as Optuna writes them (see the dialects' classes).
  void record_heartbeat(int64_t trial_id) override;
  std::vector<int64_t> fail_stale_trials(int64_t study_id, double grace_period_seconds) override;

  // Reading only what changed (see Storage::trials_since).
  std::vector<FrozenTrial> trials_since(int64_t study_id, int64_t after_trial_id,
                                        const std::vector<int64_t>& trial_ids) override;

  // Optuna's schema version (version_info.schema_version) of both revisions knob reads.
  static constexpr int kSchemaVersion = 12;
  // The database's alembic revision, as it was when this storage opened it.
  SchemaRevision schema_revision() const { return schema_revision_; }

 protected:
  // Takes the dialect (and its open connection) and opens the schema through it: creates it at
  // `schema` (default kDefaultSchemaRevision) if the database is empty; else checks the
  // database's revision (and that it is `schema`, if given).
  RdbStorage(std::unique_ptr<detail::Dialect> dialect, std::optional<SchemaRevision> schema);
  // Runs `body` on the dialect while holding this storage's lock (no transaction).
  void with_dialect(const std::function<void(detail::Dialect&)>& body);

 private:
  // Runs `body` in a transaction of `kind` under this storage's lock (see dialect.h).
  template <class F>
  auto transact(detail::Tx kind, F&& body);
  void set_study_attr(const char* table, int64_t study_id, const std::string& key,
                      const Json& value);
  std::map<std::string, Json> study_attrs(const char* table, int64_t study_id);
  void set_trial_attr(const char* table, int64_t trial_id, const std::string& key,
                      const Json& value);

  std::unique_ptr<detail::Dialect> dialect_;
  SchemaRevision schema_revision_;
  std::mutex mutex_;
};

}  // namespace knob
