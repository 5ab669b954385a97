// CurvePruner: extrapolates a trial's learning curve — its intermediate values so far — to its
// last step and stops the trial when it is unlikely to beat the best completed trial there
// (Domhan, Springenberg & Hutter 2015, "Speeding up automatic hyperparameter optimization of
// deep neural networks by extrapolation of learning curves"). The curve is fitted by a weighted
// set of parametric families (pow3, pow4, exp3, ilog2, MMF, Weibull, log-linear) by least
// squares, each family weighted by its fit (BIC), with a predictive spread from its residuals
// and parameter uncertainty: deterministic, where Domhan samples by MCMC. The trial is pruned
// when P(value at the last step beats the best) < probability. Direction-aware: "beats" is
// above for a maximized study, below for a minimized one.
//
// The best is the best last intermediate value of the completed trials. The last step is
// max_resource - 1 (steps 0, 1, ..., as HyperbandPruner's max_resource counts them): the
// option if set, else the trial's user attribute "max_resource" (knob's trainer sets it to
// train.epochs), else ("auto") the last step of the longest completed trial.
//
// Example:
//   auto pruner = std::make_shared<knob::CurvePruner>(
//       knob::CurvePrunerOptions().max_resource(50).probability(0.05));
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <utility>

#include "knob/core/arg.h"
#include "knob/tuner/pruner.h"
#include "knob/tuner/pruners/new_completed_trials.h"

namespace knob {

struct CurvePrunerOptions {
  // Steps a full trial reports (its last step + 1); unset is "auto" (see above).
  KNOB_ARG(std::optional<int64_t>, max_resource);
  // Prune when P(the last step's value beats the best) is below this, in (0, 1); Domhan's 5%.
  KNOB_ARG(double, probability) = 0.05;
  // No pruning until this many trials have completed (the best must be worth beating).
  KNOB_ARG(int64_t, n_startup_trials) = 5;
  // No pruning before this step of a trial.
  KNOB_ARG(int64_t, n_warmup_steps) = 0;
  // Prune only every this many steps after the warm-up.
  KNOB_ARG(int64_t, interval_steps) = 1;
  // Reported values (finite ones) needed before a curve is fitted: the families with fewer
  // parameters than this many values take part.
  KNOB_ARG(int64_t, min_reports) = 5;
};

class CurvePruner : public Pruner {
 public:
  // Throws InvalidArgument for max_resource < 2, a probability outside (0, 1), negative
  // counts, interval_steps < 1 or min_reports < 3.
  explicit CurvePruner(CurvePrunerOptions options = {});
  bool prune(Study& study, const FrozenTrial& trial) override;
  const CurvePrunerOptions& options() const { return options_; }

  // P(the trial's value at `last_step` beats `best`), from its intermediate values; nullopt
  // when there are too few of them to fit (fewer than min_reports).
  std::optional<double> probability_to_beat(const FrozenTrial& trial, int64_t last_step,
                                            double best, bool maximize) const;

 private:
  // Reads the trials completed since the last call (finished trials never change).
  void refresh(Study& study);

  CurvePrunerOptions options_;
  detail::NewCompletedTrials completed_;
  std::optional<double> best_max_, best_min_;  // best last values, by direction
  std::optional<int64_t> longest_last_step_;   // of the completed trials
};

}  // namespace knob
