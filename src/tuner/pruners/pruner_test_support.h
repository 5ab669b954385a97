// Helpers shared by the pruner tests (not installed): a study holding given trials, and a trial
// that reports a learning curve, asking the study's pruner after each report.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "knob/core/error.h"
#include "knob/storage/in_memory_storage.h"
#include "knob/tuner/study.h"
#include "testing/test_support.h"

namespace knob::testing {

using Curve = std::map<int64_t, double>;  // step -> intermediate value

inline Study pruner_study(StudyDirection direction, std::shared_ptr<Pruner> pruner = nullptr,
                          const std::string& name = "pruner", const std::string& storage = "") {
  auto options = StudyOptions().study_name(name).direction(direction).storage(storage);
  if (!pruner) pruner = std::make_shared<NopPruner>();
  if (storage.empty()) options.storage_instance(std::make_shared<InMemoryStorage>());
  return create_study(options.pruner(pruner));
}

// Stores a finished trial (or a running one) with these intermediate values; returns its id.
inline int64_t add_trial(Study& study, TrialState state, const Curve& curve,
                         const std::map<std::string, Json>& system_attrs = {}) {
  FrozenTrial templ;
  templ.state = state;
  if (state == TrialState::kComplete) templ.values = {0.0};
  templ.intermediate_values = curve;
  templ.system_attrs = system_attrs;
  return study.storage().create_trial(study.study_id(), &templ);
}

// Runs a new trial that reports `curve` in order and asks the study's pruner after each report:
// told PRUNED at the first yes (returns that step), else COMPLETE (returns -1).
inline int64_t run_curve(Study& study, const std::vector<std::pair<int64_t, double>>& curve) {
  Trial trial = study.ask();
  for (const auto& [step, value] : curve) {
    trial.report(value, step);
    if (trial.should_prune()) {
      study.tell(trial, TrialState::kPruned);
      return step;
    }
  }
  study.tell(trial, TrialState::kComplete, {0.0});
  return -1;
}

inline int64_t run_curve(Study& study, const Curve& curve) {
  return run_curve(study, std::vector<std::pair<int64_t, double>>(curve.begin(), curve.end()));
}

// The trial's completed_rung_0, 1, ... values as stored.
inline std::vector<double> completed_rungs(const FrozenTrial& trial) {
  std::vector<double> values;
  for (int rung = 0;; ++rung) {
    auto it = trial.system_attrs.find("completed_rung_" + std::to_string(rung));
    if (it == trial.system_attrs.end()) return values;
    values.push_back(it->second.get<double>());
  }
}

// Expects make() to throw InvalidArgument whose message holds every part (parts[0] names the case).
template <typename Make>
void expect_invalid(Make make, const std::vector<std::string>& parts) {
  try {
    make();
    ADD_FAILURE() << "no throw for " << parts[0];
  } catch (const InvalidArgument& e) {
    expect_contains(e.what(), parts);
  }
}

}  // namespace knob::testing
