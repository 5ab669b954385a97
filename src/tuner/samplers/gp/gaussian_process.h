// The Gaussian process behind GpSampler (internal): a Matérn-5/2 kernel with one length
// scale per dimension (ARD), a signal variance and a noise variance; its log marginal
// likelihood with the gradient, a hyperparameter fit (maximum a posteriori, weak priors as in
// Optuna's GPSampler) by a small L-BFGS, the posterior, and log expected improvement.
//
// Inputs are rows of X. A categorical dimension holds the index of the choice and counts 0
// (same choice) or 1 (different) in the squared distance; a numerical one is a number in
// [0, 1]. Linear algebra is Eigen's (Cholesky by Eigen::LLT, with jitter when it fails).
//
// Example:
//   detail::GpHyperparameters h = detail::fit_gp(x, y, categorical, {}, /*min_noise=*/1e-6,
//                                                /*fixed_noise=*/false);
//   detail::GaussianProcess gp(x, y, categorical, h);
//   Eigen::VectorXd mean, var;
//   gp.posterior(candidates, mean, var);
#pragma once

#include <Eigen/Dense>
#include <vector>

namespace knob::detail {

struct GpHyperparameters {
  Eigen::VectorXd lengthscales;  // one per dimension, > 0
  double signal_variance = 1.0;  // k(x, x) without noise
  double noise_variance = 1.0;
};

// The Matérn-5/2 correlation at squared scaled distance r2: (1 + √5 r + 5/3 r²) e^{-√5 r}.
double matern52(double r2);

// k(a, b) for every row a of `a` and b of `b`, without the noise (|a| x |b|).
Eigen::MatrixXd gp_kernel(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b,
                          const std::vector<bool>& categorical, const GpHyperparameters& h);

// log p(y | X, h) and, if `gradient` is given, its gradient with respect to
// (log lengthscales..., log signal_variance, log noise_variance) — scikit-learn's theta order
// for ConstantKernel * Matern + WhiteKernel. -inf when the kernel matrix is not positive
// definite even with jitter.
double gp_log_marginal_likelihood(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                  const std::vector<bool>& categorical, const GpHyperparameters& h,
                                  Eigen::VectorXd* gradient = nullptr);

// The weak log prior on the hyperparameters (Optuna's GPSampler's, in terms of length scales):
// -0.1 (l² + 1/l²) per length scale, Gamma(2, 1) on the signal variance and Gamma(1.1, 30) on
// the noise variance (unnormalised); `gradient` as above.
double gp_log_prior(const GpHyperparameters& h, Eigen::VectorXd* gradient = nullptr);

// Maximizes log marginal likelihood + log prior from `initial` (all ones when it has the
// wrong number of length scales) by L-BFGS in log space, at most `max_iterations` steps. The
// noise variance stays >= min_noise; with fixed_noise it is min_noise.
GpHyperparameters fit_gp(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                         const std::vector<bool>& categorical, const GpHyperparameters& initial,
                         double min_noise, bool fixed_noise, int max_iterations = 100);

// A fitted GP: its Cholesky factor and weights, kept for many posterior queries. The factor
// grows by one row per appended observation (O(n²) instead of a new O(n³) factorisation) as
// long as the hyperparameters stay the same; the targets can be replaced (O(n²)).
class GaussianProcess {
 public:
  GaussianProcess(Eigen::MatrixXd x, Eigen::VectorXd y, std::vector<bool> categorical,
                  GpHyperparameters h);

  // Adds `point` as the last observation, extending the Cholesky factor by one row. False,
  // and nothing changed, when the extended matrix is not positive definite with this
  // factor's jitter (a point duplicating another with no noise): build a new GP instead.
  // The targets must then be replaced by set_targets before the next posterior.
  bool append(const Eigen::RowVectorXd& point);
  // Replaces the targets (one per observation, in order).
  void set_targets(const Eigen::VectorXd& y);

  // Posterior mean and variance of the latent function (noise excluded) at each row of
  // `points`. O(n²) per point, scored in blocks (one triangular solve per block).
  void posterior(const Eigen::MatrixXd& points, Eigen::VectorXd& mean, Eigen::VectorXd& var) const;
  const GpHyperparameters& hyperparameters() const { return h_; }
  Eigen::Index size() const { return n_; }
  // The lower Cholesky factor of K + noise I (+ jitter), n x n.
  Eigen::MatrixXd cholesky_factor() const { return chol_.topLeftCorner(n_, n_); }

 private:
  Eigen::MatrixXd x_;  // the first n_ rows are the observations
  std::vector<bool> categorical_;
  GpHyperparameters h_;
  Eigen::Index n_ = 0;
  double jitter_ = 0;      // added to the diagonal when the first factorisation needed it
  Eigen::MatrixXd chol_;   // its top-left n_ x n_ corner: the lower Cholesky factor
  Eigen::VectorXd alpha_;  // (K + noise I)^-1 y
};

// log(φ(z) + z Φ(z)), finite for any finite z (asymptotic series for very negative z).
double log_h(double z);
// log E[max(f - best, 0)] for f ~ N(mean, var): log σ + log_h((mean - best) / σ).
double log_expected_improvement(double mean, double var, double best);

}  // namespace knob::detail
