#include "knob/train/batch_find.h"

#include <algorithm>
#include <cmath>

#include "knob/core/error.h"

namespace knob {

std::vector<BatchTrial> search_batch_sizes(int64_t start, int64_t cap,
                                           const std::function<BatchTrial(int64_t)>& run) {
  KNOB_CHECK(start >= 1, "batch_find.start", start, "must be >= 1");
  KNOB_CHECK(start <= cap, "batch_find.start", start,
             "must be at most the largest size allowed (" + std::to_string(cap) + ")");
  std::vector<BatchTrial> trials;
  auto fits = [&](int64_t size) {
    BatchTrial trial = run(size);
    trial.size = size;
    trials.push_back(trial);
    return trial.fits;
  };
  if (!fits(start)) return trials;
  int64_t low = start, high = 0;  // low fits; high (when set) does not
  while (low < cap) {
    const int64_t next = low > cap / 2 ? cap : 2 * low;
    if (!fits(next)) {
      high = next;
      break;
    }
    low = next;
  }
  if (high == 0) return trials;  // the cap fits
  while (high - low > std::max<int64_t>(1, low / 16)) {
    const int64_t middle = low + (high - low) / 2;
    (fits(middle) ? low : high) = middle;
  }
  return trials;
}

int64_t largest_fitting(const std::vector<BatchTrial>& trials) {
  int64_t out = 0;
  for (const auto& t : trials) {
    if (t.fits) out = std::max(out, t.size);
  }
  return out;
}

NoiseScale estimate_noise_scale(int64_t b_small, int64_t b_big, const std::vector<double>& small_sq,
                                const std::vector<double>& big_sq) {
  KNOB_CHECK(b_small >= 1, "b_small", b_small, "must be >= 1");
  KNOB_CHECK(b_big > b_small, "b_big", b_big,
             "must be larger than b_small (" + std::to_string(b_small) + ")");
  KNOB_CHECK(
      !small_sq.empty() && small_sq.size() == big_sq.size(), "gradient norms", small_sq.size(),
      "must be one small and one big norm per batch (" + std::to_string(big_sq.size()) + " big)");
  NoiseScale out;
  out.b_small = b_small;
  out.b_big = b_big;
  out.batches = static_cast<int64_t>(small_sq.size());
  for (size_t i = 0; i < small_sq.size(); ++i) {
    out.mean_small_sq += small_sq[i];
    out.mean_big_sq += big_sq[i];
  }
  out.mean_small_sq /= static_cast<double>(out.batches);
  out.mean_big_sq /= static_cast<double>(out.batches);
  // Both estimators are linear in the norms, so averaging the norms first is averaging the
  // per-batch estimates of |G|^2 and tr(Sigma) separately.
  const auto small = static_cast<double>(b_small), big = static_cast<double>(b_big);
  out.gradient_sq = (big * out.mean_big_sq - small * out.mean_small_sq) / (big - small);
  out.trace = (out.mean_small_sq - out.mean_big_sq) / (1 / small - 1 / big);
  out.b_simple = out.gradient_sq > 0 ? out.trace / out.gradient_sq : INFINITY;
  return out;
}

BatchRecommendation recommend_batch_size(const std::vector<BatchTrial>& trials, double b_simple) {
  std::vector<int64_t> fitting;
  for (const auto& t : trials) {
    if (t.fits) fitting.push_back(t.size);
  }
  if (fitting.empty()) return {0, "none fits"};
  std::sort(fitting.begin(), fitting.end());
  if (!std::isfinite(b_simple)) {
    return {fitting.back(), "the largest size that fits (no finite noise scale)"};
  }
  if (b_simple < static_cast<double>(fitting.front())) {
    return {fitting.front(), "the smallest size tried: the noise scale is below it"};
  }
  int64_t best = fitting.front();
  for (int64_t size : fitting) {
    if (static_cast<double>(size) <= b_simple) best = size;
  }
  return {best, best == fitting.back() ? "the largest size that fits (at most the noise scale)"
                                       : "the largest size that fits and is at most the noise "
                                         "scale B_simple"};
}

double scale_learning_rate(double lr_at_base, int64_t base, int64_t size) {
  return lr_at_base * static_cast<double>(size) / static_cast<double>(base);
}

}  // namespace knob
