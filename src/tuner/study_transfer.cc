#include "knob/tuner/study_transfer.h"

#include <cmath>

#include "knob/core/error.h"
#include "knob/storage/open_storage.h"

namespace knob {
namespace {

std::string values_text(const std::vector<double>& values) { return dumps(Json(values)); }

// A parameter value as Optuna's _should_skip_enqueue compares it.
bool same_param(const ParamValue& wanted, const ParamValue& existing) {
  const bool wanted_number = std::holds_alternative<double>(wanted) ||
                             std::holds_alternative<int64_t>(wanted) ||
                             std::holds_alternative<bool>(wanted);
  // isinstance(wanted, type(existing)): a bool is an int, an int is not a float.
  bool same_type =
      wanted.index() == existing.index() ||
      (std::holds_alternative<bool>(wanted) && std::holds_alternative<int64_t>(existing));
  if (!same_type) return false;
  if (!wanted_number) return wanted == existing;
  const double a = as_double(wanted), b = as_double(existing);
  return std::isnan(a) || std::abs(a - b) <= 1e-5 * std::abs(b);
}

}  // namespace

std::map<std::string, Distribution> trial_distributions(const std::vector<FrozenTrial>& trials) {
  std::map<std::string, Distribution> out;
  for (const auto& t : trials) {
    for (const auto& [name, d] : t.distributions) out.insert_or_assign(name, d);
  }
  return out;
}

void check_trial_to_add(const FrozenTrial& trial, const std::vector<StudyDirection>& directions,
                        const std::map<std::string, Distribution>& known,
                        const std::string& where) {
  const std::string at = where + ": ";
  KNOB_CHECK(is_finished(trial.state), at + "state", to_string(trial.state),
             "must be COMPLETE, PRUNED or FAIL (only finished trials are added; enqueue "
             "parameters to run them)");
  const std::string n = std::to_string(directions.size());
  if (trial.state == TrialState::kComplete) {
    KNOB_CHECK(trial.values.size() == directions.size(), at + "values", values_text(trial.values),
               "a COMPLETE trial needs " + n + " value(s), one per direction of the study");
    for (double v : trial.values) {
      KNOB_CHECK(!std::isnan(v), at + "values", values_text(trial.values), "must not be NaN");
    }
  } else if (trial.state == TrialState::kFail) {
    KNOB_CHECK(trial.values.empty(), at + "values", values_text(trial.values),
               "must be empty for a FAIL trial");
  } else {
    KNOB_CHECK(trial.values.empty() || trial.values.size() == directions.size(), at + "values",
               values_text(trial.values), "must be empty or " + n + " value(s)");
  }
  for (const auto& [name, internal] : trial.internal_params) {
    auto d = trial.distributions.find(name);
    KNOB_CHECK(d != trial.distributions.end(), at + "params." + name, internal,
               "has no distribution");
    if (!contains(d->second, internal)) {
      const bool categorical = std::holds_alternative<CategoricalDistribution>(d->second);
      throw_invalid(at + "params." + name,
                    categorical ? "choice index " + dumps(Json(internal))
                                : to_string(to_external(d->second, internal)),
                    "is outside its distribution " + distribution_to_json(d->second));
    }
    if (auto k = known.find(name); k != known.end()) {
      try {
        check_compatible(name, k->second, d->second);
      } catch (const InvalidArgument& e) {
        throw InvalidArgument(at + e.what());
      }
    }
  }
  for (const auto& [name, d] : trial.distributions) {
    KNOB_CHECK(trial.internal_params.count(name), at + "distributions." + name,
               distribution_to_json(d), "has no value in params");
  }
}

bool params_repeat_a_trial(const std::map<std::string, ParamValue>& params,
                           const std::vector<FrozenTrial>& trials) {
  for (const auto& t : trials) {
    std::map<std::string, ParamValue> existing;
    auto fixed = t.system_attrs.find("fixed_params");
    if (fixed != t.system_attrs.end() && fixed->second.is_object()) {
      for (const auto& [name, value] : fixed->second.items()) {
        if (value.is_array() || value.is_object()) continue;
        existing[name] = param_value_from_json(value);
      }
    } else {
      existing = t.params();
    }
    if (existing.size() != params.size()) continue;
    bool repeated = true;
    for (const auto& [name, value] : params) {
      auto e = existing.find(name);
      if (e == existing.end() || !same_param(value, e->second)) {
        repeated = false;
        break;
      }
    }
    if (repeated) return true;
  }
  return false;
}

CopyStudyResult copy_study(Storage& from, const std::string& from_study, Storage& to,
                           const std::string& to_study) {
  const int64_t source = from.study_id_from_name(from_study);
  const std::vector<StudyDirection> directions = from.study_directions(source);
  const auto user_attrs = from.study_user_attrs(source);
  const auto system_attrs = from.study_system_attrs(source);
  CopyStudyResult result;
  std::vector<FrozenTrial> finished;
  for (auto& t : from.trials(source)) {
    if (!is_finished(t.state)) {
      ++result.n_unfinished_skipped;
      continue;
    }
    check_trial_to_add(t, directions, {},
                       "study '" + from_study + "' trial " + std::to_string(t.number));
    finished.push_back(std::move(t));
  }
  const int64_t dest = to.create_study(to_study, directions);  // AlreadyExists: nothing written
  for (const auto& [key, value] : system_attrs) to.set_study_system_attr(dest, key, value);
  for (const auto& [key, value] : user_attrs) to.set_study_user_attr(dest, key, value);
  for (const auto& t : finished) to.create_trial(dest, &t);
  result.n_copied = static_cast<int64_t>(finished.size());
  return result;
}

CopyStudyResult copy_study(const std::string& from_storage, const std::string& from_study,
                           const std::string& to_storage, const std::string& to_study) {
  std::shared_ptr<Storage> from = open_storage(from_storage);
  std::shared_ptr<Storage> to = to_storage == from_storage ? from : open_storage(to_storage);
  return copy_study(*from, from_study, *to, to_study);
}

}  // namespace knob
