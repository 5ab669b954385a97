#include "tuner/importance/random_forest.h"

#include <algorithm>
#include <cassert>
#include <numeric>

namespace knob::detail {
namespace {

class TreeBuilder {
 public:
  TreeBuilder(const std::vector<std::vector<double>>& x, const std::vector<double>& y,
              std::vector<double> weights, int max_depth, Rng& rng)
      : x_(x), y_(y), w_(std::move(weights)), max_depth_(max_depth), rng_(rng) {}

  RegressionTree build() {
    std::vector<int> rows;
    for (int i = 0; i < static_cast<int>(w_.size()); ++i) {
      if (w_[i] > 0) rows.push_back(i);
    }
    rows_ = std::move(rows);
    grow(0, static_cast<int>(rows_.size()), 0);
    return std::move(tree_);
  }

 private:
  // Grows the node of rows_[begin, end) and returns its index.
  int grow(int begin, int end, int depth) {
    const int index = static_cast<int>(tree_.size());
    tree_.emplace_back();
    double weight = 0, sum = 0, sum_sq = 0;
    double y_min = y_[rows_[begin]], y_max = y_min;
    for (int i = begin; i < end; ++i) {
      const int r = rows_[i];
      weight += w_[r];
      sum += w_[r] * y_[r];
      sum_sq += w_[r] * y_[r] * y_[r];
      y_min = std::min(y_min, y_[r]);
      y_max = std::max(y_max, y_[r]);
    }
    TreeNode node;
    node.weight = weight;
    node.value = sum / weight;
    node.impurity = std::max(0.0, sum_sq / weight - node.value * node.value);
    tree_[index] = node;
    if (depth >= max_depth_ || end - begin < 2 || y_min == y_max) return index;

    auto split = best_split(begin, end, weight, sum);
    if (split.feature < 0) return index;
    auto middle = std::partition(rows_.begin() + begin, rows_.begin() + end,
                                 [&](int r) { return x_[r][split.feature] <= split.threshold; });
    const int mid = static_cast<int>(middle - rows_.begin());
    assert(mid > begin && mid < end);
    const int left = grow(begin, mid, depth + 1);
    const int right = grow(mid, end, depth + 1);
    tree_[index].feature = split.feature;
    tree_[index].threshold = split.threshold;
    tree_[index].left = left;
    tree_[index].right = right;
    return index;
  }

  struct Split {
    int feature = -1;
    double threshold = 0;
  };

  // The split that most reduces the weighted squared error, features tried in a random order
  // (the first of equally good splits wins).
  Split best_split(int begin, int end, double weight, double sum) {
    const int n_features = static_cast<int>(x_[rows_[begin]].size());
    std::vector<int> features(n_features);
    std::iota(features.begin(), features.end(), 0);
    for (int i = n_features - 1; i > 0; --i) {
      std::swap(features[i], features[rng_.uniform_int(0, i)]);
    }
    Split best;
    double best_proxy = -1.0;  // sum_l^2 / w_l + sum_r^2 / w_r, always >= 0
    std::vector<int> sorted(rows_.begin() + begin, rows_.begin() + end);
    for (int f : features) {
      std::sort(sorted.begin(), sorted.end(), [&](int a, int b) { return x_[a][f] < x_[b][f]; });
      double w_left = 0, sum_left = 0;
      for (size_t i = 0; i + 1 < sorted.size(); ++i) {
        w_left += w_[sorted[i]];
        sum_left += w_[sorted[i]] * y_[sorted[i]];
        const double lo = x_[sorted[i]][f], hi = x_[sorted[i + 1]][f];
        if (!(lo < hi)) continue;
        const double w_right = weight - w_left, sum_right = sum - sum_left;
        const double proxy = sum_left * sum_left / w_left + sum_right * sum_right / w_right;
        if (proxy > best_proxy) {
          best_proxy = proxy;
          best.feature = f;
          best.threshold = lo + (hi - lo) / 2;
          if (best.threshold >= hi) best.threshold = lo;  // rounding: keep hi on the right
        }
      }
    }
    return best;
  }

  const std::vector<std::vector<double>>& x_;
  const std::vector<double>& y_;
  std::vector<double> w_;
  int max_depth_;
  Rng& rng_;
  std::vector<int> rows_;
  RegressionTree tree_;
};

}  // namespace

std::vector<RegressionTree> fit_random_forest(const std::vector<std::vector<double>>& x,
                                              const std::vector<double>& y, ForestShape shape,
                                              Rng& rng) {
  assert(!x.empty() && x.size() == y.size());
  const int n = static_cast<int>(x.size());
  std::vector<RegressionTree> forest;
  forest.reserve(shape.n_trees);
  for (int t = 0; t < shape.n_trees; ++t) {
    std::vector<double> counts(n, 0.0);  // a bootstrap sample, as weights
    for (int i = 0; i < n; ++i) counts[rng.uniform_int(0, n - 1)] += 1.0;
    forest.push_back(TreeBuilder(x, y, std::move(counts), shape.max_depth, rng).build());
  }
  return forest;
}

}  // namespace knob::detail
