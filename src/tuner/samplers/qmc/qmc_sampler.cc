#include "knob/tuner/samplers/qmc_sampler.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <random>

#include "knob/core/error.h"
#include "knob/tuner/samplers/random_sampler.h"
#include "knob/tuner/study.h"
#include "tuner/samplers/qmc/sobol.h"

namespace knob {

namespace {

// Rounded to the grid low + k step (half to even, as numpy.round), clipped to [low, high].
double on_grid(double x, double low, double high, double step) {
  return std::clamp(std::nearbyint((x - low) / step) * step + low, low, high);
}

// Below high unless the range is a single value: a float draw never reaches high.
double below_high(double x, double low, double high) {
  return low == high ? x : std::min(x, std::nextafter(high, low));
}

}  // namespace

double from_unit_interval(const Distribution& distribution, double u) {
  if (const auto* f = std::get_if<FloatDistribution>(&distribution)) {
    if (f->log) {
      const double lo = std::log(f->low), hi = std::log(f->high);
      return below_high(std::exp(lo + u * (hi - lo)), f->low, f->high);
    }
    if (f->step) {
      const double lo = f->low - 0.5 * *f->step, hi = f->high + 0.5 * *f->step;
      return on_grid(lo + u * (hi - lo), f->low, f->high, *f->step);
    }
    return below_high(f->low + u * (f->high - f->low), f->low, f->high);
  }
  const auto& i = std::get<IntDistribution>(distribution);
  const auto low = static_cast<double>(i.low), high = static_cast<double>(i.high);
  if (i.log) {
    const double lo = std::log(low - 0.5), hi = std::log(high + 0.5);
    return std::clamp(std::nearbyint(std::exp(lo + u * (hi - lo))), low, high);
  }
  const auto step = static_cast<double>(i.step);
  return on_grid(low - 0.5 * step + u * (high - low + step), low, high, step);
}

QmcSampler::QmcSampler(QmcOptions options) : options_(std::move(options)) {
  KNOB_CHECK(options_.qmc_type() == "sobol", "qmc_type", options_.qmc_type(),
             "must be \"sobol\" (Halton sequences are not implemented)");
  std::random_device device;
  seed_ = options_.seed() ? *options_.seed() : (static_cast<uint64_t>(device()) << 32) ^ device();
  if (!options_.independent_sampler()) {
    options_.independent_sampler(std::make_shared<RandomSampler>(options_.seed()));
  }
}

QmcSampler::~QmcSampler() = default;

std::map<std::string, Distribution> QmcSampler::infer_relative_search_space(Study& study,
                                                                            const FrozenTrial&) {
  if (space_) return *space_;
  const auto finished = study.trials({TrialState::kComplete, TrialState::kPruned});
  if (finished.empty()) return {};
  const auto first = std::min_element(finished.begin(), finished.end(),
                                      [](auto& a, auto& b) { return a.number < b.number; });
  space_.emplace();
  for (const auto& [name, distribution] : first->distributions) {
    if (std::holds_alternative<CategoricalDistribution>(distribution)) continue;
    // Beyond the dimensions with direction numbers, parameters are sampled independently.
    if (static_cast<int>(space_->size()) == detail::SobolSequence::max_dims()) break;
    space_->emplace(name, distribution);
  }
  return *space_;
}

std::map<std::string, double> QmcSampler::sample_relative(
    Study&, const FrozenTrial& trial, const std::map<std::string, Distribution>& space) {
  if (space.empty()) return {};
  assert(space_ && space == *space_);
  if (!sobol_) {
    Rng rng(seed_);
    sobol_ = std::make_unique<detail::SobolSequence>(static_cast<int>(space.size()),
                                                     options_.scramble() ? &rng : nullptr);
  }
  const std::vector<double> u = sobol_->point(static_cast<uint64_t>(trial.number));
  std::map<std::string, double> params;
  size_t d = 0;
  for (const auto& [name, distribution] : space) {
    params.emplace(name, from_unit_interval(distribution, u[d++]));
  }
  return params;
}

double QmcSampler::sample_independent(Study& study, const FrozenTrial& trial,
                                      const std::string& name, const Distribution& distribution) {
  if (space_ && options_.warn_independent_sampling() && warned_.insert(name).second) {
    std::fprintf(stderr,
                 "knob: QmcSampler samples parameter '%s' (trial %lld) independently: it is "
                 "categorical or not in the search space of the first finished trial "
                 "(set warn_independent_sampling to false to silence this)\n",
                 name.c_str(), static_cast<long long>(trial.number));
  }
  return options_.independent_sampler()->sample_independent(study, trial, name, distribution);
}

void QmcSampler::after_trial(Study& study, const FrozenTrial& trial, TrialState state,
                             const std::vector<double>& values) {
  options_.independent_sampler()->after_trial(study, trial, state, values);
}

}  // namespace knob
