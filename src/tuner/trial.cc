#include "knob/tuner/trial.h"

#include "knob/core/error.h"
#include "knob/tuner/study.h"

namespace knob {
namespace {

// Re-throws a distribution's validation error with the parameter's name in front.
template <typename Make>
auto make_distribution(const std::string& call, const std::string& name, Make&& make) {
  try {
    return make();
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(call + "('" + name + "'): " + e.what());
  }
}

double single_value(const Distribution& distribution) {
  if (const auto* f = std::get_if<FloatDistribution>(&distribution)) return f->low;
  if (const auto* i = std::get_if<IntDistribution>(&distribution))
    return static_cast<double>(i->low);
  return 0.0;
}

}  // namespace

Trial::Trial(Study& study, int64_t trial_id)
    : study_(study), snapshot_(study.storage().trial(trial_id)) {}

double Trial::suggest_float(const std::string& name, double low, double high,
                            FloatOptions options) {
  auto distribution = make_distribution("suggest_float", name, [&] {
    return FloatDistribution(low, high, options.log, options.step);
  });
  return std::get<double>(suggest(name, distribution));
}

int64_t Trial::suggest_int(const std::string& name, int64_t low, int64_t high, IntOptions options) {
  auto distribution = make_distribution(
      "suggest_int", name, [&] { return IntDistribution(low, high, options.log, options.step); });
  return std::get<int64_t>(suggest(name, distribution));
}

ParamValue Trial::suggest_categorical(const std::string& name,
                                      const std::vector<ParamValue>& choices) {
  auto distribution = make_distribution("suggest_categorical", name,
                                        [&] { return CategoricalDistribution(choices); });
  return suggest(name, distribution);
}

ParamValue Trial::suggest(const std::string& name, const Distribution& distribution) {
  KNOB_CHECK(!name.empty(), "parameter name", name, "must not be empty");
  if (auto it = snapshot_.internal_params.find(name); it != snapshot_.internal_params.end()) {
    const Distribution& earlier = snapshot_.distributions.at(name);
    check_compatible(name, earlier, distribution);
    return to_external(earlier, it->second);
  }
  double internal = sample(name, distribution);
  study_.storage().set_trial_param(snapshot_.trial_id, name, internal, distribution);
  snapshot_.internal_params[name] = internal;
  snapshot_.distributions.insert_or_assign(name, distribution);
  return to_external(distribution, internal);
}

double Trial::sample(const std::string& name, const Distribution& distribution) {
  auto fixed = snapshot_.system_attrs.find("fixed_params");
  if (fixed != snapshot_.system_attrs.end() && fixed->second.is_object() &&
      fixed->second.contains(name)) {
    const std::string field = "fixed_params." + name;
    return to_internal(distribution, param_value_from_json(fixed->second[name], field), field);
  }
  if (is_single(distribution)) return single_value(distribution);
  std::lock_guard<std::recursive_mutex> lock(study_.shared_->model_mutex);
  if (!relative_params_) {
    relative_space_ = study_.sampler().infer_relative_search_space(study_, snapshot_);
    relative_params_ = relative_space_.empty()
                           ? std::map<std::string, double>{}
                           : study_.sampler().sample_relative(study_, snapshot_, relative_space_);
  }
  auto relative = relative_params_->find(name);
  auto space = relative_space_.find(name);
  if (relative != relative_params_->end() && space != relative_space_.end() &&
      space->second == distribution) {
    return relative->second;
  }
  return study_.sampler().sample_independent(study_, snapshot_, name, distribution);
}

void Trial::report(double value, int64_t step) {
  if (study_.is_multi_objective()) {
    throw Error("Trial::report is not supported in multi-objective studies (as in Optuna)");
  }
  KNOB_CHECK(step >= 0, "step", step, "must be >= 0");
  if (!snapshot_.intermediate_values.count(step)) {  // first report of a step wins
    snapshot_.intermediate_values[step] = value;
    study_.buffer_report(snapshot_.trial_id, step, value);
  }
  if (study_.interrupted()) throw TrialInterrupted();
}

void Trial::flush_reports() { study_.flush_reports(snapshot_.trial_id); }

Trial::~Trial() {
  try {
    flush_reports();
  } catch (...) {
    // A destructor must not throw; the storage has already reported the failure elsewhere.
  }
}

bool Trial::should_prune() {
  if (study_.is_multi_objective()) {
    throw Error("Trial::should_prune is not supported in multi-objective studies (as in Optuna)");
  }
  if (study_.interrupted()) throw TrialInterrupted();
  std::lock_guard<std::recursive_mutex> lock(study_.shared_->model_mutex);
  return study_.pruner_->prune(study_, snapshot_);
}

void Trial::set_user_attr(const std::string& key, const Json& value) {
  study_.storage().set_trial_user_attr(snapshot_.trial_id, key, value);
  snapshot_.user_attrs[key] = value;
}

}  // namespace knob
