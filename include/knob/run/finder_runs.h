// Finder runs kept in a storage: a learning-rate range test (knob lr-find) or a batch-size
// finder run (knob batch-find) as a study user attribute "knob:lr_find:<n>" or
// "knob:batch_find:<n>" (n = 0, 1, ... in the order recorded) holding the settings, the curve
// or table, and the suggestion — plain JSON, so Optuna opens the study as any other and the
// dashboard's study page draws each run.
//
// Example:
//   auto storage = knob::open_storage("sqlite:///knob.db");
//   std::string key = knob::record_finder_run(*storage, "mlp", "lr_find",
//                                             knob::lr_find_record(result, config.lr_find));
//   // key == "knob:lr_find:0" the first time
#pragma once

#include <string>

#include "knob/core/json.h"
#include "knob/storage/storage.h"
#include "knob/train/batch_find.h"
#include "knob/train/lr_range.h"

namespace knob {

// {"kind": "lr_find", "settings": {start, end, steps, mode, beta, diverge, suggestion},
//  "lr", "loss", "smoothed": arrays a point per step (non-finite losses as null),
//  "suggestions": [{"name", "lr", "index"}], "chosen", "suggested_lr", "stop_reason",
//  "batch_size", "seconds"}
Json lr_find_record(const LrFindResult& result, const LrFindConfig& settings);

// {"kind": "batch_find", "settings": {start, max_size, memory_budget (MiB or null), steps,
//  noise_batches, noise_warmup}, "trials": [{"size", "fits", "peak_mib", "samples_per_second"}]
//  in the order run, "cap", "budget_mib", "budget_source", "largest_fitting", "b_simple" (null
//  when not estimated or not finite), "noise_note", "recommended", "rule", "base", "base_lr",
//  "lr", "seconds"}
Json batch_find_record(const BatchFindResult& result, const BatchFindConfig& settings);

// Stores `record` as the next "knob:<kind>:<n>" user attribute of study `study_name`, creating
// the study (one objective, minimize, no trials) when it does not exist; returns the key.
// `kind` must be "lr_find" or "batch_find" (InvalidArgument otherwise). Two recorders of the
// same study at the same moment may pick the same n: one run would replace the other.
std::string record_finder_run(Storage& storage, const std::string& study_name,
                              const std::string& kind, const Json& record);

}  // namespace knob
