#include "tuner/samplers/qmc/sobol.h"

#include <bit>
#include <cassert>

#include "tuner/samplers/qmc/sobol_directions.h"

namespace knob::detail {

namespace {

constexpr int kBits = SobolSequence::kBits;

// Direction numbers m_1..m_kBits of dimension `d` (Joe & Kuo's recurrence over the primitive
// polynomial x^s + a_1 x^(s-1) + ... + a_(s-1) x + 1:
//   m_k = 2 a_1 m_(k-1) ^ 4 a_2 m_(k-2) ^ ... ^ 2^(s-1) a_(s-1) m_(k-s+1) ^ 2^s m_(k-s) ^ m_(k-s)),
// each scaled to V_k = m_k 2^(kBits - k).
void directions_of(int d, const uint32_t* initial, uint64_t* v) {
  const uint32_t poly = kSobolPoly[d];
  const int s = std::bit_width(poly) - 1;
  std::vector<uint64_t> m(kBits);
  for (int k = 0; k < kBits; ++k) {
    if (s == 0) {
      m[k] = 1;  // dimension 0: van der Corput
    } else if (k < s) {
      m[k] = initial[k];
    } else {
      uint64_t x = m[k - s] ^ (m[k - s] << s);
      for (int j = 1; j < s; ++j) {
        if ((poly >> (s - j)) & 1) x ^= m[k - j] << j;
      }
      m[k] = x;
    }
    v[k] = m[k] << (kBits - 1 - k);
  }
}

// A uniformly random kBits-bit integer.
uint64_t random_bits(Rng& rng) { return rng.next_u64() >> (64 - kBits); }

}  // namespace

int SobolSequence::max_dims() { return kSobolDirectionDims; }

SobolSequence::SobolSequence(int dims, Rng* rng)
    : dims_(dims), directions_(static_cast<size_t>(dims) * kBits), shift_(dims, 0) {
  assert(dims >= 1 && dims <= max_dims());
  const uint32_t* initial = kSobolInitial;
  for (int d = 0; d < dims; ++d) {
    uint64_t* v = &directions_[static_cast<size_t>(d) * kBits];
    directions_of(d, initial, v);
    initial += std::bit_width(kSobolPoly[d]) - 1;
    if (rng == nullptr) continue;
    // Linear matrix scramble: digit i of each direction number (i = 1 the most significant)
    // becomes digit i XOR the sum of L[i][j] digit j over j < i, L a random lower-triangular
    // binary matrix with unit diagonal. Row i of L is `rows[i]` (bit kBits - j: L[i][j]).
    std::vector<uint64_t> rows(kBits);
    for (int i = 0; i < kBits; ++i) {
      const uint64_t above = ~uint64_t{0} << (kBits - i);  // digits 1..i-1 (higher bits)
      rows[i] = random_bits(*rng) & above & ((uint64_t{1} << kBits) - 1);
    }
    for (int k = 0; k < kBits; ++k) {
      uint64_t scrambled = v[k];
      for (int i = 0; i < kBits; ++i) {
        if (std::popcount(rows[i] & v[k]) & 1) scrambled ^= uint64_t{1} << (kBits - 1 - i);
      }
      v[k] = scrambled;
    }
    shift_[d] = random_bits(*rng);
  }
}

std::vector<double> SobolSequence::point(uint64_t index) const {
  assert(index >> kBits == 0);
  const uint64_t gray = index ^ (index >> 1);
  std::vector<double> x(dims_);
  for (int d = 0; d < dims_; ++d) {
    const uint64_t* v = &directions_[static_cast<size_t>(d) * kBits];
    uint64_t bits = shift_[d];
    for (uint64_t g = gray; g != 0; g &= g - 1) bits ^= v[std::countr_zero(g)];
    x[d] = static_cast<double>(bits) * 0x1.0p-52;
  }
  return x;
}

}  // namespace knob::detail
