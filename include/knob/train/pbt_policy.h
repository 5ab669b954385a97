// PBT's policy as pure functions (Jaderberg et al. 2017, with Ray Tune's
// PopulationBasedTraining rules): which members copy which (split_quantiles, choose_source) and
// how a copied config is explored (explore_knobs) — float, integer and categorical knobs. The
// one-process Population (population.h) and PBT inside a study (knob/run/pbt_study.h, any
// number of workers) both decide through these, with a generator seeded by pbt_seed(seed,
// generation, member): the same scores and seed give the same decision wherever it is computed.
//
// Example:
//   std::vector<MutableKnob> knobs = {
//       {"optimizer.lr", 1e-4, 0.1, true},
//       {"batch.size", 16, 256, true, KnobKind::kInt},
//       {"optimizer.kind", 0, 0, false, KnobKind::kCategorical, 0, {"sgd", "adam", "adamw"}}};
//   Rng rng(pbt_seed(seed, generation, member));
//   int64_t source = choose_source(scores, member, 0.25, rng);  // -1: keeps its own
//   if (source >= 0) next = explore_knobs(knobs, values[source], {1.2, 0.8}, 0.25, rng);
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "knob/core/param_value.h"
#include "knob/core/random.h"

namespace knob {

enum class KnobKind { kFloat, kInt, kCategorical };

// A knob that members perturb, with the range its initial values and resamples are drawn from
// and its perturbed values are kept in.
//   kFloat: uniform in [low, high] (log-uniform when `log`); perturbed = value x factor, clipped.
//   kInt: the same, then rounded to the grid low + k x step (step 0 means 1) and clipped; when
//     rounding undoes the perturbation (2 x 1.2 -> 2) the value moves one step the factor's way,
//     so small integers still explore.
//   kCategorical: `choices`, in order. Explore resamples with resample_probability (or when
//     the value is not a choice), else moves to a neighbouring choice (index +1 or -1, each
//     with probability 1/2, clipped to the list): Ray Tune's rule for lists.
struct MutableKnob {
  std::string key;
  double low = 0, high = 0;
  bool log = false;
  KnobKind kind = KnobKind::kFloat;
  double step = 0;  // kFloat, kInt: a grid from low (0: continuous, or 1 for ints)
  std::vector<ParamValue> choices = {};  // kCategorical
};

// The knobs' current values, by key (int64_t for kInt, double for kFloat, a choice otherwise).
using KnobValues = std::map<std::string, ParamValue>;

// Throws InvalidArgument naming `field`, the range or choices and what is allowed.
void validate_knob(const MutableKnob& knob, const std::string& field);

// A value drawn from the knob's range or choices.
ParamValue sample_knob(const MutableKnob& knob, Rng& rng);
// Every knob drawn, in order.
KnobValues sample_knobs(const std::vector<MutableKnob>& knobs, Rng& rng);

// One knob explored from `value`: resampled with `resample_probability`, else perturbed by one
// of `factors` (numbers) or moved to a neighbouring choice (categorical).
ParamValue perturb_knob(const MutableKnob& knob, const ParamValue& value,
                        const std::vector<double>& factors, double resample_probability, Rng& rng);
// Every knob explored, in order, from `values` (a knob missing from it is drawn afresh).
KnobValues explore_knobs(const std::vector<MutableKnob>& knobs, const KnobValues& values,
                         const std::vector<double>& factors, double resample_probability, Rng& rng);

// Which members copy and which are copied: (bottom, top) member indices by `scores` (higher
// is better; NaN counts as worst), worst first and best last; ties go to the lower index as the
// better. ceil(n x quantile_fraction) members each, at most n / 2 (Ray Tune's rule).
std::pair<std::vector<int64_t>, std::vector<int64_t>> split_quantiles(
    const std::vector<double>& scores, double quantile_fraction);

// The member `member` copies after a generation: a uniformly drawn member of the top quantile
// when `member` is in the bottom one, else -1 (it keeps its own checkpoint and knobs). Draws
// from `rng` only in the first case.
int64_t choose_source(const std::vector<double>& scores, int64_t member, double quantile_fraction,
                      Rng& rng);

// The seed of member `member`'s draws at `generation` (0: its initial knobs; g >= 1: the
// decision after its g-th segment), mixed from the population's `seed` (SplitMix64), so the
// decision does not depend on which worker computes it or in which order.
uint64_t pbt_seed(uint64_t seed, int64_t generation, int64_t member);

}  // namespace knob
