// GpSampler: Gaussian-process Bayesian optimization (defaults of Optuna 3.6+'s GPSampler).
// After n_startup_trials random trials, the parameters every COMPLETE trial has (the
// intersection search space) are modelled by a GP — Matérn-5/2 kernel with one length scale
// per parameter, hyperparameters fitted by marginal likelihood with weak priors — and the next
// point maximizes log expected improvement. Parameters outside that space, and every
// parameter of a multi-objective study, are sampled at random.
//
// Each parameter is mapped to [0, 1] (in log space for log distributions; int and stepped
// bounds widened by half a step, values rounded back onto the grid); a categorical one counts
// 0 or 1 in the kernel's distance. Observations are the COMPLETE trials with a finite value
// (running, pruned and failed trials are ignored), standardized. Cost per ask with n
// observations: O(n³) for the fit (hyperparameters are refitted, warm-started, while n < 100
// and then each time n has grown by 10%); between fits the Cholesky factor grows by one row
// per new observation, O(n²). Then O(n²) per scored candidate and local-search move.
//
// Under a HyperbandPruner the GP for a trial is fitted only to the COMPLETE trials of that
// trial's bracket (as Optuna's samplers see only the bracket), one cache per bracket.
//
// Example:
//   auto sampler = std::make_shared<knob::GpSampler>(knob::GpOptions().seed(42));
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
#include "knob/tuner/samplers/random_sampler.h"

namespace knob {

struct GpOptions {
  KNOB_ARG(std::optional<uint64_t>, seed);
  // Random trials (COMPLETE ones with a value) before the GP is used.
  KNOB_ARG(int, n_startup_trials) = 10;
  // True: the objective has no noise; the noise variance is fixed at a tiny 1e-6 instead
  // of being fitted.
  KNOB_ARG(bool, deterministic_objective) = false;
  // Random points scored by the acquisition function in each ask (with the best observed
  // points), Optuna's n_preliminary_samples.
  KNOB_ARG(int, n_candidates) = 2048;
  // The best of them refined by a local coordinate search (0: none).
  KNOB_ARG(int, n_local_search) = 10;
};

class GpSampler : public Sampler {
 public:
  // Throws InvalidArgument naming the option for bad options.
  explicit GpSampler(GpOptions options = {});
  ~GpSampler() override;

  const GpOptions& options() const { return options_; }

  std::map<std::string, Distribution> infer_relative_search_space(
      Study& study, const FrozenTrial& trial) override;
  std::map<std::string, double> sample_relative(
      Study& study, const FrozenTrial& trial,
      const std::map<std::string, Distribution>& space) override;
  double sample_independent(Study& study, const FrozenTrial& trial, const std::string& name,
                            const Distribution& distribution) override;

 private:
  struct Cache;
  // Reads the COMPLETE trials this sampler has not seen yet (once per asked trial).
  void refresh(Study& study, const FrozenTrial& trial);

  GpOptions options_;
  Rng rng_;
  RandomSampler random_;
  std::unique_ptr<Cache> cache_;
};

}  // namespace knob
