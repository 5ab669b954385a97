#include "knob/report/export.h"

#include <cmath>
#include <set>

namespace knob {
namespace {

Json optional_time(const std::optional<TimePoint>& time) {
  return time ? Json(format_datetime(*time)) : Json(nullptr);
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv_number(double x) { return dumps(Json(x)); }

// Strict JSON has no NaN or Infinity: they become the strings "nan", "inf" and "-inf" (what
// Python's float() reads back), everywhere in `value`.
void make_strict(Json& value) {
  if (value.is_number_float()) {
    double x = value.get<double>();
    if (std::isnan(x)) {
      value = "nan";
    } else if (std::isinf(x)) {
      value = x > 0 ? "inf" : "-inf";
    }
  } else if (value.is_structured()) {
    for (auto& item : value) make_strict(item);
  }
}

}  // namespace

Json trial_to_json(const FrozenTrial& trial, bool with_distributions) {
  Json out = Json::object();
  out["number"] = trial.number;
  out["state"] = to_string(trial.state);
  out["values"] = trial.values.empty() ? Json(nullptr) : Json(trial.values);
  Json params = Json::object();
  Json distributions = Json::object();
  for (const auto& [name, value] : trial.params()) {
    params[name] = to_json(value);
    if (with_distributions) {
      distributions[name] = loads(distribution_to_json(trial.distributions.at(name)));
    }
  }
  out["params"] = std::move(params);
  if (with_distributions) out["distributions"] = std::move(distributions);
  Json intermediate = Json::object();
  for (const auto& [step, value] : trial.intermediate_values) {
    intermediate[std::to_string(step)] = value;
  }
  out["intermediate_values"] = std::move(intermediate);
  out["user_attrs"] = Json(trial.user_attrs);
  out["system_attrs"] = Json(trial.system_attrs);
  out["datetime_start"] = optional_time(trial.datetime_start);
  out["datetime_complete"] = optional_time(trial.datetime_complete);
  auto duration = trial.duration_seconds();
  out["duration"] = duration ? Json(*duration) : Json(nullptr);
  return out;
}

Json study_to_json(const std::string& study_name, const std::vector<StudyDirection>& directions,
                   const std::map<std::string, Json>& user_attrs,
                   const std::vector<FrozenTrial>& trials) {
  Json out = Json::object();
  out["study_name"] = study_name;
  Json dirs = Json::array();
  for (auto d : directions) dirs.push_back(to_string(d));
  out["directions"] = std::move(dirs);
  out["user_attrs"] = Json(user_attrs);
  Json list = Json::array();
  for (const auto& t : trials) list.push_back(trial_to_json(t));
  out["trials"] = std::move(list);
  make_strict(out);
  return out;
}

std::string trials_to_csv(const std::vector<FrozenTrial>& trials, size_t n_objectives) {
  std::set<std::string> param_names, attr_names;
  for (const auto& t : trials) {
    for (const auto& [name, v] : t.internal_params) param_names.insert(name);
    for (const auto& [name, v] : t.user_attrs) attr_names.insert(name);
  }
  std::vector<std::string> header = {"number"};
  if (n_objectives == 1) {
    header.push_back("value");
  } else {
    for (size_t i = 0; i < n_objectives; ++i) header.push_back("values_" + std::to_string(i));
  }
  for (const char* h : {"datetime_start", "datetime_complete", "duration"}) header.push_back(h);
  for (const auto& name : param_names) header.push_back("params_" + name);
  for (const auto& name : attr_names) header.push_back("user_attrs_" + name);
  header.push_back("state");

  std::string out;
  auto emit = [&out](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size(); ++i) out += (i ? "," : "") + csv_field(row[i]);
    out += "\n";
  };
  emit(header);
  for (const auto& t : trials) {
    std::vector<std::string> row = {std::to_string(t.number)};
    for (size_t i = 0; i < n_objectives; ++i) {
      row.push_back(i < t.values.size() ? csv_number(t.values[i]) : "");
    }
    row.push_back(t.datetime_start ? format_datetime(*t.datetime_start) : "");
    row.push_back(t.datetime_complete ? format_datetime(*t.datetime_complete) : "");
    auto duration = t.duration_seconds();
    row.push_back(duration ? csv_number(*duration) : "");
    auto params = t.params();
    for (const auto& name : param_names) {
      auto it = params.find(name);
      row.push_back(it == params.end() ? "" : to_string(it->second));
    }
    for (const auto& name : attr_names) {
      auto it = t.user_attrs.find(name);
      row.push_back(it == t.user_attrs.end() ? ""
                    : it->second.is_string() ? it->second.get<std::string>()
                                             : dumps(it->second));
    }
    row.push_back(to_string(t.state));
    emit(row);
  }
  return out;
}

}  // namespace knob
