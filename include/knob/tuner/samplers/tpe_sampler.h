// TpeSampler: the Tree-structured Parzen Estimator (Optuna 3.1's TPESampler, same defaults
// and options). After n_startup_trials random trials, each parameter is drawn from l(x), a
// Parzen estimator of the best gamma(n) trials, choosing among n_ei_candidates the draw
// that maximizes l(x) / g(x), g being the estimator of the rest.
//
// Univariate by default (one estimator per parameter, over the trials that have it);
// multivariate models the parameters every finished trial has jointly, and with `group`
// each set of parameters that appear together (conditional spaces) jointly. constant_liar
// counts running trials as the worst ones, so parallel workers spread out. Finished trials
// are cached (they never change); each ask reads the storage's trial counts and only what
// changed.
//
// Several objectives (MOTPE, as Optuna 3.1's TPESampler with several directions): the good
// trials are whole non-domination ranks, the last completed by greedy hypervolume subset
// selection, and l(x) weighs each by its hypervolume contribution; PRUNED trials are left
// out. Constraints (constraints.h: this constraints_func, StudyOptions::constraints_func or
// trials that carry "constraints"): infeasible trials are good only while the feasible ones
// do not fill the good set, least violating first; trials without constraints count as
// infinitely violating.
//
// Under a HyperbandPruner (a BOHB-like setup) the model for a trial is built only from the
// trials of that trial's bracket, as in Optuna: n_startup_trials, gamma and the search space
// count per bracket, and constant_liar lies only with the bracket's running trials. Each
// bracket keeps its own cache of finished trials.
//
// Example:
//   auto sampler = std::make_shared<knob::TpeSampler>(
//       knob::TpeOptions().n_startup_trials(10).multivariate(true).seed(42));
//   auto study = knob::create_study(knob::StudyOptions().sampler(sampler));
//
// Example (BOHB-like: TPE inside Hyperband brackets):
//   auto study = knob::create_study(
//       knob::StudyOptions()
//           .sampler(std::make_shared<knob::TpeSampler>(knob::TpeOptions().seed(42)))
//           .pruner(std::make_shared<knob::HyperbandPruner>(
//               knob::HyperbandPrunerOptions().min_resource(1).max_resource(27))));
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "knob/core/arg.h"
#include "knob/core/random.h"
#include "knob/tuner/constraints.h"
#include "knob/tuner/sampler.h"
#include "knob/tuner/samplers/random_sampler.h"

namespace knob {

// Optuna's default_gamma: min(ceil(0.1 n), 25) trials count as good.
int default_gamma(int n);
// Optuna's hyperopt_default_gamma: min(ceil(0.25 sqrt(n)), 25).
int hyperopt_default_gamma(int n);
// Optuna's default_weights: oldest-first weights of n observations, a ramp from 1/n up to 1
// for all but the newest 25, which weigh 1.
std::vector<double> default_weights(int n);

struct TpeOptions {
  // Keep the prior (a kernel over the whole range) in each mixture, with this weight.
  KNOB_ARG(bool, consider_prior) = true;
  KNOB_ARG(double, prior_weight) = 1.0;
  // Kernels at least (high - low) / min(100, n + 1) wide.
  KNOB_ARG(bool, consider_magic_clip) = true;
  // Widths of the outermost kernels also look at the distance to the bounds.
  KNOB_ARG(bool, consider_endpoints) = false;
  // Random trials before the model is used.
  KNOB_ARG(int, n_startup_trials) = 10;
  // Draws from l(x) scored by l(x) / g(x) for each sample.
  KNOB_ARG(int, n_ei_candidates) = 24;
  // Number of good trials among n.
  KNOB_ARG(std::function<int(int)>, gamma) = default_gamma;
  // Weights of n observations, oldest first.
  KNOB_ARG(std::function<std::vector<double>(int)>, weights) = default_weights;
  KNOB_ARG(std::optional<uint64_t>, seed);
  KNOB_ARG(bool, multivariate) = false;
  // Needs multivariate: one joint model per group of parameters that appear together.
  KNOB_ARG(bool, group) = false;
  KNOB_ARG(bool, constant_liar) = false;
  // Optuna's TPESampler(constraints_func): evaluated and stored in "constraints" as each
  // COMPLETE or PRUNED trial ends; values that are NaN or a throw store nothing.
  KNOB_ARG(ConstraintsFunc, constraints_func);
};

class TpeSampler : public Sampler {
 public:
  // Throws InvalidArgument naming the option for bad options.
  explicit TpeSampler(TpeOptions options = {});
  ~TpeSampler() override;

  const TpeOptions& options() const { return options_; }

  std::map<std::string, Distribution> infer_relative_search_space(
      Study& study, const FrozenTrial& trial) override;
  std::map<std::string, double> sample_relative(
      Study& study, const FrozenTrial& trial,
      const std::map<std::string, Distribution>& space) override;
  double sample_independent(Study& study, const FrozenTrial& trial, const std::string& name,
                            const Distribution& distribution) override;
  void after_trial(Study& study, const FrozenTrial& trial, TrialState state,
                   const std::vector<double>& values) override;

 private:
  struct Cache;
  // Brings the cache of finished (and, with constant_liar, running) trials up to date,
  // once per asked trial.
  void refresh(Study& study, const FrozenTrial& trial);
  // TPE over `space` (in order) on the observations that have its first parameter; empty
  // before n_startup_trials.
  std::map<std::string, double> sample_space(
      const std::vector<std::pair<std::string, Distribution>>& space, bool multi_objective);
  // Marks the cache's good observations (and, with several objectives, their weights) among
  // its observations: n_below of them.
  void split_good(size_t n_below, bool multi_objective, bool constrained);
  // +1 per minimized objective, -1 per maximized one.
  static std::vector<double> signs_of(Study& study);

  TpeOptions options_;
  Rng rng_;
  RandomSampler random_;
  std::unique_ptr<Cache> cache_;
};

}  // namespace knob
