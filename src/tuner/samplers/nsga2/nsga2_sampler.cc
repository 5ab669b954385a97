#include "knob/tuner/samplers/nsga2_sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>

#include "knob/core/error.h"
#include "knob/tuner/study.h"
#include "tuner/intersection_search_space.h"
#include "tuner/samplers/nsga2/crossover.h"
#include "tuner/samplers/nsga2/elite.h"

namespace knob {
namespace {

const char* const kGenerationKey = "nsga2:generation";  // Optuna's _GENERATION_KEY

// Optuna's _SearchSpaceTransform for numerical parameters: log scale for log ones, the range
// widened by half a step for stepped ones; back again rounded onto the grid and clipped.
struct Coordinate {
  Distribution distribution;
  bool log = false;
  double low = 0, high = 0;  // bounds in the transformed scale

  explicit Coordinate(const Distribution& d) : distribution(d) {
    if (const auto* f = std::get_if<FloatDistribution>(&d)) {
      log = f->log;
      const double half = f->step ? *f->step / 2 : 0.0;
      low = log ? std::log(f->low) : f->low - half;
      high = log ? std::log(f->high) : f->high + half;
    } else {
      const auto& i = std::get<IntDistribution>(d);
      log = i.log;
      const double half = static_cast<double>(i.step) / 2;
      low = log ? std::log(static_cast<double>(i.low) - 0.5) : static_cast<double>(i.low) - half;
      high = log ? std::log(static_cast<double>(i.high) + 0.5) : static_cast<double>(i.high) + half;
    }
  }
  double to(double internal) const { return log ? std::log(internal) : internal; }
  double from(double x) const {
    const double v = log ? std::exp(x) : x;
    if (const auto* f = std::get_if<FloatDistribution>(&distribution)) {
      const double on_grid =
          f->step ? std::nearbyint((v - f->low) / *f->step) * *f->step + f->low : v;
      return std::clamp(on_grid, f->low, f->high);
    }
    const auto& i = std::get<IntDistribution>(distribution);
    const double step = static_cast<double>(i.step), lo = static_cast<double>(i.low);
    return std::clamp(std::nearbyint((v - lo) / step) * step + lo, lo, static_cast<double>(i.high));
  }
};

std::optional<int64_t> generation_of(const FrozenTrial& t) {
  auto it = t.system_attrs.find(kGenerationKey);
  if (it == t.system_attrs.end() || !it->second.is_number_integer()) return std::nullopt;
  return it->second.get<int64_t>();
}

}  // namespace

struct NsgaIISampler::State {
  int64_t study_id = -1;
  // The study's COMPLETE trials by number (finished trials never change; a map, so pointers to
  // them stay valid), the intersection of their search spaces and their numbers by generation
  // (each generation sorted by number, as the trials were read: a generation's order must not
  // depend on the cache), extended on each ask by the trials completed since: those told here
  // (pending, from after_trial) or, when the stored count says others completed too (other
  // processes or threads), all read again.
  std::map<int64_t, FrozenTrial> complete;
  std::optional<std::map<std::string, Distribution>> intersection;
  std::map<std::string, Distribution> space;  // the intersection without single-value ones
  std::map<int64_t, std::vector<const FrozenTrial*>> by_generation;
  std::vector<FrozenTrial> pending;
  // Optuna's _collect_parent_population, computed once per generation: elites[g] is the elite
  // of generation g's trials with elites[g - 1], for the leading generations that are full.
  // A trial added to a generation drops that generation's elite and every later one.
  std::vector<std::vector<const FrozenTrial*>> elites;

  void add(FrozenTrial t) {
    const int64_t number = t.number;
    if (complete.count(number)) return;
    const FrozenTrial& kept = complete.emplace(number, std::move(t)).first->second;
    // The intersection only shrinks: its size says whether it changed.
    const size_t before = intersection ? intersection->size() : SIZE_MAX;
    detail::intersect_search_space(intersection, kept.distributions);
    if (intersection->size() != before) {
      space.clear();
      for (const auto& [name, d] : *intersection) {
        if (!is_single(d)) space.emplace(name, d);
      }
    }
    if (auto g = generation_of(kept)) {
      auto& generation = by_generation[*g];
      generation.insert(
          std::upper_bound(generation.begin(), generation.end(), number,
                           [](int64_t n, const FrozenTrial* x) { return n < x->number; }),
          &kept);
      if (*g >= 0 && static_cast<size_t>(*g) < elites.size()) elites.resize(*g);
    }
  }
  void refresh(Study& study) {
    const auto stored =
        static_cast<size_t>(study.storage().n_trials(study.study_id(), TrialState::kComplete));
    if (stored == complete.size() + pending.size()) {
      for (auto& t : pending) add(std::move(t));
    } else if (stored != complete.size()) {
      for (auto& t : study.trials({TrialState::kComplete})) add(std::move(t));
    }
    pending.clear();
  }
  // Extends `elites` over the generations that have become full.
  void update_elites(const std::vector<StudyDirection>& directions, size_t size) {
    while (true) {
      auto it = by_generation.find(static_cast<int64_t>(elites.size()));
      if (it == by_generation.end() || it->second.size() < size) return;
      std::vector<const FrozenTrial*> population = it->second;
      if (!elites.empty())
        population.insert(population.end(), elites.back().begin(), elites.back().end());
      elites.push_back(detail::select_elite(std::move(population), directions, size));
    }
  }
  // The asked trial and its parents (set by infer_relative_search_space).
  int64_t trial_id = -1;
  int64_t parent_generation = -1;
  std::vector<const FrozenTrial*> parents;
};

NsgaIISampler::NsgaIISampler(NsgaIIOptions options)
    : options_(std::move(options)),
      rng_(options_.seed() ? std::optional<uint64_t>(*options_.seed() ^ 0x6A09E667F3BCC908ULL)
                           : std::nullopt),
      random_(options_.seed()),
      state_(std::make_unique<State>()) {
  KNOB_CHECK(options_.population_size() >= 2, "population_size", options_.population_size(),
             "must be >= 2");
  KNOB_CHECK(options_.population_size() >= options_.crossover().n_parents(), "population_size",
             options_.population_size(),
             "must be >= " + std::to_string(options_.crossover().n_parents()) + " (the parents " +
                 options_.crossover().name() + " crossover needs)");
  if (const auto& p = options_.mutation_prob()) {
    KNOB_CHECK(*p >= 0 && *p <= 1, "mutation_prob", *p,
               "must be in [0, 1] (or unset: 1 / n_params)");
  }
  KNOB_CHECK(options_.crossover_prob() >= 0 && options_.crossover_prob() <= 1, "crossover_prob",
             options_.crossover_prob(), "must be in [0, 1]");
  KNOB_CHECK(options_.swapping_prob() >= 0 && options_.swapping_prob() <= 1, "swapping_prob",
             options_.swapping_prob(), "must be in [0, 1]");
  const auto& c = options_.crossover();
  KNOB_CHECK(std::isfinite(c.alpha) && c.alpha >= 0, "crossover.alpha", c.alpha, "must be >= 0");
  if (c.epsilon) {
    KNOB_CHECK(std::isfinite(*c.epsilon) && *c.epsilon > 0, "crossover.epsilon", *c.epsilon,
               "must be > 0");
  }
  if (c.eta)
    KNOB_CHECK(std::isfinite(*c.eta) && *c.eta >= 0, "crossover.eta", *c.eta, "must be >= 0");
  KNOB_CHECK(std::isfinite(c.sigma_xi) && c.sigma_xi >= 0, "crossover.sigma_xi", c.sigma_xi,
             "must be >= 0");
  if (c.sigma_eta) {
    KNOB_CHECK(std::isfinite(*c.sigma_eta) && *c.sigma_eta >= 0, "crossover.sigma_eta",
               *c.sigma_eta, "must be >= 0");
  }
}

NsgaIISampler::~NsgaIISampler() = default;

std::map<std::string, Distribution> NsgaIISampler::infer_relative_search_space(
    Study& study, const FrozenTrial& trial) {
  State& s = *state_;
  if (s.study_id != study.study_id()) *state_ = State(), s.study_id = study.study_id();
  s.refresh(study);
  s.update_elites(study.directions(), static_cast<size_t>(options_.population_size()));
  s.trial_id = trial.trial_id;
  s.parent_generation = static_cast<int64_t>(s.elites.size()) - 1;
  if (s.elites.empty()) {
    s.parents.clear();
  } else {
    s.parents = s.elites.back();
  }
  study.storage().set_trial_system_attr(trial.trial_id, kGenerationKey, s.parent_generation + 1);
  return s.space;
}

std::map<std::string, double> NsgaIISampler::sample_relative(
    Study& study, const FrozenTrial& trial, const std::map<std::string, Distribution>& space) {
  State& s = *state_;
  if (s.trial_id != trial.trial_id || s.parent_generation < 0 || space.empty()) return {};
  const std::vector<const FrozenTrial*>& population = s.parents;
  auto dominates = [&](const FrozenTrial& a, const FrozenTrial& b) {
    return detail::constrained_dominates(a, b, study.directions());
  };
  auto pick = [&](size_t n) {
    return static_cast<size_t>(rng_.uniform_int(0, static_cast<int64_t>(n) - 1));
  };

  // The child's internal values in the order of `space` (by name), every parameter set.
  std::vector<double> child(space.size());
  if (rng_.uniform() < options_.crossover_prob()) {
    // Binary tournaments, each among the parents not chosen yet.
    const NsgaIICrossover& c = options_.crossover();
    std::vector<const FrozenTrial*> chosen;
    std::vector<const FrozenTrial*> pool;
    for (int k = 0; k < c.n_parents(); ++k) {
      pool.clear();
      for (const FrozenTrial* t : population) {
        if (std::find(chosen.begin(), chosen.end(), t) == chosen.end()) pool.push_back(t);
      }
      const FrozenTrial* a = pool[pick(pool.size())];
      const FrozenTrial* b = pool[pick(pool.size())];
      chosen.push_back(dominates(*a, *b) ? a : b);
    }
    std::vector<size_t> numerical;  // positions in `space`
    std::vector<const std::string*> names;
    std::vector<Coordinate> coordinates;
    size_t at = 0;
    for (const auto& [name, d] : space) {
      if (std::holds_alternative<CategoricalDistribution>(d)) {
        const FrozenTrial* from =
            rng_.uniform() >= options_.swapping_prob() ? chosen.back() : chosen.front();
        child[at] = from->internal_params.at(name);
      } else {
        numerical.push_back(at);
        names.push_back(&name);
        coordinates.emplace_back(d);
      }
      ++at;
    }
    if (!numerical.empty()) {
      std::vector<std::vector<double>> xs;
      for (const FrozenTrial* p : chosen) {
        std::vector<double> x(numerical.size());
        for (size_t i = 0; i < numerical.size(); ++i)
          x[i] = coordinates[i].to(p->internal_params.at(*names[i]));
        xs.push_back(std::move(x));
      }
      std::vector<std::pair<double, double>> bounds;
      for (const auto& co : coordinates) bounds.emplace_back(co.low, co.high);
      detail::Draws draws{[this] { return rng_.uniform(); }, [this] { return rng_.normal(); }};
      const auto x = detail::crossover(c, xs, bounds, study.is_multi_objective(),
                                       options_.swapping_prob(), draws);
      for (size_t i = 0; i < numerical.size(); ++i) child[numerical[i]] = coordinates[i].from(x[i]);
    }
  } else {
    const FrozenTrial& parent = *population[pick(population.size())];
    size_t at = 0;
    for (const auto& [name, d] : space) child[at++] = parent.internal_params.at(name);
  }
  const double mutation_prob = options_.mutation_prob().value_or(
      1.0 / std::max<double>(1.0, static_cast<double>(child.size())));
  std::map<std::string, double> params;
  size_t at = 0;
  for (const auto& [name, d] : space) {  // by name, as `space` is ordered
    if (rng_.uniform() >= mutation_prob) params.emplace_hint(params.end(), name, child[at]);
    ++at;
  }
  return params;
}

double NsgaIISampler::sample_independent(Study& study, const FrozenTrial& trial,
                                         const std::string& name,
                                         const Distribution& distribution) {
  return random_.sample_independent(study, trial, name, distribution);
}

void NsgaIISampler::after_trial(Study& study, const FrozenTrial& trial, TrialState state,
                                const std::vector<double>& values) {
  if (state != TrialState::kComplete && state != TrialState::kPruned) return;
  if (options_.constraints_func()) {
    FrozenTrial done = trial;
    done.state = state;
    done.values = values;
    // On failure nothing is stored: the trial loses every constrained comparison.
    store_constraints(study, done, options_.constraints_func());
  }
  State& s = *state_;
  if (state != TrialState::kComplete || s.study_id != study.study_id()) return;
  // Read back, not taken from `trial`: its generation (stored at its ask) and the constraints a
  // command objective stored are not in the trial's snapshot. Its state is stored after this.
  FrozenTrial done = study.storage().trial(trial.trial_id);
  done.state = state;
  done.values = values;
  s.pending.push_back(std::move(done));
}

}  // namespace knob
