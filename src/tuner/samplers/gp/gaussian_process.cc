#include "tuner/samplers/gp/gaussian_process.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <deque>
#include <functional>
#include <limits>
#include <utility>

namespace knob::detail {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
const double kSqrt5 = std::sqrt(5.0);
const double kLog2Pi = std::log(2 * M_PI);

// Cholesky of `k`, adding jitter to the diagonal (1e-10, 1e-8, ... of its mean) until it
// succeeds; false if it never does. `jitter` (if given) receives the jitter used.
bool cholesky(const Eigen::MatrixXd& k, Eigen::LLT<Eigen::MatrixXd>& llt,
              double* jitter_used = nullptr) {
  const double scale = k.rows() ? k.diagonal().mean() : 1.0;
  double jitter = 0;
  for (int attempt = 0; attempt < 6; ++attempt) {
    Eigen::MatrixXd kj = k;
    kj.diagonal().array() += jitter;
    llt.compute(kj);
    if (llt.info() == Eigen::Success) {
      if (jitter_used) *jitter_used = jitter;
      return true;
    }
    jitter = jitter == 0 ? 1e-10 * scale : jitter * 100;
  }
  return false;
}

// out(b, a) = k(x_b, p_a) for the n rows of `x` and the m rows of `points` (n x m): one column
// per point, so that a block of points is solved against the Cholesky factor in place. The
// squared distances are summed dimension by dimension down contiguous columns.
void kernel_columns(const Eigen::Ref<const Eigen::MatrixXd>& x,
                    const Eigen::Ref<const Eigen::MatrixXd>& points,
                    const std::vector<bool>& categorical, const GpHyperparameters& h,
                    Eigen::MatrixXd& out) {
  const Eigen::Index n = x.rows(), m = points.rows();
  out.setZero(n, m);
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    const double inv_l2 = 1 / (h.lengthscales(j) * h.lengthscales(j));
    const bool is_categorical = categorical[static_cast<size_t>(j)];
    const double* xj = x.col(j).data();
    for (Eigen::Index a = 0; a < m; ++a) {
      const double p = points(a, j);
      double* o = out.col(a).data();
      if (is_categorical) {
        for (Eigen::Index b = 0; b < n; ++b) o[b] += xj[b] != p ? inv_l2 : 0.0;
      } else {
        for (Eigen::Index b = 0; b < n; ++b) {
          const double d = xj[b] - p;
          o[b] += d * d * inv_l2;
        }
      }
    }
  }
  // The Matérn form, in place: s (1 + √5 r + 5/3 r²) e^{-√5 r}.
  auto r2 = out.array();
  const Eigen::ArrayXXd r = r2.sqrt();
  r2 = h.signal_variance * (1 + kSqrt5 * r + 5.0 / 3.0 * r2) * (-kSqrt5 * r).exp();
}

Eigen::MatrixXd noisy_kernel(const Eigen::MatrixXd& x, const std::vector<bool>& categorical,
                             const GpHyperparameters& h) {
  Eigen::MatrixXd k = gp_kernel(x, x, categorical, h);
  k.diagonal().array() += h.noise_variance;
  return k;
}

// A small L-BFGS (memory 10, Armijo backtracking) minimizing f; f returns the value and
// writes the gradient. Coordinates stay in [-bound, bound].
Eigen::VectorXd minimize_lbfgs(
    const std::function<double(const Eigen::VectorXd&, Eigen::VectorXd&)>& f, Eigen::VectorXd x,
    int max_iterations, double bound) {
  constexpr size_t kMemory = 10;
  Eigen::VectorXd g(x.size()), g_new(x.size());
  double fx = f(x, g);
  if (!std::isfinite(fx)) return x;
  std::deque<std::pair<Eigen::VectorXd, Eigen::VectorXd>> memory;  // (s, y), newest last
  for (int iteration = 0; iteration < max_iterations; ++iteration) {
    if (g.lpNorm<Eigen::Infinity>() < 1e-6) break;
    // Two-loop recursion: d = -H g.
    Eigen::VectorXd q = g;
    std::vector<double> a(memory.size());
    for (size_t i = memory.size(); i-- > 0;) {
      const auto& [s, y] = memory[i];
      a[i] = s.dot(q) / y.dot(s);
      q -= a[i] * y;
    }
    if (!memory.empty())
      q *= memory.back().first.dot(memory.back().second) / memory.back().second.squaredNorm();
    for (size_t i = 0; i < memory.size(); ++i) {
      const auto& [s, y] = memory[i];
      q += s * (a[i] - y.dot(q) / y.dot(s));
    }
    Eigen::VectorXd d = -q;
    if (g.dot(d) >= 0) d = -g, memory.clear();
    double step = memory.empty() ? std::min(1.0, 1.0 / g.lpNorm<Eigen::Infinity>()) : 1.0;
    Eigen::VectorXd x_new;
    double f_new = kInf;
    bool moved = false;
    for (int tries = 0; tries < 30; ++tries, step *= 0.5) {
      x_new = (x + step * d).cwiseMax(-bound).cwiseMin(bound);
      f_new = f(x_new, g_new);
      if (std::isfinite(f_new) && f_new <= fx + 1e-4 * g.dot(x_new - x)) {
        moved = true;
        break;
      }
    }
    if (!moved) break;
    Eigen::VectorXd s = x_new - x, y = g_new - g;
    const bool converged = fx - f_new <= 1e-10 * (1 + std::abs(fx));
    x = x_new, fx = f_new, g = g_new;
    if (converged) break;
    if (s.dot(y) > 1e-12) {
      memory.emplace_back(std::move(s), std::move(y));
      if (memory.size() > kMemory) memory.pop_front();
    }
  }
  return x;
}

}  // namespace

double matern52(double r2) {
  const double r = std::sqrt(r2);
  return (1 + kSqrt5 * r + 5.0 / 3.0 * r2) * std::exp(-kSqrt5 * r);
}

Eigen::MatrixXd gp_kernel(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b,
                          const std::vector<bool>& categorical, const GpHyperparameters& h) {
  assert(a.cols() == h.lengthscales.size() && b.cols() == h.lengthscales.size());
  Eigen::MatrixXd k;
  kernel_columns(b, a, categorical, h, k);
  return k.transpose();
}

double gp_log_marginal_likelihood(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                  const std::vector<bool>& categorical, const GpHyperparameters& h,
                                  Eigen::VectorXd* gradient) {
  const Eigen::Index n = x.rows(), dims = x.cols();
  Eigen::LLT<Eigen::MatrixXd> llt;
  if (!cholesky(noisy_kernel(x, categorical, h), llt)) return -kInf;
  const Eigen::VectorXd alpha = llt.solve(y);
  const Eigen::MatrixXd& l = llt.matrixLLT();
  const double value = -0.5 * y.dot(alpha) - l.diagonal().array().log().sum() - 0.5 * n * kLog2Pi;
  if (!gradient) return value;

  // d/dθ = 0.5 tr((αα' - K⁻¹) dK/dθ), summed over pairs (K is symmetric).
  const Eigen::MatrixXd w = alpha * alpha.transpose() - llt.solve(Eigen::MatrixXd::Identity(n, n));
  const Eigen::VectorXd inv_l2 = h.lengthscales.array().square().inverse();
  gradient->setZero(dims + 2);
  double signal = 0;
  Eigen::VectorXd d2(dims);
  for (Eigen::Index a = 0; a < n; ++a) {
    signal += 0.5 * w(a, a);
    for (Eigen::Index b = a + 1; b < n; ++b) {
      double r2 = 0;
      for (Eigen::Index j = 0; j < dims; ++j) {
        const double d = x(a, j) - x(b, j);
        d2(j) = (categorical[static_cast<size_t>(j)] ? (d != 0 ? 1.0 : 0.0) : d * d) * inv_l2(j);
        r2 += d2(j);
      }
      const double r = std::sqrt(r2), e = std::exp(-kSqrt5 * r);
      signal += w(a, b) * (1 + kSqrt5 * r + 5.0 / 3.0 * r2) * e;
      // d matern52 / d log l_j = 5/3 (1 + √5 r) e^{-√5 r} d_j² / l_j².
      const double c = w(a, b) * 5.0 / 3.0 * (1 + kSqrt5 * r) * e;
      gradient->head(dims) += c * d2;
    }
  }
  gradient->head(dims) *= h.signal_variance;
  (*gradient)(dims) = h.signal_variance * signal;
  (*gradient)(dims + 1) = 0.5 * h.noise_variance * w.trace();
  return value;
}

double gp_log_prior(const GpHyperparameters& h, Eigen::VectorXd* gradient) {
  const Eigen::Index dims = h.lengthscales.size();
  const Eigen::ArrayXd l2 = h.lengthscales.array().square();
  const double s = h.signal_variance, noise = h.noise_variance;
  const double value =
      -0.1 * (l2 + l2.inverse()).sum() + (std::log(s) - s) + (0.1 * std::log(noise) - 30 * noise);
  if (gradient) {
    gradient->resize(dims + 2);
    gradient->head(dims) = -0.2 * (l2 - l2.inverse());
    (*gradient)(dims) = 1 - s;
    (*gradient)(dims + 1) = 0.1 - 30 * noise;
  }
  return value;
}

GpHyperparameters fit_gp(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                         const std::vector<bool>& categorical, const GpHyperparameters& initial,
                         double min_noise, bool fixed_noise, int max_iterations) {
  const Eigen::Index dims = x.cols();
  GpHyperparameters start = initial;
  if (start.lengthscales.size() != dims) {
    start.lengthscales = Eigen::VectorXd::Ones(dims);
    start.signal_variance = 1.0, start.noise_variance = 1.0;
  }
  // θ = (log l, log s[, log(noise - min_noise)]).
  const Eigen::Index size = dims + (fixed_noise ? 1 : 2);
  auto unpack = [&](const Eigen::VectorXd& theta) {
    GpHyperparameters h;
    h.lengthscales = theta.head(dims).array().exp();
    h.signal_variance = std::exp(theta(dims));
    h.noise_variance = fixed_noise ? min_noise : min_noise + std::exp(theta(dims + 1));
    return h;
  };
  Eigen::VectorXd theta(size);
  theta.head(dims) = start.lengthscales.array().log();
  theta(dims) = std::log(start.signal_variance);
  if (!fixed_noise) theta(dims + 1) = std::log(std::max(start.noise_variance - min_noise, 1e-12));

  auto objective = [&](const Eigen::VectorXd& t, Eigen::VectorXd& grad) {
    const GpHyperparameters h = unpack(t);
    Eigen::VectorXd g_lml, g_prior;
    const double value =
        gp_log_marginal_likelihood(x, y, categorical, h, &g_lml) + gp_log_prior(h, &g_prior);
    if (!std::isfinite(value)) return kInf;
    const Eigen::VectorXd g = -(g_lml + g_prior);  // by log l, log s, log noise
    grad = g.head(size);
    if (!fixed_noise) grad(dims + 1) *= (h.noise_variance - min_noise) / h.noise_variance;
    return -value;
  };
  return unpack(minimize_lbfgs(objective, theta, max_iterations, /*bound=*/25.0));
}

GaussianProcess::GaussianProcess(Eigen::MatrixXd x, Eigen::VectorXd y,
                                 std::vector<bool> categorical, GpHyperparameters h)
    : x_(std::move(x)), categorical_(std::move(categorical)), h_(std::move(h)), n_(x_.rows()) {
  Eigen::LLT<Eigen::MatrixXd> llt;
  if (!cholesky(noisy_kernel(x_, categorical_, h_), llt, &jitter_)) {
    // Only duplicated points with no noise get here: give them noise.
    h_.noise_variance = std::max(h_.noise_variance, 1e-4 * h_.signal_variance);
    [[maybe_unused]] const bool ok = cholesky(noisy_kernel(x_, categorical_, h_), llt, &jitter_);
    assert(ok);
  }
  chol_ = llt.matrixL();
  set_targets(y);
}

bool GaussianProcess::append(const Eigen::RowVectorXd& point) {
  assert(point.size() == x_.cols());
  // The new row of the factor: l = L⁻¹ k(X, x), then the pivot √(k(x, x) + noise - |l|²).
  Eigen::MatrixXd k;
  kernel_columns(x_.topRows(n_), point, categorical_, h_, k);
  const auto l = chol_.topLeftCorner(n_, n_).triangularView<Eigen::Lower>();
  l.solveInPlace(k);
  const double diagonal = h_.signal_variance + h_.noise_variance + jitter_;
  const double pivot = diagonal - k.squaredNorm();
  // A pivot lost in rounding (a duplicate without noise) would make the factor meaningless.
  if (!(pivot > 1e-12 * diagonal)) return false;
  if (chol_.rows() == n_) {  // grow the storage by an eighth (memory matters at 10,000 rows)
    const Eigen::Index capacity = n_ + std::max<Eigen::Index>(16, n_ / 8);
    Eigen::MatrixXd grown = Eigen::MatrixXd::Zero(capacity, capacity);
    grown.topLeftCorner(n_, n_) = chol_.topLeftCorner(n_, n_);
    chol_.swap(grown);
    Eigen::MatrixXd rows(capacity, x_.cols());
    rows.topRows(n_) = x_.topRows(n_);
    x_.swap(rows);
  }
  chol_.row(n_).head(n_) = k.col(0).transpose();
  chol_(n_, n_) = std::sqrt(pivot);
  x_.row(n_) = point;
  ++n_;
  alpha_.resize(0);
  return true;
}

void GaussianProcess::set_targets(const Eigen::VectorXd& y) {
  assert(y.size() == n_);
  const auto l = chol_.topLeftCorner(n_, n_).triangularView<Eigen::Lower>();
  alpha_ = l.solve(y);
  l.transpose().solveInPlace(alpha_);
}

void GaussianProcess::posterior(const Eigen::MatrixXd& points, Eigen::VectorXd& mean,
                                Eigen::VectorXd& var) const {
  assert(alpha_.size() == n_);
  mean.resize(points.rows());
  var.resize(points.rows());
  const auto l = chol_.topLeftCorner(n_, n_).triangularView<Eigen::Lower>();
  // In blocks of points, so that the temporaries stay small.
  constexpr Eigen::Index kBlock = 128;
  Eigen::MatrixXd k;  // n x m: one column per point
  for (Eigen::Index start = 0; start < points.rows(); start += kBlock) {
    const Eigen::Index m = std::min(kBlock, points.rows() - start);
    kernel_columns(x_.topRows(n_), points.middleRows(start, m), categorical_, h_, k);
    mean.segment(start, m).noalias() = k.transpose() * alpha_;
    l.solveInPlace(k);  // L⁻¹ k
    var.segment(start, m) =
        (h_.signal_variance - k.colwise().squaredNorm().transpose().array()).cwiseMax(0.0);
  }
}

double log_h(double z) {
  const double log_phi = -0.5 * z * z - 0.5 * kLog2Pi;
  if (z > -1) {
    return std::log(std::exp(log_phi) + z * 0.5 * std::erfc(-z / M_SQRT2));
  }
  // φ(z) + z Φ(z) = φ(z) (1 - t R(t)) with t = -z and R(t) = Φ(-t) / φ(t) (Mills' ratio).
  const double t = -z;
  double w;
  if (t < 25) {
    w = 1 - t * std::sqrt(M_PI / 2) * std::exp(0.5 * t * t) * std::erfc(t / M_SQRT2);
  } else {
    // 1 - t R(t) ~ Σ_k (-1)^(k+1) (2k-1)!! / t^(2k).
    const double inv_t2 = 1 / (t * t);
    double term = 1, sum = 0;
    for (int k = 1; k <= 8; ++k) {
      term *= (2 * k - 1) * inv_t2;
      sum += (k % 2 ? term : -term);
    }
    w = sum;
  }
  return log_phi + std::log(w);
}

double log_expected_improvement(double mean, double var, double best) {
  if (!(var > 0)) return mean > best ? std::log(mean - best) : -kInf;
  const double sigma = std::sqrt(var);
  return std::log(sigma) + log_h((mean - best) / sigma);
}

}  // namespace knob::detail
