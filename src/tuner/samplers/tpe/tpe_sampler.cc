#include "knob/tuner/samplers/tpe_sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <set>
#include <tuple>

#include "knob/core/error.h"
#include "knob/tuner/constraints.h"
#include "knob/tuner/study.h"
#include "tuner/intersection_search_space.h"
#include "tuner/samplers/bracket_split.h"
#include "tuner/samplers/tpe/multi_objective.h"
#include "tuner/samplers/tpe/parzen_estimator.h"

namespace knob {

int default_gamma(int n) { return std::min(static_cast<int>(std::ceil(0.1 * n)), 25); }

int hyperopt_default_gamma(int n) {
  return std::min(static_cast<int>(std::ceil(0.25 * std::sqrt(static_cast<double>(n)))), 25);
}

std::vector<double> default_weights(int n) {
  if (n <= 0) return {};
  if (n < 25) return std::vector<double>(static_cast<size_t>(n), 1.0);
  // numpy.linspace(1 / n, 1, n - 25), then 25 ones.
  std::vector<double> w(static_cast<size_t>(n), 1.0);
  const int ramp = n - 25;
  const double start = 1.0 / n;
  if (ramp == 1) w[0] = start;
  if (ramp > 1) {
    const double step = (1.0 - start) / (ramp - 1);
    for (int i = 0; i < ramp; ++i) w[static_cast<size_t>(i)] = start + i * step;
    w[static_cast<size_t>(ramp - 1)] = 1.0;
  }
  return w;
}

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// What TPE keeps of a trial: Optuna's score (step, value), sorted lexicographically, lower
// is better: COMPLETE (-inf, sign*value); PRUNED (-last step, sign*its value, NaN as +inf) or
// (1, 0) without reports; RUNNING (+inf, sign*inf). With several objectives only COMPLETE
// trials count (`losses`: sign*value per objective).
struct Observation {
  int64_t number = -1;
  double step = 0;
  double value = 0;
  std::vector<double> losses;
  std::optional<double> violation;  // total constraint violation, if the trial has constraints
  std::map<std::string, double> params;
  std::map<std::string, Distribution> distributions;
  // `params` by Cache::param_ids (NaN: the trial does not have it), set when cached.
  std::vector<double> values;
};

std::optional<Observation> observe(const FrozenTrial& t, const std::vector<double>& signs) {
  Observation o;
  o.number = t.number;
  o.params = t.internal_params;
  o.distributions = t.distributions;
  if (trial_constraints(t)) o.violation = total_violation(t);
  const double sign = signs[0];
  if (signs.size() > 1) {
    if (t.state != TrialState::kComplete || t.values.size() != signs.size()) return std::nullopt;
    for (size_t k = 0; k < signs.size(); ++k) o.losses.push_back(signs[k] * t.values[k]);
    o.step = -kInf, o.value = o.losses[0];
    return o;
  }
  switch (t.state) {
    case TrialState::kComplete:
      if (t.values.empty()) return std::nullopt;
      o.step = -kInf, o.value = sign * t.values[0];
      break;
    case TrialState::kPruned:
      if (auto last = t.last_step()) {
        o.step = -static_cast<double>(last->first);
        o.value = std::isnan(last->second) ? kInf : sign * last->second;
      } else {
        o.step = 1, o.value = 0;
      }
      break;
    case TrialState::kRunning:
      o.step = kInf, o.value = sign * kInf;
      break;
    default:
      return std::nullopt;
  }
  return o;
}

// Optuna's _SearchSpaceGroup.add_distributions: refine the partition of parameter names so
// that every trial's parameters are a union of groups.
void add_to_groups(std::vector<std::map<std::string, Distribution>>& groups,
                   const std::map<std::string, Distribution>& distributions) {
  std::map<std::string, Distribution> rest = distributions;
  std::vector<std::map<std::string, Distribution>> next;
  for (const auto& group : groups) {
    std::map<std::string, Distribution> inside, outside;
    for (const auto& [name, d] : group) {
      (distributions.count(name) ? inside : outside).emplace(name, d);
      rest.erase(name);
    }
    if (!inside.empty()) next.push_back(std::move(inside));
    if (!outside.empty()) next.push_back(std::move(outside));
  }
  if (!rest.empty()) next.push_back(std::move(rest));
  groups = std::move(next);
}

// The finished trials of one Hyperband bracket, or of the whole study without Hyperband.
struct Bracket {
  std::vector<Observation> finished;  // COMPLETE and PRUNED, by number
  // Their search spaces, kept up to date as trials are added.
  std::optional<std::map<std::string, Distribution>> intersection;
  std::vector<std::map<std::string, Distribution>> groups;
  // Per parameter id: (value, trial number) of the trials that have it, ascending, so that
  // an ask finds the kernels' order without sorting.
  std::vector<std::vector<std::pair<double, int64_t>>> sorted;
  // Per parameter id: the values in the order of `finished` (NaN: absent), read without
  // visiting each trial.
  std::vector<std::vector<double>> columns;
  std::vector<int64_t> numbers;  // the trial numbers of `finished`, in its order

  void add(Observation o) {
    detail::intersect_search_space(intersection, o.distributions);
    add_to_groups(groups, o.distributions);
    if (columns.size() < o.values.size()) {
      sorted.resize(o.values.size());
      columns.resize(o.values.size(), std::vector<double>(finished.size(), kNaN));
    }
    auto at =
        std::upper_bound(finished.begin(), finished.end(), o.number,
                         [](int64_t number, const Observation& x) { return number < x.number; });
    const auto index = at - finished.begin();
    for (size_t id = 0; id < columns.size(); ++id) {
      const double value = id < o.values.size() ? o.values[id] : kNaN;
      columns[id].insert(columns[id].begin() + index, value);
      if (std::isnan(value)) continue;
      const std::pair<double, int64_t> entry(value, o.number);
      sorted[id].insert(std::upper_bound(sorted[id].begin(), sorted[id].end(), entry), entry);
    }
    numbers.insert(numbers.begin() + index, o.number);
    finished.insert(at, std::move(o));
  }
};

}  // namespace

struct TpeSampler::Cache {
  int64_t study_id = -1;
  detail::BracketSplit split;  // how `brackets` were split
  int64_t refreshed_for = -1;  // trial id of the last refresh
  std::set<int64_t> finished_numbers;
  std::map<int64_t, Bracket> brackets;     // by bracket id
  std::map<int64_t, Observation> pending;  // told in this process, maybe not yet stored
  // The asked trial's bracket, and its running trials (constant_liar only).
  const Bracket* current = nullptr;
  std::vector<Observation> running;
  // The observations in trial-number order and, for each, whether it is among the best
  // gamma(n) (computed once per ask, shared by all parameters of the trial).
  std::vector<const Observation*> all;
  std::vector<char> below;
  std::vector<double> below_weight;         // several objectives: each good trial's weight
  std::map<std::string, size_t> param_ids;  // each parameter name seen, numbered

  // Sets o.values from o.params, numbering new names.
  void index(Observation& o) {
    for (const auto& [name, value] : o.params) {
      const size_t id = param_ids.emplace(name, param_ids.size()).first->second;
      if (o.values.size() <= id) o.values.resize(id + 1, kNaN);
      o.values[id] = value;
    }
  }

  // Forgets the trials read (the told ones stay pending).
  void reset(int64_t id, detail::BracketSplit by) {
    auto told = std::move(pending);
    *this = Cache();
    study_id = id, split = by, pending = std::move(told);
  }
  void add_finished(int64_t bracket, Observation o) {
    if (!finished_numbers.insert(o.number).second) return;
    index(o);
    brackets[bracket].add(std::move(o));
  }
};

TpeSampler::TpeSampler(TpeOptions options)
    : options_(std::move(options)),
      rng_(options_.seed() ? std::optional<uint64_t>(*options_.seed() ^ 0x9E3779B97F4A7C15ULL)
                           : std::nullopt),
      random_(options_.seed()),
      cache_(std::make_unique<Cache>()) {
  KNOB_CHECK(options_.n_startup_trials() >= 0, "n_startup_trials", options_.n_startup_trials(),
             "must be >= 0");
  KNOB_CHECK(options_.n_ei_candidates() >= 1, "n_ei_candidates", options_.n_ei_candidates(),
             "must be >= 1");
  KNOB_CHECK(std::isfinite(options_.prior_weight()) && options_.prior_weight() > 0, "prior_weight",
             options_.prior_weight(), "must be a finite number > 0");
  KNOB_CHECK(static_cast<bool>(options_.gamma()), "gamma", std::string("(empty function)"),
             "must be a function such as knob::default_gamma");
  KNOB_CHECK(static_cast<bool>(options_.weights()), "weights", std::string("(empty function)"),
             "must be a function such as knob::default_weights");
  KNOB_CHECK(!options_.group() || options_.multivariate(), "group", std::string("true"),
             "needs multivariate = true");
}

TpeSampler::~TpeSampler() = default;

void TpeSampler::refresh(Study& study, const FrozenTrial& trial) {
  Cache& c = *cache_;
  // Under a HyperbandPruner the model sees only the asked trial's bracket.
  const auto split = detail::BracketSplit::of(study);
  if (c.study_id != study.study_id() || c.split != split) c.reset(study.study_id(), split);
  if (c.refreshed_for == trial.trial_id) return;
  c.refreshed_for = trial.trial_id;
  const std::vector<double> signs = signs_of(study);
  auto bracket_of = [&](int64_t number) { return split.bracket_of(study, number); };

  // Finished trials never change and are never removed, so the stored count says whether
  // anything is new. Usually the new ones are those told in this process (after_trial);
  // otherwise (other processes, other threads mid-tell) everything is read again.
  Storage& storage = study.storage();
  const auto stored =
      static_cast<size_t>(storage.n_trials(study.study_id(), TrialState::kComplete) +
                          storage.n_trials(study.study_id(), TrialState::kPruned));
  if (stored != c.finished_numbers.size()) {
    if (stored == c.finished_numbers.size() + c.pending.size()) {
      for (auto& [number, o] : c.pending) c.add_finished(bracket_of(number), std::move(o));
      c.pending.clear();
    } else {
      for (const auto& t : study.trials({TrialState::kComplete, TrialState::kPruned})) {
        if (c.finished_numbers.count(t.number)) continue;
        if (auto o = observe(t, signs)) c.add_finished(bracket_of(t.number), std::move(*o));
        c.pending.erase(t.number);
      }
    }
  }
  const int64_t bracket = bracket_of(trial.number);
  c.current = &c.brackets[bracket];
  c.running.clear();
  if (options_.constant_liar()) {
    for (const auto& t : study.trials({TrialState::kRunning})) {
      if (c.finished_numbers.count(t.number) || bracket_of(t.number) != bracket) continue;
      if (auto o = observe(t, signs)) {
        c.index(*o);
        c.running.push_back(std::move(*o));
      }
    }
  }

  // Trial-number order (as Optuna's get_trials), then the best gamma(n) by a stable sort.
  c.all.clear();
  const std::vector<Observation>& finished = c.current->finished;
  c.all.reserve(finished.size() + c.running.size());
  for (const auto& o : finished) c.all.push_back(&o);
  for (const auto& o : c.running) c.all.push_back(&o);
  // Already in order without running trials (the finished ones are kept by number).
  auto by_number = [](const Observation* a, const Observation* b) { return a->number < b->number; };
  if (!c.running.empty()) std::stable_sort(c.all.begin(), c.all.end(), by_number);
  const int n = static_cast<int>(finished.size());
  const int n_below = options_.gamma()(n);
  KNOB_CHECK(n_below >= 0, "gamma", "gamma(" + std::to_string(n) + ") = " + std::to_string(n_below),
             "must return a number >= 0");
  bool constrained = options_.constraints_func() || study.constraints_func();
  for (const Observation* o : c.all) constrained = constrained || o->violation.has_value();
  split_good(static_cast<size_t>(n_below), signs.size() > 1, constrained);
}

std::vector<double> TpeSampler::signs_of(Study& study) {
  std::vector<double> signs;
  for (StudyDirection d : study.directions())
    signs.push_back(d == StudyDirection::kMaximize ? -1.0 : 1.0);
  return signs;
}

void TpeSampler::split_good(size_t n_below, bool multi_objective, bool constrained) {
  Cache& c = *cache_;
  const size_t n = c.all.size();
  // The best `count` of the observations `among` by score (Optuna's _split_observation_pairs
  // without constraints): a selection by (step, value), or by rank and HSSP.
  auto best_of = [&](const std::vector<size_t>& among, size_t count) {
    count = std::min(count, among.size());
    std::vector<size_t> out;
    if (multi_objective) {
      std::vector<std::vector<double>> losses;
      for (size_t i : among) losses.push_back(c.all[i]->losses);
      for (size_t k : detail::select_below(losses, count)) out.push_back(among[k]);
      return out;
    }
    // (step, value, position): sorting these is the stable sort by score. Only which are best
    // matters, not their order: a selection, not a sort.
    // A max-heap of the best `count` so far: most trials are turned away by one comparison
    // with the worst of them.
    using Score = std::tuple<double, double, size_t>;
    std::vector<Score> best;
    best.reserve(count);
    for (size_t i : among) {
      const Score score(c.all[i]->step, c.all[i]->value, i);
      if (best.size() < count) {
        best.push_back(score);
        std::push_heap(best.begin(), best.end());
      } else if (count > 0 && score < best.front()) {
        std::pop_heap(best.begin(), best.end());
        best.back() = score;
        std::push_heap(best.begin(), best.end());
      }
    }
    for (const Score& score : best) out.push_back(std::get<2>(score));
    return out;
  };
  std::vector<size_t> below;
  std::vector<double> violation(n, 0.0);
  if (constrained) {
    // As Optuna 3.x: trials without constraints (and running ones) violate infinitely.
    for (size_t i = 0; i < n; ++i) {
      const Observation& o = *c.all[i];
      violation[i] = o.step == kInf ? kInf : o.violation.value_or(kInf);
    }
    below = detail::split_by_violation(violation, n_below, best_of);
  } else {
    std::vector<size_t> everyone(n);
    std::iota(everyone.begin(), everyone.end(), size_t{0});
    below = best_of(everyone, n_below);
  }
  c.below.assign(n, 0);
  for (size_t i : below) c.below[i] = 1;
  c.below_weight.assign(n, 0.0);
  if (!multi_objective) return;
  std::vector<std::vector<double>> losses;
  for (const Observation* o : c.all) losses.push_back(o->losses);
  const std::vector<double> weights = detail::motpe_weights(losses, violation, below);
  for (size_t k = 0; k < below.size(); ++k) c.below_weight[below[k]] = weights[k];
}

std::map<std::string, double> TpeSampler::sample_space(
    const std::vector<std::pair<std::string, Distribution>>& space, bool multi_objective) {
  const Cache& c = *cache_;
  if (space.empty() || static_cast<int>(c.current->finished.size()) < options_.n_startup_trials())
    return {};
  // Columns of the trials that have the parameters (Optuna masks by the first one; a group's
  // parameters appear together).
  const size_t dims = space.size();
  std::vector<size_t> ids(dims, SIZE_MAX);  // SIZE_MAX: no trial has it
  for (size_t p = 0; p < dims; ++p) {
    auto it = c.param_ids.find(space[p].first);
    if (it != c.param_ids.end()) ids[p] = it->second;
  }
  std::vector<std::vector<double>> below(dims), above(dims);
  std::vector<double> below_weights;
  std::vector<double> row(dims);
  // One parameter: where each trial's value went, 2 * (its index on its side) + (good), by
  // trial number (-1: left out).
  const bool one = dims == 1 && ids[0] != SIZE_MAX && c.running.empty() && !c.all.empty();
  std::vector<int64_t> slot(one ? static_cast<size_t>(c.all.back()->number) + 1 : 0, -1);
  // Without running trials the observations are the bracket's finished ones, whose values
  // it keeps by parameter.
  const std::vector<std::vector<double>>& columns = c.current->columns;
  auto value = [&](size_t i, size_t id) {
    if (c.running.empty()) return id < columns.size() ? columns[id][i] : kNaN;
    const std::vector<double>& values = c.all[i]->values;
    return id < values.size() ? values[id] : kNaN;
  };
  for (size_t p = 0; p < dims; ++p) below[p].reserve(c.all.size()), above[p].reserve(c.all.size());
  if (one && ids[0] < columns.size()) {
    // One parameter, the finished trials only: its column, without visiting the trials.
    const std::vector<double>& column = columns[ids[0]];
    const std::vector<int64_t>& numbers = c.current->numbers;
    for (size_t i = 0; i < column.size(); ++i) {
      if (std::isnan(column[i])) continue;
      const bool good = c.below[i];
      std::vector<double>& side = good ? below[0] : above[0];
      slot[static_cast<size_t>(numbers[i])] = 2 * std::ssize(side) + good;
      side.push_back(column[i]);
      if (good) below_weights.push_back(c.below_weight[i]);
    }
  }
  for (size_t i = 0; i < c.all.size() && !one; ++i) {
    bool present = true;
    for (size_t p = 0; p < dims && present; ++p) {
      row[p] = value(i, ids[p]);
      present = !std::isnan(row[p]);
    }
    if (!present) continue;
    auto& side = c.below[i] ? below : above;
    if (one) slot[static_cast<size_t>(c.all[i]->number)] = 2 * std::ssize(side[0]) + c.below[i];
    for (size_t p = 0; p < dims; ++p) side[p].push_back(row[p]);
    if (c.below[i]) below_weights.push_back(c.below_weight[i]);
  }
  // Both sides' values by ascending value, from the bracket's sorted values (the estimators
  // check them).
  std::vector<std::vector<size_t>> below_order(one ? 1 : 0), above_order(one ? 1 : 0);
  if (one && ids[0] < c.current->sorted.size()) {
    below_order[0].reserve(below[0].size()), above_order[0].reserve(above[0].size());
    for (const auto& entry : c.current->sorted[ids[0]]) {
      const auto number = static_cast<size_t>(entry.second);
      const int64_t at = number < slot.size() ? slot[number] : -1;
      if (at >= 0) (at & 1 ? below_order : above_order)[0].push_back(static_cast<size_t>(at >> 1));
    }
  }
  std::vector<Distribution> distributions;
  for (const auto& [name, d] : space) distributions.push_back(d);
  detail::ParzenParameters parameters;
  parameters.consider_prior = options_.consider_prior();
  parameters.prior_weight = options_.prior_weight();
  parameters.consider_magic_clip = options_.consider_magic_clip();
  parameters.consider_endpoints = options_.consider_endpoints();
  parameters.multivariate = options_.multivariate();
  parameters.weights = options_.weights();

  detail::ParzenEstimator g(above, distributions, parameters, above_order);
  // Several objectives: the good trials weigh their hypervolume contributions (MOTPE).
  if (multi_objective) parameters.weights = [below_weights](int) { return below_weights; };
  detail::ParzenEstimator l(below, distributions, parameters, below_order);
  auto samples = l.sample(rng_, options_.n_ei_candidates());
  std::vector<double> log_l = l.log_pdf(samples);
  std::vector<double> log_g = g.log_pdf(samples);
  size_t best = 0;
  double best_score = -kInf;
  for (size_t k = 0; k < log_l.size(); ++k) {
    const double score = log_l[k] - log_g[k];
    if (score > best_score) best = k, best_score = score;
  }
  std::map<std::string, double> out;
  for (size_t p = 0; p < dims; ++p) out[space[p].first] = samples[p][best];
  return out;
}

std::map<std::string, Distribution> TpeSampler::infer_relative_search_space(
    Study& study, const FrozenTrial& trial) {
  if (!options_.multivariate()) return {};
  refresh(study, trial);
  std::map<std::string, Distribution> out;
  if (options_.group()) {
    for (const auto& group : cache_->current->groups) {
      for (const auto& [name, d] : group) {
        if (!is_single(d)) out.emplace(name, d);
      }
    }
  } else if (cache_->current->intersection) {
    for (const auto& [name, d] : *cache_->current->intersection) {
      if (!is_single(d)) out.emplace(name, d);
    }
  }
  return out;
}

std::map<std::string, double> TpeSampler::sample_relative(
    Study& study, const FrozenTrial& trial, const std::map<std::string, Distribution>& space) {
  if (space.empty()) return {};
  refresh(study, trial);
  const bool multi = study.is_multi_objective();
  if (!options_.group()) return sample_space({space.begin(), space.end()}, multi);
  std::map<std::string, double> out;
  for (const auto& group : cache_->current->groups) {
    std::vector<std::pair<std::string, Distribution>> sub;
    for (const auto& [name, d] : group) {
      auto it = space.find(name);
      if (it != space.end()) sub.emplace_back(name, it->second);
    }
    out.merge(sample_space(sub, multi));
  }
  return out;
}

double TpeSampler::sample_independent(Study& study, const FrozenTrial& trial,
                                      const std::string& name, const Distribution& distribution) {
  refresh(study, trial);
  auto out = sample_space({{name, distribution}}, study.is_multi_objective());
  if (out.empty()) return random_.sample_independent(study, trial, name, distribution);
  return out.begin()->second;
}

void TpeSampler::after_trial(Study& study, const FrozenTrial& trial, TrialState state,
                             const std::vector<double>& values) {
  if (state != TrialState::kComplete && state != TrialState::kPruned) return;
  FrozenTrial done = trial;
  done.state = state;
  done.values = values;
  if (options_.constraints_func()) store_constraints(study, done, options_.constraints_func());
  if (cache_->study_id != study.study_id()) return;
  if (auto o = observe(done, signs_of(study))) {
    if (!cache_->finished_numbers.count(o->number)) cache_->pending[o->number] = std::move(*o);
  }
}

}  // namespace knob
