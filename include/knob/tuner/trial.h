// Trial: what an objective receives — it suggests parameters (define-by-run), reports
// intermediate values and asks whether to stop early. Made by Study::ask() or by
// Study::optimize(); not thread-safe (one trial, one thread), but many trials may run at once.
//
// Example:
//   double objective(knob::Trial& trial) {
//     double lr = trial.suggest_float("lr", 1e-4, 1e-1, {.log = true});
//     int64_t batch = trial.suggest_int("batch_size", 16, 512, {.log = true});
//     auto opt = trial.suggest_categorical<std::string>("optimizer", {"sgd", "adam"});
//     for (int epoch = 0; epoch < 10; ++epoch) {
//       double loss = train_one_epoch(lr, batch, opt);
//       trial.report(loss, epoch);
//       if (trial.should_prune()) throw knob::TrialPruned();
//     }
//     return loss;
//   }
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "knob/storage/frozen_trial.h"

namespace knob {

class Study;

struct FloatOptions {
  std::optional<double> step = std::nullopt;  // values on low + k*step
  bool log = false;                           // sample log-uniformly (needs low > 0, no step)
};

struct IntOptions {
  int64_t step = 1;
  bool log = false;  // sample log-uniformly (needs low >= 1, step 1)
};

class Trial {
 public:
  Trial(Study& study, int64_t trial_id);
  Trial(const Trial&) = default;
  // Stores the values reported and not yet written, even if the trial is never told.
  ~Trial();

  int64_t number() const { return snapshot_.number; }
  int64_t trial_id() const { return snapshot_.trial_id; }

  // Each suggest_* returns the parameter's value; suggesting the same name again in this trial
  // returns the same value. Bad bounds throw InvalidArgument naming the parameter.
  double suggest_float(const std::string& name, double low, double high, FloatOptions options = {});
  int64_t suggest_int(const std::string& name, int64_t low, int64_t high, IntOptions options = {});
  ParamValue suggest_categorical(const std::string& name, const std::vector<ParamValue>& choices);
  // Typed form: suggest_categorical<std::string>("opt", {"sgd", "adam"}), <int>, <double>, <bool>.
  template <typename T>
  T suggest_categorical(const std::string& name, const std::vector<T>& choices);
  // Any distribution; returns the external value.
  ParamValue suggest(const std::string& name, const Distribution& distribution);

  // Records an intermediate objective value (loss or accuracy after `step`, e.g. an epoch).
  // Values reach the storage in batches — at most a second late, and all of them when the
  // trial is told — so a study of short steps costs one write per second, not one per step.
  // Throws TrialInterrupted (after storing the value) once the study is interrupted.
  void report(double value, int64_t step);
  // Writes the reported values not yet stored (telling the trial does it too).
  void flush_reports();
  // Whether the study's pruner would stop this trial now (after the last report). Throws
  // TrialInterrupted once the study is interrupted.
  bool should_prune();

  void set_user_attr(const std::string& key, const Json& value);
  const std::map<std::string, Json>& user_attrs() const { return snapshot_.user_attrs; }
  std::map<std::string, ParamValue> params() const { return snapshot_.params(); }
  const std::map<std::string, Distribution>& distributions() const {
    return snapshot_.distributions;
  }
  // This trial as last written by this process.
  const FrozenTrial& snapshot() const { return snapshot_; }
  Study& study() { return study_; }

 private:
  double sample(const std::string& name, const Distribution& distribution);

  Study& study_;
  FrozenTrial snapshot_;
  std::optional<std::map<std::string, double>> relative_params_;  // sampled on first suggest
  std::map<std::string, Distribution> relative_space_;
};

template <typename T>
T Trial::suggest_categorical(const std::string& name, const std::vector<T>& choices) {
  std::vector<ParamValue> values;
  values.reserve(choices.size());
  for (const auto& choice : choices) {
    if constexpr (std::is_same_v<T, bool>) {
      values.emplace_back(choice);
    } else if constexpr (std::is_integral_v<T>) {
      values.emplace_back(static_cast<int64_t>(choice));
    } else if constexpr (std::is_floating_point_v<T>) {
      values.emplace_back(static_cast<double>(choice));
    } else {
      values.emplace_back(std::string(choice));
    }
  }
  ParamValue value = suggest_categorical(name, values);
  if constexpr (std::is_same_v<T, bool>) {
    return std::get<bool>(value);
  } else if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(std::get<int64_t>(value));
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(std::get<double>(value));
  } else {
    return std::get<std::string>(value);
  }
}

}  // namespace knob
