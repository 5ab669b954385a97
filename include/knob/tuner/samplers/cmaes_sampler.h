// CmaEsSampler: CMA-ES over the numeric parameters every completed trial has (Optuna 3.1's
// CmaEsSampler, same defaults and options; not its separable CMA or warm start): log
// parameters in log space, int/step ones rounded onto their grid (or, with_margin, kept from
// collapsing by the margin correction), IPOP restarts with a growing population. Categorical
// parameters, parameters outside that space, one-parameter spaces and the first
// n_startup_trials go to the independent sampler (random).
//
// Its state lives in the storage, so processes sharing one SQLite or PostgreSQL study continue
// one search. As in Optuna, each CMA trial carries its generation ("cma:generation", or
// "cma:restart_<r>:generation" with restarts, and "cma:n_restarts"; "cmawm:" with_margin, plus
// "x_for_tell"), and the trial whose ask completes a generation (popsize completed trials,
// first by number) tells it and stores the optimizer as JSON ("cma:knob_state"); an ask
// restores the one of the latest finished trial holding a state. Parsed states are cached, so
// an ask reads only what changed. Draws are seeded from (seed, trial number).
//
// Example:
//   auto sampler = std::make_shared<knob::CmaEsSampler>(
//       knob::CmaEsOptions().restart_strategy("ipop").seed(42));
//   auto study = knob::create_study(knob::StudyOptions().sampler(sampler));
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "knob/core/arg.h"
#include "knob/core/random.h"
#include "knob/tuner/sampler.h"

namespace knob {

struct CmaEsOptions {
  // Initial mean by parameter name (external values); empty: the middle of each range.
  using Point = std::map<std::string, double>;
  KNOB_ARG(Point, x0);
  // Initial step size (in the transformed space); default: the smallest range / 6.
  KNOB_ARG(std::optional<double>, sigma0);
  // Completed trials before CMA-ES is used.
  KNOB_ARG(int, n_startup_trials) = 1;
  // For categoricals, parameters outside the relative space and startup trials; default:
  // RandomSampler with `seed`.
  KNOB_ARG(std::shared_ptr<Sampler>, independent_sampler);
  // Warn (stderr) when a parameter is sampled independently after the startup trials.
  KNOB_ARG(bool, warn_independent_sampling) = true;
  KNOB_ARG(std::optional<uint64_t>, seed);
  // PRUNED trials count with their last intermediate value.
  KNOB_ARG(bool, consider_pruned_trials) = false;
  // "none" or "ipop" (restart with inc_popsize times the population when CMA-ES stalls).
  KNOB_ARG(std::string, restart_strategy) = "none";
  // Population size; default 4 + floor(3 ln n).
  KNOB_ARG(std::optional<int>, popsize);
  KNOB_ARG(int, inc_popsize) = 2;
  // CMA-ES with margin for int and stepped float parameters.
  KNOB_ARG(bool, with_margin) = false;
};

class CmaEsSampler : public Sampler {
 public:
  // Throws InvalidArgument naming the option for bad options.
  explicit CmaEsSampler(CmaEsOptions options = {});
  ~CmaEsSampler() override;

  const CmaEsOptions& options() const { return options_; }

  std::map<std::string, Distribution> infer_relative_search_space(
      Study& study, const FrozenTrial& trial) override;
  // Throws InvalidArgument for multi-objective studies and for an x0 that lacks a parameter
  // or lies outside its range.
  std::map<std::string, double> sample_relative(
      Study& study, const FrozenTrial& trial,
      const std::map<std::string, Distribution>& space) override;
  double sample_independent(Study& study, const FrozenTrial& trial, const std::string& name,
                            const Distribution& distribution) override;
  void after_trial(Study& study, const FrozenTrial& trial, TrialState state,
                   const std::vector<double>& values) override;

 private:
  struct Cache;
  struct Space;
  // Brings the cache of completed (and maybe pruned) trials up to date, once per asked trial.
  void refresh(Study& study, const FrozenTrial& trial);

  CmaEsOptions options_;
  uint64_t seed_;  // base of every per-trial and per-restart seed
  std::unique_ptr<Cache> cache_;
};

}  // namespace knob
