// NsgaIISampler: the elitist genetic algorithm NSGA-II for one or more objectives (Optuna
// 3.1's NSGAIISampler, same options and defaults). Trials are grouped in generations of
// population_size; each generation's parents are the elite of the previous one and its own
// trials, chosen by non-dominated rank and then crowding distance; a child takes a crossover
// of tournament-selected parents, and each parameter mutates (is drawn at random) with
// mutation_prob.
//
// Constraints (constraints.h): trials carrying a "constraints" attribute are compared by
// constrained domination (feasible before infeasible, infeasible by total violation), whether
// the values come from this sampler's constraints_func, StudyOptions::constraints_func or the
// objective itself. The generation is stored in each trial's system attribute
// "nsga2:generation", as Optuna does, so Optuna can continue a knob NSGA-II study and the
// reverse.
//
// Example:
//   auto sampler = std::make_shared<knob::NsgaIISampler>(knob::NsgaIIOptions()
//       .population_size(40).crossover(knob::NsgaIICrossover::sbx()).seed(1));
//   auto study = knob::create_study(knob::StudyOptions().sampler(sampler).directions(
//       {knob::StudyDirection::kMaximize, knob::StudyDirection::kMinimize}));
#pragma once

#include <cstdint>
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

// A crossover of Optuna 3.1's, with its parameters; unset ones take Optuna's defaults.
struct NsgaIICrossover {
  enum class Kind { kUniform, kBlxAlpha, kSpx, kSbx, kVsbx, kUndx };
  Kind kind = Kind::kUniform;
  double alpha = 0.5;               // BLX-α
  std::optional<double> epsilon;    // SPX; default sqrt(n_params + 2)
  std::optional<double> eta;        // SBX, vSBX; default 20 with several objectives, else 2
  double sigma_xi = 0.5;            // UNDX
  std::optional<double> sigma_eta;  // UNDX; default 0.35 / sqrt(n_params)

  // Each parameter from one of two parents (the sampler's swapping_prob).
  static NsgaIICrossover uniform() { return {}; }
  static NsgaIICrossover blx_alpha(double alpha = 0.5);
  static NsgaIICrossover spx(std::optional<double> epsilon = std::nullopt);
  static NsgaIICrossover sbx(std::optional<double> eta = std::nullopt);
  static NsgaIICrossover vsbx(std::optional<double> eta = std::nullopt);
  static NsgaIICrossover undx(double sigma_xi = 0.5,
                              std::optional<double> sigma_eta = std::nullopt);
  // "uniform", "blxalpha", "spx", "sbx", "vsbx", "undx" (Optuna's class names, lower case,
  // without "Crossover"); throws InvalidArgument naming `field` for any other name.
  static NsgaIICrossover from_name(const std::string& name, const std::string& field = "crossover");

  // Parents each child needs: 3 for SPX and UNDX, else 2.
  int n_parents() const;
  std::string name() const;
};

struct NsgaIIOptions {
  // Trials per generation; >= 2 and >= the crossover's parents.
  KNOB_ARG(int, population_size) = 50;
  // Chance that a parameter is drawn at random instead of inherited; unset: 1 / n_params.
  KNOB_ARG(std::optional<double>, mutation_prob);
  KNOB_ARG(NsgaIICrossover, crossover);
  // Chance that a child is a crossover (else a copy of one parent).
  KNOB_ARG(double, crossover_prob) = 0.9;
  // Chance that a parameter comes from the second parent (uniform crossover; categoricals).
  KNOB_ARG(double, swapping_prob) = 0.5;
  KNOB_ARG(std::optional<uint64_t>, seed);
  // Evaluated and stored in "constraints" as each COMPLETE or PRUNED trial ends (Optuna's
  // NSGAIISampler(constraints_func)); values that are NaN or a throw store nothing.
  KNOB_ARG(ConstraintsFunc, constraints_func);
};

class NsgaIISampler : public Sampler {
 public:
  // Throws InvalidArgument naming the option for bad options.
  explicit NsgaIISampler(NsgaIIOptions options = {});
  ~NsgaIISampler() override;

  const NsgaIIOptions& options() const { return options_; }

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
  struct State;

  NsgaIIOptions options_;
  Rng rng_;
  RandomSampler random_;
  std::unique_ptr<State> state_;
};

}  // namespace knob
