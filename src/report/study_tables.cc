#include "knob/report/study_tables.h"

#include <cstdio>

#include "knob/core/clock.h"
#include "knob/report/text_table.h"

namespace knob {
namespace {

std::string directions_text(const std::vector<StudyDirection>& directions) {
  std::string out;
  for (auto d : directions) out += (out.empty() ? "" : ",") + to_string(d);
  return out;
}

std::string value_text(double x) { return dumps(Json(x)); }

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
  StudySummary summary;
  summary.directions = directions;
  summarize_trials(trials, summary);
  std::string text = "study " + study_name + " (" + directions_text(directions) + "), " +
                     std::to_string(trials.size()) + " trials";
  if (summary.best_trial) {
    text += "; best: trial " + std::to_string(summary.best_trial->number) + " with value " +
            value_text(summary.best_trial->values[0]);
  }
  text += "\n\n";
  TextTable table({"number", "state", "values", "params", "duration_s", "note"});
  for (const auto& t : trials) {
    std::string values, params, note;
    for (double v : t.values) values += (values.empty() ? "" : ", ") + value_text(v);
    for (const auto& [name, v] : t.params()) {
      params += (params.empty() ? "" : ", ") + name + "=" + to_string(v);
    }
    auto reason = t.system_attrs.find("fail_reason");
    if (reason != t.system_attrs.end() && reason->second.is_string()) note = reason->second;
    auto duration = t.duration_seconds();
    char seconds[32] = "-";
    if (duration) std::snprintf(seconds, sizeof seconds, "%.3f", *duration);
    table.add_row({std::to_string(t.number), to_string(t.state), values, params, seconds, note});
  }
  return text + table.str();
}

}  // namespace knob
