#include "knob/tuner/samplers/gp_sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <utility>

#include "knob/core/error.h"
#include "knob/tuner/study.h"
#include "tuner/intersection_search_space.h"
#include "tuner/samplers/bracket_split.h"
#include "tuner/samplers/gp/gaussian_process.h"

namespace knob {

namespace {

constexpr double kMinNoise = 1e-6;  // Optuna's minimum noise variance
// Hyperparameters are refitted at every ask below this many observations, then each time
// their number has grown by 1/kRefitGrowth.
constexpr size_t kRefitAlways = 100;
constexpr size_t kRefitGrowth = 20;

// One parameter in the GP's input space: a number in [0, 1] (numerical) or the index of the
// choice (categorical).
class Encoder {
 public:
  explicit Encoder(const Distribution& d) : distribution_(d) {
    if (const auto* f = std::get_if<FloatDistribution>(&d)) {
      log_ = f->log, step_ = f->step.value_or(0.0);
      low_ = f->low, high_ = f->high;
    } else if (const auto* i = std::get_if<IntDistribution>(&d)) {
      log_ = i->log, step_ = static_cast<double>(i->step);
      low_ = static_cast<double>(i->low), high_ = static_cast<double>(i->high);
    } else {
      n_choices_ = static_cast<int64_t>(std::get<CategoricalDistribution>(d).choices.size());
      return;
    }
    // Each grid point owns the interval of half a step on either side.
    lo_ = log_ ? std::log(low_ - step_ / 2) : low_ - step_ / 2;
    hi_ = log_ ? std::log(high_ + step_ / 2) : high_ + step_ / 2;
  }

  bool categorical() const { return n_choices_ > 0; }
  int64_t n_choices() const { return n_choices_; }
  bool discrete() const { return categorical() || step_ > 0; }

  double encode(double internal) const {
    if (categorical()) return internal;
    return ((log_ ? std::log(internal) : internal) - lo_) / (hi_ - lo_);
  }
  // The internal value nearest to u: on the grid, inside the bounds.
  double decode(double u) const {
    if (categorical()) return std::clamp(std::round(u), 0.0, static_cast<double>(n_choices_ - 1));
    double v = lo_ + std::clamp(u, 0.0, 1.0) * (hi_ - lo_);
    if (log_) v = std::exp(v);
    if (step_ > 0) {
      const double last = std::floor((high_ - low_) / step_ + 1e-9);
      v = low_ + std::clamp(std::round((v - low_) / step_), 0.0, last) * step_;
    }
    return std::clamp(v, low_, high_);
  }
  // Where u is really sampled: discrete dimensions snap to their grid.
  double snap(double u) const { return discrete() ? encode(decode(u)) : std::clamp(u, 0.0, 1.0); }
  // The next grid point in direction dir (±1), or u at the bounds (discrete numerical only).
  double neighbour(double u, int dir) const {
    const double v = decode(u) + dir * step_;
    return v < low_ || v > high_ ? u : encode(decode(encode(v)));
  }

 private:
  Distribution distribution_;
  int64_t n_choices_ = 0;
  bool log_ = false;
  double step_ = 0, low_ = 0, high_ = 0, lo_ = 0, hi_ = 1;
};

// Coordinate search from `point` (acquisition `value`): each dimension in turn moves by
// ±step (and, if discrete, to its neighbouring grid points; categorical: to every choice),
// keeping the best improvement; the step halves after a pass without one.
template <typename Score>
void refine(Eigen::RowVectorXd& point, double& value, const std::vector<Encoder>& encoders,
            const Score& score) {
  const auto d = static_cast<Eigen::Index>(encoders.size());
  double step = 0.1;
  for (int pass = 0; pass < 30 && step >= 1e-4; ++pass) {
    bool improved = false;
    for (Eigen::Index j = 0; j < d; ++j) {
      const Encoder& e = encoders[static_cast<size_t>(j)];
      std::vector<double> moves;
      if (e.categorical()) {
        for (int64_t choice = 0; choice < e.n_choices(); ++choice)
          moves.push_back(static_cast<double>(choice));
      } else {
        moves = {e.snap(point(j) + step), e.snap(point(j) - step)};
        if (e.discrete())
          moves.push_back(e.neighbour(point(j), 1)), moves.push_back(e.neighbour(point(j), -1));
      }
      Eigen::MatrixXd tries = point.replicate(static_cast<Eigen::Index>(moves.size()), 1);
      for (size_t m = 0; m < moves.size(); ++m) tries(static_cast<Eigen::Index>(m), j) = moves[m];
      const Eigen::VectorXd tried = score(tries);
      Eigen::Index arg;
      const double top = tried.maxCoeff(&arg);
      if (top > value + 1e-12) {
        point(j) = moves[static_cast<size_t>(arg)], value = top, improved = true;
      }
    }
    if (!improved) step *= 0.5;
  }
}

struct Observation {
  int64_t number = -1;
  double value = 0;
  std::map<std::string, double> params;
};

// The COMPLETE trials of one Hyperband bracket, or of the whole study without Hyperband.
struct Bracket {
  std::vector<Observation> observations;  // those with a finite value, by number
  std::optional<std::map<std::string, Distribution>> intersection;
  // The last fit, reused (or warm-started from) for the same space.
  std::vector<std::pair<std::string, Distribution>> fitted_space;
  size_t fitted_n = 0;
  detail::GpHyperparameters fitted;
};

}  // namespace

struct GpSampler::Cache {
  int64_t study_id = -1;
  detail::BracketSplit split;          // how `brackets` were split
  int64_t refreshed_for = -1;          // trial id of the last refresh
  std::set<int64_t> complete_numbers;  // COMPLETE trials read so far
  std::map<int64_t, Bracket> brackets;
  Bracket* current = nullptr;  // the asked trial's

  void reset(int64_t id, detail::BracketSplit by) { *this = Cache(), study_id = id, split = by; }
};

GpSampler::GpSampler(GpOptions options)
    : options_(std::move(options)),
      rng_(options_.seed() ? std::optional<uint64_t>(*options_.seed() ^ 0xD1B54A32D192ED03ULL)
                           : std::nullopt),
      random_(options_.seed()),
      cache_(std::make_unique<Cache>()) {
  KNOB_CHECK(options_.n_startup_trials() >= 0, "n_startup_trials", options_.n_startup_trials(),
             "must be >= 0");
  KNOB_CHECK(options_.n_candidates() >= 1, "n_candidates", options_.n_candidates(), "must be >= 1");
  KNOB_CHECK(options_.n_local_search() >= 0, "n_local_search", options_.n_local_search(),
             "must be >= 0");
}

GpSampler::~GpSampler() = default;

void GpSampler::refresh(Study& study, const FrozenTrial& trial) {
  Cache& c = *cache_;
  // Under a HyperbandPruner the model sees only the asked trial's bracket.
  const auto split = detail::BracketSplit::of(study);
  if (c.study_id != study.study_id() || c.split != split) c.reset(study.study_id(), split);
  if (c.refreshed_for == trial.trial_id) return;
  c.refreshed_for = trial.trial_id;
  c.current = &c.brackets[split.bracket_of(study, trial.number)];
  // COMPLETE trials never change and are never removed: the stored count says whether any
  // are new (told by this process or another one).
  const auto stored =
      static_cast<size_t>(study.storage().n_trials(study.study_id(), TrialState::kComplete));
  if (stored == c.complete_numbers.size()) return;
  for (const auto& t : study.trials({TrialState::kComplete})) {
    if (!c.complete_numbers.insert(t.number).second) continue;
    Bracket& b = c.brackets[split.bracket_of(study, t.number)];
    detail::intersect_search_space(b.intersection, t.distributions);
    if (t.values.empty() || !std::isfinite(t.values[0])) continue;
    Observation o{t.number, t.values[0], t.internal_params};
    auto at =
        std::upper_bound(b.observations.begin(), b.observations.end(), o.number,
                         [](int64_t number, const Observation& x) { return number < x.number; });
    b.observations.insert(at, std::move(o));
  }
}

std::map<std::string, Distribution> GpSampler::infer_relative_search_space(
    Study& study, const FrozenTrial& trial) {
  if (study.is_multi_objective()) return {};
  refresh(study, trial);
  std::map<std::string, Distribution> out;
  if (cache_->current->intersection) {
    for (const auto& [name, d] : *cache_->current->intersection) {
      if (!is_single(d)) out.emplace(name, d);
    }
  }
  return out;
}

std::map<std::string, double> GpSampler::sample_relative(
    Study& study, const FrozenTrial& trial, const std::map<std::string, Distribution>& space) {
  if (space.empty() || study.is_multi_objective()) return {};
  refresh(study, trial);
  Bracket& c = *cache_->current;
  const std::vector<std::pair<std::string, Distribution>> dims(space.begin(), space.end());
  std::vector<Encoder> encoders;
  std::vector<bool> categorical;
  for (const auto& [name, d] : dims) {
    encoders.emplace_back(d);
    categorical.push_back(encoders.back().categorical());
  }
  const Eigen::Index d = static_cast<Eigen::Index>(dims.size());

  // Observations that have every parameter of the space, inside its distribution.
  std::vector<const Observation*> rows;
  for (const auto& o : c.observations) {
    bool inside = true;
    for (const auto& [name, dist] : dims) {
      auto it = o.params.find(name);
      inside = inside && it != o.params.end() && contains(dist, it->second);
    }
    if (inside) rows.push_back(&o);
  }
  const size_t n = rows.size();
  if (n == 0 || n < static_cast<size_t>(options_.n_startup_trials())) return {};

  // The GP maximizes the standardized score.
  const double sign = study.direction() == StudyDirection::kMaximize ? 1.0 : -1.0;
  Eigen::MatrixXd x(static_cast<Eigen::Index>(n), d);
  Eigen::VectorXd y(static_cast<Eigen::Index>(n));
  for (size_t i = 0; i < n; ++i) {
    const auto k = static_cast<Eigen::Index>(i);
    for (Eigen::Index j = 0; j < d; ++j) {
      x(k, j) = encoders[static_cast<size_t>(j)].encode(
          rows[i]->params.at(dims[static_cast<size_t>(j)].first));
    }
    y(k) = sign * rows[i]->value;
  }
  const double mean = y.mean();
  const double sd = std::sqrt((y.array() - mean).square().mean());
  y = (y.array() - mean) / (sd > 1e-12 ? sd : 1.0);

  // Fit, warm-started from the last fit of the same space; skipped while it is recent.
  const bool same_space = c.fitted_space == dims;
  if (!same_space || n < kRefitAlways ||
      n >= c.fitted_n + std::max<size_t>(1, c.fitted_n / kRefitGrowth)) {
    c.fitted =
        detail::fit_gp(x, y, categorical, same_space ? c.fitted : detail::GpHyperparameters{},
                       kMinNoise, options_.deterministic_objective());
    c.fitted_space = dims, c.fitted_n = n;
  }
  const detail::GaussianProcess gp(x, y, categorical, c.fitted);
  const double best = y.maxCoeff();
  auto score = [&](const Eigen::MatrixXd& points) {
    Eigen::VectorXd m, v;
    gp.posterior(points, m, v);
    Eigen::VectorXd s(points.rows());
    for (Eigen::Index k = 0; k < s.size(); ++k)
      s(k) = detail::log_expected_improvement(m(k), v(k), best);
    return s;
  };

  // Random candidates and the best observed points...
  std::vector<Eigen::Index> by_value(n);
  std::iota(by_value.begin(), by_value.end(), 0);
  std::stable_sort(by_value.begin(), by_value.end(),
                   [&](Eigen::Index a, Eigen::Index b) { return y(a) > y(b); });
  const auto n_best =
      std::min<Eigen::Index>(static_cast<Eigen::Index>(n), options_.n_local_search());
  const Eigen::Index n_random = options_.n_candidates();
  Eigen::MatrixXd candidates(n_random + n_best, d);
  for (Eigen::Index k = 0; k < n_random; ++k) {
    for (Eigen::Index j = 0; j < d; ++j) {
      const Encoder& e = encoders[static_cast<size_t>(j)];
      candidates(k, j) = e.categorical()
                             ? static_cast<double>(rng_.uniform_int(0, e.n_choices() - 1))
                             : e.snap(rng_.uniform());
    }
  }
  for (Eigen::Index k = 0; k < n_best; ++k)
    candidates.row(n_random + k) = x.row(by_value[static_cast<size_t>(k)]);
  const Eigen::VectorXd scores = score(candidates);

  // ...then a coordinate search from the best few.
  std::vector<Eigen::Index> order(static_cast<size_t>(candidates.rows()));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](Eigen::Index a, Eigen::Index b) { return scores(a) > scores(b); });
  Eigen::RowVectorXd best_point = candidates.row(order[0]);
  double best_score = scores(order[0]);
  const size_t n_starts = std::min(order.size(), static_cast<size_t>(options_.n_local_search()));
  for (size_t s = 0; s < n_starts; ++s) {
    Eigen::RowVectorXd point = candidates.row(order[s]);
    double value = scores(order[s]);
    refine(point, value, encoders, score);
    if (value > best_score) best_score = value, best_point = point;
  }

  std::map<std::string, double> out;
  for (Eigen::Index j = 0; j < d; ++j) {
    out[dims[static_cast<size_t>(j)].first] =
        encoders[static_cast<size_t>(j)].decode(best_point(j));
  }
  return out;
}

double GpSampler::sample_independent(Study& study, const FrozenTrial& trial,
                                     const std::string& name, const Distribution& distribution) {
  return random_.sample_independent(study, trial, name, distribution);
}

}  // namespace knob
