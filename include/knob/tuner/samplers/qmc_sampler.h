// QmcSampler: quasi-Monte Carlo search (Optuna 3.1's QMCSampler with qmc_type "sobol"). Trial
// n takes point n of a Sobol' sequence over the numeric parameters of the first finished
// trial (that search space is then fixed); categorical parameters and parameters outside it
// are sampled by the independent sampler (random by default), as in Optuna.
//
// Point index = trial number (Optuna counts samples in a study system attribute instead):
// workers in other processes sharing one study (SQLite, PostgreSQL) never take the same point
// and need no shared counter, as long as they use the same seed. Scrambled by default
// (Optuna's default is unscrambled): an unscrambled sequence starts at the corner of the space
// and puts points on the centre lines, where many objectives are special.
//
// Example:
//   auto sampler = std::make_shared<knob::QmcSampler>(knob::QmcOptions().seed(42));
//   auto study = knob::create_study(knob::StudyOptions().sampler(sampler));
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "knob/core/arg.h"
#include "knob/tuner/sampler.h"

namespace knob {

namespace detail {
class SobolSequence;
}

struct QmcOptions {
  // Only "sobol" (Optuna also has "halton").
  KNOB_ARG(std::string, qmc_type) = "sobol";
  // Linear matrix scramble + digital random shift (scipy's Sobol(scramble=True)).
  KNOB_ARG(bool, scramble) = true;
  // Seeds the scramble and the default independent sampler. Unset: random, so workers
  // sharing a study get different scrambles — set it when several processes share one.
  KNOB_ARG(std::optional<uint64_t>, seed);
  // For parameters outside the QMC search space; null: RandomSampler(seed).
  KNOB_ARG(std::shared_ptr<Sampler>, independent_sampler);
  // A line on stderr the first time each parameter is sampled independently once the
  // search space is fixed.
  KNOB_ARG(bool, warn_independent_sampling) = true;
};

class QmcSampler : public Sampler {
 public:
  // Throws InvalidArgument naming the option for bad options.
  explicit QmcSampler(QmcOptions options = {});
  ~QmcSampler() override;

  const QmcOptions& options() const { return options_; }

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
  QmcOptions options_;
  uint64_t seed_;
  std::optional<std::map<std::string, Distribution>> space_;  // fixed once a trial finished
  std::unique_ptr<detail::SobolSequence> sobol_;              // over *space_, made on first use
  std::set<std::string> warned_;
};

// The value of `distribution` (internal representation) at u in [0, 1), as Optuna's QMCSampler
// maps a QMC coordinate: linear in the (log) range, widened by half a step on each side and
// rounded to the grid for stepped and integer distributions. Not for categoricals.
double from_unit_interval(const Distribution& distribution, double u);

}  // namespace knob
