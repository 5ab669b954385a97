#include "knob/tuner/samplers/cmaes_sampler.h"

#include <cmath>
#include <iostream>
#include <limits>
#include <set>

#include "knob/core/error.h"
#include "knob/tuner/samplers/random_sampler.h"
#include "knob/tuner/study.h"
#include "tuner/intersection_search_space.h"
#include "tuner/samplers/cmaes/cma_es.h"

namespace knob {

namespace {

uint64_t mix(uint64_t x) {  // splitmix64's finalizer
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// What the sampler keeps of a finished trial.
struct Record {
  int64_t number = -1;
  bool complete = false;  // else PRUNED (consider_pruned_trials)
  double value = 0;       // to minimize
  std::map<std::string, double> params;
  std::map<std::string, Distribution> distributions;
  std::map<std::string, Json> attrs;  // this sampler's system attrs
};

}  // namespace

// The relative space in a fixed (name) order, mapped to CMA-ES's coordinates: log
// parameters in log space; int/step ones widened by half a step on each side, or kept on
// [low, high] and marked discrete with the margin correction.
struct CmaEsSampler::Space {
  std::vector<std::string> names;
  std::vector<Distribution> distributions;
  std::vector<detail::CmaEs::Bound> bounds;
  std::vector<double> steps;  // with_margin only

  Space(const std::map<std::string, Distribution>& space, bool with_margin) {
    for (const auto& [name, d] : space) {
      names.push_back(name);
      distributions.push_back(d);
      double low, high, step = 0;
      bool log;
      if (const auto* f = std::get_if<FloatDistribution>(&d)) {
        low = f->low, high = f->high, log = f->log, step = f->step.value_or(0);
      } else {
        const auto& i = std::get<IntDistribution>(d);
        low = static_cast<double>(i.low), high = static_cast<double>(i.high), log = i.log;
        step = static_cast<double>(i.step);
      }
      if (log) {
        // Log ints: [low - 1/2, high + 1/2] in log space (continuous, even with_margin).
        const double half = step > 0 && !with_margin ? 0.5 : 0.0;
        bounds.push_back({std::log(low - half), std::log(high + half)});
        step = 0;
      } else if (step > 0 && !with_margin) {
        bounds.push_back({low - step / 2, high + step / 2});
      } else {
        bounds.push_back({low, high});
      }
      if (with_margin) steps.push_back(step);
    }
  }
  int dim() const { return static_cast<int>(names.size()); }

  static bool is_log(const Distribution& d) {
    if (const auto* f = std::get_if<FloatDistribution>(&d)) return f->log;
    return std::get<IntDistribution>(d).log;
  }
  // Internal values -> coordinates; nullopt if a parameter is missing.
  std::optional<std::vector<double>> transform(const std::map<std::string, double>& params) const {
    std::vector<double> x;
    for (size_t i = 0; i < names.size(); ++i) {
      auto it = params.find(names[i]);
      if (it == params.end()) return std::nullopt;
      x.push_back(is_log(distributions[i]) ? std::log(it->second) : it->second);
    }
    return x;
  }
  // Coordinates -> internal values, rounded onto the grid and clipped into the range.
  std::map<std::string, double> untransform(const std::vector<double>& x) const {
    std::map<std::string, double> out;
    for (size_t i = 0; i < names.size(); ++i) {
      double v;
      if (const auto* f = std::get_if<FloatDistribution>(&distributions[i])) {
        v = f->log ? std::exp(x[i]) : x[i];
        if (f->step) v = std::nearbyint((v - f->low) / *f->step) * *f->step + f->low;
        v = std::clamp(v, f->low, f->high);
      } else {
        const auto& d = std::get<IntDistribution>(distributions[i]);
        const double step = static_cast<double>(d.step), low = static_cast<double>(d.low);
        v = d.log ? std::nearbyint(std::exp(x[i]))
                  : std::nearbyint((x[i] - low) / step) * step + low;
        v = std::clamp(v, low, static_cast<double>(d.high));
      }
      out[names[i]] = v;
    }
    return out;
  }
};

struct CmaEsSampler::Cache {
  int64_t study_id = -1;
  int64_t refreshed_for = -1;  // trial id of the last refresh
  std::map<int64_t, Record> finished;
  // Numbers of the finished trials by (generation key, generation).
  std::map<std::pair<std::string, int64_t>, std::set<int64_t>> by_generation;
  std::set<int64_t> seen;             // numbers of every counted trial, usable or not
  std::map<int64_t, Record> pending;  // told in this process, maybe not yet stored
  std::map<int64_t, std::map<std::string, Json>> written;  // our attrs of running trials, by id
  std::optional<std::map<std::string, Distribution>> intersection;  // of COMPLETE trials
  int64_t latest_state = -1;  // number of the last finished trial holding a state
  bool warn = true;
  // The optimizer as of the state in trial `optimizer_from` (-1: a fresh one), and its
  // parameters and restart count.
  int64_t optimizer_from = -2;
  std::vector<std::string> optimizer_names;
  int n_restarts = 0;
  std::optional<detail::CmaEs> optimizer;

  void reset(int64_t id) { *this = Cache(), study_id = id; }

  void add(Record r) {
    if (!seen.insert(r.number).second) return;
    if (r.complete) detail::intersect_search_space(intersection, r.distributions);
    for (const auto& [key, value] : r.attrs) {
      if (key.ends_with("generation") && value.is_number_integer())
        by_generation[{key, value.get<int64_t>()}].insert(r.number);
    }
    finished.emplace(r.number, std::move(r));
  }
};

namespace {

std::optional<Record> record_of(const FrozenTrial& t, TrialState state,
                                const std::vector<double>& values, double sign,
                                bool consider_pruned, const std::string& prefix) {
  Record r;
  r.number = t.number;
  if (state == TrialState::kComplete) {
    if (values.size() != 1) return std::nullopt;
    r.complete = true;
    r.value = sign * values[0];
  } else if (state == TrialState::kPruned && consider_pruned) {
    if (t.intermediate_values.empty()) return std::nullopt;
    const double last = t.intermediate_values.rbegin()->second;
    if (std::isnan(last)) return std::nullopt;
    r.value = sign * last;
  } else {
    return std::nullopt;
  }
  r.params = t.internal_params;
  r.distributions = t.distributions;
  for (const auto& [key, value] : t.system_attrs) {
    if (key.rfind(prefix, 0) == 0 || key == "x_for_tell") r.attrs.emplace(key, value);
  }
  return r;
}

}  // namespace

CmaEsSampler::CmaEsSampler(CmaEsOptions options)
    : options_(std::move(options)), cache_(std::make_unique<Cache>()) {
  KNOB_CHECK(options_.n_startup_trials() >= 0, "n_startup_trials", options_.n_startup_trials(),
             "must be >= 0");
  if (options_.sigma0()) {
    KNOB_CHECK(std::isfinite(*options_.sigma0()) && *options_.sigma0() > 0, "sigma0",
               *options_.sigma0(), "must be a finite number > 0");
  }
  for (const auto& [name, v] : options_.x0()) {
    KNOB_CHECK(std::isfinite(v), "x0." + name, v, "must be a finite number");
  }
  KNOB_CHECK(options_.restart_strategy() == "none" || options_.restart_strategy() == "ipop",
             "restart_strategy", options_.restart_strategy(), "must be \"none\" or \"ipop\"");
  if (options_.popsize()) {
    KNOB_CHECK(*options_.popsize() >= 2, "popsize", *options_.popsize(), "must be >= 2");
  }
  KNOB_CHECK(options_.inc_popsize() >= 1, "inc_popsize", options_.inc_popsize(), "must be >= 1");
  seed_ = options_.seed() ? *options_.seed() : std::random_device{}();
  if (!options_.independent_sampler())
    options_.independent_sampler(std::make_shared<RandomSampler>(options_.seed()));
}

CmaEsSampler::~CmaEsSampler() = default;

namespace {

std::string prefix_of(const CmaEsOptions& o) { return o.with_margin() ? "cmawm:" : "cma:"; }

std::string generation_key(const CmaEsOptions& o, int n_restarts) {
  if (o.restart_strategy() == "none") return prefix_of(o) + "generation";
  return prefix_of(o) + "restart_" + std::to_string(n_restarts) + ":generation";
}

void check_single_objective(Study& study) {
  KNOB_CHECK(!study.is_multi_objective(), "sampler", std::string("cmaes"),
             "CMA-ES optimizes a single objective; use another sampler for multi-objective "
             "studies");
}

}  // namespace

void CmaEsSampler::refresh(Study& study, const FrozenTrial& trial) {
  Cache& c = *cache_;
  if (c.study_id != study.study_id()) c.reset(study.study_id());
  if (c.refreshed_for == trial.trial_id) return;
  c.refreshed_for = trial.trial_id;
  const double sign = study.direction() == StudyDirection::kMaximize ? -1.0 : 1.0;
  const std::string prefix = prefix_of(options_);
  const std::string state_key = prefix + "knob_state";

  // Finished trials never change: the stored counts say whether anything is new (as in
  // TpeSampler). Usually that is what after_trial saw; otherwise everything is read again.
  std::vector<TrialState> states = {TrialState::kComplete};
  if (options_.consider_pruned_trials()) states.push_back(TrialState::kPruned);
  size_t stored = 0;
  for (auto s : states)
    stored += static_cast<size_t>(study.storage().n_trials(study.study_id(), s));
  auto add = [&](Record r) {
    if (r.attrs.count(state_key)) c.latest_state = std::max(c.latest_state, r.number);
    c.add(std::move(r));
  };
  if (stored != c.seen.size()) {
    if (stored == c.seen.size() + c.pending.size()) {
      for (auto& [number, r] : c.pending) add(std::move(r));
      c.pending.clear();
    } else {
      for (const auto& t : study.trials(states)) {
        if (c.seen.count(t.number)) continue;
        c.pending.erase(t.number);
        auto r = record_of(t, t.state, t.values, sign, options_.consider_pruned_trials(), prefix);
        if (r) {
          add(std::move(*r));
        } else {
          c.seen.insert(t.number);
        }
      }
    }
  }
}

std::map<std::string, Distribution> CmaEsSampler::infer_relative_search_space(
    Study& study, const FrozenTrial& trial) {
  if (study.is_multi_objective()) return {};
  refresh(study, trial);
  std::map<std::string, Distribution> out;
  if (!cache_->intersection) return out;
  for (const auto& [name, d] : *cache_->intersection) {
    if (!is_single(d) && !std::holds_alternative<CategoricalDistribution>(d)) out.emplace(name, d);
  }
  return out;
}

std::map<std::string, double> CmaEsSampler::sample_relative(
    Study& study, const FrozenTrial& trial, const std::map<std::string, Distribution>& space) {
  check_single_objective(study);
  if (space.empty()) return {};
  refresh(study, trial);
  Cache& c = *cache_;
  if (static_cast<int>(c.finished.size()) < options_.n_startup_trials()) return {};
  if (space.size() == 1) {
    c.warn = false;  // as Optuna: CMA-ES needs two or more dimensions
    return {};
  }
  const Space s(space, options_.with_margin());
  const std::string prefix = prefix_of(options_);
  const std::string state_key = prefix + "knob_state";
  const bool ipop = options_.restart_strategy() == "ipop";

  double sigma0 = 0;
  if (options_.sigma0()) {
    sigma0 = *options_.sigma0();
  } else {
    sigma0 = std::numeric_limits<double>::infinity();
    for (const auto& b : s.bounds) sigma0 = std::min(sigma0, (b.high - b.low) / 6);
  }
  sigma0 = std::max(sigma0, 1e-8);
  auto make = [&](std::vector<double> mean, int popsize) {
    return detail::CmaEs(std::move(mean), sigma0, s.bounds, popsize, s.steps, 10 * s.dim());
  };

  // The optimizer of the latest finished trial that holds one, or a fresh one.
  if (c.optimizer_from != c.latest_state || !c.optimizer) {
    if (c.latest_state >= 0) {
      const Json& state = c.finished.at(c.latest_state).attrs.at(state_key);
      c.optimizer.reset();
      try {
        c.optimizer_names = state.at("params").get<std::vector<std::string>>();
        c.n_restarts = state.at("n_restarts").get<int>();
        const int popsize = state.at("popsize").get<int>();
        if (c.optimizer_names == s.names && popsize >= 2) {
          c.optimizer.emplace(make(std::vector<double>(s.dim(), 0.0), popsize));
          c.optimizer->load_state(state.at("cma"));
        }
      } catch (const std::exception&) {
        c.optimizer.reset();  // a state this version cannot read: sample independently
      }
    } else {
      std::vector<double> mean;
      for (size_t i = 0; i < s.names.size(); ++i) {
        const auto& b = s.bounds[i];
        if (options_.x0().empty()) {
          mean.push_back(b.low + (b.high - b.low) / 2);
          continue;
        }
        auto it = options_.x0().find(s.names[i]);
        KNOB_CHECK(it != options_.x0().end(), "x0", std::string("(no " + s.names[i] + ")"),
                   "must give every parameter of the search space");
        const double x = Space::is_log(s.distributions[i]) ? std::log(it->second) : it->second;
        KNOB_CHECK(x >= b.low && x <= b.high, "x0." + s.names[i], it->second,
                   "must lie in the parameter's range");
        mean.push_back(x);
      }
      c.optimizer.emplace(make(std::move(mean), options_.popsize().value_or(0)));
      c.optimizer_names = s.names;
      c.n_restarts = 0;
    }
    c.optimizer_from = c.latest_state;
  }
  if (!c.optimizer || c.optimizer_names != s.names) {
    c.warn = false;  // as Optuna: the search space changed
    return {};
  }
  detail::CmaEs& es = *c.optimizer;

  // Tell the generation once it has popsize solutions (the first ones by number).
  const std::string gen_key = generation_key(options_, c.n_restarts);
  std::vector<detail::CmaEs::Solution> solutions;
  for (int64_t number : c.by_generation[{gen_key, es.generation()}]) {
    if (static_cast<int>(solutions.size()) == es.population_size()) break;
    const Record& r = c.finished.at(number);
    std::optional<std::vector<double>> x;
    if (es.has_margin()) {
      auto it = r.attrs.find("x_for_tell");
      if (it != r.attrs.end() && it->second.is_array()) x = it->second.get<std::vector<double>>();
    } else {
      x = s.transform(r.params);
    }
    if (x && static_cast<int>(x->size()) == s.dim()) solutions.emplace_back(std::move(*x), r.value);
  }
  Storage& storage = study.storage();
  auto& written = c.written[trial.trial_id];
  auto write = [&](const std::string& key, Json value) {
    storage.set_trial_system_attr(trial.trial_id, key, value);
    written[key] = std::move(value);
  };
  if (static_cast<int>(solutions.size()) == es.population_size()) {
    es.tell(std::move(solutions));
    if (ipop && es.should_stop()) {
      ++c.n_restarts;
      const int popsize = es.population_size() * options_.inc_popsize();
      Rng rng(mix(seed_ ^ mix(static_cast<uint64_t>(c.n_restarts))));
      std::vector<double> mean;
      for (const auto& b : s.bounds) mean.push_back(b.low + (b.high - b.low) * rng.uniform());
      c.optimizer.emplace(make(std::move(mean), popsize));
    }
    write(state_key, Json{{"params", s.names},
                          {"n_restarts", c.n_restarts},
                          {"popsize", c.optimizer->population_size()},
                          {"cma", c.optimizer->state()}});
    c.optimizer_from = trial.number;
  }

  detail::CmaEs& current = *c.optimizer;
  Rng rng(mix(seed_ + mix(static_cast<uint64_t>(trial.number))));
  auto sample = current.ask(rng);
  if (current.has_margin()) write("x_for_tell", sample.x_for_tell);
  write(generation_key(options_, c.n_restarts), current.generation());
  write(prefix + "n_restarts", c.n_restarts);
  return s.untransform(sample.x_for_eval);
}

double CmaEsSampler::sample_independent(Study& study, const FrozenTrial& trial,
                                        const std::string& name, const Distribution& distribution) {
  check_single_objective(study);
  refresh(study, trial);
  if (options_.warn_independent_sampling() && cache_->warn &&
      static_cast<int>(cache_->finished.size()) >= options_.n_startup_trials()) {
    std::cerr << "[knob] warning: parameter '" << name << "' of trial " << trial.number
              << " is sampled independently, not by CmaEsSampler (it handles only int and "
                 "float parameters that every completed trial has); set "
                 "warn_independent_sampling = false if this is intended\n";
  }
  return options_.independent_sampler()->sample_independent(study, trial, name, distribution);
}

void CmaEsSampler::after_trial(Study& study, const FrozenTrial& trial, TrialState state,
                               const std::vector<double>& values) {
  options_.independent_sampler()->after_trial(study, trial, state, values);
  Cache& c = *cache_;
  if (study.is_multi_objective() || c.study_id != study.study_id()) return;
  FrozenTrial done = trial;
  if (auto it = c.written.find(trial.trial_id); it != c.written.end()) {
    for (auto& [key, value] : it->second) done.system_attrs[key] = value;
    c.written.erase(it);
  }
  const double sign = study.direction() == StudyDirection::kMaximize ? -1.0 : 1.0;
  auto r =
      record_of(done, state, values, sign, options_.consider_pruned_trials(), prefix_of(options_));
  if (r && !c.seen.count(r->number)) c.pending[r->number] = std::move(*r);
}

}  // namespace knob
