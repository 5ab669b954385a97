// The inner loops of the Parzen estimator's log-sum-exp (internal): the kernels' Gaussian
// terms, their largest, and the sum of their exps — the one place knob computes many exp()s
// per ask.
//
// Each loop has an AVX2 + FMA version (a hand-written vector exp within 1 ulp of std::exp),
// chosen at run time when the CPU has both, and a portable one (std::exp); the two agree to
// a few ulp (sum_exp_test). `-inf` terms add 0.
//
// Example:
//   std::vector<double> terms(n);
//   const double m = detail::gauss_terms(x, mus, inv_sigmas, offsets, n, terms.data());
//   const double log_sum = m + std::log(detail::sum_exp_shifted(terms.data(), n, m));
#pragma once

#include <cstddef>

namespace knob::detail {

// The largest of x[0..n) (-inf allowed; n >= 1).
double max_value(const double* x, std::size_t n);

// sum over j of exp(x[j] - shift), for x[j] <= shift (-inf allowed: it adds 0). Terms more
// than 700 below `shift` count as exp(-700).
double sum_exp_shifted(const double* x, std::size_t n, double shift);

// out[j] = offsets[j] - ((x - mus[j]) * inv_sigmas[j])^2 / 2 for j < n; returns the largest
// (-inf for n = 0).
double gauss_terms(double x, const double* mus, const double* inv_sigmas, const double* offsets,
                   std::size_t n, double* out);

// acc[j] -= ((x - mus[j]) * inv_sigmas[j])^2 / 2 for j < n.
void subtract_half_squares(double x, const double* mus, const double* inv_sigmas, std::size_t n,
                           double* acc);

// exp(x[j]) for x[j] in [-700, 709], the vector exp the loops above use where the CPU has
// AVX2 + FMA (std::exp elsewhere): exposed to test its error.
void exp_values(const double* x, std::size_t n, double* out);

// Whether the AVX2 + FMA versions run on this CPU; `portable` (tests) forces std::exp loops
// in this thread until reset.
bool vector_exp_in_use();
void force_portable_exp(bool portable);

}  // namespace knob::detail
