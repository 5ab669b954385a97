#include "knob/report/study_tables.h"

#include <algorithm>
#include <cstdio>

#include "knob/core/clock.h"
#include "knob/core/printable.h"
#include "knob/report/text_table.h"
#include "knob/tuner/constraints.h"
#include "knob/tuner/study.h"

namespace knob {
namespace {

std::string directions_text(const std::vector<StudyDirection>& directions) {
  std::string out;
  for (auto d : directions) out += (out.empty() ? "" : ",") + to_string(d);
  return out;
}

std::string value_text(double x) { return dumps(Json(x)); }

std::string values_text(const std::vector<double>& values) {
  std::string out;
  for (double v : values) out += (out.empty() ? "" : ", ") + value_text(v);
  return out;
}

std::string params_text(const FrozenTrial& t) {
  std::string out;
  for (const auto& [name, v] : t.params())
    out += (out.empty() ? "" : ", ") + name + "=" + to_string(v);
  return out;
}

std::string constraints_text(const FrozenTrial& t) {
  auto constraints = trial_constraints(t);
  return constraints ? values_text(*constraints) : "";
}

std::string feasible_text(const FrozenTrial& t) {
  if (!trial_constraints(t)) return "-";
  return is_feasible(t) ? "yes" : "no";
}

// The Pareto front after the trials, for several objectives.
std::string front_text(const std::vector<FrozenTrial>& trials,
                       const std::vector<StudyDirection>& directions, bool constrained) {
  size_t complete = 0, infeasible = 0;
  for (const auto& t : trials) {
    if (t.state != TrialState::kComplete) continue;
    ++complete;
    if (!is_feasible(t)) ++infeasible;
  }
  if (complete == 0) return "";
  auto front = pareto_front(trials, directions);
  std::string text = "\nPareto front: " + std::to_string(front.size()) + " of " +
                     std::to_string(complete - infeasible) + " feasible COMPLETE trials";
  if (constrained) text += " (" + std::to_string(infeasible) + " infeasible)";
  text += "\n\n";
  std::vector<std::string> columns = {"number", "values"};
  if (constrained) columns.push_back("constraints");
  columns.push_back("params");
  TextTable table(columns);
  for (const FrozenTrial* t : front) {
    std::vector<std::string> row = {std::to_string(t->number), values_text(t->values)};
    if (constrained) row.push_back(constraints_text(*t));
    row.push_back(params_text(*t));
    table.add_row(row);
  }
  return text + table.str();
}

}  // namespace

std::string studies_table(const std::vector<StudySummary>& studies) {
  TextTable table({"name", "direction", "trials", "complete", "pruned", "fail", "running",
                   "waiting", "best", "started"});
  for (const auto& s : studies) {
    auto count = [&](TrialState state) {
      auto it = s.trial_counts.find(state);
      return std::to_string(it == s.trial_counts.end() ? 0 : it->second);
    };
    table.add_row({s.study_name, directions_text(s.directions), std::to_string(s.n_trials()),
                   count(TrialState::kComplete), count(TrialState::kPruned),
                   count(TrialState::kFail), count(TrialState::kRunning),
                   count(TrialState::kWaiting),
                   s.best_trial ? value_text(s.best_trial->values[0]) : "-",
                   s.datetime_start ? format_datetime(*s.datetime_start).substr(0, 19) : "-"});
  }
  return table.str();
}

Json studies_to_json(const std::vector<StudySummary>& studies) {
  Json out = Json::array();
  for (const auto& s : studies) {
    Json counts = Json::object();
    for (auto [state, n] : s.trial_counts) counts[to_string(state)] = n;
    Json item = Json::object();
    item["study_name"] = s.study_name;
    item["directions"] = directions_text(s.directions);
    item["n_trials"] = s.n_trials();
    item["trial_counts"] = std::move(counts);
    item["best_value"] = s.best_trial ? Json(s.best_trial->values[0]) : Json(nullptr);
    item["datetime_start"] =
        s.datetime_start ? Json(format_datetime(*s.datetime_start)) : Json(nullptr);
    out.push_back(std::move(item));
  }
  return out;
}

std::string study_trials_text(const std::string& study_name,
                              const std::vector<StudyDirection>& directions,
                              const std::vector<FrozenTrial>& trials) {
  const bool constrained = std::any_of(trials.begin(), trials.end(), [](const FrozenTrial& t) {
    return trial_constraints(t).has_value();
  });
  std::string text = "study " + printable(study_name) + " (" + directions_text(directions) + "), " +
                     std::to_string(trials.size()) + " trials";
  if (directions.size() == 1) {
    auto best = pareto_front(trials, directions);
    if (!best.empty()) {
      text += "; best: trial " + std::to_string(best[0]->number) + " with value " +
              value_text(best[0]->values[0]);
    }
  }
  text += "\n\n";
  std::vector<std::string> columns = {"number", "state", "values"};
  if (constrained) columns.insert(columns.end(), {"constraints", "feasible"});
  columns.insert(columns.end(), {"params", "duration_s", "note"});
  TextTable table(columns);
  for (const auto& t : trials) {
    std::string note;
    auto reason = t.system_attrs.find("fail_reason");
    if (reason != t.system_attrs.end() && reason->second.is_string()) note = reason->second;
    auto duration = t.duration_seconds();
    char seconds[32] = "-";
    if (duration) std::snprintf(seconds, sizeof seconds, "%.3f", *duration);
    std::vector<std::string> row = {std::to_string(t.number), to_string(t.state),
                                    values_text(t.values)};
    if (constrained) row.insert(row.end(), {constraints_text(t), feasible_text(t)});
    row.insert(row.end(), {params_text(t), seconds, note});
    table.add_row(row);
  }
  text += table.str();
  if (directions.size() > 1) text += front_text(trials, directions, constrained);
  return text;
}

std::vector<const FrozenTrial*> pareto_front(const std::vector<FrozenTrial>& trials,
                                             const std::vector<StudyDirection>& directions) {
  std::vector<const FrozenTrial*> candidates;
  for (const auto& t : trials) {
    if (t.state == TrialState::kComplete && t.values.size() == directions.size() &&
        is_feasible(t)) {
      candidates.push_back(&t);
    }
  }
  std::vector<const FrozenTrial*> front;
  for (const FrozenTrial* candidate : candidates) {
    bool dominated = std::any_of(candidates.begin(), candidates.end(), [&](const FrozenTrial* o) {
      return dominates(o->values, candidate->values, directions);
    });
    if (!dominated) front.push_back(candidate);
  }
  return front;
}

}  // namespace knob
