// Helpers shared by the sampler tests (not installed): a study on a given sampler, the
// Branin-Hoo objective (minimum 0.397887... at three points of x in [-5, 10], y in [0, 15]),
// an objective touching every kind of distribution, and small summaries.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "knob/storage/in_memory_storage.h"
#include "knob/tuner/samplers/random_sampler.h"
#include "knob/tuner/study.h"

namespace knob::testing {

// A study (opened if `name` exists in `storage`; in-memory by default) with no pruner.
inline Study study_with(std::shared_ptr<Sampler> sampler,
                        std::shared_ptr<Storage> storage = nullptr,
                        const std::string& name = "study") {
  if (!storage) storage = std::make_shared<InMemoryStorage>();
  return create_study(StudyOptions()
                          .storage_instance(std::move(storage))
                          .study_name(name)
                          .load_if_exists(true)
                          .sampler(std::move(sampler))
                          .pruner(std::make_shared<NopPruner>()));
}

inline double branin(Trial& t) {
  const double x = t.suggest_float("x", -5, 10);
  const double y = t.suggest_float("y", 0, 15);
  const double b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, s = 10, tt = 1 / (8 * M_PI);
  return std::pow(y - b * x * x + c * x - 6, 2) + s * (1 - tt) * std::cos(x) + s;
}
constexpr double kBraninMin = 0.397887357729739;

// Log, step, int, log int, int step and categorical parameters; 0 at lr 1e-3, drop 0.2,
// 3 layers, batch 64, 256 units and "adam".
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

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// Median Branin regrets over seeds 0 .. seeds-1 of `trials` trials each: of make(seed)'s
// sampler and of RandomSampler(seed), the floor it must beat.
struct MedianRegrets {
  double sampler, random;
};
inline MedianRegrets median_branin_regrets(
    const std::function<std::shared_ptr<Sampler>(uint64_t)>& make, int trials, int seeds) {
  std::vector<double> sampler, random;
  for (uint64_t seed = 0; seed < static_cast<uint64_t>(seeds); ++seed) {
    auto a = study_with(make(seed));
    a.optimize(branin, trials);
    sampler.push_back(a.best_value() - kBraninMin);
    auto b = study_with(std::make_shared<RandomSampler>(seed));
    b.optimize(branin, trials);
    random.push_back(b.best_value() - kBraninMin);
  }
  return {median(sampler), median(random)};
}

// Every trial's parameters, in trial order.
inline std::vector<std::map<std::string, ParamValue>> params_of(Study& study) {
  std::vector<std::map<std::string, ParamValue>> out;
  for (const auto& t : study.trials()) out.push_back(t.params());
  return out;
}

}  // namespace knob::testing
