// Seeded random numbers for samplers. Same seed, same sequence, on every machine:
// the distributions are written out here rather than taken from <random>, whose
// uniform_real_distribution / normal_distribution differ between standard libraries.
#pragma once

#include <cstdint>
#include <optional>
#include <random>

namespace knob {

class Rng {
 public:
  // Without a seed, draws one from std::random_device.
  explicit Rng(std::optional<uint64_t> seed = std::nullopt);

  void seed(uint64_t seed) { engine_.seed(seed); }
  uint64_t next_u64() { return engine_(); }
  // Uniform in [0, 1).
  double uniform();
  // Uniform in [low, high).
  double uniform(double low, double high) { return low + (high - low) * uniform(); }
  // Uniform integer in [low, high] (inclusive).
  int64_t uniform_int(int64_t low, int64_t high);
  // Standard normal (Box–Muller).
  double normal();

 private:
  std::mt19937_64 engine_;
};

}  // namespace knob
