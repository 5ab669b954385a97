#include "knob/report/dashboard_api.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "knob/core/error.h"
#include "knob/report/dashboard_cache.h"
#include "knob/report/export.h"
#include "knob/tuner/constraints.h"
#include "knob/tuner/hypervolume.h"
#include "report/dashboard_assets.h"
#include "report/dashboard_json.h"

namespace knob {
namespace detail {

Json directions_json(const std::vector<StudyDirection>& directions) {
  Json out = Json::array();
  for (auto d : directions) out.push_back(to_string(d));
  return out;
}

Json dashboard_trial(const FrozenTrial& trial, bool with_distributions) {
  Json out = trial_to_json(trial, with_distributions);
  out.erase("system_attrs");
  auto reason = trial.system_attrs.find("fail_reason");
  out["fail_reason"] = reason != trial.system_attrs.end() ? reason->second : Json(nullptr);
  auto constraints = trial_constraints(trial);
  out["constraints"] = constraints ? Json(*constraints) : Json(nullptr);
  out["feasible"] = is_feasible(trial);
  return out;
}

Json hypervolume_json(const std::vector<FrozenTrial>& trials,
                      const std::vector<StudyDirection>& directions) {
  const size_t k = directions.size();
  if (k < 2) return nullptr;
  std::vector<double> best(k), worst(k);
  std::vector<int64_t> numbers;  // of the COMPLETE trials, as hypervolume_history's values
  bool any = false;
  for (const auto& t : trials) {
    if (t.state != TrialState::kComplete) continue;
    numbers.push_back(t.number);
    if (t.values.size() != k || !is_feasible(t) ||
        !std::all_of(t.values.begin(), t.values.end(), [](double v) { return std::isfinite(v); })) {
      continue;
    }
    for (size_t i = 0; i < k; ++i) {
      const bool max = directions[i] == StudyDirection::kMaximize;
      // `worst` and `best` as minimized: a maximized objective's values negated.
      const double v = max ? -t.values[i] : t.values[i];
      worst[i] = any ? std::max(worst[i], v) : v;
      best[i] = any ? std::min(best[i], v) : v;
    }
    any = true;
  }
  if (!any) return nullptr;
  Json reference = Json::array();
  std::vector<double> ref(k);
  for (size_t i = 0; i < k; ++i) {
    // 10% of the range beyond the worst (Optuna's plots leave the choice to the user).
    const double span = worst[i] - best[i];
    const double margin = span > 0 ? 0.1 * span : std::max(0.1 * std::abs(worst[i]), 1e-9);
    const double r = worst[i] + margin;
    ref[i] = directions[i] == StudyDirection::kMaximize ? -r : r;
    reference.push_back(ref[i]);
  }
  std::vector<double> history;
  try {
    history = hypervolume_history(trials, directions, ref);
  } catch (const InvalidArgument&) {
    return nullptr;
  }
  Json values = Json::array();
  for (size_t i = 0; i < history.size() && i < numbers.size(); ++i) {
    values.push_back({{"number", numbers[i]}, {"value", history[i]}});
  }
  return {{"reference", std::move(reference)}, {"values", std::move(values)}};
}

int64_t find_study_id(Storage& storage, const std::string& name) {
  try {
    return storage.study_id_from_name(name);
  } catch (const NotFound&) {
    throw NotFound(invalid_message("study", name, "no such study"));
  }
}

std::string dump_json(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace detail

namespace {

using detail::dump_json;

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

// A storage the caller owns, as the shared_ptr DashboardCache takes (it owns nothing).
std::shared_ptr<Storage> unowned(Storage& storage) {
  return std::shared_ptr<Storage>(std::shared_ptr<Storage>(), &storage);
}

HttpResponse route(DashboardCache& cache, const std::string& path,
                   const std::multimap<std::string, std::string>& query) {
  if (path == "/api/studies") return json_response(cache.studies());
  if (path == "/api/study") {
    std::vector<TrialState> states;
    if (query.count("states")) states = parse_states(query_value(query, "states"));
    int64_t from = query.count("from") ? parse_trial_number(query_value(query, "from"), "from") : 0;
    return {200, "application/json", cache.study_text(query_value(query, "name"), states, from)};
  }
  if (path == "/api/trial") {
    int64_t number = parse_trial_number(query_value(query, "number"), "number");
    return json_response(trial_json(cache.storage(), query_value(query, "study"), number));
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

Json studies_json(Storage& storage) { return DashboardCache(unowned(storage)).studies(); }

Json study_json(Storage& storage, const std::string& study_name,
                const std::vector<TrialState>& states, int64_t from_number,
                bool trial_distributions) {
  DashboardCache cache(unowned(storage),
                       DashboardCacheOptions().trial_distributions(trial_distributions));
  return Json::parse(cache.study_text(study_name, states, from_number));
}

Json trial_json(Storage& storage, const std::string& study_name, int64_t number) {
  int64_t study_id = detail::find_study_id(storage, study_name);
  int64_t trial_id = -1;
  try {
    trial_id = storage.trial_id_from_number(study_id, number);
  } catch (const NotFound&) {
    throw NotFound(
        detail::invalid_message("number", number, "study '" + study_name + "' has no such trial"));
  }
  Json out = Json::object();
  out["study"] = study_name;
  out["directions"] = detail::directions_json(storage.study_directions(study_id));
  Json trial = detail::dashboard_trial(storage.trial(trial_id));
  for (auto& [key, value] : trial.items()) out[key] = std::move(value);
  return out;
}

HttpResponse handle_dashboard_get(DashboardCache& cache, const std::string& path,
                                  const std::multimap<std::string, std::string>& query) {
  try {
    return route(cache, path, query);
  } catch (const InvalidArgument& e) {
    return error_response(400, e.what());
  } catch (const NotFound& e) {
    return error_response(404, e.what());
  } catch (const std::exception& e) {
    return error_response(500, e.what());
  }
}

HttpResponse handle_dashboard_get(Storage& storage, const std::string& path,
                                  const std::multimap<std::string, std::string>& query) {
  DashboardCache cache(unowned(storage));
  return handle_dashboard_get(cache, path, query);
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
