// Pruners on synthetic learning curves: a TPE study per (pruner, seed) over a cheap surrogate
// of training — a validation accuracy per epoch that saturates at a level set by the learning
// rate and width, faster for larger rates (so the curves cross: a slow starter can end best),
// with noise. Prints one JSON line per study: the best final accuracy, the epochs spent, the
// trials run and pruned, and the wrong prunes: pruned trials whose noise-free last epoch would
// have beaten the best completed trial of the time. With --epoch-budget B, each study runs trials
// until B epochs are spent (the trial that crosses B finishes), so the pruners are compared at
// equal cost.
//
//   pruner_bench [--trials 60 | --epoch-budget 900] [--epochs 30] [--seeds 1,2,3]
//                [--pruners none,median,asha,curve]
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "knob/core/error.h"
#include "knob/core/json.h"
#include "knob/storage/in_memory_storage.h"
#include "knob/tuner/pruners/curve_pruner.h"
#include "knob/tuner/pruners/median_pruner.h"
#include "knob/tuner/pruners/successive_halving_pruner.h"
#include "knob/tuner/samplers/tpe_sampler.h"
#include "knob/tuner/study.h"

namespace {

struct Args {
  int64_t trials = 60;
  int64_t epoch_budget = 0;  // > 0: run until this many epochs are spent
  int64_t epochs = 30;
  std::vector<uint64_t> seeds = {1, 2, 3};
  std::vector<std::string> pruners = {"none", "median", "asha", "curve"};
};

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

// The surrogate: accuracy after epoch e (0-based) of a run with this rate and width: a fast
// and a slow phase (two exponentials: no curve family of CurvePruner's has this shape).
double accuracy(double lr, int64_t width, int64_t epoch) {
  const double u = std::log10(lr) + 2.5;  // best level at lr = 10^-2.5
  const double top = 0.92 - 0.04 * u * u - 1.0 / static_cast<double>(width);
  const double speed = 0.6 * std::pow(lr / 0.1, 0.45);  // larger rates learn faster
  const double e = static_cast<double>(epoch + 1);
  return 0.1 + (top - 0.1) * (1.0 - 0.6 * std::exp(-speed * e) - 0.4 * std::exp(-speed * e / 5));
}

// Each pruner with its default options, as `knob tune --pruner NAME` makes it.
std::shared_ptr<knob::Pruner> make_pruner(const std::string& name) {
  if (name == "median") return std::make_shared<knob::MedianPruner>();
  if (name == "asha") return std::make_shared<knob::SuccessiveHalvingPruner>();
  if (name == "curve") return std::make_shared<knob::CurvePruner>();
  return std::make_shared<knob::NopPruner>();
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--trials") {
      args.trials = std::atoll(value.c_str());
    } else if (flag == "--epoch-budget") {
      args.epoch_budget = std::atoll(value.c_str());
      args.trials = 1000000;
    } else if (flag == "--epochs") {
      args.epochs = std::atoll(value.c_str());
    } else if (flag == "--seeds") {
      args.seeds.clear();
      for (const auto& s : split(value)) args.seeds.push_back(std::stoull(s));
    } else if (flag == "--pruners") {
      args.pruners = split(value);
    } else {
      std::cerr << "usage: pruner_bench [--trials N | --epoch-budget B] [--epochs E] "
                   "[--seeds 1,2,3] "
                   "[--pruners none,median,asha,curve]\n";
      return 2;
    }
  }
  for (uint64_t seed : args.seeds) {
    for (const auto& name : args.pruners) {
      knob::Study study = knob::create_study(
          knob::StudyOptions()
              .direction(knob::StudyDirection::kMaximize)
              .storage_instance(std::make_shared<knob::InMemoryStorage>())
              .sampler(std::make_shared<knob::TpeSampler>(knob::TpeOptions().seed(seed)))
              .pruner(make_pruner(name)));
      int64_t epochs_spent = 0, wrong_prunes = 0;
      double best = 0;
      const auto start = std::chrono::steady_clock::now();
      study.optimize(
          [&](knob::Trial& t) {
            const double lr = t.suggest_float("lr", 1e-4, 1.0, {.log = true});
            const int64_t width = t.suggest_int("width", 8, 256, {.log = true});
            std::mt19937_64 rng(seed * 1000003 + static_cast<uint64_t>(t.number()));
            std::normal_distribution<double> noise(0.0, 0.004);
            double value = 0;
            for (int64_t e = 0; e < args.epochs; ++e) {
              value = accuracy(lr, width, e) + noise(rng);
              ++epochs_spent;
              t.report(value, e);
              if (t.should_prune()) {
                if (accuracy(lr, width, args.epochs - 1) > best) ++wrong_prunes;
                if (args.epoch_budget > 0 && epochs_spent >= args.epoch_budget) study.stop();
                throw knob::TrialPruned();
              }
            }
            best = std::max(best, value);
            if (args.epoch_budget > 0 && epochs_spent >= args.epoch_budget) study.stop();
            return value;
          },
          args.trials);
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      int64_t pruned = 0, trials = 0;
      for (const auto& t : study.trials()) {
        ++trials;
        pruned += t.state == knob::TrialState::kPruned;
      }
      knob::Json line = {{"pruner", name},
                         {"seed", seed},
                         {"best", best},
                         {"epochs", epochs_spent},
                         {"trials", trials},
                         {"pruned", pruned},
                         {"wrong_prunes", wrong_prunes},
                         {"seconds", seconds}};
      std::cout << line.dump() << std::endl;
    }
  }
}
