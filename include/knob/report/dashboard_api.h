// The dashboard's data and routing, apart from any socket: the JSON of each page (studies, a
// study, a trial) and the answer to a GET request — /api/... or an embedded asset — so tests
// and the HTML report use exactly what the server serves. Read-only: nothing here writes.
//
// Routes (query values are URL-decoded by the caller):
//   /  /study  /trial                   the page shell (index.html); the script fetches:
//   /api/studies                        studies_json
//   /api/study?name=NAME[&states=JSON][&from=N]
//                                       study_json; states: a JSON array such as ["COMPLETE"];
//                                       from: only trials numbered N and above in "trials"
//   /api/trial?study=NAME&number=N      trial_json
//   /app.js  /style.css                 the other embedded assets
// Anything else is 404; bad or missing parameters are 400, an unknown study or trial 404,
// each with {"error": "..."} naming the parameter and the value.
//
// Example:
//   auto storage = knob::open_storage("sqlite:///knob.db");
//   knob::HttpResponse r = knob::handle_dashboard_get(*storage, "/api/studies", {});
//   // r.status == 200, r.body == [{"name": "mlp", "directions": ["MINIMIZE"], ...}]
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "knob/core/json.h"
#include "knob/storage/storage.h"

namespace knob {

class DashboardCache;

// The functions taking a Storage read every trial they report on (each makes a DashboardCache
// for the one call): the HTML report and tests use them. The server answers through the
// DashboardCache it keeps (dashboard_cache.h, handle_dashboard_get below), which reads only the
// trials created since its last read and those it last saw unfinished, and keeps each trial's
// JSON text and the importance between requests. The study page is also sent only the trials
// it may not have yet (`from_number` below).
//
// Every study: name, directions, n_trials, counts by state (all five, 0 included), best
// ({"number", "values"} of a single-objective study's best COMPLETE trial, else null) and
// last_update (the latest start or completion time of its trials, or null).
Json studies_json(Storage& storage);

// One study: the fields of studies_json, plus "params" (every parameter's name and Optuna
// distribution JSON, the latest seen), "best_trials" (the numbers of the best trial, or of the
// Pareto front of a multi-objective study), "importance" (fANOVA parameter importances with
// seed 0 over the latest 1,000 COMPLETE trials at most: {"evaluator": "fanova", "n_trials",
// "params": [{"name", "importance"}, ...] largest first, or null with a "reason": fewer than 2
// COMPLETE trials, a multi-objective study, ...}) and "trials" (trial_to_json of each, optionally
// only those in `states`, with "fail_reason" instead of the system attributes, and without
// "distributions" — they are in "params" — unless `trial_distributions`). With
// `from_number`, "trials" holds only the trials numbered from_number and above — a poller that
// holds every trial before its first unfinished one asks for the rest: finished trials never
// change. The other fields always cover every trial. Throws NotFound naming the study.
Json study_json(Storage& storage, const std::string& study_name,
                const std::vector<TrialState>& states = {}, int64_t from_number = 0,
                bool trial_distributions = false);

// One trial of a study: trial_to_json with "study", "directions" and "fail_reason" (a string
// or null) instead of the system attributes. Throws NotFound naming the study or the trial.
Json trial_json(Storage& storage, const std::string& study_name, int64_t number);

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// The answer to GET `path` (already URL-decoded, without the query) with `query`'s parameters,
// from what `cache` keeps (the server's way). Never throws for any input: bad requests get
// 4xx, a storage failure 500.
HttpResponse handle_dashboard_get(DashboardCache& cache, const std::string& path,
                                  const std::multimap<std::string, std::string>& query);
// The same from a storage read whole for this one request.
HttpResponse handle_dashboard_get(Storage& storage, const std::string& path,
                                  const std::multimap<std::string, std::string>& query);

// JSON text safe to place inside an HTML <script> element: '<', '>' and '&' are written as
// \u003c, \u003e and \u0026 (they occur only inside strings); NaN and infinities as null.
std::string json_for_html(const Json& value);

}  // namespace knob
