// Parameter importance (Optuna 3.1's optuna.importance.get_param_importances): how much of
// the variation of the objective each parameter explains, over the COMPLETE trials of a study.
// fANOVA (the default, Optuna's FanovaImportanceEvaluator) decomposes the variance of a random
// forest fitted to the trials; mean decrease in impurity (MDI) sums the forest's split gains.
// Importances are normalized to sum 1 and sorted descending; a seed makes them reproducible.
//
// Example:
//   auto importances = knob::param_importances(study.trials(),
//                                              knob::ImportanceOptions().seed(0));
//   for (const auto& [name, importance] : importances) std::cout << name << ' ' << importance;
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "knob/core/arg.h"
#include "knob/storage/frozen_trial.h"

namespace knob {

enum class ImportanceEvaluator {
  kFanova,                // functional ANOVA over a random forest (Optuna's default)
  kMeanDecreaseImpurity,  // the forest's impurity decrease per parameter
};

// "fanova" or "mean_decrease_impurity".
std::string importance_evaluator_name(ImportanceEvaluator evaluator);

struct ImportanceOptions {
  KNOB_ARG(ImportanceEvaluator, evaluator) = ImportanceEvaluator::kFanova;
  // The parameters to assess; empty: those every COMPLETE trial has, with the same
  // distribution (the intersection search space).
  KNOB_ARG(std::vector<std::string>, params);
  // Which objective value to explain; required when trials have several values.
  KNOB_ARG(std::optional<int>, objective);
  // The random forest, with Optuna's defaults.
  KNOB_ARG(int, n_trees) = 64;
  KNOB_ARG(int, max_depth) = 64;
  // Without a seed, a different forest each call.
  KNOB_ARG(std::optional<uint64_t>, seed);
};

// (name, importance) pairs, largest first (ties by name), summing to 1. Parameters with a
// single possible value get 0; if no parameter has more than one value, the result is empty.
// Uses COMPLETE trials that have every assessed parameter and a finite objective value.
// Throws InvalidArgument naming the field for bad options, fewer than 2 such trials, an
// unknown parameter name, or several objectives without `objective`.
std::vector<std::pair<std::string, double>> param_importances(
    const std::vector<FrozenTrial>& trials, const ImportanceOptions& options = {});

}  // namespace knob
