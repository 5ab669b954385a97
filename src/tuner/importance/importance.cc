#include "knob/tuner/importance/importance.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <map>
#include <numeric>

#include "knob/core/error.h"
#include "tuner/importance/random_forest.h"
#include "tuner/intersection_search_space.h"

namespace knob {
namespace {

struct Column {
  double low, high;  // the search-space bounds of the column
};

// The forest's input: floats and ints as their internal values (log scale not undone, as
// Optuna's transform_log=False), categoricals one-hot over [0, 1].
struct Encoding {
  std::vector<Column> columns;
  std::vector<std::vector<int>> groups;  // per parameter, its columns
};

Encoding encode_space(const std::vector<std::pair<std::string, Distribution>>& space) {
  Encoding encoding;
  for (const auto& [name, distribution] : space) {
    std::vector<int> group;
    auto add = [&](double low, double high) {
      group.push_back(static_cast<int>(encoding.columns.size()));
      encoding.columns.push_back({low, high});
    };
    if (const auto* c = std::get_if<CategoricalDistribution>(&distribution)) {
      for (size_t i = 0; i < c->choices.size(); ++i) add(0.0, 1.0);
    } else if (const auto* f = std::get_if<FloatDistribution>(&distribution)) {
      add(f->low, f->high);
    } else {
      const auto& d = std::get<IntDistribution>(distribution);
      add(static_cast<double>(d.low), static_cast<double>(d.high));
    }
    encoding.groups.push_back(std::move(group));
  }
  return encoding;
}

std::vector<double> encode_trial(const FrozenTrial& trial,
                                 const std::vector<std::pair<std::string, Distribution>>& space) {
  std::vector<double> row;
  for (const auto& [name, distribution] : space) {
    const double internal = trial.internal_params.at(name);
    if (const auto* c = std::get_if<CategoricalDistribution>(&distribution)) {
      for (size_t i = 0; i < c->choices.size(); ++i) {
        row.push_back(static_cast<double>(i) == internal ? 1.0 : 0.0);
      }
    } else {
      row.push_back(internal);
    }
  }
  return row;
}

// One tree as a piecewise-constant function on the search box: its leaves (value and box) and
// the split points of each column. The functional ANOVA of Hutter et al. (2014): the variance
// of the tree's prediction under a uniform distribution on the box, and the variance of its
// marginal over a group of columns (the prediction averaged over all other columns).
class FanovaTree {
 public:
  FanovaTree(const detail::RegressionTree& tree, const std::vector<Column>& columns)
      : columns_(columns), edges_(columns.size()) {
    const size_t n = columns.size();
    Leaf root{0.0, std::vector<double>(n), std::vector<double>(n)};
    for (size_t j = 0; j < n; ++j) {
      root.low[j] = columns[j].low;
      root.high[j] = columns[j].high;
    }
    collect(tree, 0, root);
    for (size_t j = 0; j < n; ++j) {
      auto& e = edges_[j];
      e.push_back(columns[j].low);
      e.push_back(columns[j].high);
      for (const auto& node : tree) {
        if (node.feature == static_cast<int>(j)) e.push_back(node.threshold);
      }
      std::sort(e.begin(), e.end());
      e.erase(std::unique(e.begin(), e.end()), e.end());
    }
    std::vector<double> values, weights;
    for (const auto& leaf : leaves_) {
      values.push_back(leaf.value);
      weights.push_back(volume_fraction(leaf, {}));
    }
    variance_ = weighted_variance(values, weights);
  }

  double variance() const { return variance_; }

  // The variance of the marginal prediction over `group` (column indices).
  double marginal_variance(const std::vector<int>& group) const {
    const size_t k = group.size();
    std::vector<size_t> size(k), stride(k);  // of the difference grid: cells + 1 per column
    size_t total = 1;
    for (size_t g = 0; g < k; ++g) {
      size[g] = edges_[group[g]].size();
      stride[g] = total;
      total *= size[g];
    }
    // Each leaf adds value * (its share of the other columns) to the cells its box covers:
    // a k-dimensional difference array, summed up afterwards.
    std::vector<double> grid(total, 0.0);
    std::vector<size_t> first(k), last(k);
    for (const auto& leaf : leaves_) {
      const double share = volume_fraction(leaf, group);
      if (share == 0.0) continue;
      for (size_t g = 0; g < k; ++g) {
        const auto& e = edges_[group[g]];
        first[g] = std::lower_bound(e.begin(), e.end(), leaf.low[group[g]]) - e.begin();
        last[g] = std::lower_bound(e.begin(), e.end(), leaf.high[group[g]]) - e.begin();
        assert(first[g] <= last[g] && last[g] < e.size());
      }
      for (size_t corner = 0; corner < (size_t{1} << k); ++corner) {
        size_t at = 0;
        double sign = 1.0;
        for (size_t g = 0; g < k; ++g) {
          const bool upper = (corner >> g) & 1;
          at += (upper ? last[g] : first[g]) * stride[g];
          if (upper) sign = -sign;
        }
        grid[at] += sign * leaf.value * share;
      }
    }
    for (size_t g = 0; g < k; ++g) {
      for (size_t at = 0; at < total; ++at) {
        if ((at / stride[g]) % size[g] != 0) grid[at] += grid[at - stride[g]];
      }
    }
    std::vector<double> values, weights;
    for (size_t at = 0; at < total; ++at) {
      double weight = 1.0;
      for (size_t g = 0; g < k && weight > 0; ++g) {
        const size_t i = (at / stride[g]) % size[g];
        const auto& e = edges_[group[g]];
        const auto& c = columns_[group[g]];
        weight = i + 1 < e.size() ? weight * (e[i + 1] - e[i]) / (c.high - c.low) : 0.0;
      }
      if (weight > 0) {
        values.push_back(grid[at]);
        weights.push_back(weight);
      }
    }
    return weighted_variance(values, weights);
  }

 private:
  struct Leaf {
    double value;
    std::vector<double> low, high;
  };

  void collect(const detail::RegressionTree& tree, int index, Leaf box) {
    const auto& node = tree[index];
    if (node.feature < 0) {
      box.value = node.value;
      leaves_.push_back(std::move(box));
      return;
    }
    Leaf right = box;
    box.high[node.feature] = node.threshold;
    right.low[node.feature] = node.threshold;
    collect(tree, node.left, std::move(box));
    collect(tree, node.right, std::move(right));
  }

  // The share of the search box the leaf covers in the columns outside `skip`.
  double volume_fraction(const Leaf& leaf, const std::vector<int>& skip) const {
    double fraction = 1.0;
    for (size_t j = 0; j < columns_.size(); ++j) {
      if (std::find(skip.begin(), skip.end(), static_cast<int>(j)) != skip.end()) continue;
      fraction *= (leaf.high[j] - leaf.low[j]) / (columns_[j].high - columns_[j].low);
    }
    return fraction;
  }

  static double weighted_variance(const std::vector<double>& values,
                                  const std::vector<double>& weights) {
    const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
    double mean = 0.0, variance = 0.0;
    for (size_t i = 0; i < values.size(); ++i) mean += weights[i] * values[i] / total;
    for (size_t i = 0; i < values.size(); ++i) {
      variance += weights[i] * (values[i] - mean) * (values[i] - mean) / total;
    }
    return variance;
  }

  const std::vector<Column>& columns_;
  std::vector<std::vector<double>> edges_;  // per column: low, split points, high; sorted
  std::vector<Leaf> leaves_;
  double variance_ = 0.0;
};

// Per parameter: the mean over trees (with a non-constant prediction) of the share of the
// tree's variance that the parameter's marginal explains.
std::vector<double> fanova(const std::vector<detail::RegressionTree>& forest,
                           const Encoding& encoding) {
  std::vector<double> importances(encoding.groups.size(), 0.0);
  int n_trees = 0;
  for (const auto& tree : forest) {
    FanovaTree f(tree, encoding.columns);
    if (!(f.variance() > 0.0)) continue;
    ++n_trees;
    for (size_t p = 0; p < encoding.groups.size(); ++p) {
      importances[p] += f.marginal_variance(encoding.groups[p]) / f.variance();
    }
  }
  for (auto& importance : importances) importance = n_trees > 0 ? importance / n_trees : 0.0;
  return importances;
}

// Per parameter: sklearn's feature_importances_ of the forest (each tree's weighted impurity
// decreases per column, normalized to sum 1, averaged over trees that split), summed over the
// parameter's columns.
std::vector<double> mean_decrease_impurity(const std::vector<detail::RegressionTree>& forest,
                                           const Encoding& encoding) {
  std::vector<double> columns(encoding.columns.size(), 0.0);
  int n_trees = 0;
  for (const auto& tree : forest) {
    if (tree.size() < 2) continue;
    std::vector<double> decrease(columns.size(), 0.0);
    for (const auto& node : tree) {
      if (node.feature < 0) continue;
      const auto& l = tree[node.left];
      const auto& r = tree[node.right];
      decrease[node.feature] +=
          node.weight * node.impurity - l.weight * l.impurity - r.weight * r.impurity;
    }
    const double sum = std::accumulate(decrease.begin(), decrease.end(), 0.0);
    if (sum > 0) {
      for (size_t j = 0; j < columns.size(); ++j) columns[j] += decrease[j] / sum;
    }
    ++n_trees;
  }
  std::vector<double> importances(encoding.groups.size(), 0.0);
  for (size_t p = 0; p < encoding.groups.size(); ++p) {
    for (int j : encoding.groups[p]) importances[p] += n_trees > 0 ? columns[j] / n_trees : 0.0;
  }
  return importances;
}

// The assessed parameters and their distributions, sorted by name.
std::map<std::string, Distribution> assessed_space(const std::vector<const FrozenTrial*>& complete,
                                                   const std::vector<std::string>& params) {
  std::optional<std::map<std::string, Distribution>> space;
  if (params.empty()) {
    for (const auto* t : complete) detail::intersect_search_space(space, t->distributions);
    return *space;
  }
  for (const auto& name : params) {
    bool known = std::any_of(complete.begin(), complete.end(),
                             [&](const FrozenTrial* t) { return t->distributions.count(name); });
    KNOB_CHECK(known, "params", name, "not a parameter of any COMPLETE trial");
  }
  space.emplace();
  bool any = false;
  for (const auto* t : complete) {
    if (!std::all_of(params.begin(), params.end(),
                     [&](const std::string& n) { return t->distributions.count(n); })) {
      continue;
    }
    for (const auto& name : params) {
      const auto& d = t->distributions.at(name);
      auto [it, inserted] = space->emplace(name, d);
      KNOB_CHECK(inserted || it->second == d, "params", name,
                 "its distribution differs between trials (trial " + std::to_string(t->number) +
                     "): importance needs one distribution per parameter");
    }
    any = true;
  }
  std::string joined;
  for (const auto& name : params) joined += (joined.empty() ? "" : ", ") + name;
  KNOB_CHECK(any, "params", joined, "no COMPLETE trial has all of them");
  return *space;
}

}  // namespace

std::string importance_evaluator_name(ImportanceEvaluator evaluator) {
  return evaluator == ImportanceEvaluator::kFanova ? "fanova" : "mean_decrease_impurity";
}

std::vector<std::pair<std::string, double>> param_importances(
    const std::vector<FrozenTrial>& trials, const ImportanceOptions& options) {
  KNOB_CHECK(options.n_trees() >= 1, "n_trees", options.n_trees(), "must be >= 1");
  KNOB_CHECK(options.max_depth() >= 1, "max_depth", options.max_depth(), "must be >= 1");
  std::vector<const FrozenTrial*> complete;
  for (const auto& t : trials) {
    if (t.state == TrialState::kComplete) complete.push_back(&t);
  }
  KNOB_CHECK(complete.size() >= 2, "trials", std::to_string(complete.size()) + " COMPLETE",
             "parameter importance needs at least 2 COMPLETE trials");
  size_t n_objectives = 0;
  for (const auto* t : complete) n_objectives = std::max(n_objectives, t->values.size());
  const std::string objectives = "the trials have " + std::to_string(n_objectives) +
                                 " objective value(s): choose an index from 0 to " +
                                 std::to_string(static_cast<int64_t>(n_objectives) - 1);
  if (options.objective()) {
    const int o = *options.objective();
    KNOB_CHECK(o >= 0 && static_cast<size_t>(o) < n_objectives, "objective", o, objectives);
  } else {
    KNOB_CHECK(n_objectives == 1, "objective", std::string("(none)"), objectives);
  }
  const size_t objective = options.objective().value_or(0);

  const auto space = assessed_space(complete, options.params());
  std::vector<std::pair<std::string, Distribution>> varying;
  std::vector<std::pair<std::string, double>> result;
  for (const auto& [name, distribution] : space) {
    if (is_single(distribution)) {
      result.emplace_back(name, 0.0);
    } else {
      varying.emplace_back(name, distribution);
    }
  }
  if (varying.empty()) return {};

  std::vector<std::vector<double>> x;
  std::vector<double> y;
  for (const auto* t : complete) {
    const bool has_all = std::all_of(space.begin(), space.end(), [&](const auto& p) {
      return t->internal_params.count(p.first);
    });
    if (!has_all || objective >= t->values.size() || !std::isfinite(t->values[objective])) {
      continue;
    }
    x.push_back(encode_trial(*t, varying));
    y.push_back(t->values[objective]);
  }
  KNOB_CHECK(x.size() >= 2, "trials", std::to_string(x.size()) + " usable",
             "parameter importance needs at least 2 COMPLETE trials with every assessed "
             "parameter and a finite objective value");

  const Encoding encoding = encode_space(varying);
  Rng rng(options.seed());
  const auto forest =
      detail::fit_random_forest(x, y, {options.n_trees(), options.max_depth()}, rng);
  const auto importances = options.evaluator() == ImportanceEvaluator::kFanova
                               ? fanova(forest, encoding)
                               : mean_decrease_impurity(forest, encoding);
  for (size_t p = 0; p < varying.size(); ++p) result.emplace_back(varying[p].first, importances[p]);

  double sum = 0.0;
  for (const auto& r : result) sum += r.second;
  for (auto& r : result) r.second = sum > 0 ? r.second / sum : 1.0 / result.size();
  std::sort(result.begin(), result.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  return result;
}

}  // namespace knob
