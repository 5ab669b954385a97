#include "tuner/samplers/tpe/kernel_window.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "tuner/samplers/tpe/sum_exp.h"

namespace knob::detail {

namespace {

std::vector<double> reciprocals(const std::vector<double>& x) {
  std::vector<double> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = 1.0 / x[i];
  return out;
}

}  // namespace

KernelWindow::KernelWindow(const std::vector<double>& mus, const std::vector<double>& sigmas,
                           const std::vector<double>& offsets, const std::vector<size_t>& order)
    : KernelWindow(mus, sigmas, reciprocals(sigmas), offsets, order) {}

KernelWindow::KernelWindow(const std::vector<double>& mus, const std::vector<double>& sigmas,
                           const std::vector<double>& inv_sigmas,
                           const std::vector<double>& offsets, const std::vector<size_t>& order) {
  const size_t n = order.size();
  if (n == 0) return;
  cut_ = 37.0 + std::log(static_cast<double>(n));
  const double inv_sigma_min = 1.0 / *std::min_element(sigmas.begin(), sigmas.end());
  // Class k holds the widths in [2^k, 2^(k+1)) sigma_min (up to rounding: a class's bounds
  // come from the widths it holds), each kept in mean order. k is the binary exponent of the
  // ratio >= 1 (std::ilogb, without the call). A counting sort by class, stable.
  std::vector<uint32_t> class_at(n);  // by place in `order`
  std::vector<size_t> count;
  for (size_t i = 0; i < n; ++i) {
    const double ratio = std::max(1.0, sigmas[order[i]] * inv_sigma_min);
    const auto k = static_cast<uint32_t>((std::bit_cast<uint64_t>(ratio) >> 52) - 1023);
    class_at[i] = k;
    if (k >= count.size()) count.resize(k + 1, 0);
    ++count[k];
  }
  std::vector<size_t> slot(count.size());  // next free place of each class
  for (size_t k = 0, begin = 0; k < count.size(); begin += count[k++]) {
    slot[k] = begin;
    if (count[k] > 0) classes_.push_back({begin, begin + count[k], 0.0, 0.0});
  }
  mus_.resize(n), inv_sigmas_.resize(n), offsets_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const size_t j = order[i], to = slot[class_at[i]]++;
    mus_[to] = mus[j], inv_sigmas_[to] = inv_sigmas[j], offsets_[to] = offsets[j];
  }
  for (WidthClass& c : classes_) {
    // The widest kernel has the smallest reciprocal width; 1 / (1 / sigma) may round below
    // sigma, by an ulp: the factor keeps max_sigma an upper bound.
    const double min_inv =
        *std::min_element(inv_sigmas_.begin() + c.begin, inv_sigmas_.begin() + c.end);
    c.max_sigma = (1.0 + 4 * std::numeric_limits<double>::epsilon()) / min_inv;
    c.max_offset = *std::max_element(offsets_.begin() + c.begin, offsets_.begin() + c.end);
  }
}

double KernelWindow::term(size_t i, double x) const {
  const double z = (x - mus_[i]) * inv_sigmas_[i];
  return offsets_[i] - 0.5 * z * z;
}

double KernelWindow::lower_bound(double x) const {
  // The kernels on either side of x in each class.
  double lower = -std::numeric_limits<double>::infinity();
  for (const WidthClass& c : classes_) {
    const size_t at = first(c.begin, c.end, x);
    if (at > c.begin) lower = std::max(lower, term(at - 1, x));
    if (at < c.end) lower = std::max(lower, term(at, x));
  }
  return lower;
}

size_t KernelWindow::first(size_t from, size_t to, double v) const {
  return static_cast<size_t>(std::lower_bound(mus_.begin() + from, mus_.begin() + to, v) -
                             mus_.begin());
}

double KernelWindow::log_sum_exp(double x, std::vector<double>& scratch) const {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (classes_.empty()) return -kInf;
  const double lower = lower_bound(x);
  scratch.resize(mus_.size());
  const double floor = lower - cut_;
  size_t count = 0;
  double largest = -kInf;
  for (const WidthClass& c : classes_) {
    size_t from = c.begin, to = c.end;
    if (lower > -kInf) {
      if (c.max_offset < floor) continue;
      const double reach = c.max_sigma * std::sqrt(2.0 * (c.max_offset - floor));
      from = first(c.begin, c.end, x - reach);
      to = static_cast<size_t>(
          std::upper_bound(mus_.begin() + from, mus_.begin() + c.end, x + reach) - mus_.begin());
    }
    largest =
        std::max(largest, gauss_terms(x, mus_.data() + from, inv_sigmas_.data() + from,
                                      offsets_.data() + from, to - from, scratch.data() + count));
    count += to - from;
  }
  if (!std::isfinite(largest)) return largest;  // -inf without terms
  return largest + std::log(sum_exp_shifted(scratch.data(), count, largest));
}

}  // namespace knob::detail
