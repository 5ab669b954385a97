// How a model-based sampler splits a study's trials (internal): under a HyperbandPruner the
// model for a trial sees only the trials of that trial's bracket (Optuna's _filter_study);
// otherwise all trials are one bracket, 0. Shared by the samplers that cache their
// observations (TPE, GP): they keep one view per bracket and split again when the split
// changes (another pruner, or an "auto" max_resource just resolved into brackets).
//
// Example:
//   const auto split = detail::BracketSplit::of(study);
//   if (split != cache.split) cache.reset(split);
//   auto& view = cache.brackets[split.bracket_of(study, trial.number)];
#pragma once

#include <cstdint>

#include "knob/tuner/pruners/hyperband_pruner.h"
#include "knob/tuner/study.h"

namespace knob::detail {

struct BracketSplit {
  const HyperbandPruner* hyperband = nullptr;  // null: one bracket
  int64_t n_brackets = 0;

  static BracketSplit of(Study& study) {
    const auto* hyperband = dynamic_cast<const HyperbandPruner*>(&study.pruner());
    return {hyperband, hyperband ? hyperband->n_brackets() : 0};
  }
  int64_t bracket_of(const Study& study, int64_t trial_number) const {
    return hyperband ? hyperband->bracket_of(study.study_name(), trial_number) : 0;
  }
  bool operator==(const BracketSplit&) const = default;
};

}  // namespace knob::detail
