#include "knob/storage/in_memory_storage.h"

#include <algorithm>

#include "knob/core/error.h"
#include "trial_rules.h"

namespace knob {

using Lock = std::lock_guard<std::mutex>;

InMemoryStorage::StudyRecord& InMemoryStorage::study_locked(int64_t study_id) {
  auto it = studies_.find(study_id);
  if (it == studies_.end()) throw NotFound("no study with id " + std::to_string(study_id));
  return it->second;
}

FrozenTrial& InMemoryStorage::updatable_trial_locked(int64_t trial_id) {
  auto it = trials_.find(trial_id);
  if (it == trials_.end()) throw NotFound("no trial with id " + std::to_string(trial_id));
  detail::check_trial_updatable(it->second.number, it->second.state);
  return it->second;
}

int64_t InMemoryStorage::create_study(const std::string& name,
                                      const std::vector<StudyDirection>& directions) {
  detail::check_study_name(name);
  detail::check_directions(directions);
  Lock lock(mutex_);
  for (const auto& [id, study] : studies_) {
    if (study.name == name) throw AlreadyExists("a study named '" + name + "' already exists");
  }
  int64_t id = next_study_id_++;
  StudyRecord& study = studies_[id];
  study.name = name;
  study.directions = directions;
  return id;
}

void InMemoryStorage::delete_study(int64_t study_id) {
  Lock lock(mutex_);
  for (int64_t trial_id : study_locked(study_id).trial_ids) {
    trials_.erase(trial_id);
    trial_study_.erase(trial_id);
    heartbeats_.erase(trial_id);
  }
  studies_.erase(study_id);
}

int64_t InMemoryStorage::study_id_from_name(const std::string& name) {
  Lock lock(mutex_);
  for (const auto& [id, study] : studies_) {
    if (study.name == name) return id;
  }
  throw NotFound("no study named '" + name + "'");
}

std::string InMemoryStorage::study_name_from_id(int64_t study_id) {
  Lock lock(mutex_);
  return study_locked(study_id).name;
}

std::vector<StudyDirection> InMemoryStorage::study_directions(int64_t study_id) {
  Lock lock(mutex_);
  return study_locked(study_id).directions;
}

void InMemoryStorage::set_study_user_attr(int64_t study_id, const std::string& key,
                                          const Json& value) {
  Lock lock(mutex_);
  study_locked(study_id).user_attrs[key] = value;
}

void InMemoryStorage::set_study_system_attr(int64_t study_id, const std::string& key,
                                            const Json& value) {
  Lock lock(mutex_);
  study_locked(study_id).system_attrs[key] = value;
}

std::map<std::string, Json> InMemoryStorage::study_user_attrs(int64_t study_id) {
  Lock lock(mutex_);
  return study_locked(study_id).user_attrs;
}

std::map<std::string, Json> InMemoryStorage::study_system_attrs(int64_t study_id) {
  Lock lock(mutex_);
  return study_locked(study_id).system_attrs;
}

std::vector<std::pair<int64_t, std::string>> InMemoryStorage::study_names() {
  Lock lock(mutex_);
  std::vector<std::pair<int64_t, std::string>> out;
  for (const auto& [id, study] : studies_) out.emplace_back(id, study.name);
  return out;
}

std::vector<StudySummary> InMemoryStorage::all_studies() {
  Lock lock(mutex_);
  std::vector<StudySummary> out;
  for (const auto& [id, study] : studies_) {
    StudySummary summary;
    summary.study_id = id;
    summary.study_name = study.name;
    summary.directions = study.directions;
    summary.user_attrs = study.user_attrs;
    std::vector<FrozenTrial> trials;
    for (int64_t trial_id : study.trial_ids) trials.push_back(trials_.at(trial_id));
    summarize_trials(trials, summary);
    out.push_back(std::move(summary));
  }
  return out;
}

void InMemoryStorage::set_state_locked(StudyRecord& study, FrozenTrial& trial, TrialState state) {
  --study.n_by_state[static_cast<size_t>(trial.state)];
  if (trial.state == TrialState::kWaiting) study.waiting.erase(trial.number);
  trial.state = state;
  ++study.n_by_state[static_cast<size_t>(state)];
  if (state == TrialState::kWaiting) study.waiting.insert(trial.number);
}

int64_t InMemoryStorage::create_trial_locked(int64_t study_id, const FrozenTrial* templ) {
  StudyRecord& study = study_locked(study_id);
  if (templ) detail::check_template(*templ);
  FrozenTrial trial = templ ? *templ : FrozenTrial{};
  // Check every parameter before recording any: a refused template leaves no trace.
  for (const auto& [name, distribution] : trial.distributions) {
    auto it = study.param_distributions.find(name);
    if (it != study.param_distributions.end()) check_compatible(name, it->second, distribution);
  }
  for (const auto& [name, distribution] : trial.distributions) {
    study.param_distributions.emplace(name, distribution);
  }
  trial.trial_id = next_trial_id_++;
  trial.number = static_cast<int64_t>(study.trial_ids.size());
  if (!templ) trial.state = TrialState::kRunning;
  if (trial.state == TrialState::kRunning && !trial.datetime_start) trial.datetime_start = now();
  study.trial_ids.push_back(trial.trial_id);
  ++study.n_by_state[static_cast<size_t>(trial.state)];
  if (trial.state == TrialState::kWaiting) study.waiting.insert(trial.number);
  trial_study_[trial.trial_id] = study_id;
  trials_[trial.trial_id] = std::move(trial);
  return study.trial_ids.back();
}

int64_t InMemoryStorage::create_trial(int64_t study_id, const FrozenTrial* templ,
                                      bool with_heartbeat) {
  Lock lock(mutex_);
  const int64_t trial_id = create_trial_locked(study_id, templ);
  if (with_heartbeat) heartbeats_[trial_id] = std::chrono::steady_clock::now();
  return trial_id;
}

bool InMemoryStorage::create_trials_once(int64_t study_id, const std::string& once_key,
                                         const std::vector<FrozenTrial>& templates) {
  Lock lock(mutex_);
  StudyRecord& study = study_locked(study_id);
  if (study.system_attrs.count(once_key)) return false;
  study.system_attrs[once_key] = true;
  for (const auto& templ : templates) create_trial_locked(study_id, &templ);
  return true;
}

std::optional<int64_t> InMemoryStorage::claim_waiting_trial(int64_t study_id, bool with_heartbeat) {
  Lock lock(mutex_);
  StudyRecord& study = study_locked(study_id);
  if (study.waiting.empty()) return std::nullopt;
  const int64_t trial_id = study.trial_ids.at(static_cast<size_t>(*study.waiting.begin()));
  FrozenTrial& trial = trials_.at(trial_id);
  set_state_locked(study, trial, TrialState::kRunning);
  trial.datetime_start = now();
  if (with_heartbeat) heartbeats_[trial_id] = std::chrono::steady_clock::now();
  return trial_id;
}

void InMemoryStorage::set_trial_param(int64_t trial_id, const std::string& name,
                                      double internal_value, const Distribution& distribution) {
  Lock lock(mutex_);
  FrozenTrial& trial = updatable_trial_locked(trial_id);
  StudyRecord& study = study_locked(trial_study_.at(trial_id));
  auto [it, inserted] = study.param_distributions.emplace(name, distribution);
  if (!inserted) check_compatible(name, it->second, distribution);
  trial.internal_params[name] = internal_value;
  trial.distributions.insert_or_assign(name, distribution);
}

bool InMemoryStorage::set_trial_state_values(int64_t trial_id, TrialState state,
                                             const std::vector<double>& values) {
  detail::check_values(values);
  Lock lock(mutex_);
  auto it = trials_.find(trial_id);
  if (it == trials_.end()) throw NotFound("no trial with id " + std::to_string(trial_id));
  FrozenTrial& trial = it->second;
  if (!detail::transition_allowed(trial.state, state)) return false;
  set_state_locked(study_locked(trial_study_.at(trial_id)), trial, state);
  if (state == TrialState::kRunning) trial.datetime_start = now();
  if (is_finished(state)) trial.datetime_complete = now();
  if (!values.empty()) trial.values = values;
  return true;
}

void InMemoryStorage::set_trial_intermediate_values(int64_t trial_id,
                                                    const std::map<int64_t, double>& values) {
  Lock lock(mutex_);
  FrozenTrial& trial = updatable_trial_locked(trial_id);
  for (const auto& [step, value] : values) trial.intermediate_values[step] = value;
}

void InMemoryStorage::set_trial_user_attr(int64_t trial_id, const std::string& key,
                                          const Json& value) {
  Lock lock(mutex_);
  updatable_trial_locked(trial_id).user_attrs[key] = value;
}

void InMemoryStorage::set_trial_system_attr(int64_t trial_id, const std::string& key,
                                            const Json& value) {
  Lock lock(mutex_);
  updatable_trial_locked(trial_id).system_attrs[key] = value;
}

FrozenTrial InMemoryStorage::trial(int64_t trial_id) {
  Lock lock(mutex_);
  auto it = trials_.find(trial_id);
  if (it == trials_.end()) throw NotFound("no trial with id " + std::to_string(trial_id));
  return it->second;
}

int64_t InMemoryStorage::trial_id_from_number(int64_t study_id, int64_t number) {
  Lock lock(mutex_);
  const auto& ids = study_locked(study_id).trial_ids;
  if (number < 0 || number >= static_cast<int64_t>(ids.size())) {
    throw NotFound("study " + std::to_string(study_id) + " has no trial number " +
                   std::to_string(number));
  }
  return ids[static_cast<size_t>(number)];
}

std::vector<FrozenTrial> InMemoryStorage::trials(int64_t study_id,
                                                 const std::vector<TrialState>& states) {
  Lock lock(mutex_);
  std::vector<FrozenTrial> out;
  for (int64_t trial_id : study_locked(study_id).trial_ids) {
    const FrozenTrial& trial = trials_.at(trial_id);
    if (states.empty() || std::find(states.begin(), states.end(), trial.state) != states.end()) {
      out.push_back(trial);
    }
  }
  return out;
}

int64_t InMemoryStorage::n_trials(int64_t study_id, std::optional<TrialState> state) {
  Lock lock(mutex_);
  const StudyRecord& study = study_locked(study_id);
  return state ? study.n_by_state[static_cast<size_t>(*state)]
               : static_cast<int64_t>(study.trial_ids.size());
}

// ---------------------------------------------------------------- heartbeats

void InMemoryStorage::record_heartbeat(int64_t trial_id) {
  Lock lock(mutex_);
  if (!trials_.count(trial_id)) throw NotFound("no trial with id " + std::to_string(trial_id));
  heartbeats_[trial_id] = std::chrono::steady_clock::now();
}

std::vector<int64_t> InMemoryStorage::fail_stale_trials(int64_t study_id,
                                                        double grace_period_seconds) {
  detail::check_grace_period(grace_period_seconds);
  Lock lock(mutex_);
  const auto now_steady = std::chrono::steady_clock::now();
  std::vector<int64_t> failed;
  StudyRecord& study = study_locked(study_id);
  for (int64_t trial_id : study.trial_ids) {
    FrozenTrial& trial = trials_.at(trial_id);
    auto beat = heartbeats_.find(trial_id);
    if (trial.state != TrialState::kRunning || beat == heartbeats_.end()) continue;
    const double silent = std::chrono::duration<double>(now_steady - beat->second).count();
    if (silent <= grace_period_seconds) continue;
    set_state_locked(study, trial, TrialState::kFail);
    trial.datetime_complete = now();
    trial.system_attrs["fail_reason"] = detail::stale_fail_reason(silent, grace_period_seconds);
    failed.push_back(trial_id);
  }
  return failed;
}

// ---------------------------------------------------------------- reading only what changed

std::vector<FrozenTrial> InMemoryStorage::trials_since(int64_t study_id, int64_t after_trial_id,
                                                       const std::vector<int64_t>& trial_ids) {
  Lock lock(mutex_);
  const std::vector<int64_t>& ids = study_locked(study_id).trial_ids;  // ids grow with number
  auto first_new = std::upper_bound(ids.begin(), ids.end(), after_trial_id);
  std::map<int64_t, const FrozenTrial*> by_number;
  for (auto it = first_new; it != ids.end(); ++it) {
    const FrozenTrial& trial = trials_.at(*it);
    by_number[trial.number] = &trial;
  }
  for (int64_t trial_id : trial_ids) {
    auto it = trials_.find(trial_id);
    if (it != trials_.end() && trial_study_.at(trial_id) == study_id) {
      by_number[it->second.number] = &it->second;
    }
  }
  std::vector<FrozenTrial> out;
  out.reserve(by_number.size());
  for (const auto& [number, trial] : by_number) out.push_back(*trial);
  return out;
}

}  // namespace knob
