#include "knob/train/pbt_policy.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "knob/core/error.h"

namespace knob {
namespace {

double grid_step(const MutableKnob& k) {
  return k.kind == KnobKind::kInt && k.step <= 0 ? 1.0 : k.step;
}

// The grid point nearest to `x` within [low, high] (x itself, clipped, without a grid).
double snap(const MutableKnob& k, double x) {
  const double step = grid_step(k);
  if (step <= 0) return std::clamp(x, k.low, k.high);
  const double top = k.low + std::floor((k.high - k.low) / step + 1e-9) * step;
  const double snapped = k.low + std::round((x - k.low) / step) * step;
  return std::clamp(snapped, k.low, top);
}

ParamValue numeric(const MutableKnob& k, double x) {
  if (k.kind == KnobKind::kInt) return static_cast<int64_t>(std::llround(x));
  return x;
}

std::string range_text(const MutableKnob& k) {
  return "[" + detail::format_value(k.low) + ", " + detail::format_value(k.high) + "]";
}

}  // namespace

void validate_knob(const MutableKnob& k, const std::string& field) {
  KNOB_CHECK(!k.key.empty(), field, std::string("\"\""), "must name a config key");
  if (k.kind == KnobKind::kCategorical) {
    KNOB_CHECK(!k.choices.empty(), field, std::string("[]"), "must list at least one choice");
    return;
  }
  KNOB_CHECK(std::isfinite(k.low) && std::isfinite(k.high) && k.low < k.high, field, range_text(k),
             "must be a finite range with low < high");
  KNOB_CHECK(!k.log || k.low > 0, field, k.low, "a log range must have low > 0");
  KNOB_CHECK(std::isfinite(k.step) && k.step >= 0, field, k.step,
             "step must be >= 0 (0: continuous)");
  KNOB_CHECK(!k.log || k.step == 0 || (k.kind == KnobKind::kInt && k.step == 1), field, k.step,
             "a log range takes no step (as Optuna's distributions)");
  if (k.kind == KnobKind::kInt) {
    KNOB_CHECK(k.low == std::round(k.low) && k.high == std::round(k.high) &&
                   grid_step(k) == std::round(grid_step(k)),
               field, range_text(k), "an integer knob needs integer bounds and step");
  }
}

ParamValue sample_knob(const MutableKnob& k, Rng& rng) {
  if (k.kind == KnobKind::kCategorical) {
    return k.choices[static_cast<size_t>(
        rng.uniform_int(0, static_cast<int64_t>(k.choices.size()) - 1))];
  }
  const double step = grid_step(k);
  if (k.log) {
    // Integers: log-uniform over [low - 0.5, high + 0.5], then rounded (Optuna's rule).
    const double half = k.kind == KnobKind::kInt ? 0.5 : 0.0;
    const double x = std::exp(rng.uniform(std::log(k.low - half), std::log(k.high + half)));
    return numeric(k, snap(k, x));
  }
  if (step > 0) {
    const auto points = static_cast<int64_t>(std::floor((k.high - k.low) / step + 1e-9));
    return numeric(k, k.low + static_cast<double>(rng.uniform_int(0, points)) * step);
  }
  return numeric(k, rng.uniform(k.low, k.high));
}

KnobValues sample_knobs(const std::vector<MutableKnob>& knobs, Rng& rng) {
  KnobValues values;
  for (const MutableKnob& k : knobs) values[k.key] = sample_knob(k, rng);
  return values;
}

ParamValue perturb_knob(const MutableKnob& k, const ParamValue& value,
                        const std::vector<double>& factors, double resample_probability, Rng& rng) {
  const bool resample = rng.uniform() < resample_probability;
  if (k.kind == KnobKind::kCategorical) {
    const auto at = std::find(k.choices.begin(), k.choices.end(), value);
    if (resample || at == k.choices.end()) return sample_knob(k, rng);
    const int64_t shift = rng.uniform_int(0, 1) == 0 ? -1 : 1;
    const auto last = static_cast<int64_t>(k.choices.size()) - 1;
    const int64_t index = std::clamp((at - k.choices.begin()) + shift, int64_t{0}, last);
    return k.choices[static_cast<size_t>(index)];
  }
  if (resample || std::holds_alternative<std::monostate>(value)) return sample_knob(k, rng);
  const double x = as_double(value, k.key);
  const double factor =
      factors[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(factors.size()) - 1))];
  double y = snap(k, x * factor);
  if (k.kind == KnobKind::kInt && y == x && factor != 1) {
    y = snap(k, x + (factor > 1 ? grid_step(k) : -grid_step(k)));
  }
  return numeric(k, y);
}

KnobValues explore_knobs(const std::vector<MutableKnob>& knobs, const KnobValues& values,
                         const std::vector<double>& factors, double resample_probability,
                         Rng& rng) {
  KnobValues out = values;
  for (const MutableKnob& k : knobs) {
    auto it = values.find(k.key);
    out[k.key] = perturb_knob(k, it == values.end() ? ParamValue{} : it->second, factors,
                              resample_probability, rng);
  }
  return out;
}

std::pair<std::vector<int64_t>, std::vector<int64_t>> split_quantiles(
    const std::vector<double>& scores, double quantile_fraction) {
  const auto n = static_cast<int64_t>(scores.size());
  if (n <= 1 || quantile_fraction <= 0) return {};
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  auto value = [&](int64_t i) {
    double s = scores[static_cast<size_t>(i)];
    return std::isnan(s) ? -std::numeric_limits<double>::infinity() : s;
  };
  // Worst first; of equal scores the higher index counts as worse.
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return value(a) < value(b) || (value(a) == value(b) && a > b);
  });
  auto k = static_cast<int64_t>(std::ceil(static_cast<double>(n) * quantile_fraction));
  k = std::min(k, n / 2);
  return {std::vector<int64_t>(order.begin(), order.begin() + k),
          std::vector<int64_t>(order.end() - k, order.end())};
}

int64_t choose_source(const std::vector<double>& scores, int64_t member, double quantile_fraction,
                      Rng& rng) {
  auto [bottom, top] = split_quantiles(scores, quantile_fraction);
  if (std::find(bottom.begin(), bottom.end(), member) == bottom.end()) return -1;
  return top[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(top.size()) - 1))];
}

uint64_t pbt_seed(uint64_t seed, int64_t generation, int64_t member) {
  auto mix = [](uint64_t z) {  // SplitMix64's finaliser
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  return mix(mix(mix(seed) ^ static_cast<uint64_t>(generation)) ^ static_cast<uint64_t>(member));
}

}  // namespace knob
