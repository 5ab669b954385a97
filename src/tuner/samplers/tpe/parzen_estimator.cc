#include "tuner/samplers/tpe/parzen_estimator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "knob/core/error.h"
#include "tuner/samplers/tpe/central_mass.h"
#include "tuner/samplers/tpe/sum_exp.h"
#include "tuner/samplers/tpe/vector_log.h"

namespace knob::detail {
namespace {

constexpr double kEps = 1e-12;
constexpr double kSigma0Magnitude = 0.2;
const double kLogSqrt2Pi = 0.5 * std::log(2.0 * M_PI);
// Components whose weighted log mass is this far below the best one add less than 1e-13
// of it: their exact mass (an erfc) is not computed.
constexpr double kNegligible = 30.0;

double ndtr(double a) {
  const double x = a * M_SQRT1_2;
  if (x < -M_SQRT1_2) return 0.5 * std::erfc(-x);
  if (x < M_SQRT1_2) return 0.5 + 0.5 * std::erf(x);
  return 1.0 - 0.5 * std::erfc(x);
}

double norm_logpdf(double x) { return -0.5 * x * x - kLogSqrt2Pi; }

bool is_log(const Distribution& d) {
  if (const auto* f = std::get_if<FloatDistribution>(&d)) return f->log;
  if (const auto* i = std::get_if<IntDistribution>(&d)) return i->log;
  return false;
}

double log_diff(double log_p, double log_q) { return log_p + std::log1p(-std::exp(log_q - log_p)); }

double logaddexp(double a, double b) {
  if (a == -std::numeric_limits<double>::infinity()) return b;
  if (b == -std::numeric_limits<double>::infinity()) return a;
  const double m = std::max(a, b);
  return m + std::log1p(std::exp(-std::abs(a - b)));
}

// Acklam's rational approximation of the normal quantile (relative error < 1.2e-9); the
// Newton steps in ndtri_exp make it exact to double precision.
double ndtri_approx(double p) {
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  constexpr double low = 0.02425;
  if (p < low) {
    double q = std::sqrt(-2 * std::log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p <= 1 - low) {
    double q = p - 0.5, r = q * q;
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
           (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  double q = std::sqrt(-2 * std::log1p(-p));
  return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
         ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
}

// The x with log_ndtr(x) == y, in [-100, 100] as Optuna's bisection. Optuna bisects 100
// times (its slowest step); a good start and Newton's method on log Phi do it in a few.
double ndtri_exp(double y) {
  if (y >= 0) return 100.0;
  double x;
  if (y < -700) {
    x = -std::sqrt(-2.0 * y);  // log Phi(x) ~ -x^2/2 far in the left tail
  } else if (y > -0.6931471805599453) {
    x = -ndtri_approx(-std::expm1(y));
  } else {
    x = ndtri_approx(std::exp(y));
  }
  for (int i = 0; i < 8; ++i) {
    x = std::clamp(x, -100.0, 100.0);
    const double log_phi = log_ndtr(x);
    const double f = log_phi - y;
    const double slope = std::exp(norm_logpdf(x) - log_phi);
    if (!(slope > 0) || !std::isfinite(slope)) break;
    const double dx = f / slope;
    x -= dx;
    if (std::abs(dx) <= 1e-15 * (1.0 + std::abs(x))) break;
  }
  return std::clamp(x, -100.0, 100.0);
}

const std::vector<size_t> kNoOrder;

// The components by ascending mean, ties by index (a stable order; the prior, if any, is the
// last component): `hint` (the observations' order, without the prior) when it is that
// order, else sorted afresh.
std::vector<size_t> order_by_mean(const std::vector<double>& mus, bool prior,
                                  const std::vector<size_t>& hint) {
  const size_t n = mus.size() - (prior ? 1 : 0);
  auto before = [&](size_t a, size_t b) { return mus[a] < mus[b] || (mus[a] == mus[b] && a < b); };
  if (hint.size() == n && !hint.empty()) {
    std::vector<size_t> order = hint;
    if (prior) order.insert(std::upper_bound(order.begin(), order.end(), n, before), n);
    // Strictly increasing indices below mus.size(): a permutation, in order.
    bool valid = order.back() < mus.size();
    for (size_t i = 1; i < order.size() && valid; ++i) {
      valid = order[i - 1] < mus.size() && before(order[i - 1], order[i]);
    }
    if (valid) return order;
  }
  std::vector<std::pair<double, size_t>> sorted(mus.size());
  for (size_t i = 0; i < mus.size(); ++i) sorted[i] = {mus[i], i};
  std::sort(sorted.begin(), sorted.end());
  std::vector<size_t> order(mus.size());
  for (size_t i = 0; i < mus.size(); ++i) order[i] = sorted[i].second;
  return order;
}

}  // namespace

double log_ndtr(double a) {
  if (a > 6) return -ndtr(-a);
  if (a > -20) return std::log(ndtr(a));
  // Asymptotic series of the left tail, as Optuna (and SciPy) evaluate it.
  const double log_lhs = -0.5 * a * a - std::log(-a) - 0.5 * std::log(2 * M_PI);
  double last_total = 0.0, right_hand_side = 1.0, numerator = 1.0, denom_factor = 1.0;
  const double denom_cons = 1.0 / (a * a);
  double sign = 1.0;
  for (int i = 1;
       std::abs(last_total - right_hand_side) > std::numeric_limits<double>::epsilon() && i < 1000;
       ++i) {
    last_total = right_hand_side;
    sign = -sign;
    denom_factor *= denom_cons;
    numerator *= 2 * i - 1;
    right_hand_side += sign * numerator * denom_factor;
  }
  return log_lhs + std::log(right_hand_side);
}

double log_gauss_mass(double a, double b) {
  // Work in the left tail, where it is accurate; the central case avoids cancellation.
  if (b <= 0) return log_diff(log_ndtr(b), log_ndtr(a));
  if (a > 0) return log_diff(log_ndtr(-a), log_ndtr(-b));
  return std::log1p(-ndtr(a) - ndtr(-b));
}

double truncnorm_ppf(double q, double a, double b) {
  if (a == b) return std::numeric_limits<double>::quiet_NaN();
  if (q == 0) return a;
  if (q == 1) return b;
  double x;
  if (a < 0) {
    x = ndtri_exp(logaddexp(log_ndtr(a), std::log(q) + log_gauss_mass(a, b)));
  } else {
    x = -ndtri_exp(logaddexp(log_ndtr(-b), std::log1p(-q) + log_gauss_mass(a, b)));
  }
  return std::clamp(x, a, b);
}

ParzenEstimator::ParzenEstimator(const std::vector<std::vector<double>>& observations,
                                 const std::vector<Distribution>& space,
                                 const ParzenParameters& parameters,
                                 const std::vector<std::vector<size_t>>& orders)
    : space_(space) {
  const size_t n = observations.empty() ? 0 : observations[0].size();
  const bool consider_prior = parameters.consider_prior || n == 0;
  const double prior_weight = parameters.prior_weight;

  // Mixture weights: the user's function for the observations, then the prior's.
  std::vector<double> w;
  if (n > 0) {
    w = parameters.weights(static_cast<int>(n));
    KNOB_CHECK(w.size() >= n, "weights",
               std::to_string(w.size()) + " values for n = " + std::to_string(n),
               "must return at least n values");
    w.resize(n);
    bool valid = true, positive = false;  // no running sum: a chain of dependent additions
    for (double v : w) valid = valid && std::isfinite(v) && v >= 0, positive = positive || v > 0;
    if (!valid) {
      for (double v : w) {
        KNOB_CHECK(std::isfinite(v) && v >= 0, "weights", v, "must return finite values >= 0");
      }
    }
    KNOB_CHECK(positive, "weights", "all zero for n = " + std::to_string(n),
               "must return at least one positive value");
  }
  if (consider_prior) w.push_back(prior_weight);
  const double total = std::accumulate(w.begin(), w.end(), 0.0);
  for (double& v : w) v /= total;
  weights_ = std::move(w);
  const size_t n_components = weights_.size();
  log_weights_.resize(n_components);
  log_values(weights_.data(), n_components, log_weights_.data());

  // Scott's rule (as in BOHB) for the multivariate bandwidth.
  const double sigma0 = kSigma0Magnitude * std::pow(static_cast<double>(std::max<size_t>(n, 1)),
                                                    -1.0 / (static_cast<double>(space.size()) + 4));

  kernels_.resize(space.size());
  inv_sigmas_.resize(space.size());
  log_p_accept_.resize(space.size());
  log_categorical_weights_.resize(space.size());
  for (size_t p = 0; p < space.size(); ++p) {
    ParzenKernel& k = kernels_[p];
    const std::vector<double>& obs = observations[p];
    if (const auto* c = std::get_if<CategoricalDistribution>(&space[p])) {
      k.categorical = true;
      k.n_choices = static_cast<int>(c->choices.size());
      const double fill = consider_prior ? prior_weight / static_cast<double>(n + 1)
                                         : prior_weight / static_cast<double>(n);
      k.categorical_weights.assign(n_components * k.n_choices, fill);
      for (size_t i = 0; i < n; ++i) {
        k.categorical_weights[i * k.n_choices + static_cast<size_t>(obs[i])] += 1.0;
      }
      for (size_t j = 0; j < n_components; ++j) {
        double* row = &k.categorical_weights[j * k.n_choices];
        const double s = std::accumulate(row, row + k.n_choices, 0.0);
        for (int c2 = 0; c2 < k.n_choices; ++c2) row[c2] /= s;
      }
      log_categorical_weights_[p].resize(k.categorical_weights.size());
      for (size_t i = 0; i < k.categorical_weights.size(); ++i) {
        log_categorical_weights_[p][i] = std::log(k.categorical_weights[i]);
      }
      continue;
    }
    // Bounds in the transformed space.
    bool log = false;
    if (const auto* f = std::get_if<FloatDistribution>(&space[p])) {
      log = f->log;
      if (f->log) {
        k.low = std::log(f->low), k.high = std::log(f->high);
      } else if (f->step) {
        k.q = *f->step, k.low = f->low - 0.5 * k.q, k.high = f->high + 0.5 * k.q;
      } else {
        k.low = f->low, k.high = f->high;
      }
    } else {
      const auto& i = std::get<IntDistribution>(space[p]);
      log = i.log;
      if (i.log) {
        k.low = std::log(static_cast<double>(i.low) - 0.5);
        k.high = std::log(static_cast<double>(i.high) + 0.5);
      } else {
        k.q = static_cast<double>(i.step);
        k.low = static_cast<double>(i.low) - 0.5 * k.q;
        k.high = static_cast<double>(i.high) + 0.5 * k.q;
      }
    }
    const double low = k.low, high = k.high;
    k.mus.resize(n_components);
    for (size_t i = 0; i < n; ++i) k.mus[i] = log ? std::log(obs[i]) : obs[i];
    if (consider_prior) k.mus[n] = 0.5 * (low + high);
    k.sigmas.resize(n_components);
    // One numerical continuous parameter: its log density visits only the kernels near each
    // point, which needs them by mean (as the univariate widths do).
    const bool windowed = space.size() == 1 && k.q == 0 && high > low;
    std::vector<size_t> order;
    if (windowed || !parameters.multivariate) {
      order = order_by_mean(k.mus, consider_prior, p < orders.size() ? orders[p] : kNoOrder);
    }
    if (parameters.multivariate) {
      std::fill(k.sigmas.begin(), k.sigmas.end(), sigma0 * (high - low));
    } else {
      // Each kernel as wide as the larger gap to its neighbours; mean(i) is the i-th mean in
      // ascending order, with the bounds as neighbours: mean(0) and mean(n_components + 1).
      auto mean = [&](size_t i) {
        return i == 0 ? low : (i > n_components ? high : k.mus[order[i - 1]]);
      };
      for (size_t i = 0; i < n_components; ++i) {
        k.sigmas[order[i]] = std::max(mean(i + 1) - mean(i), mean(i + 2) - mean(i + 1));
      }
      if (!parameters.consider_endpoints && n_components >= 2) {
        k.sigmas[order[0]] = mean(2) - mean(1);
        k.sigmas[order[n_components - 1]] = mean(n_components) - mean(n_components - 1);
      }
    }
    const double max_sigma = high - low;
    const double min_sigma =
        parameters.consider_magic_clip
            ? (high - low) / std::min(100.0, 1.0 + static_cast<double>(n_components))
            : kEps;
    for (double& s : k.sigmas) s = std::clamp(s, min_sigma, max_sigma);
    if (consider_prior) k.sigmas[n] = high - low;

    std::vector<double>& inv = inv_sigmas_[p];
    inv.resize(n_components);
    if (parameters.multivariate) {  // one width (and the prior's)
      std::fill(inv.begin(), inv.end(), 1.0 / k.sigmas[0]);
      if (consider_prior) inv[n] = 1.0 / k.sigmas[n];
    } else {
      for (size_t j = 0; j < n_components; ++j) inv[j] = 1.0 / k.sigmas[j];
    }
    // Standardized bounds. A kernel more than 9 sigmas inside both has mass 1 - 2e-19: log 0
    // in doubles. The others with their mean inside go to the vector erfc together.
    std::vector<double> a(n_components), b(n_components);
    for (size_t j = 0; j < n_components; ++j) {
      a[j] = (low - k.mus[j]) * inv[j], b[j] = (high - k.mus[j]) * inv[j];
    }
    std::vector<size_t> central(n_components);
    size_t n_central = 0;
    for (size_t j = 0; j < n_components; ++j) {  // without branches: often unpredictable
      central[n_central] = j;
      n_central += !(a[j] < -9 && b[j] > 9);
    }
    std::vector<double>& accept = log_p_accept_[p];
    accept.assign(n_components, 0.0);
    std::vector<double> central_a, central_b, mass;
    central_a.reserve(n_central), central_b.reserve(n_central);
    size_t kept = 0;
    for (size_t i = 0; i < n_central; ++i) {
      const size_t j = central[i];
      if (a[j] > 0 || b[j] < 0) {
        accept[j] = log_gauss_mass(a[j], b[j]);  // mean outside
      } else {
        central[kept++] = j, central_a.push_back(a[j]), central_b.push_back(b[j]);
      }
    }
    central.resize(kept);
    mass.resize(kept);
    log_central_mass(central_a.data(), central_b.data(), mass.data(), kept);
    for (size_t i = 0; i < central.size(); ++i) accept[central[i]] = mass[i];
    if (windowed) {
      // Optuna 3.1's truncnorm.logpdf (no -log(sigma)) as a term c_j - z^2 / 2.
      std::vector<double> offsets(n_components);
      for (size_t j = 0; j < n_components; ++j) {
        offsets[j] = log_weights_[j] - kLogSqrt2Pi - accept[j];
      }
      window_.emplace(k.mus, k.sigmas, inv, offsets, order);
    }
  }
  // Every term of a component that does not depend on the point: its log weight, and the
  // normaliser of each continuous numerical parameter's kernel.
  if (!window_) {
    base_ = log_weights_;
    for (size_t p = 0; p < space.size(); ++p) {
      if (kernels_[p].categorical || kernels_[p].q != 0) continue;
      for (size_t j = 0; j < n_components; ++j) base_[j] -= kLogSqrt2Pi + log_p_accept_[p][j];
    }
  }
}

std::vector<std::vector<double>> ParzenEstimator::sample(Rng& rng, int size) const {
  // Components by inverse CDF of the weights (numpy's RandomState.choice).
  std::vector<double> cdf(weights_.size());
  std::partial_sum(weights_.begin(), weights_.end(), cdf.begin());
  for (double& c : cdf) c /= cdf.back();
  std::vector<size_t> active(static_cast<size_t>(size));
  for (auto& a : active) {
    a = static_cast<size_t>(std::upper_bound(cdf.begin(), cdf.end(), rng.uniform()) - cdf.begin());
    a = std::min(a, cdf.size() - 1);
  }
  std::vector<std::vector<double>> out(space_.size(), std::vector<double>(active.size()));
  for (size_t p = 0; p < space_.size(); ++p) {
    const ParzenKernel& k = kernels_[p];
    for (size_t s = 0; s < active.size(); ++s) {
      const size_t j = active[s];
      if (k.categorical) {
        const double u = rng.uniform();
        const double* row = &k.categorical_weights[j * k.n_choices];
        double cum = 0;
        int index = 0;
        for (int c = 0; c < k.n_choices; ++c) {
          cum += row[c];
          if (cum < u) index = c + 1;
        }
        out[p][s] = std::min(index, k.n_choices - 1);
        continue;
      }
      const double mu = k.mus[j], sigma = k.sigmas[j];
      const double z = truncnorm_ppf(rng.uniform(), (k.low - mu) / sigma, (k.high - mu) / sigma);
      const double x = z * sigma + mu;
      // Back from the transformed space, rounded onto the grid (half to even, as numpy).
      double v = x;
      if (const auto* f = std::get_if<FloatDistribution>(&space_[p])) {
        if (f->log) {
          v = std::clamp(std::exp(x), f->low, f->high);
        } else if (f->step) {
          v = std::clamp(std::nearbyint((x - f->low) / k.q) * k.q + f->low, f->low, f->high);
        } else {
          v = std::clamp(x, f->low, f->high);
        }
      } else {
        const auto& i = std::get<IntDistribution>(space_[p]);
        const double lo = static_cast<double>(i.low), hi = static_cast<double>(i.high);
        v = i.log ? std::clamp(std::nearbyint(std::exp(x)), lo, hi)
                  : std::clamp(std::nearbyint((x - lo) / k.q) * k.q + lo, lo, hi);
      }
      out[p][s] = v;
    }
  }
  return out;
}

std::vector<double> ParzenEstimator::log_pdf(
    const std::vector<std::vector<double>>& samples) const {
  const size_t n_samples = samples.empty() ? 0 : samples[0].size();
  const size_t n_components = weights_.size();
  std::vector<double> out(n_samples);
  if (window_) {
    const ParzenKernel& k = kernels_[0];
    std::vector<double> scratch;
    for (size_t s = 0; s < n_samples; ++s) {
      const double x = is_log(space_[0]) ? std::log(samples[0][s]) : samples[0][s];
      out[s] = (x < k.low || x > k.high) ? -std::numeric_limits<double>::infinity()
                                         : window_->log_sum_exp(x, scratch);
    }
    return out;
  }
  std::vector<double> component(n_components);
  for (size_t s = 0; s < n_samples; ++s) {
    component = base_;
    for (size_t p = 0; p < space_.size(); ++p) {
      const ParzenKernel& k = kernels_[p];
      if (k.categorical) {
        const auto c = static_cast<size_t>(samples[p][s]);
        const std::vector<double>& lw = log_categorical_weights_[p];
        for (size_t j = 0; j < n_components; ++j) component[j] += lw[j * k.n_choices + c];
        continue;
      }
      const double x = is_log(space_[p]) ? std::log(samples[p][s]) : samples[p][s];
      const std::vector<double>& accept = log_p_accept_[p];
      if (k.q == 0) {
        // Optuna 3.1's truncnorm.logpdf: the standard normal's log density at the
        // standardized point, over the kernel's mass in the bounds (no -log(sigma)); all but
        // -z^2 / 2 is in base_.
        if (x < k.low || x > k.high) {
          std::fill(component.begin(), component.end(), -std::numeric_limits<double>::infinity());
        } else {
          subtract_half_squares(x, k.mus.data(), inv_sigmas_[p].data(), n_components,
                                component.data());
        }
      } else {
        // The kernel's mass over the sample's grid cell. Cells far in a kernel's tail cost
        // an upper bound (the density at the cell's nearest point times its width) and
        // are computed exactly only when that bound could matter.
        const double upper = std::min(x + k.q / 2, k.high);
        const double lower = std::max(x - k.q / 2, k.low);
        std::vector<double> bound(n_components);
        size_t best = 0;
        for (size_t j = 0; j < n_components; ++j) {
          const double za = (lower - k.mus[j]) / k.sigmas[j];
          const double zb = (upper - k.mus[j]) / k.sigmas[j];
          const double nearest = za > 0 ? za : (zb < 0 ? zb : 0.0);
          bound[j] =
              std::min(0.0, norm_logpdf(nearest) + std::log(zb - za)) - accept[j] + log_weights_[j];
          if (bound[j] > bound[best]) best = j;
        }
        // Only for a single parameter: with several, a term negligible here could still
        // belong to the component that dominates the product.
        const bool prune = space_.size() == 1;
        auto exact = [&](size_t j) {
          return log_gauss_mass((lower - k.mus[j]) / k.sigmas[j],
                                (upper - k.mus[j]) / k.sigmas[j]) -
                 accept[j];
        };
        const double reference = exact(best) + log_weights_[best];
        for (size_t j = 0; j < n_components; ++j) {
          if (j == best) {
            component[j] += reference - log_weights_[j];
          } else if (prune && bound[j] < reference - kNegligible) {
            component[j] += bound[j] - log_weights_[j];  // negligible either way
          } else {
            component[j] += exact(j);
          }
        }
      }
    }
    // log-sum-exp over components.
    const double m = max_value(component.data(), component.size());
    if (!std::isfinite(m)) {
      out[s] = m;
      continue;
    }
    out[s] = m + std::log(sum_exp_shifted(component.data(), component.size(), m));
  }
  return out;
}

}  // namespace knob::detail
