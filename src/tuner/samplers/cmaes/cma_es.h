// CmaEs: Hansen's CMA-ES with ask/tell over one generation (the update, bounds handling and
// stop conditions of python3-cmaes 0.9.1's CMA), and optionally the margin correction for
// discrete dimensions (Hamano et al. 2022; cmaes' CMAwM). Internal to CmaEsSampler; the
// state is plain vectors (C row-major) so it can be compared and stored as JSON.
//
// Example:
//   detail::CmaEs es({0.0, 0.0}, 1.0, {{-5, 5}, {-5, 5}});
//   Rng rng(1);
//   std::vector<detail::CmaEs::Solution> gen;
//   for (int k = 0; k < es.population_size(); ++k) {
//     auto x = es.ask(rng).x_for_tell;
//     gen.push_back({x, f(x)});
//   }
//   es.tell(gen);
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "knob/core/json.h"
#include "knob/core/random.h"

namespace knob::detail {

class CmaEs {
 public:
  struct Bound {
    double low;
    double high;
  };
  struct Sample {
    std::vector<double> x_for_eval;  // discrete dimensions on their grid
    std::vector<double> x_for_tell;  // the raw draw (what tell() needs)
  };
  using Solution = std::pair<std::vector<double>, double>;  // (x_for_tell, value to minimize)

  // `bounds`: one per dimension (+-inf allowed; `mean` inside). `population_size` 0: the
  // default 4 + floor(3 ln n). `steps` (empty, or one per dimension): > 0 makes a dimension
  // discrete on low, low + step, ... <= high, with the margin correction. `margin` 0: the
  // default 1 / (n * population_size).
  CmaEs(std::vector<double> mean, double sigma, std::vector<Bound> bounds, int population_size = 0,
        std::vector<double> steps = {}, int n_max_resampling = 100, double margin = 0);

  int dim() const { return n_; }
  int population_size() const { return popsize_; }
  int generation() const { return g_; }
  bool has_margin() const { return !discrete_.empty(); }

  // One draw (redrawn up to n_max_resampling times until inside the continuous bounds, then
  // clipped).
  Sample ask(Rng& rng);
  // Updates the distribution from population_size() solutions.
  void tell(std::vector<Solution> solutions);
  // cmaes' termination conditions (flat values, tiny or huge steps, no effect, bad condition).
  bool should_stop();

  const std::vector<double>& mean() const { return mean_; }
  double sigma() const { return sigma_; }
  const std::vector<double>& cov() const { return c_; }  // row-major n x n
  const std::vector<double>& p_sigma() const { return p_sigma_; }
  const std::vector<double>& p_c() const { return p_c_; }
  const std::vector<double>& margin_scale() const { return a_; }  // CMAwM's A

  // The state that changes (mean, sigma, C, paths, generation, value history, A). Restore
  // with a CmaEs built from the same arguments, then load_state().
  Json state() const;
  void load_state(const Json& state);

 private:
  struct Discrete {
    int dim;
    std::vector<double> values;      // the grid
    std::vector<double> thresholds;  // midpoints between neighbours
  };
  void eigen();
  double encode(const Discrete& d, double x) const;
  void correct_margin();

  int n_, popsize_, mu_, n_max_resampling_;
  double mu_eff_, cc_, c1_, cmu_, c_sigma_, d_sigma_, chi_n_;
  std::vector<double> weights_;
  std::vector<Bound> bounds_;
  double tolx_;
  int funhist_term_;

  int g_ = 0;
  std::vector<double> mean_, c_, p_sigma_, p_c_;
  double sigma_;
  std::vector<double> funhist_;
  // Eigen decomposition of C (B row-major, D = sqrt of eigenvalues), valid while C is unchanged.
  bool eigen_valid_ = false;
  std::vector<double> b_, d_;

  std::vector<Discrete> discrete_;
  std::vector<int> continuous_;
  double margin_ = 0;
  std::vector<double> a_;
};

// The standard normal's cdf and quantile (TPE's, to double precision), for the margin
// correction.
double normal_cdf(double x);
double normal_quantile(double p);

}  // namespace knob::detail
