// storage_bench: how many trials a second knob runs through its storage — the cost of the
// storage round trips a real study pays per trial, not of any objective. Its peer is
// optuna_peer.py (same search space, same reports, same sampler kind); bench/storage/run.py
// runs both and prints the ratio.
//
// Per trial: Study::optimize asks a trial (RandomSampler), the objective suggests 4 params
// (float uniform, float log, int, categorical) and reports 10 intermediate values with
// trial.report; the trial is told COMPLETE. No pruner (NopPruner) and no should_prune, so
// both sides do the same storage work.
//
//   storage_bench [--trials N] [--dir DIR] [--seed S]
//                 [--storage URL [--study NAME] [--start-at EPOCH_SECONDS]]
//   storage_bench --ask-latency [--trials N] [--rounds R] [--storage URL] [--dir DIR]
//
// Prints one JSON line: {"impl": "knob", "trials": N, "seconds": ..., "trials_per_s": ...,
// "start": ..., "end": ...} (start/end: seconds since the epoch, for run.py to add up workers).
// Without --storage the database is a fresh SQLite file in DIR (default: a new directory under
// $TMPDIR or /tmp), removed afterwards. With --storage URL (e.g. PostgreSQL) it joins or
// creates study NAME ("bench") there — one of several worker processes — and, with
// --start-at, waits until that time so all workers start together. --trials 0 only creates
// the study.
//
// --ask-latency: the cost of a sampler's reads in a big study with other workers. The study
// gets N COMPLETE trials (default 2000); then, R times, another storage connection (another
// worker) adds a COMPLETE trial and this process asks a TPE trial and suggests its 4 params —
// TPE then reads the study's finished trials (Study::trials, through its TrialCache). Prints
// the median ask latency, and the two reads it may take: all finished trials straight from
// the storage (Storage::trials, what every such ask read before the cache) and through a
// TrialCache after one new trial.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>

#include <unistd.h>

#include "knob/storage/open_storage.h"
#include "knob/storage/sqlite_storage.h"
#include "knob/storage/trial_cache.h"
#include "knob/tuner/samplers/random_sampler.h"
#include "knob/tuner/samplers/tpe_sampler.h"
#include "knob/tuner/study.h"

namespace {

int usage(const char* why) {
  std::cerr << "storage_bench: " << why
            << "\nusage: storage_bench [--trials N] [--dir DIR] [--seed S] [--storage URL "
               "[--study NAME] [--start-at EPOCH_SECONDS]]\n"
               "       storage_bench --ask-latency [--trials N] [--rounds R] [--storage URL] "
               "[--dir DIR]\n";
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

double epoch_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A COMPLETE trial as the objective would leave it (params spread by `i`).
knob::FrozenTrial complete_trial(int64_t i) {
  knob::FrozenTrial t;
  t.state = knob::TrialState::kComplete;
  const double u = static_cast<double>((i * 7919) % 1000) / 1000.0;
  t.distributions = {{"x", knob::FloatDistribution(-10.0, 10.0)},
                     {"lr", knob::FloatDistribution(1e-5, 1e-1, /*log=*/true)},
                     {"units", knob::IntDistribution(1, 128)},
                     {"optimizer", knob::CategoricalDistribution({"sgd", "adam", "rmsprop"})}};
  t.internal_params = {{"x", -10.0 + 20.0 * u},
                       {"lr", std::pow(10.0, -5.0 + 4.0 * u)},
                       {"units", static_cast<double>(1 + i % 128)},
                       {"optimizer", static_cast<double>(i % 3)}};
  t.values = {u * u};
  for (int64_t step = 0; step < 10; ++step) t.intermediate_values[step] = u + 1.0 / (step + 1);
  t.datetime_start = knob::now();
  t.datetime_complete = t.datetime_start;
  return t;
}

double median_ms(std::vector<double> seconds) {
  std::sort(seconds.begin(), seconds.end());
  return 1000.0 * seconds[seconds.size() / 2];
}

int ask_latency(const std::string& url, int64_t n_trials, int rounds) {
  auto storage = knob::open_storage(url);
  auto other = knob::open_storage(url);  // another worker's connection
  std::vector<knob::FrozenTrial> prefill;
  for (int64_t i = 0; i < n_trials; ++i) prefill.push_back(complete_trial(i));
  knob::Study study = knob::create_study(
      knob::StudyOptions()
          .storage_instance(storage)
          .study_name("latency")
          .sampler(std::make_shared<knob::TpeSampler>(knob::TpeOptions().seed(1)))
          .pruner(std::make_shared<knob::NopPruner>()));
  other->create_trials_once(study.study_id(), "bench:prefill", prefill);
  knob::TrialCache cache(storage, study.study_id());
  const std::vector<knob::TrialState> finished = {knob::TrialState::kComplete,
                                                  knob::TrialState::kPruned};
  cache.trials(finished);
  std::vector<double> ask, full_read, cached_read;
  for (int r = 0; r < rounds; ++r) {
    other->create_trial(study.study_id(), &prefill[static_cast<size_t>(r) % prefill.size()]);
    auto start = std::chrono::steady_clock::now();
    auto cached = cache.trials(finished);
    cached_read.push_back(seconds_since(start));
    start = std::chrono::steady_clock::now();
    auto full = storage->trials(study.study_id(), finished);
    full_read.push_back(seconds_since(start));
    if (cached.size() != full.size()) {
      std::cerr << "storage_bench: the cache holds " << cached.size() << " finished trials, the "
                << "storage " << full.size() << "\n";
      return 1;
    }
    start = std::chrono::steady_clock::now();
    knob::Trial trial = study.ask();
    trial.suggest_float("x", -10.0, 10.0);
    trial.suggest_float("lr", 1e-5, 1e-1, {.step = std::nullopt, .log = true});
    trial.suggest_int("units", 1, 128);
    trial.suggest_categorical<std::string>("optimizer", {"sgd", "adam", "rmsprop"});
    ask.push_back(seconds_since(start));
    study.tell(trial, knob::TrialState::kComplete, {1.0});
  }
  std::cout << "{\"impl\": \"knob\", \"finished_trials\": " << n_trials
            << ", \"rounds\": " << rounds << ", \"tpe_ask_ms\": " << median_ms(ask)
            << ", \"full_read_ms\": " << median_ms(full_read)
            << ", \"cached_read_ms\": " << median_ms(cached_read) << "}\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t n_trials = -1;
  int rounds = 30;
  uint64_t seed = 1;
  bool latency = false;
  double start_at = 0;
  std::string url, study_name = "bench";
  std::filesystem::path dir;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--ask-latency") {
      latency = true;
      continue;
    }
    if (i + 1 >= argc) return usage(("missing value after " + arg).c_str());
    std::string value = argv[++i];
    if (arg == "--trials") {
      n_trials = std::atoll(value.c_str());
      if (n_trials < 0) return usage("--trials must be >= 0");
    } else if (arg == "--rounds") {
      rounds = std::atoi(value.c_str());
      if (rounds < 1) return usage("--rounds must be >= 1");
    } else if (arg == "--dir") {
      dir = value;
    } else if (arg == "--seed") {
      seed = std::strtoull(value.c_str(), nullptr, 10);
    } else if (arg == "--storage") {
      url = value;
    } else if (arg == "--study") {
      study_name = value;
    } else if (arg == "--start-at") {
      start_at = std::atof(value.c_str());
    } else {
      return usage(("unknown option " + arg).c_str());
    }
  }
  if (n_trials < 0) n_trials = latency ? 2000 : 1000;
  bool own_dir = dir.empty() && url.empty();
  if (own_dir) {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/knob-storage-bench-XXXXXX";
    if (!mkdtemp(templ.data())) return usage("cannot make a temporary directory");
    dir = templ;
  }
  const bool own_file = url.empty();
  const std::filesystem::path db = dir / ("knob-bench-" + std::to_string(::getpid()) + ".db");
  if (own_file) {
    std::filesystem::remove(db);
    url = "sqlite:///" + db.string();
  }
  auto clean_up = [&] {
    if (own_file) {
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db.string() + suffix);
    }
    if (own_dir) std::filesystem::remove(dir);
  };

  if (latency) {
    int status = 1;
    try {
      status = ask_latency(url, n_trials, rounds);
    } catch (const std::exception& e) {
      std::cerr << "storage_bench: " << e.what() << "\n";
    }
    clean_up();
    return status;
  }

  double seconds = 0, start = 0, end = 0;
  int64_t complete_before = 0, complete = 0;
  try {
    auto storage = knob::open_storage(url);
    knob::Study study = knob::create_study(knob::StudyOptions()
                                               .storage_instance(storage)
                                               .study_name(study_name)
                                               .load_if_exists(true)
                                               .sampler(std::make_shared<knob::RandomSampler>(seed))
                                               .pruner(std::make_shared<knob::NopPruner>()));
    if (n_trials == 0) {
      clean_up();
      return 0;
    }
    complete_before = storage->n_trials(study.study_id(), knob::TrialState::kComplete);
    if (start_at > 0) {
      std::this_thread::sleep_for(std::chrono::duration<double>(start_at - epoch_seconds()));
    }
    start = epoch_seconds();
    auto steady_start = std::chrono::steady_clock::now();
    study.optimize(objective, n_trials);
    seconds = seconds_since(steady_start);
    end = epoch_seconds();
    complete = storage->n_trials(study.study_id(), knob::TrialState::kComplete);
  } catch (const std::exception& e) {
    std::cerr << "storage_bench: " << e.what() << "\n";
    return 1;
  }
  clean_up();
  if (complete < complete_before + n_trials) {
    std::cerr << "storage_bench: " << complete - complete_before << " new COMPLETE trials, "
              << "expected at least " << n_trials << "\n";
    return 1;
  }
  std::cout.precision(17);
  std::cout << "{\"impl\": \"knob\", \"trials\": " << n_trials << ", \"seconds\": " << seconds
            << ", \"trials_per_s\": " << static_cast<double>(n_trials) / seconds
            << ", \"start\": " << start << ", \"end\": " << end << "}\n";
  return 0;
}
