// Not fast-math: the vector exp's range reduction needs (k + M) - M rounded as written.
// Built with -O3 (CMakeLists.txt) so that the portable loops vectorize for SSE2.
#include "tuner/samplers/tpe/sum_exp.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

namespace knob::detail {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kFloor = -700.0;

std::atomic<bool> forced_portable{false};

bool cpu_has_avx2_fma() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}

bool use_vector() { return cpu_has_avx2_fma() && !forced_portable.load(std::memory_order_relaxed); }

// exp(t) for t in [-700, 709]: t = k ln2 + r with |r| <= ln2 / 2 (ln2 in two parts, the
// first with 32 significant bits so that k * ln2_hi is exact), exp(r) by its Taylor
// polynomial of degree 13 (truncation error below 2^-60), times 2^k added to the exponent
// bits. k comes from adding 1.5 * 2^52, which rounds t / ln2 to an integer in the low bits.
__attribute__((target("avx2,fma"))) inline __m256d exp4(__m256d t) {
  const __m256d shifter = _mm256_set1_pd(6755399441055744.0);  // 1.5 * 2^52
  const __m256d kd = _mm256_fmadd_pd(t, _mm256_set1_pd(1.4426950408889634), shifter);
  const __m256d k = _mm256_sub_pd(kd, shifter);
  __m256d r = _mm256_fnmadd_pd(k, _mm256_set1_pd(6.93147180369123816490e-01), t);
  r = _mm256_fnmadd_pd(k, _mm256_set1_pd(1.90821492927058770002e-10), r);
  __m256d p = _mm256_set1_pd(1.0 / 6227020800.0);  // 1/13!
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 479001600.0));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 39916800.0));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 3628800.0));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 362880.0));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 40320.0));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 5040.0));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 720.0));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 120.0));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 24.0));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 6.0));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(0.5));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0));
  // The low 12 bits of kd's significand hold k (two's complement): shifted into the exponent.
  const __m256i scale = _mm256_slli_epi64(_mm256_castpd_si256(kd), 52);
  return _mm256_castsi256_pd(_mm256_add_epi64(_mm256_castpd_si256(p), scale));
}

__attribute__((target("avx2,fma"))) double horizontal_sum(__m256d v) {
  const __m128d pair = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(pair, _mm_unpackhi_pd(pair, pair)));
}

__attribute__((target("avx2,fma"))) double horizontal_max(__m256d v) {
  const __m128d pair = _mm_max_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_max_sd(pair, _mm_unpackhi_pd(pair, pair)));
}

__attribute__((target("avx2,fma"))) double sum_exp_avx2(const double* x, std::size_t n,
                                                        double shift) {
  const __m256d s = _mm256_set1_pd(shift), floor = _mm256_set1_pd(kFloor);
  __m256d sum0 = _mm256_setzero_pd(), sum1 = _mm256_setzero_pd();
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    sum0 =
        _mm256_add_pd(sum0, exp4(_mm256_max_pd(_mm256_sub_pd(_mm256_loadu_pd(x + j), s), floor)));
    sum1 = _mm256_add_pd(sum1,
                         exp4(_mm256_max_pd(_mm256_sub_pd(_mm256_loadu_pd(x + j + 4), s), floor)));
  }
  if (j + 4 <= n) {
    sum0 =
        _mm256_add_pd(sum0, exp4(_mm256_max_pd(_mm256_sub_pd(_mm256_loadu_pd(x + j), s), floor)));
    j += 4;
  }
  if (j < n) {
    alignas(32) double tail[4] = {kFloor, kFloor, kFloor, kFloor};
    for (std::size_t i = j; i < n; ++i) tail[i - j] = std::max(x[i] - shift, kFloor);
    // The padding's exp(-700) ~ 1e-304 is below any sum's rounding (the sum is >= 1).
    sum1 = _mm256_add_pd(sum1, exp4(_mm256_load_pd(tail)));
  }
  return horizontal_sum(_mm256_add_pd(sum0, sum1));
}

__attribute__((target("avx2,fma"))) double max_avx2(const double* x, std::size_t n) {
  __m256d m = _mm256_set1_pd(-kInf);
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) m = _mm256_max_pd(m, _mm256_loadu_pd(x + j));
  double best = horizontal_max(m);
  for (; j < n; ++j) best = std::max(best, x[j]);
  return best;
}

__attribute__((target("avx2,fma"))) __m256d half_square4(__m256d x, const double* mus,
                                                         const double* inv_sigmas) {
  const __m256d z =
      _mm256_mul_pd(_mm256_sub_pd(x, _mm256_loadu_pd(mus)), _mm256_loadu_pd(inv_sigmas));
  return _mm256_mul_pd(_mm256_mul_pd(z, z), _mm256_set1_pd(0.5));
}

__attribute__((target("avx2,fma"))) double gauss_terms_avx2(double x, const double* mus,
                                                            const double* inv_sigmas,
                                                            const double* offsets, std::size_t n,
                                                            double* out) {
  const __m256d xv = _mm256_set1_pd(x);
  __m256d m = _mm256_set1_pd(-kInf);
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const __m256d t =
        _mm256_sub_pd(_mm256_loadu_pd(offsets + j), half_square4(xv, mus + j, inv_sigmas + j));
    _mm256_storeu_pd(out + j, t);
    m = _mm256_max_pd(m, t);
  }
  double best = horizontal_max(m);
  for (; j < n; ++j) {
    const double z = (x - mus[j]) * inv_sigmas[j];
    out[j] = offsets[j] - z * z * 0.5;
    best = std::max(best, out[j]);
  }
  return best;
}

__attribute__((target("avx2,fma"))) void subtract_half_squares_avx2(double x, const double* mus,
                                                                    const double* inv_sigmas,
                                                                    std::size_t n, double* acc) {
  const __m256d xv = _mm256_set1_pd(x);
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    _mm256_storeu_pd(acc + j, _mm256_sub_pd(_mm256_loadu_pd(acc + j),
                                            half_square4(xv, mus + j, inv_sigmas + j)));
  }
  for (; j < n; ++j) {
    const double z = (x - mus[j]) * inv_sigmas[j];
    acc[j] -= z * z * 0.5;
  }
}

__attribute__((target("avx2,fma"))) void exp_values_avx2(const double* x, std::size_t n,
                                                         double* out) {
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) _mm256_storeu_pd(out + j, exp4(_mm256_loadu_pd(x + j)));
  for (; j < n; ++j) out[j] = std::exp(x[j]);
}

}  // namespace

bool vector_exp_in_use() { return use_vector(); }

void force_portable_exp(bool portable) {
  forced_portable.store(portable, std::memory_order_relaxed);
}

double max_value(const double* x, std::size_t n) {
  if (use_vector()) return max_avx2(x, n);
  double m = x[0];
  for (std::size_t j = 1; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

double sum_exp_shifted(const double* x, std::size_t n, double shift) {
  if (use_vector()) return sum_exp_avx2(x, n, shift);
  double sum = 0;
  for (std::size_t j = 0; j < n; ++j) sum += std::exp(std::max(x[j] - shift, kFloor));
  return sum;
}

double gauss_terms(double x, const double* mus, const double* inv_sigmas, const double* offsets,
                   std::size_t n, double* out) {
  if (use_vector()) return gauss_terms_avx2(x, mus, inv_sigmas, offsets, n, out);
  double best = -kInf;
  for (std::size_t j = 0; j < n; ++j) {
    const double z = (x - mus[j]) * inv_sigmas[j];
    out[j] = offsets[j] - z * z * 0.5;
    best = std::max(best, out[j]);
  }
  return best;
}

void subtract_half_squares(double x, const double* mus, const double* inv_sigmas, std::size_t n,
                           double* acc) {
  if (use_vector()) return subtract_half_squares_avx2(x, mus, inv_sigmas, n, acc);
  for (std::size_t j = 0; j < n; ++j) {
    const double z = (x - mus[j]) * inv_sigmas[j];
    acc[j] -= z * z * 0.5;
  }
}

void exp_values(const double* x, std::size_t n, double* out) {
  if (use_vector()) return exp_values_avx2(x, n, out);
  for (std::size_t j = 0; j < n; ++j) out[j] = std::exp(x[j]);
}

}  // namespace knob::detail
