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
#include "tuner/samplers/gp/refit_schedule.h"

namespace knob {

namespace {

constexpr double kMinNoise = 1e-6;  // Optuna's minimum noise variance

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

// Coordinate search from each row of `points` (acquisition `values`): each dimension in turn
// moves by ±step (and, if discrete, to its neighbouring grid points; categorical: to every
// choice), keeping the best improvement; a start's step halves after a pass without one. The
// starts go in lockstep, so each dimension of a pass scores one batch of every start's moves
// (each start's path is the one it would take alone).
template <typename Score>
void refine(Eigen::MatrixXd& points, Eigen::VectorXd& values, const std::vector<Encoder>& encoders,
            const Score& score) {
  const auto d = static_cast<Eigen::Index>(encoders.size());
  const Eigen::Index starts = points.rows();
  std::vector<double> step(static_cast<size_t>(starts), 0.1);
  std::vector<char> improved(static_cast<size_t>(starts));
  std::vector<Eigen::Index> active, first;  // the moving starts; their first row in `tries`
  std::vector<double> moves;
  Eigen::MatrixXd tries;
  for (int pass = 0; pass < 30; ++pass) {
    active.clear();
    for (Eigen::Index s = 0; s < starts; ++s) {
      if (step[static_cast<size_t>(s)] >= 1e-4) active.push_back(s);
    }
    if (active.empty()) break;
    std::fill(improved.begin(), improved.end(), 0);
    for (Eigen::Index j = 0; j < d; ++j) {
      const Encoder& e = encoders[static_cast<size_t>(j)];
      moves.clear(), first.clear();
      for (const Eigen::Index s : active) {
        first.push_back(static_cast<Eigen::Index>(moves.size()));
        const double u = points(s, j), h = step[static_cast<size_t>(s)];
        if (e.categorical()) {
          for (int64_t choice = 0; choice < e.n_choices(); ++choice)
            moves.push_back(static_cast<double>(choice));
        } else {
          moves.push_back(e.snap(u + h)), moves.push_back(e.snap(u - h));
          if (e.discrete()) moves.push_back(e.neighbour(u, 1)), moves.push_back(e.neighbour(u, -1));
        }
      }
      first.push_back(static_cast<Eigen::Index>(moves.size()));
      tries.resize(static_cast<Eigen::Index>(moves.size()), d);
      for (size_t a = 0; a < active.size(); ++a) {
        for (Eigen::Index m = first[a]; m < first[a + 1]; ++m) {
          tries.row(m) = points.row(active[a]);
          tries(m, j) = moves[static_cast<size_t>(m)];
        }
      }
      const Eigen::VectorXd tried = score(tries);
      for (size_t a = 0; a < active.size(); ++a) {
        const Eigen::Index s = active[a];
        Eigen::Index arg;
        const double top = tried.segment(first[a], first[a + 1] - first[a]).maxCoeff(&arg);
        if (top > values(s) + 1e-12) {
          points(s, j) = moves[static_cast<size_t>(first[a] + arg)], values(s) = top;
          improved[static_cast<size_t>(s)] = 1;
        }
      }
    }
    for (const Eigen::Index s : active) {
      if (!improved[static_cast<size_t>(s)]) step[static_cast<size_t>(s)] *= 0.5;
    }
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
  // The GP of the last ask with `fitted` for `fitted_space`, its rows the observations
  // numbered `gp_rows`: grown by appending rows while the fit is kept.
  std::optional<detail::GaussianProcess> gp;
  std::vector<int64_t> gp_rows;
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
  if (!same_space || detail::gp_refit_due(n, c.fitted_n)) {
    c.fitted =
        detail::fit_gp(x, y, categorical, same_space ? c.fitted : detail::GpHyperparameters{},
                       kMinNoise, options_.deterministic_objective());
    c.fitted_space = dims, c.fitted_n = n;
    c.gp.reset();
  }
  // The last GP grows by the new observations when its rows are the first of these ones.
  bool grown = c.gp && c.gp_rows.size() <= n;
  for (size_t i = 0; grown && i < c.gp_rows.size(); ++i) grown = c.gp_rows[i] == rows[i]->number;
  for (size_t i = c.gp_rows.size(); grown && i < n; ++i) {
    grown = c.gp->append(x.row(static_cast<Eigen::Index>(i)));
    if (grown) c.gp_rows.push_back(rows[i]->number);
  }
  if (grown) {
    c.gp->set_targets(y);
  } else {
    c.gp.emplace(x, y, categorical, c.fitted);
    c.gp_rows.clear();
    for (const Observation* o : rows) c.gp_rows.push_back(o->number);
  }
  const detail::GaussianProcess& gp = *c.gp;
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
  const auto n_starts = static_cast<Eigen::Index>(
      std::min(order.size(), static_cast<size_t>(options_.n_local_search())));
  Eigen::MatrixXd points(n_starts, d);
  Eigen::VectorXd values(n_starts);
  for (Eigen::Index s = 0; s < n_starts; ++s) {
    points.row(s) = candidates.row(order[static_cast<size_t>(s)]);
    values(s) = scores(order[static_cast<size_t>(s)]);
  }
  refine(points, values, encoders, score);
  for (Eigen::Index s = 0; s < n_starts; ++s) {
    if (values(s) > best_score) best_score = values(s), best_point = points.row(s);
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
