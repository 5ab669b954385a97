#include "tuner/samplers/cmaes/cma_es.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

#include "tuner/samplers/tpe/parzen_estimator.h"

namespace knob::detail {

namespace {

constexpr double kEps = 1e-8;
constexpr double kSigmaMax = 1e32;

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixMap = Eigen::Map<Matrix>;
using ConstMatrixMap = Eigen::Map<const Matrix>;
using VectorMap = Eigen::Map<Eigen::VectorXd>;
using ConstVectorMap = Eigen::Map<const Eigen::VectorXd>;

std::vector<double> to_vector(const Eigen::VectorXd& v) { return {v.data(), v.data() + v.size()}; }

}  // namespace

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

double normal_quantile(double p) {
  assert(p > 0 && p < 1);
  const double inf = std::numeric_limits<double>::infinity();
  return truncnorm_ppf(p, -inf, inf);
}

CmaEs::CmaEs(std::vector<double> mean, double sigma, std::vector<Bound> bounds, int population_size,
             std::vector<double> steps, int n_max_resampling, double margin)
    : n_(static_cast<int>(mean.size())),
      n_max_resampling_(n_max_resampling),
      bounds_(std::move(bounds)),
      mean_(std::move(mean)),
      sigma_(sigma) {
  assert(n_ >= 2 && sigma > 0 && static_cast<int>(bounds_.size()) == n_);
  assert(steps.empty() || static_cast<int>(steps.size()) == n_);
  const double n = n_;
  popsize_ =
      population_size > 0 ? population_size : 4 + static_cast<int>(std::floor(3 * std::log(n)));
  mu_ = popsize_ / 2;

  std::vector<double> w(popsize_);
  for (int i = 0; i < popsize_; ++i) w[i] = std::log((popsize_ + 1) / 2.0) - std::log(i + 1.0);
  auto effective = [&](int from, int to) {
    double s = 0, s2 = 0;
    for (int i = from; i < to; ++i) s += w[i], s2 += w[i] * w[i];
    return s * s / s2;
  };
  mu_eff_ = effective(0, mu_);
  const double mu_eff_minus = effective(mu_, popsize_);
  const double alpha_cov = 2;
  c1_ = alpha_cov / ((n + 1.3) * (n + 1.3) + mu_eff_);
  cmu_ = std::min(1 - c1_ - 1e-8, alpha_cov * (mu_eff_ - 2 + 1 / mu_eff_) /
                                      ((n + 2) * (n + 2) + alpha_cov * mu_eff_ / 2));
  const double min_alpha = std::min(
      {1 + c1_ / cmu_, 1 + 2 * mu_eff_minus / (mu_eff_ + 2), (1 - c1_ - cmu_) / (n * cmu_)});
  double positive = 0, negative = 0;
  for (double x : w) (x > 0 ? positive : negative) += std::abs(x);
  weights_.resize(popsize_);
  for (int i = 0; i < popsize_; ++i)
    weights_[i] = w[i] >= 0 ? w[i] / positive : min_alpha / negative * w[i];
  c_sigma_ = (mu_eff_ + 2) / (n + mu_eff_ + 5);
  d_sigma_ = 1 + 2 * std::max(0.0, std::sqrt((mu_eff_ - 1) / (n + 1)) - 1) + c_sigma_;
  cc_ = (4 + mu_eff_ / n) / (n + 4 + 2 * mu_eff_ / n);
  chi_n_ = std::sqrt(n) * (1.0 - 1.0 / (4.0 * n) + 1.0 / (21.0 * n * n));

  p_sigma_.assign(n_, 0.0);
  p_c_.assign(n_, 0.0);
  c_.assign(static_cast<size_t>(n_) * n_, 0.0);
  for (int i = 0; i < n_; ++i) c_[i * n_ + i] = 1;
  tolx_ = 1e-12 * sigma;
  funhist_term_ = 10 + static_cast<int>(std::ceil(30 * n / popsize_));
  funhist_.assign(2 * funhist_term_, 0.0);

  for (int i = 0; i < n_; ++i) {
    const double step = steps.empty() ? 0 : steps[i];
    if (!(step > 0)) {
      continuous_.push_back(i);
      continue;
    }
    Discrete z{i, {}, {}};
    const double low = bounds_[i].low, high = bounds_[i].high;
    // numpy.arange(low, high + step / 2, step)
    const auto count = static_cast<int>(std::ceil((high + step / 2 - low) / step));
    for (int k = 0; k < count; ++k) z.values.push_back(low + k * step);
    for (int k = 0; k + 1 < count; ++k) z.thresholds.push_back((z.values[k] + z.values[k + 1]) / 2);
    assert(!z.thresholds.empty());
    discrete_.push_back(std::move(z));
  }
  if (!discrete_.empty()) {
    margin_ = margin > 0 ? margin : 1.0 / (n * popsize_);
    a_.assign(n_, 1.0);
  }
}

void CmaEs::eigen() {
  if (eigen_valid_) return;
  MatrixMap c(c_.data(), n_, n_);
  Matrix sym = (c + c.transpose()) / 2;
  Eigen::SelfAdjointEigenSolver<Matrix> solver(sym);
  Eigen::VectorXd d = solver.eigenvalues();
  for (int i = 0; i < n_; ++i) d[i] = std::sqrt(d[i] < 0 ? kEps : d[i]);
  Matrix b = solver.eigenvectors();
  c = b * d.cwiseAbs2().asDiagonal() * b.transpose();
  b_.assign(b.data(), b.data() + b.size());
  d_ = to_vector(d);
  eigen_valid_ = true;
}

double CmaEs::encode(const Discrete& z, double x) const {
  const double m = mean_[z.dim];
  const double scaled = (x - m) * a_[z.dim] + m;
  const auto k =
      std::lower_bound(z.thresholds.begin(), z.thresholds.end(), scaled) - z.thresholds.begin();
  return z.values[static_cast<size_t>(k)];
}

CmaEs::Sample CmaEs::ask(Rng& rng) {
  eigen();
  ConstMatrixMap b(b_.data(), n_, n_);
  ConstVectorMap d(d_.data(), n_), m(mean_.data(), n_);
  Eigen::VectorXd z(n_), x(n_);
  auto draw = [&] {
    for (int i = 0; i < n_; ++i) z[i] = rng.normal();
    x = m + sigma_ * (b * d.asDiagonal() * z);
  };
  auto feasible = [&] {
    for (int i : continuous_) {
      if (!(x[i] >= bounds_[i].low && x[i] <= bounds_[i].high)) return false;
    }
    return true;
  };
  bool ok = false;
  for (int i = 0; i < n_max_resampling_ && !ok; ++i) {
    draw();
    ok = feasible();
  }
  if (!ok) {
    draw();
    for (int i : continuous_) x[i] = std::clamp(x[i], bounds_[i].low, bounds_[i].high);
  }
  Sample s{to_vector(x), to_vector(x)};
  for (const auto& z : discrete_) s.x_for_eval[z.dim] = encode(z, x[z.dim]);
  return s;
}

void CmaEs::tell(std::vector<Solution> solutions) {
  assert(static_cast<int>(solutions.size()) == popsize_);
  ++g_;
  std::stable_sort(solutions.begin(), solutions.end(),
                   [](const Solution& a, const Solution& b) { return a.second < b.second; });
  const int h = 2 * (g_ % funhist_term_);
  funhist_[h] = solutions.front().second;
  funhist_[h + 1] = solutions.back().second;

  eigen();
  eigen_valid_ = false;
  ConstMatrixMap b(b_.data(), n_, n_);
  ConstVectorMap d(d_.data(), n_);
  VectorMap mean(mean_.data(), n_), p_sigma(p_sigma_.data(), n_), p_c(p_c_.data(), n_);
  MatrixMap c(c_.data(), n_, n_);

  Matrix y(popsize_, n_);  // rows ~ N(0, C)
  for (int k = 0; k < popsize_; ++k) {
    assert(static_cast<int>(solutions[k].first.size()) == n_);
    y.row(k) = (ConstVectorMap(solutions[k].first.data(), n_) - mean) / sigma_;
  }
  Eigen::VectorXd y_w = Eigen::VectorXd::Zero(n_);
  for (int k = 0; k < mu_; ++k) y_w += weights_[k] * y.row(k).transpose();
  mean += sigma_ * y_w;  // c_m = 1

  const Matrix c_inv_sqrt = b * d.cwiseInverse().asDiagonal() * b.transpose();
  p_sigma = (1 - c_sigma_) * p_sigma +
            std::sqrt(c_sigma_ * (2 - c_sigma_) * mu_eff_) * (c_inv_sqrt * y_w);
  const double norm_p_sigma = p_sigma.norm();
  sigma_ *= std::exp((c_sigma_ / d_sigma_) * (norm_p_sigma / chi_n_ - 1));
  sigma_ = std::min(sigma_, kSigmaMax);

  const double left = norm_p_sigma / std::sqrt(1 - std::pow(1 - c_sigma_, 2 * (g_ + 1)));
  const double right = (1.4 + 2.0 / (n_ + 1)) * chi_n_;
  const double h_sigma = left < right ? 1.0 : 0.0;
  p_c = (1 - cc_) * p_c + h_sigma * std::sqrt(cc_ * (2 - cc_) * mu_eff_) * y_w;

  Matrix rank_mu = Matrix::Zero(n_, n_);
  double weight_sum = 0;
  for (int k = 0; k < popsize_; ++k) {
    double w = weights_[k];
    weight_sum += w;
    if (w < 0) w *= n_ / ((c_inv_sqrt * y.row(k).transpose()).squaredNorm() + kEps);
    rank_mu += w * y.row(k).transpose() * y.row(k);
  }
  const double delta_h_sigma = (1 - h_sigma) * cc_ * (2 - cc_);
  c = (1 + c1_ * delta_h_sigma - c1_ - cmu_ * weight_sum) * c + c1_ * p_c * p_c.transpose() +
      cmu_ * rank_mu;

  if (!discrete_.empty()) correct_margin();
}

void CmaEs::correct_margin() {
  // Keeps the probability of each discrete dimension's neighbouring grid cells >= margin / 2,
  // by moving the mean (edge cells) or scaling A (others); sigma and C stay.
  const double chi_margin = normal_quantile(1 - margin_);  // sqrt(chi2_1.ppf(1 - 2 margin))
  for (const auto& z : discrete_) {
    const int i = z.dim;
    const double m = mean_[i];
    const auto& t = z.thresholds;
    const auto k = static_cast<size_t>(std::lower_bound(t.begin(), t.end(), m) - t.begin());
    const double lim_low = k == 0 ? t.front() : t[k - 1];
    const double lim_up = k == t.size() ? t.back() : t[k];
    const double c_sqrt = std::sqrt(c_[i * n_ + i]);
    const double scale = sigma_ * a_[i] * c_sqrt;
    double low_cdf = normal_cdf((lim_low - m) / scale);
    double up_cdf = 1 - normal_cdf((lim_up - m) / scale);
    const double mid_cdf = 1 - (low_cdf + up_cdf);
    if (std::max(low_cdf, up_cdf) > 0.5) {
      // Edge cell: pull the mean inside far enough that the next cell keeps its margin.
      if (std::min(low_cdf, up_cdf) < margin_) {
        const double sign = m > lim_up ? 1.0 : (m < lim_up ? -1.0 : 0.0);
        mean_[i] = lim_up + sign * sigma_ * a_[i] * chi_margin * c_sqrt;
      }
      continue;
    }
    low_cdf = std::max(low_cdf, margin_ / 2);
    up_cdf = std::max(up_cdf, margin_ / 2);
    const double excess = 1 - low_cdf - up_cdf - mid_cdf;
    const double denominator = low_cdf + mid_cdf + up_cdf - 3 * margin_ / 2;
    const double low_p =
        std::clamp(low_cdf + excess * (low_cdf - margin_ / 2) / denominator, 1e-10, 0.5 - 1e-10);
    const double up_p =
        std::clamp(up_cdf + excess * (up_cdf - margin_ / 2) / denominator, 1e-10, 0.5 - 1e-10);
    const double chi_low = normal_quantile(1 - low_p), chi_up = normal_quantile(1 - up_p);
    a_[i] = (lim_up - lim_low) / ((chi_low + chi_up) * sigma_ * c_sqrt);
    mean_[i] = (lim_low * chi_up + lim_up * chi_low) / (chi_low + chi_up);
  }
}

bool CmaEs::should_stop() {
  eigen();
  const double tolfun = 1e-12, tolxup = 1e4, tolconditioncov = 1e14;
  if (g_ > funhist_term_) {
    const auto [lo, hi] = std::minmax_element(funhist_.begin(), funhist_.end());
    if (*hi - *lo < tolfun) return true;
  }
  bool tiny = true;
  for (int i = 0; i < n_ && tiny; ++i)
    tiny = sigma_ * c_[i * n_ + i] < tolx_ && sigma_ * p_c_[i] < tolx_;
  if (tiny) return true;
  const double d_max = *std::max_element(d_.begin(), d_.end());
  const double d_min = *std::min_element(d_.begin(), d_.end());
  if (sigma_ * d_max > tolxup) return true;
  for (int i = 0; i < n_; ++i) {
    if (mean_[i] == mean_[i] + 0.2 * sigma_ * std::sqrt(c_[i * n_ + i])) return true;
  }
  const int axis = g_ % n_;
  bool no_effect = true;
  for (int i = 0; i < n_ && no_effect; ++i)
    no_effect = mean_[i] == mean_[i] + 0.1 * sigma_ * d_[axis] * b_[i * n_ + axis];
  if (no_effect) return true;
  return d_max / d_min > tolconditioncov;
}

Json CmaEs::state() const {
  Json j = {{"generation", g_},    {"mean", mean_}, {"sigma", sigma_},    {"cov", c_},
            {"p_sigma", p_sigma_}, {"p_c", p_c_},   {"funhist", funhist_}};
  if (!a_.empty()) j["margin_scale"] = a_;
  return j;
}

void CmaEs::load_state(const Json& j) {
  auto load = [&](const char* key, std::vector<double>& out) {
    auto v = j.at(key).get<std::vector<double>>();
    if (v.size() != out.size()) throw std::out_of_range(std::string("CMA-ES state: ") + key);
    out = std::move(v);
  };
  g_ = j.at("generation").get<int>();
  sigma_ = j.at("sigma").get<double>();
  load("mean", mean_);
  load("cov", c_);
  load("p_sigma", p_sigma_);
  load("p_c", p_c_);
  load("funhist", funhist_);
  if (!a_.empty()) load("margin_scale", a_);
  eigen_valid_ = false;
}

}  // namespace knob::detail
