// The knob half of bench/multi_objective/run.py (mo_problems.h defines the problems both
// halves run; optuna_peer.py is the other half).
//
//   mo_bench samplers                                  the registered sampler names
//   mo_bench hv PROBLEM SAMPLER SEED0 SEEDS TRIALS     one line per seed: the hypervolume of
//       the feasible trials after TRIALS trials, against the problem's reference point
//   mo_bench overhead PROBLEM SAMPLER TRIALS LAST      ms per trial (ask + tell) over the last
//       LAST of TRIALS trials: wall ms, then the process's CPU ms (less sensitive to load)
//   mo_bench check TRIALS   TRIALS trials of every sampler on every problem (hypervolumes
//       finite, >= 0, and the constrained problem's feasibility stored): the CTest smoke test
//
// In-memory storage, no pruner. Constraint values reach the study as in the Optuna half: the
// objective keeps them in the user attribute "c" and StudyOptions::constraints_func returns it.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "knob/storage/in_memory_storage.h"
#include "knob/tuner/constraints.h"
#include "knob/tuner/hypervolume.h"
#include "knob/tuner/samplers/nsga2_sampler.h"
#include "knob/tuner/samplers/random_sampler.h"
#include "knob/tuner/samplers/tpe_sampler.h"
#include "knob/tuner/study.h"
#include "mo_problems.h"

namespace {

using knob::bench::MoProblem;

struct SamplerEntry {
  const char* name;
  std::function<std::shared_ptr<knob::Sampler>(uint64_t seed)> make;
};

// Each with its Optuna 3.1 defaults.
const std::vector<SamplerEntry> kSamplers = {
    {"random", [](uint64_t s) { return std::make_shared<knob::RandomSampler>(s); }},
    {"nsga2",
     [](uint64_t s) {
       return std::make_shared<knob::NsgaIISampler>(knob::NsgaIIOptions().seed(s));
     }},
    {"motpe",
     [](uint64_t s) { return std::make_shared<knob::TpeSampler>(knob::TpeOptions().seed(s)); }},
};

[[noreturn]] void usage(const std::string& message) {
  std::fprintf(stderr,
               "%s\nusage: mo_bench samplers\n"
               "       mo_bench hv PROBLEM SAMPLER SEED0 SEEDS TRIALS\n"
               "       mo_bench overhead PROBLEM SAMPLER TRIALS LAST\n"
               "       mo_bench check TRIALS\n",
               message.c_str());
  std::exit(2);
}

const SamplerEntry& sampler_named(const std::string& name) {
  for (const auto& s : kSamplers) {
    if (name == s.name) return s;
  }
  usage("unknown sampler " + name);
}

const MoProblem& problem_named(const std::string& name) {
  const MoProblem* p = knob::bench::find_mo_problem(name);
  if (p == nullptr) usage("unknown problem " + name);
  return *p;
}

knob::Study study_for(const MoProblem& problem, std::shared_ptr<knob::Sampler> sampler) {
  auto options = knob::StudyOptions()
                     .storage_instance(std::make_shared<knob::InMemoryStorage>())
                     .directions(std::vector<knob::StudyDirection>(problem.reference.size(),
                                                                   knob::StudyDirection::kMinimize))
                     .sampler(std::move(sampler))
                     .pruner(std::make_shared<knob::NopPruner>());
  if (problem.n_constraints > 0) {
    options.constraints_func(
        [](const knob::FrozenTrial& t) { return t.user_attrs.at("c").get<std::vector<double>>(); });
  }
  return knob::create_study(options);
}

// The CPU time of this process so far, in ms.
double cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

// One trial: suggest, evaluate, keep the constraints, tell. Returns the objective values.
std::vector<double> run_trial(knob::Study& study, const MoProblem& problem) {
  knob::Trial t = study.ask();
  std::vector<double> x;
  for (const auto& p : problem.params) {
    x.push_back(
        p.integer ? static_cast<double>(t.suggest_int(p.name, static_cast<int64_t>(p.low),
                                                      static_cast<int64_t>(p.high), {.log = p.log}))
                  : t.suggest_float(p.name, p.low, p.high, {.log = p.log}));
  }
  std::vector<double> f, c;
  problem.evaluate(x, f, c);
  if (problem.n_constraints > 0) t.set_user_attr("c", knob::Json(c));
  study.tell(t, knob::TrialState::kComplete, f);
  return f;
}

// The hypervolume of the feasible trials after `trials` of them.
double final_hypervolume(const MoProblem& problem, const SamplerEntry& sampler, uint64_t seed,
                         int trials) {
  auto study = study_for(problem, sampler.make(seed));
  for (int i = 0; i < trials; ++i) run_trial(study, problem);
  std::vector<std::vector<double>> feasible;
  for (const auto& t : study.trials({knob::TrialState::kComplete})) {
    if (knob::is_feasible(t)) feasible.push_back(t.values);
  }
  return knob::hypervolume(feasible, problem.reference);
}

int check(int trials) {
  int failures = 0;
  for (const auto& problem : knob::bench::mo_problems()) {
    for (const auto& sampler : kSamplers) {
      const double hv = final_hypervolume(problem, sampler, 0, trials);
      bool ok = std::isfinite(hv) && hv >= 0;
      if (problem.n_constraints > 0) {  // the constraints reached the store
        auto study = study_for(problem, sampler.make(1));
        run_trial(study, problem);
        ok = ok && knob::trial_constraints(study.trials().front()).has_value();
      }
      std::printf("%s %s %s hypervolume %.6g\n", ok ? "ok  " : "FAIL", problem.name.c_str(),
                  sampler.name, hv);
      failures += !ok;
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const std::string mode = args.empty() ? "" : args[0];
  if (mode == "samplers" && args.size() == 1) {
    for (const auto& s : kSamplers) std::printf("%s\n", s.name);
    return 0;
  }
  if (mode == "hv" && args.size() == 6) {
    const MoProblem& problem = problem_named(args[1]);
    const SamplerEntry& sampler = sampler_named(args[2]);
    const auto seed0 = std::strtoull(args[3].c_str(), nullptr, 10);
    const auto seeds = std::strtoull(args[4].c_str(), nullptr, 10);
    const int trials = std::atoi(args[5].c_str());
    if (trials < 1) usage("need TRIALS >= 1");
    for (uint64_t seed = seed0; seed < seed0 + seeds; ++seed) {
      std::printf("%.17g\n", final_hypervolume(problem, sampler, seed, trials));
      std::fflush(stdout);
    }
    return 0;
  }
  if (mode == "overhead" && args.size() == 5) {
    const MoProblem& problem = problem_named(args[1]);
    auto study = study_for(problem, sampler_named(args[2]).make(0));
    const int trials = std::atoi(args[3].c_str()), last = std::atoi(args[4].c_str());
    if (last < 1 || last > trials) usage("need 1 <= LAST <= TRIALS");
    using Clock = std::chrono::steady_clock;
    Clock::time_point start;
    double cpu_start = 0;
    for (int i = 0; i < trials; ++i) {
      if (i == trials - last) start = Clock::now(), cpu_start = cpu_ms();
      run_trial(study, problem);
    }
    std::chrono::duration<double, std::milli> ms = Clock::now() - start;
    std::printf("%.6f %.6f\n", ms.count() / last, (cpu_ms() - cpu_start) / last);
    return 0;
  }
  if (mode == "check" && args.size() == 2) return check(std::atoi(args[1].c_str()));
  usage(mode.empty() ? "no mode" : "bad arguments for " + mode);
}
