// The Parzen estimator behind TpeSampler (internal): a mixture of truncated normals per
// numerical parameter and of smoothed one-hot kernels per categorical one, built from
// observations in the internal representation — Optuna 3.1's _ParzenEstimator, formula for
// formula, including its truncnorm.logpdf (which leaves out the -log(sigma) term).
//
// Numerical parameters live in a transformed space: log for log distributions, and for
// stepped ones the bounds widened by half a step so that each grid point owns an interval.
//
// Example:
//   detail::ParzenEstimator below({{0.1, 0.4}}, {FloatDistribution(0, 1)}, parameters);
//   auto candidates = below.sample(rng, 24);
//   std::vector<double> log_l = below.log_pdf(candidates);
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "knob/core/distribution.h"
#include "knob/core/random.h"
#include "tuner/samplers/tpe/kernel_window.h"

namespace knob::detail {

struct ParzenParameters {
  bool consider_prior = true;
  double prior_weight = 1.0;
  bool consider_magic_clip = true;
  bool consider_endpoints = false;
  bool multivariate = false;
  // Weight of each of n observations, oldest first (TpeOptions::weights).
  std::function<std::vector<double>(int)> weights;
};

// One parameter's kernels, one per mixture component (the prior is the last component).
struct ParzenKernel {
  bool categorical = false;
  // Numerical: bounds in the transformed space, step (0: continuous), means and widths.
  double low = 0, high = 0, q = 0;
  std::vector<double> mus, sigmas;
  // Categorical: n_components x n_choices probabilities, row-major.
  int n_choices = 0;
  std::vector<double> categorical_weights;
};

class ParzenEstimator {
 public:
  // observations[p][i]: the internal value of parameter p in observation i; space[p] its
  // distribution. All columns have the same length (possibly 0). orders[p], if given: the
  // indices of observations[p] by ascending value, ties by index — it saves sorting them
  // (checked: a wrong order is sorted afresh).
  ParzenEstimator(const std::vector<std::vector<double>>& observations,
                  const std::vector<Distribution>& space, const ParzenParameters& parameters,
                  const std::vector<std::vector<size_t>>& orders = {});

  // `size` draws from the mixture: samples[p][k], internal representation.
  std::vector<std::vector<double>> sample(Rng& rng, int size) const;
  // Log density (log probability mass for stepped and categorical parameters) of each sample.
  std::vector<double> log_pdf(const std::vector<std::vector<double>>& samples) const;

  const std::vector<double>& weights() const { return weights_; }
  const std::vector<ParzenKernel>& kernels() const { return kernels_; }

 private:
  std::vector<Distribution> space_;
  std::vector<double> weights_;
  std::vector<double> log_weights_;
  std::vector<ParzenKernel> kernels_;
  // Per numerical parameter and component: 1 / the kernel's width.
  std::vector<std::vector<double>> inv_sigmas_;
  // Per component and numerical parameter: log of the kernel's mass inside [low, high].
  std::vector<std::vector<double>> log_p_accept_;
  std::vector<std::vector<double>> log_categorical_weights_;
  // Without a window: per component, the log weight minus each continuous numerical
  // parameter's log normaliser (log sqrt(2 pi) + log_p_accept_).
  std::vector<double> base_;
  // One numerical continuous parameter: its kernels by mean, for log_pdf.
  std::optional<KernelWindow> window_;
};

// Normal-distribution helpers (Optuna's _truncnorm), exposed for tests.
double log_ndtr(double a);
// log(Phi(b) - Phi(a)) for a <= b, accurate in both tails.
double log_gauss_mass(double a, double b);
// The q-quantile of the standard normal truncated to [a, b].
double truncnorm_ppf(double q, double a, double b);

}  // namespace knob::detail
