#include "knob/run/trial_file.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "knob/core/error.h"
#include "knob/core/text_file.h"

namespace knob::run {
namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

// RFC 4180 rows (quoted fields may hold commas, quotes and newlines), each with the line it
// starts on.
std::vector<std::pair<size_t, std::vector<std::string>>> split_csv(const std::string& text,
                                                                   const std::string& origin) {
  std::vector<std::pair<size_t, std::vector<std::string>>> rows;
  std::vector<std::string> row;
  std::string field;
  size_t line = 1, row_line = 1;
  bool quoted = false, any = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && field.empty()) {
      quoted = any = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (any || !field.empty()) {
        row.push_back(std::move(field));
        rows.emplace_back(row_line, std::move(row));
      }
      field.clear();
      row.clear();
      any = false;
      row_line = ++line;
    } else {
      field += c;
      any = true;
    }
  }
  if (quoted)
    throw_invalid(origin + " line " + std::to_string(row_line), field,
                  "has a quote that is never closed");
  if (any || !field.empty()) {
    row.push_back(std::move(field));
    rows.emplace_back(row_line, std::move(row));
  }
  return rows;
}

// A number as Python and knob write them: 0.5, 1e-05, NaN, Infinity, -inf.
std::optional<double> read_number(const std::string& text) {
  if (text == "NaN" || text == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (text == "Infinity" || text == "inf") return std::numeric_limits<double>::infinity();
  if (text == "-Infinity" || text == "-inf") return -std::numeric_limits<double>::infinity();
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double x = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || errno == ERANGE) return std::nullopt;
  return x;
}

// A CSV cell of parameter `name` (as Python's str() wrote it) in its distribution's terms.
double read_param_cell(const std::string& text, const Distribution& d, const std::string& field) {
  if (const auto* c = std::get_if<CategoricalDistribution>(&d)) {
    for (size_t i = 0; i < c->choices.size(); ++i) {
      if (to_string(c->choices[i]) == text) return static_cast<double>(i);
    }
    throw_invalid(field, text, "must be one of the choices " + distribution_to_json(d));
  }
  auto x = read_number(text);
  KNOB_CHECK(x.has_value(), field, text, "must be a number (" + distribution_name(d) + ")");
  if (std::holds_alternative<IntDistribution>(d)) {
    KNOB_CHECK(std::isfinite(*x) && *x == std::floor(*x), field, text,
               "must be an integer (IntDistribution)");
  }
  return *x;
}

TimePoint read_time(const std::string& text, const std::string& field) {
  auto time = parse_datetime(text);
  KNOB_CHECK(time.has_value(), field, text, "must be a time as YYYY-MM-DD HH:MM:SS[.ffffff]");
  return *time;
}

const Distribution& known_distribution(const std::map<std::string, Distribution>& known,
                                       const std::string& name, const std::string& field) {
  auto it = known.find(name);
  if (it == known.end()) {
    throw_invalid(field, name,
                  "has no known distribution: the study has no trial with this parameter; give "
                  "it with --search-space '{\"" +
                      name + "\": <Optuna distribution JSON>}'");
  }
  return it->second;
}

FrozenTrial trial_from_json(const Json& j, const std::string& where,
                            const std::map<std::string, Distribution>& known) {
  const std::string at = where + ".";
  KNOB_CHECK(j.is_object(), where, dumps(j), "must be a trial object");
  FrozenTrial t;
  KNOB_CHECK(j.contains("state") && j["state"].is_string(), at + "state",
             j.contains("state") ? dumps(j["state"]) : std::string("(missing)"),
             "must be COMPLETE, PRUNED or FAIL");
  t.state = parse_trial_state(j["state"].get<std::string>(), at + "state");
  if (j.contains("values") && !j["values"].is_null()) {
    const Json& v = j["values"];
    KNOB_CHECK(v.is_array(), at + "values", dumps(v), "must be a list of numbers or null");
    for (const auto& x : v) {
      KNOB_CHECK(x.is_number(), at + "values", dumps(v), "must be a list of numbers or null");
      t.values.push_back(x.get<double>());
    }
  }
  const Json params = j.value("params", Json::object());
  const Json dists = j.value("distributions", Json::object());
  KNOB_CHECK(params.is_object(), at + "params", dumps(params), "must be an object");
  KNOB_CHECK(dists.is_object(), at + "distributions", dumps(dists), "must be an object");
  for (const auto& [name, value] : params.items()) {
    const std::string field = at + "params." + name;
    Distribution d = dists.contains(name)
                         ? json_to_distribution(dumps(dists[name]), at + "distributions." + name)
                         : known_distribution(known, name, field);
    t.internal_params[name] = to_internal(d, param_value_from_json(value, field), field);
    t.distributions.insert_or_assign(name, d);
  }
  for (const auto& [name, d] : dists.items()) {
    KNOB_CHECK(params.contains(name), at + "distributions." + name, dumps(d),
               "has no value in params");
  }
  if (j.contains("intermediate_values") && !j["intermediate_values"].is_null()) {
    const Json& iv = j["intermediate_values"];
    KNOB_CHECK(iv.is_object(), at + "intermediate_values", dumps(iv),
               "must be an object of step: value");
    for (const auto& [step, value] : iv.items()) {
      const std::string field = at + "intermediate_values." + step;
      char* end = nullptr;
      const long long s = std::strtoll(step.c_str(), &end, 10);
      KNOB_CHECK(!step.empty() && *end == '\0' && s >= 0, field, step,
                 "the step must be an integer >= 0");
      KNOB_CHECK(value.is_number(), field, dumps(value), "must be a number");
      t.intermediate_values[s] = value.get<double>();
    }
  }
  for (const char* key : {"user_attrs", "system_attrs"}) {
    if (!j.contains(key) || j[key].is_null()) continue;
    KNOB_CHECK(j[key].is_object(), at + key, dumps(j[key]), "must be an object");
    auto& attrs = std::string(key) == "user_attrs" ? t.user_attrs : t.system_attrs;
    for (const auto& [k, v] : j[key].items()) attrs[k] = v;
  }
  for (const char* key : {"datetime_start", "datetime_complete"}) {
    if (!j.contains(key) || j[key].is_null()) continue;
    KNOB_CHECK(j[key].is_string(), at + key, dumps(j[key]), "must be a time string or null");
    TimePoint time = read_time(j[key].get<std::string>(), at + key);
    (std::string(key) == "datetime_start" ? t.datetime_start : t.datetime_complete) = time;
  }
  return t;
}

}  // namespace

std::vector<TrialFileRow> parse_trials_json(const std::string& text, const std::string& origin,
                                            const std::map<std::string, Distribution>& known) {
  const Json root = loads(text, origin);
  const Json* list = &root;
  if (root.is_object()) {
    KNOB_CHECK(root.contains("trials"), origin, std::string("{...}"),
               "must hold \"trials\": [...] (as `knob study export --format json` writes) or "
               "be a list of trials");
    list = &root["trials"];
  }
  KNOB_CHECK(list->is_array(), origin + " trials", dumps(*list), "must be a list of trials");
  std::vector<TrialFileRow> rows;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string where = origin + " trials[" + std::to_string(i) + "]";
    rows.push_back({trial_from_json((*list)[i], where, known), where});
  }
  return rows;
}

std::vector<TrialFileRow> parse_trials_csv(const std::string& text, const std::string& origin,
                                           size_t n_objectives,
                                           const std::map<std::string, Distribution>& known) {
  const auto lines = split_csv(text, origin);
  KNOB_CHECK(!lines.empty(), origin, std::string(""), "is empty: it needs a header row");
  const std::vector<std::string>& header = lines.front().second;
  std::vector<std::string> value_columns;
  if (n_objectives == 1) {
    value_columns = {"value"};
  } else {
    for (size_t i = 0; i < n_objectives; ++i)
      value_columns.push_back("values_" + std::to_string(i));
  }
  std::map<std::string, size_t> column;
  for (size_t i = 0; i < header.size(); ++i) {
    const std::string& h = header[i];
    const bool known_column =
        h.empty() || h == "number" || h == "duration" || h == "state" || h == "datetime_start" ||
        h == "datetime_complete" || starts_with(h, "params_") || starts_with(h, "user_attrs_") ||
        starts_with(h, "system_attrs_") ||
        std::find(value_columns.begin(), value_columns.end(), h) != value_columns.end();
    KNOB_CHECK(
        known_column, origin + " header column " + std::to_string(i + 1), h,
        "must be one of " +
            [&] {
              std::string v;
              for (const auto& c : value_columns) v += c + ", ";
              return v;
            }() +
            "params_<name>, user_attrs_<key>, state, datetime_start, "
            "datetime_complete, number, duration");
    KNOB_CHECK(!column.count(h) || h.empty(), origin + " header", h, "names a column twice");
    column[h] = i;
  }
  for (const auto& v : value_columns) {
    KNOB_CHECK(column.count(v), origin + " header", std::string("(no " + v + " column)"),
               "must have the column " + v + " (the study has " + std::to_string(n_objectives) +
                   " objective(s))");
  }
  std::vector<TrialFileRow> rows;
  for (size_t r = 1; r < lines.size(); ++r) {
    // Named, not a structured binding: clang 14 cannot capture one in the lambda below.
    const size_t line = lines[r].first;
    const auto& cells = lines[r].second;
    const std::string where = origin + " line " + std::to_string(line);
    KNOB_CHECK(cells.size() == header.size(), where, std::to_string(cells.size()) + " fields",
               "must have " + std::to_string(header.size()) + ", one per header column");
    auto cell = [&](const std::string& name) -> const std::string& { return cells[column[name]]; };
    FrozenTrial t;
    t.state = column.count("state") && !cell("state").empty()
                  ? parse_trial_state(cell("state"), where + " state")
                  : TrialState::kComplete;
    for (const auto& v : value_columns) {
      if (cell(v).empty()) continue;
      auto x = read_number(cell(v));
      KNOB_CHECK(x.has_value(), where + " " + v, cell(v), "must be a number");
      t.values.push_back(*x);
    }
    KNOB_CHECK(t.values.empty() || t.values.size() == value_columns.size(), where + " values",
               std::to_string(t.values.size()) + " given",
               "must be all " + std::to_string(value_columns.size()) + " or none");
    for (const auto& [name, index] : column) {
      const std::string& text = cells[index];
      if (starts_with(name, "params_") && !text.empty()) {
        const std::string param = name.substr(7);
        const std::string field = where + " " + name;
        const Distribution& d = known_distribution(known, param, field);
        t.internal_params[param] = read_param_cell(text, d, field);
        t.distributions.insert_or_assign(param, d);
      } else if (starts_with(name, "user_attrs_") && !text.empty()) {
        Json value;
        try {
          value = loads(text);
        } catch (const InvalidArgument&) {
          value = text;
        }
        t.user_attrs[name.substr(11)] = value;
      } else if ((name == "datetime_start" || name == "datetime_complete") && !text.empty()) {
        (name == "datetime_start" ? t.datetime_start : t.datetime_complete) =
            read_time(text, where + " " + name);
      }
    }
    rows.push_back({std::move(t), where});
  }
  return rows;
}

std::vector<TrialFileRow> read_trial_file(const std::string& path, size_t n_objectives,
                                          const std::map<std::string, Distribution>& known,
                                          const std::string& field) {
  if (ends_with(path, ".csv")) {
    return parse_trials_csv(read_text_file(path, field), path, n_objectives, known);
  }
  if (ends_with(path, ".json")) return parse_trials_json(read_text_file(path, field), path, known);
  throw_invalid(field, path,
                "must be a .csv or .json file (as `knob study export --format csv|json` writes)");
}

}  // namespace knob::run
