// Helpers shared by the model-based samplers' tests (not installed): a study on a given
// storage, Branin, a search space with every kind of distribution, medians and the
// parameters of a study's trials.
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "knob/storage/in_memory_storage.h"
#include "knob/tuner/study.h"

namespace knob::testing {

inline Study study_with(std::shared_ptr<Sampler> sampler,
                        std::shared_ptr<Storage> storage = nullptr,
                        const std::string& name = "sampler") {
  if (!storage) storage = std::make_shared<InMemoryStorage>();
  return create_study(StudyOptions()
                          .storage_instance(std::move(storage))
                          .study_name(name)
                          .load_if_exists(true)
                          .sampler(std::move(sampler))
                          .pruner(std::make_shared<NopPruner>()));
}

// Branin on x in [-5, 10], y in [0, 15]; its minimum is kBraninMin.
inline double branin(Trial& t) {
  const double x = t.suggest_float("x", -5, 10);
  const double y = t.suggest_float("y", 0, 15);
  const double b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, s = 10, tt = 1 / (8 * M_PI);
  return std::pow(y - b * x * x + c * x - 6, 2) + s * (1 - tt) * std::cos(x) + s;
}
constexpr double kBraninMin = 0.397887357729739;

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// Log, stepped, int, log-int, stepped-int and categorical parameters; best 0 at lr 1e-3,
// drop 0.2, layers 3, batch 64, units 256, opt "adam".
inline double mixed(Trial& t) {
  double lr = t.suggest_float("lr", 1e-5, 1.0, {.log = true});
  double drop = t.suggest_float("drop", 0.0, 0.5, {.step = 0.05});
  int64_t layers = t.suggest_int("layers", 1, 8);
  int64_t batch = t.suggest_int("batch", 8, 1024, {.log = true});
  int64_t units = t.suggest_int("units", 16, 512, {.step = 16});
  auto opt = t.suggest_categorical<std::string>("opt", {"sgd", "adam", "adamw", "rmsprop"});
  return std::pow(std::log10(lr) + 3, 2) + std::abs(drop - 0.2) * 4 + std::abs(layers - 3) +
         std::abs(std::log2(static_cast<double>(batch)) - 6) + std::abs(units - 256) / 64.0 +
         (opt == "adam" ? 0.0 : 2.0);
}

inline std::vector<std::map<std::string, ParamValue>> params_of(Study& study) {
  std::vector<std::map<std::string, ParamValue>> out;
  for (const auto& t : study.trials()) out.push_back(t.params());
  return out;
}

}  // namespace knob::testing
