// heartbeat_tool: knob's side of heartbeat_interop.py (stale trials across knob and Optuna on
// one study, SQLite or PostgreSQL). Prints JSON on stdout.
//
//   heartbeat_tool URL STUDY start              a RUNNING trial (with a param x) and one
//                                               heartbeat, then exit as if the worker died
//                                               -> {"number": N}
//   heartbeat_tool URL STUDY ask                ask() on a study with heartbeats on (its
//                                               first heartbeat comes with the trial), then
//                                               exit as if the worker died before beating
//                                               -> {"number": N}
//   heartbeat_tool URL STUDY fail GRACE RETRIES Study::fail_stale_trials with that grace
//                                               period and max_retry
//                                               -> {"failed": [numbers]}
#include <cstdlib>
#include <iostream>
#include <string>

#include "knob/core/json.h"
#include "knob/tuner/study.h"

int main(int argc, char** argv) {
  const std::string usage =
      "usage: heartbeat_tool URL STUDY start | heartbeat_tool URL STUDY ask | "
      "heartbeat_tool URL STUDY fail GRACE RETRIES\n";
  if (argc < 4) {
    std::cerr << usage;
    return 2;
  }
  try {
    auto options = knob::StudyOptions().storage(argv[1]).study_name(argv[2]).load_if_exists(true);
    const std::string command = argv[3];
    if (command == "start" && argc == 4) {
      knob::Study study = knob::create_study(options);
      knob::Trial trial = study.ask();
      trial.suggest_float("x", 0.0, 1.0);
      study.storage().record_heartbeat(trial.trial_id());
      std::cout << knob::dumps(knob::Json{{"number", trial.number()}}) << "\n";
      return 0;
    }
    if (command == "ask" && argc == 4) {
      knob::Study study = knob::create_study(options.heartbeat_interval(60.0));
      std::cout << knob::dumps(knob::Json{{"number", study.ask().number()}}) << "\n";
      return 0;
    }
    if (command == "fail" && argc == 6) {
      const double grace = std::atof(argv[4]);
      knob::Study study = knob::create_study(
          options.heartbeat_interval(grace / 2).grace_period(grace).max_retry(std::atoi(argv[5])));
      std::cout << knob::dumps(knob::Json{{"failed", study.fail_stale_trials()}}) << "\n";
      return 0;
    }
    std::cerr << usage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "heartbeat_tool: " << e.what() << "\n";
    return 1;
  }
}
