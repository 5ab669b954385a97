// Storage: where studies and trials live. One interface, three backends — in memory,
// SQLite (`sqlite:///path.db`) and PostgreSQL (`postgresql://user@host/db`) — all with
// Optuna's semantics, and the database ones with Optuna's schema.
//
// Thread-safety: every method may be called from any thread. Database backends are also safe
// across processes sharing one database: trial numbers never collide and a WAITING trial is
// claimed by exactly one worker.
//
// A finished trial (COMPLETE, PRUNED, FAIL) is never updated again: writes to it throw Error.
// Open a storage by URL with `open_storage` (open_storage.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "knob/storage/frozen_trial.h"

namespace knob {

class Storage {
 public:
  virtual ~Storage() = default;

  // ---- studies ----
  // Throws AlreadyExists if the name is taken, InvalidArgument if it is empty.
  virtual int64_t create_study(const std::string& name,
                               const std::vector<StudyDirection>& directions) = 0;
  // Deletes the study and all its trials; throws NotFound.
  virtual void delete_study(int64_t study_id) = 0;
  // Throws NotFound naming the study.
  virtual int64_t study_id_from_name(const std::string& name) = 0;
  virtual std::string study_name_from_id(int64_t study_id) = 0;
  virtual std::vector<StudyDirection> study_directions(int64_t study_id) = 0;
  virtual void set_study_user_attr(int64_t study_id, const std::string& key, const Json& value) = 0;
  virtual void set_study_system_attr(int64_t study_id, const std::string& key,
                                     const Json& value) = 0;
  virtual std::map<std::string, Json> study_user_attrs(int64_t study_id) = 0;
  virtual std::map<std::string, Json> study_system_attrs(int64_t study_id) = 0;
  virtual std::vector<StudySummary> all_studies() = 0;
  // Every study's id and name, ordered by id: all_studies without reading any trial (it reads
  // every trial of every study to count them).
  virtual std::vector<std::pair<int64_t, std::string>> study_names() = 0;

  // ---- trials ----
  // Creates a trial numbered after the study's last one. Without a template it is RUNNING and
  // empty; with one it copies the template's state, params, values, intermediate values,
  // attributes and times (ids and number are assigned here). Returns the new trial's id.
  // `with_heartbeat`: the trial's first heartbeat (as record_heartbeat) is written in the same
  // transaction, so the trial is never RUNNING without one: if its worker dies at once, the
  // trial still goes stale (Study passes it when heartbeats are on).
  virtual int64_t create_trial(int64_t study_id, const FrozenTrial* templ, bool with_heartbeat) = 0;
  int64_t create_trial(int64_t study_id, const FrozenTrial* templ = nullptr) {
    return create_trial(study_id, templ, /*with_heartbeat=*/false);
  }
  // Creates all `templates` in one transaction, unless the study already carries the system
  // attribute `once_key`; sets it. Returns whether this call created them. Used to enqueue a
  // grid exactly once when many workers start together.
  virtual bool create_trials_once(int64_t study_id, const std::string& once_key,
                                  const std::vector<FrozenTrial>& templates) = 0;
  // Atomically moves the oldest WAITING trial to RUNNING (setting its start time) and
  // returns its id, or nullopt when there is none. No two callers get the same trial.
  // `with_heartbeat`: as for create_trial, the first heartbeat is written in the same transaction.
  virtual std::optional<int64_t> claim_waiting_trial(int64_t study_id, bool with_heartbeat) = 0;
  std::optional<int64_t> claim_waiting_trial(int64_t study_id) {
    return claim_waiting_trial(study_id, /*with_heartbeat=*/false);
  }

  // Records a parameter. Throws InvalidArgument if the study already used the name with an
  // incompatible distribution (check_compatible). The value is not range-checked (as in
  // Optuna, where an enqueued fixed value may lie outside the distribution).
  virtual void set_trial_param(int64_t trial_id, const std::string& name, double internal_value,
                               const Distribution& distribution) = 0;
  // Moves a trial to `state` (with `values` when COMPLETE). Returns false, changing nothing,
  // if the trial is already finished, or when asking RUNNING of a trial no longer WAITING.
  virtual bool set_trial_state_values(int64_t trial_id, TrialState state,
                                      const std::vector<double>& values = {}) = 0;
  // Records intermediate values (step -> value; NaN and +-inf allowed) in one write.
  virtual void set_trial_intermediate_values(int64_t trial_id,
                                             const std::map<int64_t, double>& values) = 0;
  void set_trial_intermediate_value(int64_t trial_id, int64_t step, double value) {
    set_trial_intermediate_values(trial_id, {{step, value}});
  }
  virtual void set_trial_user_attr(int64_t trial_id, const std::string& key, const Json& value) = 0;
  virtual void set_trial_system_attr(int64_t trial_id, const std::string& key,
                                     const Json& value) = 0;

  // Throws NotFound.
  virtual FrozenTrial trial(int64_t trial_id) = 0;
  // The id of the study's trial with that number; throws NotFound.
  virtual int64_t trial_id_from_number(int64_t study_id, int64_t number) = 0;
  // The study's trials ordered by number, optionally only those in `states`.
  virtual std::vector<FrozenTrial> trials(int64_t study_id,
                                          const std::vector<TrialState>& states = {}) = 0;
  virtual int64_t n_trials(int64_t study_id, std::optional<TrialState> state = std::nullopt) = 0;

  // ---- heartbeats (Optuna's trial_heartbeats; see Study's heartbeat_interval) ----
  // Records that the trial's process is alive now, by the database's clock as Optuna does
  // (SQLite: UTC; PostgreSQL: LOCALTIMESTAMP), so Optuna's and knob's workers judge each
  // other's heartbeats. Throws NotFound for an unknown trial.
  virtual void record_heartbeat(int64_t trial_id) = 0;
  // Moves to FAIL every RUNNING trial of the study whose last heartbeat is more than
  // `grace_period_seconds` old (trials without a heartbeat are left alone, as in Optuna), setting
  // datetime_complete and the system attr "fail_reason". Returns the ids of the trials this
  // call failed: with many callers at once, each stale trial is failed by exactly one.
  virtual std::vector<int64_t> fail_stale_trials(int64_t study_id, double grace_period_seconds) = 0;

  // ---- reading only what changed (TrialCache's refresh; Optuna 3.1's RDBStorage._get_trials) ----
  // The study's trials whose id is greater than `after_trial_id` or listed in `trial_ids`,
  // ordered by number; one snapshot. A study's trial ids grow in the order its trials are
  // created, and finished trials never change, so a reader that keeps the largest id it has
  // seen and the ids it saw unfinished gets, by passing them here, every trial that is new or
  // may have changed since its last read — and nothing else. Throws NotFound for the study.
  virtual std::vector<FrozenTrial> trials_since(int64_t study_id, int64_t after_trial_id,
                                                const std::vector<int64_t>& trial_ids) = 0;
};

}  // namespace knob
