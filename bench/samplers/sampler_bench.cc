// The knob half of bench/samplers/run.py (problems.h defines the problems both halves run).
//
//   sampler_bench samplers                             the registered sampler names
//   sampler_bench regret PROBLEM SAMPLER SEED0 SEEDS BUDGETS
//       one line per seed SEED0 .. SEED0+SEEDS-1: the regret at each budget of the
//       comma-separated BUDGETS (one run of the largest), measured noise-free at the best
//       observed trial
//   sampler_bench overhead PROBLEM SAMPLER TRIALS LAST  ms per trial (ask + tell) over the
//       last LAST of TRIALS trials, and the process's peak resident memory in MB
//   sampler_bench check TRIALS  every problem at its argmin, and TRIALS trials of every
//       sampler on every problem (regrets finite and >= 0): the CTest smoke test
//
// In-memory storage, no pruner. A new sampler is one line in kSamplers.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "knob/storage/in_memory_storage.h"
#include "knob/tuner/samplers/cmaes_sampler.h"
#include "knob/tuner/samplers/gp_sampler.h"
#include "knob/tuner/samplers/qmc_sampler.h"
#include "knob/tuner/samplers/random_sampler.h"
#include "knob/tuner/samplers/tpe_sampler.h"
#include "knob/tuner/study.h"
#include "problems.h"

namespace {

using knob::bench::Param;
using knob::bench::Problem;

struct SamplerEntry {
  const char* name;
  std::function<std::shared_ptr<knob::Sampler>(uint64_t seed)> make;
};

const std::vector<SamplerEntry> kSamplers = {
    {"random", [](uint64_t s) { return std::make_shared<knob::RandomSampler>(s); }},
    {"qmc",
     [](uint64_t s) {
       return std::make_shared<knob::QmcSampler>(
           knob::QmcOptions().seed(s).warn_independent_sampling(false));
     }},
    {"tpe",
     [](uint64_t s) { return std::make_shared<knob::TpeSampler>(knob::TpeOptions().seed(s)); }},
    {"tpe-mv",
     [](uint64_t s) {
       return std::make_shared<knob::TpeSampler>(knob::TpeOptions().seed(s).multivariate(true));
     }},
    {"gp", [](uint64_t s) { return std::make_shared<knob::GpSampler>(knob::GpOptions().seed(s)); }},
    {"cmaes",
     [](uint64_t s) {
       return std::make_shared<knob::CmaEsSampler>(
           knob::CmaEsOptions().seed(s).warn_independent_sampling(false));
     }},
};

[[noreturn]] void usage(const std::string& message) {
  std::fprintf(stderr,
               "%s\nusage: sampler_bench samplers\n"
               "       sampler_bench regret PROBLEM SAMPLER SEED0 SEEDS BUDGETS\n"
               "       sampler_bench overhead PROBLEM SAMPLER TRIALS LAST\n"
               "       sampler_bench check TRIALS\n",
               message.c_str());
  std::exit(2);
}

const SamplerEntry& sampler_named(const std::string& name) {
  for (const auto& s : kSamplers) {
    if (name == s.name) return s;
  }
  usage("unknown sampler " + name);
}

const Problem& problem_named(const std::string& name) {
  const Problem* p = knob::bench::find_problem(name);
  if (p == nullptr) usage("unknown problem " + name);
  return *p;
}

// The problem's parameters suggested in order (see problems.h for the point layout).
std::vector<double> suggest(knob::Trial& t, const Problem& problem) {
  const auto& ps = problem.params;
  std::vector<double> x(ps.size(), std::numeric_limits<double>::quiet_NaN());
  for (size_t i = 0; i < ps.size(); ++i) {
    const Param& p = ps[i];
    if (!p.if_param.empty()) {
      auto j = static_cast<size_t>(
          std::find_if(ps.begin(), ps.end(), [&](const Param& q) { return q.name == p.if_param; }) -
          ps.begin());
      if (std::isnan(x[j]) || ps[j].choices[static_cast<size_t>(x[j])] != p.if_choice) continue;
    }
    if (p.kind == Param::kFloat) {
      knob::FloatOptions options{.log = p.log};
      if (p.step > 0) options.step = p.step;
      x[i] = t.suggest_float(p.name, p.low, p.high, options);
    } else if (p.kind == Param::kInt) {
      x[i] = static_cast<double>(
          t.suggest_int(p.name, static_cast<int64_t>(p.low), static_cast<int64_t>(p.high),
                        {.step = static_cast<int64_t>(p.step), .log = p.log}));
    } else {
      const auto choice = t.suggest_categorical<std::string>(p.name, p.choices);
      x[i] = static_cast<double>(std::find(p.choices.begin(), p.choices.end(), choice) -
                                 p.choices.begin());
    }
  }
  return x;
}

knob::Study study_with(std::shared_ptr<knob::Sampler> sampler) {
  return knob::create_study(knob::StudyOptions()
                                .storage_instance(std::make_shared<knob::InMemoryStorage>())
                                .sampler(std::move(sampler))
                                .pruner(std::make_shared<knob::NopPruner>()));
}

// Regret at each budget (ascending) of one seeded run.
std::vector<double> regrets(const Problem& problem, const SamplerEntry& sampler, uint64_t seed,
                            const std::vector<int>& budgets) {
  auto study = study_with(sampler.make(seed));
  double best_observed = std::numeric_limits<double>::infinity(), best_true = best_observed;
  std::vector<double> out;
  for (int n = 1; n <= budgets.back(); ++n) {
    knob::Trial t = study.ask();
    const std::vector<double> x = suggest(t, problem);
    const double observed = knob::bench::evaluate(problem, x, true, seed * 1000003 + t.number());
    study.tell(t, knob::TrialState::kComplete, {observed});
    if (observed < best_observed) best_observed = observed, best_true = problem.f(x);
    if (std::find(budgets.begin(), budgets.end(), n) != budgets.end()) {
      out.push_back(best_true - problem.minimum);
    }
  }
  return out;
}

std::vector<int> parse_budgets(const std::string& text) {
  std::vector<int> budgets;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) budgets.push_back(std::atoi(item.c_str()));
  std::sort(budgets.begin(), budgets.end());
  if (budgets.empty() || budgets.front() < 1) usage("bad BUDGETS " + text);
  return budgets;
}

// Peak resident memory of this process in MB: VmHWM, which (unlike getrusage's ru_maxrss)
// does not count the parent's memory before exec.
double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

int check(int trials) {
  int failures = 0;
  for (const auto& problem : knob::bench::problems()) {
    const double at_argmin = problem.f(problem.argmin);
    if (!(std::abs(at_argmin - problem.minimum) < 1e-6)) {
      std::printf("FAIL %s: f(argmin) = %.17g, minimum %.17g\n", problem.name.c_str(), at_argmin,
                  problem.minimum);
      ++failures;
    }
    for (const auto& sampler : kSamplers) {
      const double r = regrets(problem, sampler, 0, {trials}).back();
      const bool ok = std::isfinite(r) && r >= -1e-9;
      std::printf("%s %s %s regret %.6g\n", ok ? "ok  " : "FAIL", problem.name.c_str(),
                  sampler.name, r);
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
  if (mode == "regret" && args.size() == 6) {
    const Problem& problem = problem_named(args[1]);
    const SamplerEntry& sampler = sampler_named(args[2]);
    const auto seed0 = std::strtoull(args[3].c_str(), nullptr, 10);
    const auto seeds = std::strtoull(args[4].c_str(), nullptr, 10);
    const std::vector<int> budgets = parse_budgets(args[5]);
    for (uint64_t seed = seed0; seed < seed0 + seeds; ++seed) {
      for (double r : regrets(problem, sampler, seed, budgets)) std::printf("%.17g ", r);
      std::printf("\n");
      std::fflush(stdout);
    }
    return 0;
  }
  if (mode == "overhead" && args.size() == 5) {
    const Problem& problem = problem_named(args[1]);
    auto study = study_with(sampler_named(args[2]).make(0));
    const int trials = std::atoi(args[3].c_str()), last = std::atoi(args[4].c_str());
    if (last < 1 || last > trials) usage("need 1 <= LAST <= TRIALS");
    using Clock = std::chrono::steady_clock;
    Clock::time_point start;
    for (int i = 0; i < trials; ++i) {
      if (i == trials - last) start = Clock::now();
      knob::Trial t = study.ask();
      const double value = knob::bench::evaluate(problem, suggest(t, problem), true, t.number());
      study.tell(t, knob::TrialState::kComplete, {value});
    }
    std::chrono::duration<double, std::milli> ms = Clock::now() - start;
    std::printf("%.6f %.1f\n", ms.count() / last, peak_rss_mb());
    return 0;
  }
  if (mode == "check" && args.size() == 2) return check(std::atoi(args[1].c_str()));
  usage(mode.empty() ? "no mode" : "bad arguments for " + mode);
}
