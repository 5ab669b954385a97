// The pieces of the dashboard's JSON that dashboard_api.cc and dashboard_cache.cc share.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "knob/core/json.h"
#include "knob/storage/storage.h"

namespace knob::detail {

Json directions_json(const std::vector<StudyDirection>& directions);

// trial_to_json without the system attributes (sampler state, mostly), but with the reason a
// failed trial failed, its constraint values (or null) and whether it is feasible; without
// "distributions" unless `with_distributions`.
Json dashboard_trial(const FrozenTrial& trial, bool with_distributions = true);

// A multi-objective study's hypervolume history (null for one objective or no feasible
// COMPLETE trial): {"reference": [...], "values": [{"number", "value"}, ...]}, a value per
// COMPLETE trial; the reference is 10% of each objective's range beyond its worst feasible
// value.
Json hypervolume_json(const std::vector<FrozenTrial>& trials,
                      const std::vector<StudyDirection>& directions);

// The study's id; throws NotFound naming the study.
int64_t find_study_id(Storage& storage, const std::string& name);

// JSON text; bytes that are not UTF-8 (a command's stderr in a fail reason) become U+FFFD.
std::string dump_json(const Json& value);

}  // namespace knob::detail
