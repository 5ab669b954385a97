// RandomSampler: every parameter drawn independently and uniformly (log-uniformly for log
// distributions; uniformly over the grid points for stepped ones). Same seed, same trials.
//
// Example:
//   auto sampler = std::make_shared<knob::RandomSampler>(/*seed=*/42);
#pragma once

#include <optional>

#include "knob/core/random.h"
#include "knob/tuner/sampler.h"

namespace knob {

class RandomSampler : public Sampler {
 public:
  explicit RandomSampler(std::optional<uint64_t> seed = std::nullopt) : rng_(seed) {}

  double sample_independent(Study& study, const FrozenTrial& trial, const std::string& name,
                            const Distribution& distribution) override;

 private:
  Rng rng_;
};

// One uniform draw from `distribution` in its internal representation (shared by samplers
// that fall back to random sampling).
double sample_uniformly(Rng& rng, const Distribution& distribution);

}  // namespace knob
