// storage_bench: how many trials a second knob runs through its SQLite storage — the cost of
// the storage round trips a real study pays per trial, not of any objective. Its peer is
// optuna_peer.py (same search space, same reports, same sampler kind); bench/storage/run.py
// runs both and prints the ratio.
//
// Per trial: Study::optimize asks a trial (RandomSampler), the objective suggests 4 params
// (float uniform, float log, int, categorical) and reports 10 intermediate values with
// trial.report; the trial is told COMPLETE. No pruner (NopPruner) and no should_prune, so
// both sides do the same storage work.
//
//   storage_bench [--trials N] [--dir DIR] [--seed S]
//
// Prints one JSON line: {"impl": "knob", "trials": N, "seconds": ..., "trials_per_s": ...}.
// The database is a fresh file in DIR (default: a new directory under $TMPDIR or /tmp),
// removed afterwards.
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include <unistd.h>

#include "knob/storage/sqlite_storage.h"
#include "knob/tuner/random_sampler.h"
#include "knob/tuner/study.h"

namespace {

int usage(const char* why) {
  std::cerr << "storage_bench: " << why << "\nusage: storage_bench [--trials N] [--dir DIR] "
            << "[--seed S]\n";
  return 2;
}

double objective(knob::Trial& t) {
  double x = t.suggest_float("x", -10.0, 10.0);
  double lr = t.suggest_float("lr", 1e-5, 1e-1, {.step = std::nullopt, .log = true});
  int64_t units = t.suggest_int("units", 1, 128);
  std::string optimizer =
      t.suggest_categorical<std::string>("optimizer", {"sgd", "adam", "rmsprop"});
  double base = x * x + std::fabs(std::log10(lr) + 3.0) + 1.0 / static_cast<double>(units) +
                (optimizer == "adam" ? 0.0 : 0.5);
  double value = base;
  for (int64_t step = 0; step < 10; ++step) {
    value = base + 1.0 / static_cast<double>(step + 1);
    t.report(value, step);
  }
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t n_trials = 1000;
  uint64_t seed = 1;
  std::filesystem::path dir;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) return usage(("missing value after " + arg).c_str());
    std::string value = argv[++i];
    if (arg == "--trials") {
      n_trials = std::atoll(value.c_str());
      if (n_trials < 1) return usage("--trials must be >= 1");
    } else if (arg == "--dir") {
      dir = value;
    } else if (arg == "--seed") {
      seed = std::strtoull(value.c_str(), nullptr, 10);
    } else {
      return usage(("unknown option " + arg).c_str());
    }
  }
  bool own_dir = dir.empty();
  if (own_dir) {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/knob-storage-bench-XXXXXX";
    if (!mkdtemp(templ.data())) return usage("cannot make a temporary directory");
    dir = templ;
  }
  const std::filesystem::path db = dir / ("knob-bench-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(db);

  double seconds = 0;
  int64_t complete = 0;
  try {
    auto storage = std::make_shared<knob::SqliteStorage>(db.string());
    knob::Study study = knob::create_study(knob::StudyOptions()
                                               .storage_instance(storage)
                                               .study_name("bench")
                                               .sampler(std::make_shared<knob::RandomSampler>(seed))
                                               .pruner(std::make_shared<knob::NopPruner>()));
    auto start = std::chrono::steady_clock::now();
    study.optimize(objective, n_trials);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    complete = storage->n_trials(study.study_id(), knob::TrialState::kComplete);
  } catch (const std::exception& e) {
    std::cerr << "storage_bench: " << e.what() << "\n";
    return 1;
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db.string() + suffix);
  if (own_dir) std::filesystem::remove(dir);
  if (complete != n_trials) {
    std::cerr << "storage_bench: " << complete << " COMPLETE trials, expected " << n_trials << "\n";
    return 1;
  }
  std::cout << "{\"impl\": \"knob\", \"trials\": " << n_trials << ", \"seconds\": " << seconds
            << ", \"trials_per_s\": " << static_cast<double>(n_trials) / seconds << "}\n";
  return 0;
}
