// write_study: writes two studies with knob into an SQLite file, for the interop test
// knob_to_optuna.py, which then opens them with Optuna 3.1 and compares what Optuna reads
// with knob's own JSON export of the same studies.
//
//   write_study STORAGE_URL EXPORT.json   (sqlite:///PATH.db[?schema=v3.0.0.d])
//
// "knob-rich" (minimize) covers every distribution kind knob writes (float uniform/log/step,
// int plain/log/step, categorical with None/bool/int/float/string choices, and a conditional
// parameter), every trial state (COMPLETE, PRUNED with and without a value, FAIL with a
// fail_reason, RUNNING, WAITING from enqueue_trial), intermediate values NaN/+inf/-inf,
// objective values +-inf, nested JSON user attributes on trials and on the study.
// "knob-multi" has two directions (minimize, maximize).
#include <cmath>
#include <fstream>
#include <iostream>
#include <limits>
#include <stdexcept>

#include "knob/core/error.h"
#include "knob/report/export.h"
#include "knob/storage/open_storage.h"
#include "knob/tuner/samplers/random_sampler.h"
#include "knob/tuner/study.h"

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Suggests the full search space; returns a finite number that depends on every parameter.
double suggest_all(knob::Trial& t) {
  double fu = t.suggest_float("f_uniform", -1.5, 2.5);
  double fl = t.suggest_float("f_log", 1e-5, 1e-1, {.step = std::nullopt, .log = true});
  double fs = t.suggest_float("f_step", 0.0, 1.0, {.step = 0.25});
  int64_t ip = t.suggest_int("i_plain", -3, 7);
  int64_t il = t.suggest_int("i_log", 1, 1024, {.step = 1, .log = true});
  int64_t is = t.suggest_int("i_step", 0, 10, {.step = 2});
  knob::ParamValue c = t.suggest_categorical(
      "c_mixed", {knob::ParamValue{}, knob::ParamValue{false}, knob::ParamValue{int64_t{3}},
                  knob::ParamValue{2.5}, knob::ParamValue{std::string("adam")}});
  double value = fu * fu + std::log10(fl) + fs + static_cast<double>(ip + is) +
                 std::log2(static_cast<double>(il));
  if (std::holds_alternative<std::string>(c)) {
    // A conditional parameter, only in the trials that chose "adam" (define-by-run).
    value += t.suggest_float("adam_beta", 0.8, 0.999);
  }
  return value;
}

void write_rich(const std::shared_ptr<knob::Storage>& storage) {
  knob::Study study = knob::create_study(knob::StudyOptions()
                                             .storage_instance(storage)
                                             .study_name("knob-rich")
                                             .direction(knob::StudyDirection::kMinimize)
                                             .sampler(std::make_shared<knob::RandomSampler>(7))
                                             .pruner(std::make_shared<knob::NopPruner>()));
  study.set_user_attr("dataset", "fashion-mnist");
  study.set_user_attr("config", knob::loads(R"({"layers": [64, 32], "dropout": 0.1,
      "optimizer": {"name": "adam", "betas": [0.9, 0.999]}, "none": null, "ok": true,
      "unicode": "h\u00e9llo \u2713"})"));

  // Trials 0..9, their outcome chosen by number.
  study.optimize(
      [](knob::Trial& t) -> double {
        double value = suggest_all(t);
        switch (t.number()) {
          case 1:  // intermediate values of every kind Optuna stores
            t.report(0.5, 0);
            t.report(kNaN, 1);
            t.report(kInf, 2);
            t.report(-kInf, 3);
            t.report(0.25, 4);
            return value;
          case 3:
            return kInf;
          case 4:
            return -kInf;
          case 5:  // PRUNED: keeps its last intermediate value as its value
            for (int64_t step = 0; step < 4; ++step) t.report(1.0 / (step + 1), step * 10);
            throw knob::TrialPruned();
          case 6:  // PRUNED whose last intermediate value is NaN: no value
            t.report(3.0, 0);
            t.report(kNaN, 1);
            throw knob::TrialPruned();
          case 7:
            t.report(2.0, 0);
            throw std::runtime_error("diverged: loss is NaN at step 1");
          case 8:
            t.set_user_attr("history", knob::loads(R"({"loss": [1.5, 0.75, 0.5],
                "best": {"epoch": 2, "metrics": {"acc": 0.875, "f1": null}}, "tags": ["a", "b"]})"));
            t.set_user_attr("note", "h\u00e9llo \u2713");
            t.set_user_attr("count", 42);
            t.set_user_attr("flag", false);
            return value;
          case 9:  // a huge and a tiny finite value survive the round trip
            return 1.2345678901234567e+300;
          default:
            t.set_user_attr("seen", static_cast<int64_t>(t.number()));
            return value;
        }
      },
      10);

  // Trial 10: RUNNING, left unfinished.
  knob::Trial running = study.ask();
  suggest_all(running);
  running.report(0.125, 0);
  running.set_user_attr("worker", "write_study");

  // Trials 11, 12: WAITING (enqueued), one with every parameter fixed, one with some.
  study.enqueue_trial({{"f_uniform", 0.5},
                       {"f_log", 0.001},
                       {"f_step", 0.75},
                       {"i_plain", int64_t{2}},
                       {"i_log", int64_t{64}},
                       {"i_step", int64_t{4}},
                       {"c_mixed", std::string("adam")},
                       {"adam_beta", 0.9}},
                      {{"source", "enqueue"}});
  study.enqueue_trial({{"c_mixed", knob::ParamValue{}}, {"i_plain", int64_t{-3}}});
}

void write_multi(const std::shared_ptr<knob::Storage>& storage) {
  knob::Study study = knob::create_study(
      knob::StudyOptions()
          .storage_instance(storage)
          .study_name("knob-multi")
          .directions({knob::StudyDirection::kMinimize, knob::StudyDirection::kMaximize})
          .sampler(std::make_shared<knob::RandomSampler>(11)));
  study.set_user_attr("kind", "multi");
  study.optimize(
      [](knob::Trial& t) -> std::vector<double> {
        double x = t.suggest_float("x", -2.0, 2.0);
        int64_t n = t.suggest_int("n", 1, 100, {.step = 1, .log = true});
        if (t.number() == 4) throw std::runtime_error("multi: failed on purpose");
        if (t.number() == 5) throw knob::TrialPruned();
        if (t.number() == 6) return {kInf, -kInf};
        return {x * x, static_cast<double>(n) - x};
      },
      8);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: write_study STORAGE_URL EXPORT.json\n";
    return 2;
  }
  try {
    std::shared_ptr<knob::Storage> storage = knob::open_storage(argv[1]);
    write_rich(storage);
    write_multi(storage);
    knob::Json out = knob::Json::object();
    out["studies"] = knob::Json::array();
    for (const char* name : {"knob-rich", "knob-multi"}) {
      int64_t id = storage->study_id_from_name(name);
      out["studies"].push_back(knob::study_to_json(
          name, storage->study_directions(id), storage->study_user_attrs(id), storage->trials(id)));
    }
    std::ofstream file(argv[2], std::ios::binary);
    file << knob::dumps(out) << "\n";
    if (!file) throw std::runtime_error(std::string("cannot write ") + argv[2]);
  } catch (const std::exception& e) {
    std::cerr << "write_study: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
