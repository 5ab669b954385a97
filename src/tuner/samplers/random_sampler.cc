#include "knob/tuner/samplers/random_sampler.h"

#include <algorithm>
#include <cmath>

namespace knob {

double sample_uniformly(Rng& rng, const Distribution& distribution) {
  if (const auto* f = std::get_if<FloatDistribution>(&distribution)) {
    if (f->log) return std::exp(rng.uniform(std::log(f->low), std::log(f->high)));
    if (f->step) {
      auto n = static_cast<int64_t>(std::llround((f->high - f->low) / *f->step));
      return f->low + static_cast<double>(rng.uniform_int(0, n)) * *f->step;
    }
    return rng.uniform(f->low, f->high);
  }
  if (const auto* i = std::get_if<IntDistribution>(&distribution)) {
    if (i->log) {
      // Log-uniform over [low - 0.5, high + 0.5], then rounded: each integer gets the mass
      // of its neighbourhood, as in Optuna.
      double x = std::exp(rng.uniform(std::log(i->low - 0.5), std::log(i->high + 0.5)));
      auto v = static_cast<int64_t>(std::llround(x));
      return static_cast<double>(std::clamp(v, i->low, i->high));
    }
    return static_cast<double>(i->low + rng.uniform_int(0, (i->high - i->low) / i->step) * i->step);
  }
  const auto& c = std::get<CategoricalDistribution>(distribution);
  return static_cast<double>(rng.uniform_int(0, static_cast<int64_t>(c.choices.size()) - 1));
}

double RandomSampler::sample_independent(Study&, const FrozenTrial&, const std::string&,
                                         const Distribution& distribution) {
  return sample_uniformly(rng_, distribution);
}

}  // namespace knob
