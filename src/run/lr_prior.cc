#include "knob/run/lr_prior.h"

#include <cmath>
#include <iostream>

#include "knob/core/json.h"

namespace knob::run {
namespace {

// The stored prior's learning rate, or NaN when it is missing or not a positive finite number.
double stored_lr(const std::map<std::string, Json>& attrs, const std::string& key) {
  const auto it = attrs.find(key);
  if (it == attrs.end() || !it->second.is_object()) return NAN;
  const Json& lr = it->second.value("lr", Json());
  if (!lr.is_number()) return NAN;
  const double value = lr.get<double>();
  return std::isfinite(value) && value > 0 ? value : NAN;
}

}  // namespace

std::string lr_prior_key(const TrainConfig& config) {
  return "knob:lr_prior:" + config.optimizer.kind;
}

bool apply_lr_prior(Study& study, TrainConfig& config, int64_t trial_number,
                    const std::function<LrFindResult(const TrainConfig&)>& find_lr) {
  if (!config.lr_find.use || std::isfinite(config.lr_find.known)) return false;
  const std::string key = lr_prior_key(config);
  const double known = stored_lr(study.user_attrs(), key);
  if (std::isfinite(known)) {
    config.lr_find.known = known;
    return false;
  }
  const LrFindResult found = find_lr(config);
  config.lr_find.known = suggested_lr(found, config.lr_find);
  study.set_user_attr(key, Json{{"lr", found.lr},
                                {"batch_size", found.batch_size},
                                {"suggestion", found.chosen},
                                {"trial", trial_number}});
  std::cerr << "[knob] range test for optimizer.kind = " << config.optimizer.kind << ": "
            << found.chosen << " " << found.lr << ", kept as the study's " << key << "\n";
  return true;
}

}  // namespace knob::run
