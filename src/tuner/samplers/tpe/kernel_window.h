// Log-sum-exp of a 1-D mixture of Gaussian kernels that visits only the kernels within reach
// of the point (internal; the Parzen estimator's log density for one numerical parameter).
//
// Term j at x is offset_j - ((x - mu_j) / sigma_j)^2 / 2. The kernels are kept sorted by mean
// in classes of widths within a factor of 2. For each x the kernels next to it in every class
// give a lower bound L of the largest term; in each class, a kernel farther from x than
// max_sigma * sqrt(2 (max_offset - L + cut)) has a term below L - cut and is skipped. The cut
// is 37 + log(n), so the n skipped terms together weigh less than exp(-37) < 2^-53 of the sum:
// the result is the sum over every kernel to double precision (a relative change of the
// density below one rounding; kernel_window_test checks it on random mixtures).
//
// Example:
//   detail::KernelWindow window(mus, sigmas, offsets, order);  // order sorts mus
//   std::vector<double> scratch;
//   double log_density = window.log_sum_exp(0.3, scratch);
#pragma once

#include <cstddef>
#include <vector>

namespace knob::detail {

class KernelWindow {
 public:
  // mus, sigmas (> 0) and offsets of n kernels; order[0..n) their indices by ascending mean.
  KernelWindow(const std::vector<double>& mus, const std::vector<double>& sigmas,
               const std::vector<double>& offsets, const std::vector<size_t>& order);
  // The same with inv_sigmas[j] = 1 / sigmas[j] given (it saves a division per kernel).
  KernelWindow(const std::vector<double>& mus, const std::vector<double>& sigmas,
               const std::vector<double>& inv_sigmas, const std::vector<double>& offsets,
               const std::vector<size_t>& order);

  // log sum_j exp(term_j(x)) (-inf without kernels); `scratch` is working space.
  double log_sum_exp(double x, std::vector<double>& scratch) const;

 private:
  struct WidthClass {
    size_t begin = 0, end = 0;  // its kernels in the arrays below, by ascending mean
    double max_sigma = 0;
    double max_offset = 0;
  };
  std::vector<WidthClass> classes_;
  std::vector<double> mus_, inv_sigmas_, offsets_;
  double cut_ = 0;

  double term(size_t i, double x) const;
  // A lower bound of the largest term at x: the largest of the kernels next to x in each class
  // (-inf without kernels).
  double lower_bound(double x) const;
  // The first kernel in [from, to) whose mean is not below v (to if none).
  size_t first(size_t from, size_t to, double v) const;
};

}  // namespace knob::detail
