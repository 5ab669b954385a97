#include "knob/report/dashboard_api.h"

#include <algorithm>
#include <charconv>

#include "knob/core/error.h"
#include "knob/report/export.h"
#include "knob/tuner/importance.h"
#include "knob/tuner/study.h"
#include "report/dashboard_assets.h"

namespace knob {
namespace {

constexpr TrialState kAllStates[] = {TrialState::kRunning, TrialState::kWaiting,
                                     TrialState::kComplete, TrialState::kPruned, TrialState::kFail};

Json directions_json(const std::vector<StudyDirection>& directions) {
  Json out = Json::array();
  for (auto d : directions) out.push_back(to_string(d));
  return out;
}

// The study's fields shared by the studies list and the study page.
Json study_header(const std::string& name, const std::vector<StudyDirection>& directions,
                  const std::vector<FrozenTrial>& trials) {
  StudySummary summary;
  summary.directions = directions;
  summarize_trials(trials, summary);
  Json counts = Json::object();
  for (TrialState s : kAllStates) {
    auto it = summary.trial_counts.find(s);
    counts[to_string(s)] = it == summary.trial_counts.end() ? 0 : it->second;
  }
  std::optional<TimePoint> last;
  for (const auto& t : trials) {
    for (const auto& time : {t.datetime_start, t.datetime_complete}) {
      if (time && (!last || *time > *last)) last = time;
    }
  }
  Json out = Json::object();
  out["name"] = name;
  out["directions"] = directions_json(directions);
  out["n_trials"] = static_cast<int64_t>(trials.size());
  out["counts"] = std::move(counts);
  out["best"] =
      summary.best_trial && directions.size() == 1
          ? Json{{"number", summary.best_trial->number}, {"values", summary.best_trial->values}}
          : Json(nullptr);
  out["last_update"] = last ? Json(format_datetime(*last)) : Json(nullptr);
  return out;
}

// trial_to_json without the system attributes (sampler state, mostly), but with the reason a
// failed trial failed.
Json dashboard_trial(const FrozenTrial& trial) {
  Json out = trial_to_json(trial);
  out.erase("system_attrs");
  auto reason = trial.system_attrs.find("fail_reason");
  out["fail_reason"] = reason != trial.system_attrs.end() ? reason->second : Json(nullptr);
  return out;
}

// The numbers of the best COMPLETE trials: the single best, or the Pareto front.
Json best_trial_numbers(const std::vector<FrozenTrial>& trials,
                        const std::vector<StudyDirection>& directions) {
  std::vector<const FrozenTrial*> complete;
  for (const auto& t : trials) {
    if (t.state == TrialState::kComplete && t.values.size() == directions.size()) {
      complete.push_back(&t);
    }
  }
  Json out = Json::array();
  for (const FrozenTrial* candidate : complete) {
    bool dominated = std::any_of(complete.begin(), complete.end(), [&](const FrozenTrial* other) {
      return dominates(other->values, candidate->values, directions);
    });
    if (!dominated) out.push_back(candidate->number);
  }
  if (directions.size() == 1 && out.size() > 1) out = Json::array({out[0]});  // ties: the first
  return out;
}

// At most this many COMPLETE trials (the latest) go into the importance the study page shows:
// fANOVA costs ~0.13 s of CPU for 1,000 trials and ~1.8 s for 10,000 here, and pages poll.
constexpr size_t kImportanceTrials = 1000;

// fANOVA parameter importance (seed 0, so a page shows the same bars on every refresh) of a
// single-objective study: {"evaluator", "n_trials" (COMPLETE trials used), "params": [{"name",
// "importance"}, ...] largest first, "reason": null}, or "params": null and the reason it
// cannot be computed.
Json importance_json(const std::vector<FrozenTrial>& trials, size_t n_objectives) {
  const auto evaluator = ImportanceEvaluator::kFanova;
  std::vector<FrozenTrial> complete;
  for (const auto& t : trials) {
    if (t.state == TrialState::kComplete) complete.push_back(t);
  }
  std::sort(complete.begin(), complete.end(),
            [](const FrozenTrial& a, const FrozenTrial& b) { return a.number < b.number; });
  if (complete.size() > kImportanceTrials) {
    complete.erase(complete.begin(), complete.end() - kImportanceTrials);
  }
  Json out = {{"evaluator", importance_evaluator_name(evaluator)},
              {"n_trials", complete.size()},
              {"params", nullptr},
              {"reason", nullptr}};
  if (n_objectives != 1) {
    out["reason"] = "multi-objective study: run knob importance --objective N for one objective";
    return out;
  }
  try {
    auto importances =
        param_importances(complete, ImportanceOptions().evaluator(evaluator).seed(0));
    if (importances.empty()) {
      out["reason"] = "no parameter takes more than one value";
      return out;
    }
    Json params = Json::array();
    for (const auto& [name, importance] : importances) {
      params.push_back({{"name", name}, {"importance", importance}});
    }
    out["params"] = std::move(params);
  } catch (const InvalidArgument& e) {
    out["reason"] = e.what();
  }
  return out;
}

int64_t find_study_id(Storage& storage, const std::string& name) {
  try {
    return storage.study_id_from_name(name);
  } catch (const NotFound&) {
    throw NotFound(detail::invalid_message("study", name, "no such study"));
  }
}

// JSON text; bytes that are not UTF-8 (a command's stderr in a fail reason) become U+FFFD.
std::string dump_json(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

HttpResponse error_response(int status, const std::string& message) {
  return {status, "application/json", dump_json(Json{{"error", message}})};
}

HttpResponse json_response(const Json& value) {
  return {200, "application/json", dump_json(value)};
}

// The single value of a query parameter; throws InvalidArgument when missing or repeated.
std::string query_value(const std::multimap<std::string, std::string>& query,
                        const std::string& key) {
  auto [begin, end] = query.equal_range(key);
  KNOB_CHECK(begin != end, key, "", "is required");
  KNOB_CHECK(std::next(begin) == end, key, begin->second, "must be given once");
  return begin->second;
}

// A trial number: an integer >= 0 given as query parameter `key`.
int64_t parse_trial_number(const std::string& text, const std::string& key) {
  int64_t number = -1;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  KNOB_CHECK(error == std::errc() && end == text.data() + text.size() && number >= 0, key, text,
             "must be a trial number: an integer >= 0");
  return number;
}

std::vector<TrialState> parse_states(const std::string& text) {
  Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  KNOB_CHECK(parsed.is_array(), "states", text,
             "must be a JSON array of trial states, e.g. [\"COMPLETE\", \"PRUNED\"]");
  std::vector<TrialState> states;
  for (const Json& item : parsed) {
    KNOB_CHECK(item.is_string(), "states", text, "must hold only strings");
    states.push_back(parse_trial_state(item.get<std::string>(), "states"));
  }
  return states;
}

HttpResponse route(Storage& storage, const std::string& path,
                   const std::multimap<std::string, std::string>& query) {
  if (path == "/api/studies") return json_response(studies_json(storage));
  if (path == "/api/study") {
    std::vector<TrialState> states;
    if (query.count("states")) states = parse_states(query_value(query, "states"));
    int64_t from = query.count("from") ? parse_trial_number(query_value(query, "from"), "from") : 0;
    return json_response(study_json(storage, query_value(query, "name"), states, from));
  }
  if (path == "/api/trial") {
    int64_t number = parse_trial_number(query_value(query, "number"), "number");
    return json_response(trial_json(storage, query_value(query, "study"), number));
  }
  // Pages and assets: names from a fixed table, compared whole. No path reaches the disk.
  std::string_view name = path;
  if (path == "/" || path == "/study" || path == "/trial") name = "/index.html";
  if (name.size() > 1 && name[0] == '/') {
    if (const detail::Asset* asset = detail::find_asset(name.substr(1))) {
      return {200, std::string(asset->content_type), std::string(asset->body)};
    }
  }
  return error_response(404, "no such page: " + path);
}

}  // namespace

Json studies_json(Storage& storage) {
  Json out = Json::array();
  for (const StudySummary& summary : storage.all_studies()) {
    out.push_back(
        study_header(summary.study_name, summary.directions, storage.trials(summary.study_id)));
  }
  return out;
}

Json study_json(Storage& storage, const std::string& study_name,
                const std::vector<TrialState>& states, int64_t from_number) {
  int64_t id = find_study_id(storage, study_name);
  std::vector<StudyDirection> directions = storage.study_directions(id);
  std::vector<FrozenTrial> trials = storage.trials(id);
  Json out = study_header(study_name, directions, trials);
  out["user_attrs"] = Json(storage.study_user_attrs(id));
  std::map<std::string, const Distribution*> distributions;  // the latest of each name
  for (const auto& t : trials) {
    for (const auto& [name, d] : t.distributions) distributions[name] = &d;
  }
  Json params = Json::array();
  for (const auto& [name, d] : distributions) {
    params.push_back({{"name", name}, {"distribution", loads(distribution_to_json(*d))}});
  }
  out["params"] = std::move(params);
  out["best_trials"] = best_trial_numbers(trials, directions);
  out["importance"] = importance_json(trials, directions.size());
  Json list = Json::array();
  for (const auto& t : trials) {
    if (t.number >= from_number &&
        (states.empty() || std::find(states.begin(), states.end(), t.state) != states.end())) {
      list.push_back(dashboard_trial(t));
    }
  }
  out["trials"] = std::move(list);
  return out;
}

Json trial_json(Storage& storage, const std::string& study_name, int64_t number) {
  int64_t study_id = find_study_id(storage, study_name);
  int64_t trial_id = -1;
  try {
    trial_id = storage.trial_id_from_number(study_id, number);
  } catch (const NotFound&) {
    throw NotFound(
        detail::invalid_message("number", number, "study '" + study_name + "' has no such trial"));
  }
  Json out = Json::object();
  out["study"] = study_name;
  out["directions"] = directions_json(storage.study_directions(study_id));
  Json trial = dashboard_trial(storage.trial(trial_id));
  for (auto& [key, value] : trial.items()) out[key] = std::move(value);
  return out;
}

HttpResponse handle_dashboard_get(Storage& storage, const std::string& path,
                                  const std::multimap<std::string, std::string>& query) {
  try {
    return route(storage, path, query);
  } catch (const InvalidArgument& e) {
    return error_response(400, e.what());
  } catch (const NotFound& e) {
    return error_response(404, e.what());
  } catch (const std::exception& e) {
    return error_response(500, e.what());
  }
}

std::string json_for_html(const Json& value) {
  std::string text = dump_json(value);
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '<':
        out += "\\u003c";
        break;
      case '>':
        out += "\\u003e";
        break;
      case '&':
        out += "\\u0026";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace knob
