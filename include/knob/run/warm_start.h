// Warm starts from the shell and from study files: what `knob study copy`, `knob study
// add-trials` and `knob study enqueue` do, and the [[study.enqueue]] tables of a study file.
// Flags are checked before anything is written: bad input throws InvalidArgument naming the
// flag (or file and row) and the value, leaving the storages as they were.
//
// Example:
//   knob::run::enqueue(knob::run::EnqueueOptions()
//                          .storage("sqlite:///knob.db")
//                          .study_name("fmnist")
//                          .params(R"({"optimizer.lr": 0.001, "batch.size": 32})"));
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "knob/core/arg.h"
#include "knob/run/study_config.h"
#include "knob/tuner/study.h"
#include "knob/tuner/study_transfer.h"

namespace knob::run {

// A search space as Optuna's CLI takes it: a JSON object of name -> distribution JSON
// ({"lr": {"name": "FloatDistribution", "attributes": {"low": 1e-4, "high": 0.1, "log": true}}}),
// in the object's order. InvalidArgument naming `field` for anything else.
std::vector<std::pair<std::string, Distribution>> parse_search_space_json(
    const std::string& json, const std::string& field = "--search-space");

// Parameters as a JSON object of name -> value (number, string, bool or null).
std::map<std::string, ParamValue> parse_params_json(const std::string& json,
                                                    const std::string& field = "--params");

// For verbs that need an existing study: a sqlite:/// URL must name an existing file (opening
// one that does not would create an empty database). InvalidArgument naming `field`.
void check_sqlite_file_exists(const std::string& url, const std::string& field = "--storage");

// The study `name` in `storage` with `sampler` (null: random); NotFound names `field`, the
// name and the studies the storage holds.
Study open_named_study(std::shared_ptr<Storage> storage, const std::string& name,
                       const std::string& field = "--study-name",
                       std::shared_ptr<Sampler> sampler = nullptr);

struct CopyOptions {
  KNOB_ARG(std::string, from_storage);
  KNOB_ARG(std::string, from_study);
  KNOB_ARG(std::string, to_storage);  // "": the source storage
  KNOB_ARG(std::string, to_study);    // "": the source's name
};
// knob study copy: copy_study (study_transfer.h) with its errors naming the flags.
CopyStudyResult copy(const CopyOptions& options);

struct AddTrialsOptions {
  KNOB_ARG(std::string, storage);
  KNOB_ARG(std::string, study_name);
  // Either a .csv/.json file (trial_file.h)...
  KNOB_ARG(std::string, from);
  // ...or a study: its finished trials.
  KNOB_ARG(std::string, from_storage);
  KNOB_ARG(std::string, from_study);
  // For a CSV: distributions of parameters the study has not seen (parse_search_space_json).
  KNOB_ARG(std::string, search_space);
};
struct AddTrialsResult {
  int64_t n_added = 0;
  int64_t n_unfinished_skipped = 0;  // RUNNING/WAITING rows or trials: not added
};
// knob study add-trials: every finished trial of the file or study, all checked first
// (check_trial_to_add, naming the file and row), then added (Study::add_trials).
AddTrialsResult add_trials(const AddTrialsOptions& options);

struct EnqueueOptions {
  KNOB_ARG(std::string, storage);
  KNOB_ARG(std::string, study_name);
  KNOB_ARG(std::string, params);      // JSON object (parse_params_json)
  KNOB_ARG(std::string, user_attrs);  // JSON object, or ""
  KNOB_ARG(bool, skip_if_exists) = false;
};
// knob study enqueue: Study::enqueue_trial. A parameter the study already has must fit its
// distribution's kind (a categorical's value one of its choices); a value outside the range is
// used as given, as in Optuna. Returns false when skip_if_exists found the same parameters.
bool enqueue(const EnqueueOptions& options);

// The system attr that marks a study whose [[study.enqueue]] trials were enqueued.
inline constexpr const char* kConfigEnqueuedKey = "knob:config_enqueued";
// Enqueues the config's [[study.enqueue]] trials once in the study's life (Study::
// enqueue_trials_once): not again on resume, nor by each worker that opens the study. Returns
// how many this call enqueued.
size_t enqueue_config_trials(Study& study, const StudyConfig& config);

}  // namespace knob::run
