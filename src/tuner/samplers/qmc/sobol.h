// SobolSequence: the Sobol' low-discrepancy sequence in [0, 1)^dims (Joe & Kuo's direction
// numbers, new-joe-kuo-6.21201, as scipy.stats.qmc.Sobol uses them), point i computed directly
// from the Gray code of i, so any point is one call away. Unscrambled it equals scipy's
// Sobol(dims, scramble=False); scrambled (Matousek's linear matrix scramble plus a digital random
// shift, what scipy's Sobol(scramble=True) does, drawn from knob's Rng) it keeps the (t,m,s)-net
// balance of every 2^m leading points.
//
// Example:
//   knob::Rng rng(42);
//   knob::detail::SobolSequence sobol(3, &rng);   // nullptr: unscrambled
//   std::vector<double> x = sobol.point(7);
#pragma once

#include <cstdint>
#include <vector>

#include "knob/core/random.h"

namespace knob::detail {

class SobolSequence {
 public:
  // Bits of each coordinate (scipy uses 30; more makes scrambled points finer). Points
  // 0 .. 2^kBits - 1 exist.
  static constexpr int kBits = 52;
  // Dimensions with direction numbers.
  static int max_dims();

  // Needs 1 <= dims <= max_dims(). Draws the scramble from `rng` (unscrambled if null).
  explicit SobolSequence(int dims, Rng* rng = nullptr);

  int dims() const { return dims_; }
  // Point `index` (0-based; point 0 is the origin, or the shift when scrambled).
  std::vector<double> point(uint64_t index) const;

 private:
  int dims_;
  std::vector<uint64_t> directions_;  // [dimension * kBits + k]: V_{k+1}, scaled to kBits bits
  std::vector<uint64_t> shift_;       // [dimension]: XORed into every point (0: unscrambled)
};

}  // namespace knob::detail
