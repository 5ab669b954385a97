// KernelWindow against visiting every kernel, on random mixtures: widths over several
// classes, weights down to zero (offset -inf), points inside and outside the kernels' range.
#include "tuner/samplers/tpe/kernel_window.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

namespace knob::detail {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double every_kernel(const std::vector<double>& mus, const std::vector<double>& sigmas,
                    const std::vector<double>& offsets, double x) {
  long double m = -kInf;
  std::vector<long double> terms;
  for (size_t j = 0; j < mus.size(); ++j) {
    const long double z = (static_cast<long double>(x) - mus[j]) / sigmas[j];
    terms.push_back(offsets[j] - 0.5L * z * z);
    m = std::max(m, terms.back());
  }
  if (!std::isfinite(static_cast<double>(m))) return static_cast<double>(m);
  long double sum = 0;
  for (long double t : terms) sum += std::exp(t - m);
  return static_cast<double>(m + std::log(sum));
}

std::vector<size_t> order_of(const std::vector<double>& mus) {
  std::vector<size_t> order(mus.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return mus[a] < mus[b]; });
  return order;
}

TEST(KernelWindowTest, EqualsVisitingEveryKernelOnRandomMixtures) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> scratch;
  for (int c = 0; c < 300; ++c) {
    const size_t n = 1 + static_cast<size_t>(unit(rng) * (c % 3 == 0 ? 2000 : 60));
    // Widths spanning up to 2^12 (magic clip: 100x), some repeated exactly.
    const double spread = std::exp2(unit(rng) * 12);
    const double base = 1e-3 + 0.1 * unit(rng);
    std::vector<double> mus(n), sigmas(n), offsets(n);
    for (size_t j = 0; j < n; ++j) {
      mus[j] = c % 5 == 0 ? std::round(unit(rng) * 20) / 20 : unit(rng);  // ties too
      sigmas[j] = unit(rng) < 0.7 ? base : base * std::pow(spread, unit(rng));
      offsets[j] = unit(rng) < 0.02 ? -kInf : -10 * unit(rng) * unit(rng);
    }
    if (c % 2 == 0) mus[n - 1] = 0.5, sigmas[n - 1] = 1.0;  // a prior
    const KernelWindow window(mus, sigmas, offsets, order_of(mus));
    for (int k = 0; k < 25; ++k) {
      const double x = -0.2 + 1.4 * unit(rng);
      const double expected = every_kernel(mus, sigmas, offsets, x);
      const double actual = window.log_sum_exp(x, scratch);
      EXPECT_NEAR(actual, expected, 1e-13 * std::max(1.0, std::abs(expected)))
          << "case " << c << ", n = " << n << ", x = " << x;
    }
  }
}

TEST(KernelWindowTest, FarPointsAndEmptyOrZeroWeightMixtures) {
  std::vector<double> scratch;
  // A point hundreds of widths away: only the tails remain, summed as every kernel would.
  const std::vector<double> mus = {0.1, 0.2, 0.9}, sigmas = {0.01, 0.02, 0.01},
                            offsets = {-1.0, -2.0, -0.5};
  const KernelWindow window(mus, sigmas, offsets, order_of(mus));
  for (double x : {-5.0, 0.15, 0.55, 7.0}) {
    EXPECT_NEAR(window.log_sum_exp(x, scratch), every_kernel(mus, sigmas, offsets, x),
                1e-13 * std::max(1.0, std::abs(every_kernel(mus, sigmas, offsets, x))))
        << x;
  }
  EXPECT_EQ(KernelWindow({}, {}, {}, {}).log_sum_exp(0.5, scratch), -kInf);
  const KernelWindow zero({0.3, 0.6}, {0.1, 0.1}, {-kInf, -kInf}, {0, 1});
  EXPECT_EQ(zero.log_sum_exp(0.5, scratch), -kInf);
}

}  // namespace
}  // namespace knob::detail
