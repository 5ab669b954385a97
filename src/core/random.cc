#include "knob/core/random.h"

#include <cmath>

namespace knob {

Rng::Rng(std::optional<uint64_t> seed)
    : engine_(seed ? *seed
                   : (static_cast<uint64_t>(std::random_device{}()) << 32) ^
                         std::random_device{}()) {}

double Rng::uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

int64_t Rng::uniform_int(int64_t low, int64_t high) {
  // In unsigned arithmetic: high - low may not fit in int64_t.
  auto span = static_cast<uint64_t>(high) - static_cast<uint64_t>(low) + 1;
  if (span == 0) return static_cast<int64_t>(engine_());  // the full 64-bit range
  // Rejection sampling: no modulo bias.
  uint64_t limit = UINT64_MAX - UINT64_MAX % span;
  uint64_t x;
  do {
    x = engine_();
  } while (x >= limit);
  return static_cast<int64_t>(static_cast<uint64_t>(low) + x % span);
}

double Rng::normal() {
  double u1 = uniform();
  double u2 = uniform();
  if (u1 <= 0.0) u1 = 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

}  // namespace knob
