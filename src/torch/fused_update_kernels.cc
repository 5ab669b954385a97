// Built with -ffp-contract=off and -fno-math-errno (CMakeLists.txt): every multiply and add below
// rounds on its own unless written as a fused multiply-add, as in libtorch's kernels.
#include "torch/fused_update_kernels.h"

#include <immintrin.h>

#include <cstdlib>
#include <cstring>

namespace knob {

bool fused_updates_supported() {
  // ATEN_CPU_CAPABILITY=default makes libtorch run its plain kernels, which round a + alpha * b
  // twice; AVX2 and AVX-512 (chosen by default on such CPUs) fuse it.
  const char* forced = std::getenv("ATEN_CPU_CAPABILITY");
  if (forced && std::strcmp(forced, "default") == 0) return false;
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#pragma GCC push_options
#pragma GCC target("avx2,fma")

namespace {

inline __m256 splat(float x) { return _mm256_set1_ps(x); }

}  // namespace

void adam_update(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n,
                 const AdamCoefficients& c) {
  const bool decay = c.decay != 1.0f, l2 = c.l2 != 0.0f;
  const __m256 v_decay = splat(c.decay), v_l2 = splat(c.l2), v_b1 = splat(c.beta1),
               v_omb1 = splat(c.one_minus_beta1), v_b2 = splat(c.beta2),
               v_omb2 = splat(c.one_minus_beta2), v_bc2 = splat(c.sqrt_bias_correction2),
               v_eps = splat(c.eps), v_step = splat(c.minus_step_size);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 p = _mm256_loadu_ps(param + i);
    __m256 g = _mm256_loadu_ps(grad + i);
    if (decay) p = _mm256_mul_ps(p, v_decay);
    if (l2) g = _mm256_fmadd_ps(p, v_l2, g);
    __m256 m = _mm256_fmadd_ps(g, v_omb1, _mm256_mul_ps(_mm256_loadu_ps(exp_avg + i), v_b1));
    __m256 v = _mm256_fmadd_ps(_mm256_mul_ps(v_omb2, g), g,
                               _mm256_mul_ps(_mm256_loadu_ps(exp_avg_sq + i), v_b2));
    __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(v), v_bc2), v_eps);
    p = _mm256_add_ps(p, _mm256_div_ps(_mm256_mul_ps(v_step, m), denom));
    _mm256_storeu_ps(exp_avg + i, m);
    _mm256_storeu_ps(exp_avg_sq + i, v);
    _mm256_storeu_ps(param + i, p);
  }
  for (; i < n; ++i) {
    float p = param[i], g = grad[i];
    if (decay) p = p * c.decay;
    if (l2) g = __builtin_fmaf(p, c.l2, g);
    const float m = __builtin_fmaf(g, c.one_minus_beta1, exp_avg[i] * c.beta1);
    const float v = __builtin_fmaf(c.one_minus_beta2 * g, g, exp_avg_sq[i] * c.beta2);
    const float denom = __builtin_sqrtf(v) / c.sqrt_bias_correction2 + c.eps;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    param[i] = p + (c.minus_step_size * m) / denom;
  }
}

void sgd_update(float* param, const float* grad, float* buffer, int64_t n,
                const SgdCoefficients& c) {
  const bool l2 = c.l2 != 0.0f;
  const __m256 v_l2 = splat(c.l2), v_mom = splat(c.momentum_factor),
               v_omd = splat(c.one_minus_dampening), v_lr = splat(c.minus_lr);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 p = _mm256_loadu_ps(param + i);
    __m256 d = _mm256_loadu_ps(grad + i);
    if (l2) d = _mm256_fmadd_ps(p, v_l2, d);
    if (c.momentum) {
      __m256 b = c.first
                     ? d
                     : _mm256_fmadd_ps(d, v_omd, _mm256_mul_ps(_mm256_loadu_ps(buffer + i), v_mom));
      _mm256_storeu_ps(buffer + i, b);
      d = c.nesterov ? _mm256_fmadd_ps(b, v_mom, d) : b;
    }
    _mm256_storeu_ps(param + i, _mm256_fmadd_ps(d, v_lr, p));
  }
  for (; i < n; ++i) {
    const float p = param[i];
    float d = grad[i];
    if (l2) d = __builtin_fmaf(p, c.l2, d);
    if (c.momentum) {
      const float b =
          c.first ? d : __builtin_fmaf(d, c.one_minus_dampening, buffer[i] * c.momentum_factor);
      buffer[i] = b;
      d = c.nesterov ? __builtin_fmaf(b, c.momentum_factor, d) : b;
    }
    param[i] = __builtin_fmaf(d, c.minus_lr, p);
  }
}

void rmsprop_update(float* param, const float* grad, float* square_avg, float* buffer, int64_t n,
                    const RmspropCoefficients& c) {
  const bool l2 = c.l2 != 0.0f;
  const __m256 v_l2 = splat(c.l2), v_alpha = splat(c.alpha), v_oma = splat(c.one_minus_alpha),
               v_eps = splat(c.eps), v_mom = splat(c.momentum_factor), v_lr = splat(c.minus_lr),
               v_one = splat(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 p = _mm256_loadu_ps(param + i);
    __m256 g = _mm256_loadu_ps(grad + i);
    if (l2) g = _mm256_fmadd_ps(p, v_l2, g);
    __m256 s = _mm256_fmadd_ps(_mm256_mul_ps(v_oma, g), g,
                               _mm256_mul_ps(_mm256_loadu_ps(square_avg + i), v_alpha));
    _mm256_storeu_ps(square_avg + i, s);
    __m256 avg = _mm256_add_ps(_mm256_sqrt_ps(s), v_eps);
    if (c.momentum) {
      __m256 b = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(buffer + i), v_mom),
                               _mm256_div_ps(_mm256_mul_ps(v_one, g), avg));
      _mm256_storeu_ps(buffer + i, b);
      p = _mm256_fmadd_ps(b, v_lr, p);
    } else {
      p = _mm256_add_ps(p, _mm256_div_ps(_mm256_mul_ps(v_lr, g), avg));
    }
    _mm256_storeu_ps(param + i, p);
  }
  for (; i < n; ++i) {
    float p = param[i], g = grad[i];
    if (l2) g = __builtin_fmaf(p, c.l2, g);
    const float s = __builtin_fmaf(c.one_minus_alpha * g, g, square_avg[i] * c.alpha);
    square_avg[i] = s;
    const float avg = __builtin_sqrtf(s) + c.eps;
    if (c.momentum) {
      const float b = buffer[i] * c.momentum_factor + (1.0f * g) / avg;
      buffer[i] = b;
      p = __builtin_fmaf(b, c.minus_lr, p);
    } else {
      p = p + (c.minus_lr * g) / avg;
    }
    param[i] = p;
  }
}

#pragma GCC pop_options

}  // namespace knob
