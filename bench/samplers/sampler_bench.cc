// The knob half of bench/samplers/run.py.
//
//   sampler_bench regret PROBLEM SAMPLER SEEDS TRIALS   one line per seed: its final regret
//   sampler_bench overhead SAMPLER TRIALS LAST           ms per trial over the last LAST trials
//
// PROBLEM: branin | rosenbrock2; SAMPLER: tpe | tpe-mv | cmaes | random. In-memory storage, no
// pruner.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "knob/storage/in_memory_storage.h"
#include "knob/tuner/cmaes_sampler.h"
#include "knob/tuner/random_sampler.h"
#include "knob/tuner/study.h"
#include "knob/tuner/tpe_sampler.h"

namespace {

double branin(knob::Trial& t) {
  const double x = t.suggest_float("x", -5, 10);
  const double y = t.suggest_float("y", 0, 15);
  const double b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, tt = 1 / (8 * M_PI);
  return std::pow(y - b * x * x + c * x - 6, 2) + 10 * (1 - tt) * std::cos(x) + 10;
}

double rosenbrock2(knob::Trial& t) {
  const double x = t.suggest_float("x", -5, 10);
  const double y = t.suggest_float("y", -5, 10);
  return 100 * std::pow(y - x * x, 2) + std::pow(1 - x, 2);
}

std::shared_ptr<knob::Sampler> make(const std::string& name, uint64_t seed) {
  if (name == "tpe") return std::make_shared<knob::TpeSampler>(knob::TpeOptions().seed(seed));
  if (name == "tpe-mv") {
    return std::make_shared<knob::TpeSampler>(knob::TpeOptions().seed(seed).multivariate(true));
  }
  if (name == "cmaes") return std::make_shared<knob::CmaEsSampler>(knob::CmaEsOptions().seed(seed));
  if (name == "random") return std::make_shared<knob::RandomSampler>(seed);
  std::fprintf(stderr, "unknown sampler %s (tpe, tpe-mv, cmaes, random)\n", name.c_str());
  std::exit(2);
}

knob::Study study_with(std::shared_ptr<knob::Sampler> sampler) {
  return knob::create_study(knob::StudyOptions()
                                .storage_instance(std::make_shared<knob::InMemoryStorage>())
                                .sampler(std::move(sampler))
                                .pruner(std::make_shared<knob::NopPruner>()));
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "regret" && argc == 6) {
    const std::string problem = argv[2];
    const double minimum = problem == "branin" ? 0.397887357729739 : 0.0;
    for (int seed = 0; seed < std::atoi(argv[4]); ++seed) {
      auto study = study_with(make(argv[3], static_cast<uint64_t>(seed)));
      if (problem == "branin") {
        study.optimize(branin, std::atoi(argv[5]));
      } else {
        study.optimize(rosenbrock2, std::atoi(argv[5]));
      }
      std::printf("%.17g\n", study.best_value() - minimum);
    }
    return 0;
  }
  if (mode == "overhead" && argc == 5) {
    auto study = study_with(make(argv[2], 0));
    const int trials = std::atoi(argv[3]), last = std::atoi(argv[4]);
    using Clock = std::chrono::steady_clock;
    Clock::time_point start;
    for (int i = 0; i < trials; ++i) {
      if (i == trials - last) start = Clock::now();
      knob::Trial t = study.ask();
      study.tell(t, knob::TrialState::kComplete, {branin(t)});
    }
    std::chrono::duration<double, std::milli> ms = Clock::now() - start;
    std::printf("%.6f\n", ms.count() / last);
    return 0;
  }
  std::fprintf(
      stderr,
      "usage: sampler_bench regret branin|rosenbrock2 tpe|tpe-mv|cmaes|random SEEDS TRIALS\n"
      "       sampler_bench overhead tpe|tpe-mv|cmaes|random TRIALS LAST\n");
  return 2;
}
