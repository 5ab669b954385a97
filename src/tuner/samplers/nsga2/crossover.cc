#include "tuner/samplers/nsga2/crossover.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>

#include "knob/core/error.h"

namespace knob {

NsgaIICrossover NsgaIICrossover::blx_alpha(double alpha) {
  NsgaIICrossover c;
  c.kind = Kind::kBlxAlpha, c.alpha = alpha;
  return c;
}
NsgaIICrossover NsgaIICrossover::spx(std::optional<double> epsilon) {
  NsgaIICrossover c;
  c.kind = Kind::kSpx, c.epsilon = epsilon;
  return c;
}
NsgaIICrossover NsgaIICrossover::sbx(std::optional<double> eta) {
  NsgaIICrossover c;
  c.kind = Kind::kSbx, c.eta = eta;
  return c;
}
NsgaIICrossover NsgaIICrossover::vsbx(std::optional<double> eta) {
  NsgaIICrossover c;
  c.kind = Kind::kVsbx, c.eta = eta;
  return c;
}
NsgaIICrossover NsgaIICrossover::undx(double sigma_xi, std::optional<double> sigma_eta) {
  NsgaIICrossover c;
  c.kind = Kind::kUndx, c.sigma_xi = sigma_xi, c.sigma_eta = sigma_eta;
  return c;
}

namespace {
const std::pair<const char*, NsgaIICrossover::Kind> kNames[] = {
    {"uniform", NsgaIICrossover::Kind::kUniform}, {"blxalpha", NsgaIICrossover::Kind::kBlxAlpha},
    {"spx", NsgaIICrossover::Kind::kSpx},         {"sbx", NsgaIICrossover::Kind::kSbx},
    {"vsbx", NsgaIICrossover::Kind::kVsbx},       {"undx", NsgaIICrossover::Kind::kUndx},
};
}  // namespace

NsgaIICrossover NsgaIICrossover::from_name(const std::string& name, const std::string& field) {
  for (const auto& [text, kind] : kNames) {
    if (name == text) {
      NsgaIICrossover c;
      c.kind = kind;
      return c;
    }
  }
  KNOB_CHECK(false, field, name, "must be one of uniform, blxalpha, spx, sbx, vsbx, undx");
  return {};
}

int NsgaIICrossover::n_parents() const { return kind == Kind::kSpx || kind == Kind::kUndx ? 3 : 2; }

std::string NsgaIICrossover::name() const {
  for (const auto& [text, k] : kNames) {
    if (k == kind) return text;
  }
  return "?";
}

namespace detail {
namespace {

using Vec = std::vector<double>;

std::vector<double> uniforms(Draws& draws, size_t n) {
  std::vector<double> u(n);
  for (auto& x : u) x = draws.uniform();
  return u;
}

// SBX and vSBX end alike: per coordinate, a child of the crossover or a parent's value.
Vec pick(const Vec& c1, const Vec& c2, const Vec& x1, const Vec& x2, Draws& draws) {
  Vec child(c1.size());
  for (size_t i = 0; i < c1.size(); ++i) {
    if (draws.uniform() < 0.5) {
      child[i] = draws.uniform() < 0.5 ? c1[i] : c2[i];
    } else {
      child[i] = draws.uniform() < 0.5 ? x1[i] : x2[i];
    }
  }
  return child;
}

// Simulated binary crossover (Deb and Agrawal 1995), bounded form (Deb and Goyal 1996).
Vec sbx(const std::vector<Vec>& parents, const std::vector<std::pair<double, double>>& bounds,
        double eta, Draws& draws) {
  const size_t n = bounds.size();
  Vec c1(n), c2(n);
  const Vec us = uniforms(draws, n);
  for (size_t i = 0; i < n; ++i) {
    const double lo = std::min(parents[0][i], parents[1][i]);
    const double hi = std::max(parents[0][i], parents[1][i]);
    const double diff = std::max(hi - lo, 1e-10);
    auto betaq = [&](double beta) {
      const double a = 2 - std::pow(beta, -(eta + 1));
      return us[i] > 1 / a ? std::pow(1 / (2 - us[i] * a), 1 / (eta + 1))
                           : std::pow(us[i] * a, 1 / (eta + 1));
    };
    const double b1 = betaq(1 + 2 * (lo - bounds[i].first) / diff);
    const double b2 = betaq(1 + 2 * (bounds[i].second - hi) / diff);
    c1[i] = 0.5 * ((lo + hi) - b1 * diff);
    c2[i] = 0.5 * ((lo + hi) + b2 * diff);
  }
  return pick(c1, c2, parents[0], parents[1], draws);
}

// vSBX (Yamada et al.): the SBX spread, around each parent rather than their span.
Vec vsbx(const std::vector<Vec>& parents, size_t n, double eta, Draws& draws) {
  const Vec& x1 = parents[0];
  const Vec& x2 = parents[1];
  const Vec us = uniforms(draws, n);
  Vec c1(n), c2(n);
  for (size_t i = 0; i < n; ++i) {
    const double b1 = std::pow(0.5 * us[i], 1 / (eta + 1));
    const double b2 = std::pow(0.5 * (1 - us[i]), 1 / (eta + 1));
    if (us[i] > 0.5) {
      c1[i] = 0.5 * ((1 - b1) * x1[i] + (1 + b1) * x2[i]);
      c2[i] = 0.5 * (-(1 - b2) * x1[i] + (3 - b2) * x2[i]);
    } else {
      c1[i] = 0.5 * ((1 + b1) * x1[i] + (1 - b1) * x2[i]);
      c2[i] = 0.5 * ((3 - b2) * x1[i] - (1 - b2) * x2[i]);
    }
  }
  return pick(c1, c2, x1, x2, draws);
}

// Simplex crossover (Tsutsui et al. 1999): a point of the parents' simplex, expanded by
// epsilon about its centroid.
Vec spx(const std::vector<Vec>& parents, size_t n, double epsilon, Draws& draws) {
  const size_t k = parents.size();
  Vec g(n, 0.0);
  for (const Vec& p : parents) {
    for (size_t i = 0; i < n; ++i) g[i] += p[i] / static_cast<double>(k);
  }
  Vec rs(k - 1);
  for (size_t j = 0; j < k - 1; ++j)
    rs[j] = std::pow(draws.uniform(), 1.0 / static_cast<double>(j + 1));
  std::vector<Vec> xs(k, Vec(n));
  for (size_t j = 0; j < k; ++j) {
    for (size_t i = 0; i < n; ++i) xs[j][i] = g[i] + epsilon * (parents[j][i] - g[i]);
  }
  Vec c(n, 0.0);
  for (size_t j = 1; j < k; ++j) {
    for (size_t i = 0; i < n; ++i) c[i] = rs[j - 1] * (xs[j - 1][i] - xs[j][i] + c[i]);
  }
  for (size_t i = 0; i < n; ++i) c[i] += xs[k - 1][i];
  return c;
}

// Unimodal normal distribution crossover (Ono et al.): normal along the line of the first
// two parents, and across it scaled by the third parent's distance from that line. As in
// Optuna 3.1, the normals' standard deviations are sigma_xi² and sigma_eta².
Vec undx(const std::vector<Vec>& parents, size_t n, double sigma_xi, double sigma_eta,
         Draws& draws) {
  Eigen::Map<const Eigen::VectorXd> x1(parents[0].data(), static_cast<Eigen::Index>(n));
  Eigen::Map<const Eigen::VectorXd> x2(parents[1].data(), static_cast<Eigen::Index>(n));
  Eigen::Map<const Eigen::VectorXd> x3(parents[2].data(), static_cast<Eigen::Index>(n));
  Vec etas(n);
  for (auto& e : etas) e = sigma_eta * sigma_eta * draws.normal();
  const double xi = sigma_xi * sigma_xi * draws.normal();
  Eigen::VectorXd child = (x1 + x2) / 2 + xi * (x1 - x2);
  if (n > 1) {
    const Eigen::VectorXd v12 = x2 - x1;
    const Eigen::VectorXd e12 = v12 / std::max(v12.norm(), 1e-10);
    const Eigen::VectorXd v13 = x3 - x1;
    const double distance = (v13 - v13.dot(e12) * e12).norm();
    // An orthonormal basis whose first vector is e12: Householder QR of [e12, e2, ..., en].
    Eigen::MatrixXd basis =
        Eigen::MatrixXd::Identity(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n));
    if ((e12.array() != 0).any()) basis.col(0) = e12;
    const Eigen::MatrixXd q = Eigen::HouseholderQR<Eigen::MatrixXd>(basis).householderQ();
    Eigen::VectorXd across = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(n));
    for (size_t i = 0; i + 1 < n; ++i) across += etas[i] * q.col(static_cast<Eigen::Index>(i + 1));
    child += distance * across;
  }
  return Vec(child.data(), child.data() + n);
}

}  // namespace

std::vector<double> crossover(const NsgaIICrossover& c,
                              const std::vector<std::vector<double>>& parents,
                              const std::vector<std::pair<double, double>>& bounds,
                              bool multi_objective, double swapping_prob, Draws& draws) {
  const size_t n = bounds.size();
  const double default_eta = multi_objective ? 20.0 : 2.0;
  switch (c.kind) {
    case NsgaIICrossover::Kind::kUniform: {
      Vec child(n);
      for (size_t i = 0; i < n; ++i)
        child[i] = parents[draws.uniform() >= swapping_prob ? 1 : 0][i];
      return child;
    }
    case NsgaIICrossover::Kind::kBlxAlpha: {
      Vec child(n);
      const Vec r = uniforms(draws, n);
      for (size_t i = 0; i < n; ++i) {
        double lo = parents[0][i], hi = parents[0][i];
        for (const Vec& p : parents) lo = std::min(lo, p[i]), hi = std::max(hi, p[i]);
        const double d = c.alpha * (hi - lo);
        child[i] = (hi + d - (lo - d)) * r[i] + (lo - d);
      }
      return child;
    }
    case NsgaIICrossover::Kind::kSpx:
      return spx(parents, n, c.epsilon.value_or(std::sqrt(static_cast<double>(n) + 2)), draws);
    case NsgaIICrossover::Kind::kSbx:
      return sbx(parents, bounds, c.eta.value_or(default_eta), draws);
    case NsgaIICrossover::Kind::kVsbx:
      return vsbx(parents, n, c.eta.value_or(default_eta), draws);
    case NsgaIICrossover::Kind::kUndx:
      return undx(parents, n, c.sigma_xi,
                  c.sigma_eta.value_or(0.35 / std::sqrt(static_cast<double>(n))), draws);
  }
  return {};
}

}  // namespace detail
}  // namespace knob
