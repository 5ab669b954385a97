// Warm starts: what a study is given from outside rather than sampling — a copy of another
// study (Optuna's copy_study), finished trials added from elsewhere (Study::add_trials checks
// them here), and the test Optuna's enqueue_trial(skip_if_exists=True) makes.
//
// Example:
//   knob::copy_study("sqlite:///old.db", "mlp", "sqlite:///new.db", "mlp-warm");
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "knob/storage/frozen_trial.h"
#include "knob/storage/storage.h"

namespace knob {

struct CopyStudyResult {
  int64_t n_copied = 0;
  // RUNNING and WAITING trials of the source are not copied (nothing would run them).
  int64_t n_unfinished_skipped = 0;
};

// Creates study `to_study` in `to` with `from_study`'s directions, user and system attrs and
// every finished trial (params, distributions, values, intermediate values, attrs, times),
// numbered from 0 in the source's order. Throws AlreadyExists, changing nothing, if `to`
// already holds a study named `to_study`; NotFound if `from` has no `from_study`. `from` and
// `to` may be the same storage.
CopyStudyResult copy_study(Storage& from, const std::string& from_study, Storage& to,
                           const std::string& to_study);
// The same by storage URL (open_storage.h); one storage is opened when the URLs are equal.
CopyStudyResult copy_study(const std::string& from_storage, const std::string& from_study,
                           const std::string& to_storage, const std::string& to_study);

// The distribution of each parameter name among `trials` (the latest trial's wins).
std::map<std::string, Distribution> trial_distributions(const std::vector<FrozenTrial>& trials);

// Checks that `trial` may be added to a study with `directions` whose parameters so far have
// the distributions `known`: finished; COMPLETE with one value per direction and no NaN; FAIL
// without values; every param with a distribution that contains its value and is compatible
// with the known one (check_compatible). Throws InvalidArgument whose message starts with
// `where` (e.g. "runs.csv row 3") and names the field and value.
void check_trial_to_add(const FrozenTrial& trial, const std::vector<StudyDirection>& directions,
                        const std::map<std::string, Distribution>& known, const std::string& where);

// Optuna's Study._should_skip_enqueue: whether some trial (any state) has exactly the names of
// `params` and equal values — its fixed params if it was enqueued, else its params. Numbers
// are equal within a relative 1e-5 (numpy.isclose with atol 0), an int does not equal a
// float, a NaN equals anything.
bool params_repeat_a_trial(const std::map<std::string, ParamValue>& params,
                           const std::vector<FrozenTrial>& trials);

}  // namespace knob
