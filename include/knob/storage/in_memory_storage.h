// InMemoryStorage: studies and trials in this process only (Optuna's InMemoryStorage).
// The default when no storage URL is given; gone when the process ends. Thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <mutex>
#include <set>
#include <unordered_map>

#include "knob/storage/storage.h"

namespace knob {

class InMemoryStorage : public Storage {
 public:
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

  // Heartbeats by this process's steady clock.
  void record_heartbeat(int64_t trial_id) override;
  std::vector<int64_t> fail_stale_trials(int64_t study_id, double grace_period_seconds) override;

  // Reading only what changed (see Storage::trials_since).
  std::vector<FrozenTrial> trials_since(int64_t study_id, int64_t after_trial_id,
                                        const std::vector<int64_t>& trial_ids) override;

 private:
  struct StudyRecord {
    std::string name;
    std::vector<StudyDirection> directions;
    std::map<std::string, Json> user_attrs;
    std::map<std::string, Json> system_attrs;
    std::vector<int64_t> trial_ids;                           // index = trial number
    std::map<std::string, Distribution> param_distributions;  // first seen, per name
    // Kept with every state change, so that counting and claiming need no scan of the trials.
    std::array<int64_t, 5> n_by_state{};  // index = TrialState
    std::set<int64_t> waiting;            // numbers of the WAITING trials
  };
  StudyRecord& study_locked(int64_t study_id);
  FrozenTrial& updatable_trial_locked(int64_t trial_id);
  int64_t create_trial_locked(int64_t study_id, const FrozenTrial* templ);
  // Moves `trial` of `study` to `state`, keeping the study's counts.
  static void set_state_locked(StudyRecord& study, FrozenTrial& trial, TrialState state);

  std::mutex mutex_;
  int64_t next_study_id_ = 1;
  int64_t next_trial_id_ = 1;
  std::map<int64_t, StudyRecord> studies_;
  std::unordered_map<int64_t, FrozenTrial> trials_;
  std::unordered_map<int64_t, int64_t> trial_study_;
  std::unordered_map<int64_t, std::chrono::steady_clock::time_point> heartbeats_;  // by trial id
};

}  // namespace knob
