// A random forest of regression trees (internal): CART trees grown on bootstrap samples with
// the squared-error criterion, as sklearn's RandomForestRegressor grows them with its defaults
// (every feature tried at each split, in a random order; thresholds halfway between
// neighbouring values; leaves of one sample or of equal targets). Parameter importance reads
// the trees' structure (fANOVA) and their impurity decreases (MDI). Written by hand: no Debian
// library grows such trees.
//
// Example:
//   Rng rng(0);
//   auto forest = detail::fit_random_forest(x, y, {.n_trees = 64, .max_depth = 64}, rng);
#pragma once

#include <vector>

#include "knob/core/random.h"

namespace knob::detail {

struct TreeNode {
  int feature = -1;        // -1: a leaf
  double threshold = 0.0;  // samples with x[feature] <= threshold go left
  int left = -1, right = -1;
  double value = 0.0;     // weighted mean target of the node's samples
  double weight = 0.0;    // weighted number of samples (bootstrap counts)
  double impurity = 0.0;  // weighted variance of the targets
};

// nodes[0] is the root.
using RegressionTree = std::vector<TreeNode>;

struct ForestShape {
  int n_trees = 64;
  int max_depth = 64;
};

// x is row-major: x[row][feature]; every row has the same size, y has one value per row.
std::vector<RegressionTree> fit_random_forest(const std::vector<std::vector<double>>& x,
                                              const std::vector<double>& y, ForestShape shape,
                                              Rng& rng);

}  // namespace knob::detail
