#include "knob/tuner/study_budget.h"

#include "knob/core/clock.h"
#include "knob/core/error.h"
#include "knob/tuner/study.h"

namespace knob {
namespace {

constexpr const char* kBudgetKey = "knob:budget";

bool is_retry(const FrozenTrial& t) {
  return t.system_attrs.count("failed_trial") || t.system_attrs.count("knob:retry_of");
}

}  // namespace

StudyBudget study_budget_from_now(std::optional<int64_t> n_trials,
                                  std::optional<double> timeout_seconds) {
  StudyBudget budget;
  budget.n_trials(n_trials);
  if (timeout_seconds) budget.deadline(unix_seconds(now()) + *timeout_seconds);
  return budget;
}

void save_study_budget(Study& study, const StudyBudget& budget) {
  Json stored = Json::object();
  stored["n_trials"] = budget.n_trials() ? Json(*budget.n_trials()) : Json();
  stored["deadline"] = budget.deadline() ? Json(*budget.deadline()) : Json();
  study.storage().set_study_system_attr(study.study_id(), kBudgetKey, stored);
}

std::optional<StudyBudget> load_study_budget(Study& study) {
  auto attrs = study.storage().study_system_attrs(study.study_id());
  auto it = attrs.find(kBudgetKey);
  if (it == attrs.end()) return std::nullopt;
  const Json& stored = it->second;
  auto field = [&](const char* name) -> const Json* {
    if (!stored.is_object() || !stored.contains(name) || stored[name].is_null()) return nullptr;
    KNOB_CHECK(stored[name].is_number(), std::string(kBudgetKey) + "." + name, dumps(stored),
               "must be a number or null");
    return &stored[name];
  };
  StudyBudget budget;
  if (const Json* n = field("n_trials")) budget.n_trials(n->get<int64_t>());
  if (const Json* deadline = field("deadline")) budget.deadline(deadline->get<double>());
  return budget;
}

int64_t trials_counted_in_budget(const std::vector<FrozenTrial>& trials) {
  int64_t counted = 0;
  for (const auto& t : trials) {
    if (t.state != TrialState::kWaiting) ++counted;
    if (is_retry(t)) --counted;
  }
  return counted;
}

bool study_budget_spent(Study& study) {
  std::optional<StudyBudget> budget = load_study_budget(study);
  if (!budget) return false;
  if (budget->deadline() && unix_seconds(now()) >= *budget->deadline()) return true;
  if (!budget->n_trials()) return false;
  const std::vector<FrozenTrial> trials = study.trials();
  for (const auto& t : trials) {
    if (t.state == TrialState::kWaiting && is_retry(t)) return false;
  }
  return trials_counted_in_budget(trials) >= *budget->n_trials();
}

}  // namespace knob
