// Ask and tell from the shell: what `knob ask` and `knob tell` do, with Optuna CLI's flags
// and output, so a shell loop or a scheduler's array job drives a study one trial per call
// (each call a process of its own; the study lives in the storage). Optuna's `optuna ask` and
// `optuna tell` work on the same study: a trial one asks, the other may tell.
//
// Example:
//   auto asked = knob::run::ask(knob::run::AskOptions()
//                                   .storage("sqlite:///knob.db")
//                                   .study_name("s")
//                                   .search_space(R"({"x": {"name": "FloatDistribution",
//                                                 "attributes": {"low": 0, "high": 1}}})"));
//   std::cout << knob::run::format_asked(asked, "json", false);  // {"number": 0, "params": ...}
//   knob::run::tell(knob::run::TellOptions().storage(...).study_name("s")
//                       .trial_number(asked.number).values({0.25}));
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "knob/core/arg.h"
#include "knob/storage/frozen_trial.h"

namespace knob::run {

struct AskOptions {
  KNOB_ARG(std::string, storage);
  KNOB_ARG(std::string, study_name);  // an existing study (`knob study create`), as Optuna 4
  // One of knob's samplers: random, tpe, qmc, gp, cmaes (default random) ...
  KNOB_ARG(std::string, sampler);
  // ... with its options as a JSON object: "seed" and the keys of the study file's
  // [study.<sampler>] table, e.g. {"seed": 1, "n_startup_trials": 5} for tpe.
  KNOB_ARG(std::string, sampler_kwargs);
  // Optuna distribution JSON by name (parse_search_space_json); "": no parameter suggested
  // (an enqueued trial still brings its fixed ones).
  KNOB_ARG(std::string, search_space);
};

struct AskedTrial {
  int64_t number = -1;
  std::vector<std::pair<std::string, ParamValue>> params;  // in the search space's order
};

// Starts a trial (the oldest WAITING one first, as Study::ask) and suggests the search space
// in it. Everything is checked before the trial is created — the flags, and each parameter's
// distribution against the one the study already uses — so bad input leaves no trial behind.
AskedTrial ask(const AskOptions& options);

// The trial as `optuna ask -f FORMAT [--flatten]` prints it: json ({"number": 0, "params":
// {"x": 0.5}}), yaml, table or value; flatten makes params_<name> columns. Ends with "\n".
std::string format_asked(const AskedTrial& trial, const std::string& format, bool flatten);

struct TellOptions {
  KNOB_ARG(std::string, storage);
  KNOB_ARG(std::string, study_name);
  KNOB_ARG(std::optional<int64_t>, trial_number);
  KNOB_ARG(std::vector<double>, values);
  // complete, pruned or fail; "": complete when values are given.
  KNOB_ARG(std::string, state);
  // A trial already finished is left as it is, without an error.
  KNOB_ARG(bool, skip_if_finished) = false;
};

struct ToldTrial {
  bool skipped = false;  // skip_if_finished and the trial had finished
  FrozenTrial trial;     // as stored after the tell (or as found, when skipped)
};

// Finishes the trial, as `optuna tell`: COMPLETE takes one value per direction, PRUNED and FAIL
// take none (PRUNED keeps its last intermediate value, as in Optuna). InvalidArgument, changing
// nothing, for a finished trial (without skip_if_finished), an unknown trial, state or number
// of values.
ToldTrial tell(const TellOptions& options);

}  // namespace knob::run
