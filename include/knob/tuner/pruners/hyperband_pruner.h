// HyperbandPruner: Hyperband over asynchronous successive halving, as Optuna's HyperbandPruner.
// It runs floor(log_rf(max_resource / min_resource)) + 1 brackets; bracket b is a
// SuccessiveHalvingPruner with min_early_stopping_rate b that sees only its own trials. A trial's
// bracket is crc32("<study name>_<trial number>") modulo the total budget, walked through the
// brackets' budgets ceil(n_brackets * rf^s / (s + 1)), s = n_brackets - 1 - b: the same bracket
// as in Optuna, so Optuna and knob workers can share a study.
//
// In Optuna, samplers under a HyperbandPruner see only the trials of the asked trial's bracket.
// knob's TpeSampler and GpSampler do the same (bracket_of() on Study::pruner()): with TPE a
// study is BOHB-like, model-based sampling inside each bracket. knob's CmaEsSampler, QMC and
// grid samplers see all trials (unlike Optuna's).
//
// Example:
//   auto pruner = std::make_shared<knob::HyperbandPruner>(
//       knob::HyperbandPrunerOptions().min_resource(1).max_resource(81).reduction_factor(3));
//
// Example (BOHB-like):
//   auto study = knob::create_study(
//       knob::StudyOptions()
//           .sampler(std::make_shared<knob::TpeSampler>(knob::TpeOptions().seed(42)))
//           .pruner(pruner));
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "knob/core/arg.h"
#include "knob/tuner/pruners/successive_halving_pruner.h"

namespace knob {

struct HyperbandPrunerOptions {
  // Steps before the first rung of the most aggressive bracket.
  KNOB_ARG(int64_t, min_resource) = 1;
  // The longest a trial runs, in steps; unset is Optuna's "auto": the last step + 1 of the
  // longest completed trial, fixed when the first trial completes (no pruning before).
  KNOB_ARG(std::optional<int64_t>, max_resource);
  KNOB_ARG(int64_t, reduction_factor) = 3;
  // As SuccessiveHalvingPrunerOptions::bootstrap_count, in every bracket.
  KNOB_ARG(int64_t, bootstrap_count) = 0;
};

class HyperbandPruner : public Pruner {
 public:
  // Throws InvalidArgument for min_resource < 1, max_resource < min_resource,
  // reduction_factor < 2, bootstrap_count < 0, or bootstrap_count > 0 with "auto" max_resource.
  explicit HyperbandPruner(HyperbandPrunerOptions options = {});
  bool prune(Study& study, const FrozenTrial& trial) override;

  // The brackets; none until max_resource is known ("auto" waits for a completed trial).
  int64_t n_brackets() const { return static_cast<int64_t>(brackets_.size()); }
  // Each bracket's share of trials (Optuna's trial allocation budget), by bracket id.
  const std::vector<int64_t>& budgets() const { return budgets_; }
  // The successive-halving options bracket `bracket` runs with.
  const SuccessiveHalvingPrunerOptions& bracket_options(int64_t bracket) const;
  // The bracket of trial `trial_number` of study `study_name` (0 while there are no brackets,
  // as in Optuna). For a sampler: keep the trials whose bracket is the asked trial's.
  int64_t bracket_of(const std::string& study_name, int64_t trial_number) const;
  int64_t bracket_of(const Study& study, const FrozenTrial& trial) const;

 private:
  // Resolves an "auto" max_resource from the completed trials, then makes the brackets.
  void try_initialize(Study& study);
  void make_brackets();

  HyperbandPrunerOptions options_;
  std::vector<SuccessiveHalvingPruner> brackets_;
  std::vector<int64_t> budgets_;
  int64_t total_budget_ = 0;
  bool initialized_ = false;
};

}  // namespace knob
