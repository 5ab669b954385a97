#include "knob/storage/frozen_trial.h"

#include "knob/core/error.h"

namespace knob {

ParamValue FrozenTrial::param(const std::string& name) const {
  auto it = internal_params.find(name);
  if (it == internal_params.end()) {
    throw NotFound("trial " + std::to_string(number) + " has no parameter '" + name + "'");
  }
  return to_external(distributions.at(name), it->second);
}

std::map<std::string, ParamValue> FrozenTrial::params() const {
  std::map<std::string, ParamValue> out;
  for (const auto& [name, internal] : internal_params) {
    out.emplace(name, to_external(distributions.at(name), internal));
  }
  return out;
}

double FrozenTrial::value() const {
  if (values.size() != 1) {
    throw Error("trial " + std::to_string(number) + " has " + std::to_string(values.size()) +
                " objective values; value() needs exactly one (use values)");
  }
  return values[0];
}

std::optional<std::pair<int64_t, double>> FrozenTrial::last_step() const {
  if (intermediate_values.empty()) return std::nullopt;
  return *intermediate_values.rbegin();
}

std::optional<double> FrozenTrial::duration_seconds() const {
  if (!datetime_start || !datetime_complete) return std::nullopt;
  return seconds_between(*datetime_start, *datetime_complete);
}

int64_t StudySummary::n_trials() const {
  int64_t n = 0;
  for (const auto& [state, count] : trial_counts) n += count;
  return n;
}

bool failed_as_stale(const FrozenTrial& trial) {
  auto it = trial.system_attrs.find("fail_reason");
  return trial.state == TrialState::kFail && it != trial.system_attrs.end() &&
         it->second.is_string() && it->second.get<std::string>().rfind("stale: ", 0) == 0;
}

void summarize_trials(const std::vector<FrozenTrial>& trials, StudySummary& summary) {
  const bool single = summary.directions.size() == 1;
  const bool maximize = single && summary.directions[0] == StudyDirection::kMaximize;
  for (const auto& t : trials) {
    ++summary.trial_counts[t.state];
    if (t.datetime_start &&
        (!summary.datetime_start || *t.datetime_start < *summary.datetime_start)) {
      summary.datetime_start = t.datetime_start;
    }
    if (!single || t.state != TrialState::kComplete || t.values.size() != 1) continue;
    if (!summary.best_trial || (maximize ? t.values[0] > summary.best_trial->values[0]
                                         : t.values[0] < summary.best_trial->values[0])) {
      summary.best_trial = t;
    }
  }
}

}  // namespace knob
