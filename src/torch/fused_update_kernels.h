// One-pass optimizer updates over a parameter's contiguous float32 storage: Adam/AdamW,
// SGD (momentum, Nesterov) and RMSprop, each element read and written once instead of by the
// 5-8 tensor operations libtorch's optimizers chain. Each computes, element by element, the
// same roundings as libtorch 1.13's step on its AVX2/AVX-512 kernels (which fuse a + alpha * b
// and addcmul into one fused multiply-add), so the results are bitwise equal; callers use them
// only when those kernels are the ones libtorch runs (fused_updates_supported()).
//
// The coefficients are the float values libtorch's kernels see: each double the optimizer
// computes, rounded to float once.
#pragma once

#include <cstdint>

namespace knob {

// True when this CPU runs libtorch's AVX2 (or AVX-512) kernels, whose roundings the updates
// below reproduce, and the kernels here can run (AVX2 and FMA).
bool fused_updates_supported();

struct AdamCoefficients {
  float decay = 1.0f;  // AdamW: p *= 1 - lr * weight_decay first; 1 for Adam
  float l2 = 0.0f;     // Adam: g += weight_decay * p; 0 for AdamW
  float beta1 = 0.9f, one_minus_beta1 = 0.1f;
  float beta2 = 0.999f, one_minus_beta2 = 0.001f;
  float sqrt_bias_correction2 = 1.0f;
  float eps = 1e-8f;
  float minus_step_size = 0.0f;  // -lr / bias_correction1
};
// m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2;
// p += -step_size * m / (sqrt(v) / sqrt(bias_correction2) + eps).
void adam_update(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n,
                 const AdamCoefficients& c);

struct SgdCoefficients {
  float l2 = 0.0f;  // g += weight_decay * p
  bool momentum = false;
  bool first = false;  // the momentum buffer starts as the (decayed) gradient
  bool nesterov = false;
  float momentum_factor = 0.0f, one_minus_dampening = 1.0f;
  float minus_lr = 0.0f;
};
// buf = momentum buf + (1 - dampening) g; d = nesterov ? g + momentum buf : buf (g without
// momentum); p += -lr d. `buffer` is unused without momentum.
void sgd_update(float* param, const float* grad, float* buffer, int64_t n,
                const SgdCoefficients& c);

struct RmspropCoefficients {
  float l2 = 0.0f;
  float alpha = 0.99f, one_minus_alpha = 0.01f;
  float eps = 1e-8f;
  bool momentum = false;
  float momentum_factor = 0.0f;
  float minus_lr = 0.0f;
};
// s = alpha s + (1 - alpha) g^2; avg = sqrt(s) + eps; with momentum buf = momentum buf + g / avg
// and p += -lr buf, else p += -lr g / avg. `buffer` is unused without momentum.
void rmsprop_update(float* param, const float* grad, float* square_avg, float* buffer, int64_t n,
                    const RmspropCoefficients& c);

}  // namespace knob
