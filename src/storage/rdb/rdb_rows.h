// Optuna's RDB encoding, shared by the SQLite and PostgreSQL backends (internal to the
// storage module): how values are tagged, and how the rows of the trial tables fill a
// FrozenTrial. `Row` is any result row with is_null/int64/real/text(column).
#pragma once

#include <cmath>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "knob/core/error.h"
#include "knob/storage/frozen_trial.h"
#include "knob/storage/storage.h"

namespace knob::detail {

// Optuna stores +-inf as NULL with a type tag (and asserts the NULL when reading
// trial_values); NaN only for intermediate values.
inline const char* value_type(double value) {
  if (std::isnan(value)) return "NAN";
  if (std::isinf(value)) return value > 0 ? "INF_POS" : "INF_NEG";
  return "FINITE";
}

// The number a value column stores for `value` (non-finite ones are NULL: pass NaN).
inline double value_to_store(double value) { return std::isfinite(value) ? value : std::nan(""); }

template <class Row>
double stored_value(const Row& row, int value_column, int type_column) {
  std::string type = row.text(type_column);
  if (type == "INF_POS") return HUGE_VAL;
  if (type == "INF_NEG") return -HUGE_VAL;
  if (type == "NAN" || row.is_null(value_column)) return std::nan("");
  return row.real(value_column);
}

// The trial tables read after `trials`, each with the columns its select lists (the table is
// aliased x; column 0 is always the trial id). Pass each row with its table to read_row.
enum class TrialTable { kParams, kValues, kIntermediateValues, kUserAttrs, kSystemAttrs };
struct TrialTableQuery {
  TrialTable table;
  const char* select;
  const char* from;
};
inline constexpr TrialTableQuery kTrialTableQueries[] = {
    {TrialTable::kParams, "SELECT x.trial_id, x.param_name, x.param_value, x.distribution_json",
     "trial_params"},
    {TrialTable::kValues, "SELECT x.trial_id, x.objective, x.value, x.value_type", "trial_values"},
    {TrialTable::kIntermediateValues,
     "SELECT x.trial_id, x.step, x.intermediate_value, x.intermediate_value_type",
     "trial_intermediate_values"},
    {TrialTable::kUserAttrs, "SELECT x.trial_id, x.\"key\", x.value_json", "trial_user_attributes"},
    {TrialTable::kSystemAttrs, "SELECT x.trial_id, x.\"key\", x.value_json",
     "trial_system_attributes"},
};

// Parsed distributions by JSON text (the same JSON repeats in every trial).
using DistributionCache = std::unordered_map<std::string, Distribution>;

template <class Row>
void read_row(TrialTable table, const Row& q, FrozenTrial& t, DistributionCache& parsed) {
  switch (table) {
    case TrialTable::kParams: {
      std::string json = q.text(3);
      auto it = parsed.find(json);
      if (it == parsed.end()) {
        it = parsed.emplace(json, json_to_distribution(json, "trial_params.distribution_json"))
                 .first;
      }
      std::string name = q.text(1);
      t.internal_params[name] = q.real(2);
      t.distributions.insert_or_assign(name, it->second);
      break;
    }
    case TrialTable::kValues: {
      auto objective = static_cast<size_t>(q.int64(1));
      if (t.values.size() <= objective) t.values.resize(objective + 1, std::nan(""));
      t.values[objective] = stored_value(q, 2, 3);
      break;
    }
    case TrialTable::kIntermediateValues:
      t.intermediate_values[q.int64(1)] = stored_value(q, 2, 3);
      break;
    case TrialTable::kUserAttrs:
      t.user_attrs[q.text(1)] = loads(q.text(2), "trial_user_attributes.value_json");
      break;
    case TrialTable::kSystemAttrs:
      t.system_attrs[q.text(1)] = loads(q.text(2), "trial_system_attributes.value_json");
      break;
  }
}

// The summaries of `studies` (id, name), read through the storage's own methods; a study
// deleted by another process meanwhile is left out.
inline std::vector<StudySummary> summarize_studies(
    Storage& storage, const std::vector<std::pair<int64_t, std::string>>& studies) {
  std::vector<StudySummary> out;
  for (const auto& [id, name] : studies) {
    StudySummary summary;
    summary.study_id = id;
    summary.study_name = name;
    try {
      summary.directions = storage.study_directions(id);
      summary.user_attrs = storage.study_user_attrs(id);
      summarize_trials(storage.trials(id), summary);
    } catch (const NotFound&) {
      continue;
    }
    out.push_back(std::move(summary));
  }
  return out;
}

}  // namespace knob::detail
