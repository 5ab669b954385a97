#include "knob/core/distribution.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "knob/core/error.h"

namespace knob {
namespace {

std::string number_text(double x) { return dumps(Json(x)); }

// Python-like equality for categorical choices: 1 == 1.0 == True, "a" == "a", None == None.
bool choices_equal(const ParamValue& a, const ParamValue& b) {
  if (a.index() == b.index()) return a == b;
  bool a_num = !std::holds_alternative<std::string>(a) && !std::holds_alternative<std::monostate>(a);
  bool b_num = !std::holds_alternative<std::string>(b) && !std::holds_alternative<std::monostate>(b);
  return a_num && b_num && as_double(a) == as_double(b);
}

}  // namespace

FloatDistribution::FloatDistribution(double low_, double high_, bool log_, std::optional<double> step_)
    : low(low_), high(high_), log(log_), step(step_) {
  KNOB_CHECK(std::isfinite(low), "low", low, "must be a finite number");
  KNOB_CHECK(std::isfinite(high), "high", high, "must be a finite number");
  KNOB_CHECK(low <= high, "low", low, "must be <= high (" + number_text(high) + ")");
  KNOB_CHECK(!(log && step), "step", *step, "must be unset when log is true");
  KNOB_CHECK(!log || low > 0.0, "low", low, "must be > 0 when log is true");
  if (step) {
    KNOB_CHECK(*step > 0.0 && std::isfinite(*step), "step", *step, "must be > 0");
    // Round high down onto the grid low + k*step; the tolerance absorbs (0.3-0.1)/0.1 = 1.999...
    // Optuna does this in decimal arithmetic; 15 significant digits give the same result
    // (0 + 3 * 0.3 is 0.9, not 0.8999999999999999).
    double k = std::floor((high - low) / *step + 1e-9);
    char text[32];
    std::snprintf(text, sizeof text, "%.15g", low + k * *step);
    high = std::min(std::strtod(text, nullptr), high_);  // never widen the range
  }
}

IntDistribution::IntDistribution(int64_t low_, int64_t high_, bool log_, int64_t step_)
    : low(low_), high(high_), log(log_), step(step_) {
  KNOB_CHECK(low <= high, "low", low, "must be <= high (" + std::to_string(high) + ")");
  KNOB_CHECK(step >= 1, "step", step, "must be >= 1");
  KNOB_CHECK(!log || step == 1, "step", step, "must be 1 when log is true");
  KNOB_CHECK(!log || low >= 1, "low", low, "must be >= 1 when log is true");
  high = low + (high - low) / step * step;
}

CategoricalDistribution::CategoricalDistribution(std::vector<ParamValue> choices_)
    : choices(std::move(choices_)) {
  KNOB_CHECK(!choices.empty(), "choices", std::string("[]"), "must hold at least one choice");
}

int64_t CategoricalDistribution::index_of(const ParamValue& value) const {
  for (size_t i = 0; i < choices.size(); ++i) {
    if (choices[i] == value) return static_cast<int64_t>(i);
  }
  for (size_t i = 0; i < choices.size(); ++i) {
    if (choices_equal(choices[i], value)) return static_cast<int64_t>(i);
  }
  return -1;
}

std::string distribution_name(const Distribution& distribution) {
  static const char* const kNames[] = {"FloatDistribution", "IntDistribution",
                                       "CategoricalDistribution"};
  return kNames[distribution.index()];
}

double to_internal(const Distribution& distribution, const ParamValue& value,
                   const std::string& field) {
  if (const auto* c = std::get_if<CategoricalDistribution>(&distribution)) {
    int64_t index = c->index_of(value);
    if (index < 0) {
      Json choices = Json::array();
      for (const auto& choice : c->choices) choices.push_back(to_json(choice));
      throw_invalid(field, to_string(value), "must be one of " + dumps(choices));
    }
    return static_cast<double>(index);
  }
  KNOB_CHECK(!std::holds_alternative<std::string>(value) &&
                 !std::holds_alternative<std::monostate>(value),
             field, to_string(value), "must be a number");
  double x = as_double(value, field);
  KNOB_CHECK(!std::isnan(x), field, x, "must not be NaN");
  return x;
}

ParamValue to_external(const Distribution& distribution, double internal) {
  if (std::holds_alternative<IntDistribution>(distribution)) {
    return static_cast<int64_t>(std::llround(internal));
  }
  if (const auto* c = std::get_if<CategoricalDistribution>(&distribution)) {
    auto index = static_cast<int64_t>(internal);
    if (index < 0 || index >= static_cast<int64_t>(c->choices.size())) {
      throw_invalid("categorical index", index,
                    "must be in [0, " + std::to_string(c->choices.size()) + ")");
    }
    return c->choices[index];
  }
  return internal;
}

bool contains(const Distribution& distribution, double x) {
  if (const auto* f = std::get_if<FloatDistribution>(&distribution)) {
    if (!(f->low <= x && x <= f->high)) return false;
    if (!f->step) return true;
    double k = (x - f->low) / *f->step;
    return std::abs(k - std::round(k)) < 1e-8;
  }
  if (const auto* i = std::get_if<IntDistribution>(&distribution)) {
    if (!(i->low <= x && x <= i->high) || x != std::round(x)) return false;
    return (static_cast<int64_t>(x) - i->low) % i->step == 0;
  }
  const auto& c = std::get<CategoricalDistribution>(distribution);
  return x == std::round(x) && 0 <= x && x < static_cast<double>(c.choices.size());
}

bool is_single(const Distribution& distribution) {
  if (const auto* f = std::get_if<FloatDistribution>(&distribution)) {
    if (f->low == f->high) return true;
    return f->step && (f->high - f->low) < *f->step;
  }
  if (const auto* i = std::get_if<IntDistribution>(&distribution)) {
    return i->low == i->high || (!i->log && i->high - i->low < i->step);
  }
  return std::get<CategoricalDistribution>(distribution).choices.size() == 1;
}

std::string distribution_to_json(const Distribution& distribution) {
  Json attributes = Json::object();
  if (const auto* f = std::get_if<FloatDistribution>(&distribution)) {
    attributes["step"] = f->step ? Json(*f->step) : Json(nullptr);
    attributes["low"] = f->low;
    attributes["high"] = f->high;
    attributes["log"] = f->log;
  } else if (const auto* i = std::get_if<IntDistribution>(&distribution)) {
    attributes["log"] = i->log;
    attributes["step"] = i->step;
    attributes["low"] = i->low;
    attributes["high"] = i->high;
  } else {
    Json choices = Json::array();
    for (const auto& choice : std::get<CategoricalDistribution>(distribution).choices) {
      choices.push_back(to_json(choice));
    }
    attributes["choices"] = std::move(choices);
  }
  Json out = Json::object();
  out["name"] = distribution_name(distribution);
  out["attributes"] = std::move(attributes);
  return dumps(out);
}

namespace {

double number_attr(const Json& attributes, const char* key, const std::string& field) {
  if (!attributes.contains(key) || !attributes[key].is_number()) {
    throw_invalid(field + ".attributes." + key,
                  attributes.contains(key) ? dumps(attributes[key]) : std::string("(missing)"),
                  "must be a number");
  }
  return attributes[key].get<double>();
}

int64_t int_attr(const Json& attributes, const char* key, const std::string& field,
                 int64_t fallback) {
  if (!attributes.contains(key) || attributes[key].is_null()) return fallback;
  double x = number_attr(attributes, key, field);
  KNOB_CHECK(x == std::round(x), field + ".attributes." + key, x, "must be an integer");
  return static_cast<int64_t>(x);
}

bool bool_attr(const Json& attributes, const char* key) {
  return attributes.contains(key) && attributes[key].is_boolean() && attributes[key].get<bool>();
}

}  // namespace

Distribution json_to_distribution(const std::string& text, const std::string& field) {
  Json json = loads(text, field);
  if (!json.is_object() || !json.contains("name") || !json["name"].is_string() ||
      !json.contains("attributes") || !json["attributes"].is_object()) {
    throw_invalid(field, text, "must be an object {\"name\": ..., \"attributes\": {...}}");
  }
  const std::string name = json["name"];
  const Json& a = json["attributes"];
  if (name == "FloatDistribution") {
    std::optional<double> step;
    if (a.contains("step") && !a["step"].is_null()) step = number_attr(a, "step", field);
    return FloatDistribution(number_attr(a, "low", field), number_attr(a, "high", field),
                             bool_attr(a, "log"), step);
  }
  if (name == "IntDistribution") {
    return IntDistribution(int_attr(a, "low", field, 0), int_attr(a, "high", field, 0),
                           bool_attr(a, "log"), int_attr(a, "step", field, 1));
  }
  if (name == "CategoricalDistribution") {
    if (!a.contains("choices") || !a["choices"].is_array()) {
      throw_invalid(field + ".attributes.choices", text, "must be an array");
    }
    std::vector<ParamValue> choices;
    for (const auto& choice : a["choices"]) {
      choices.push_back(param_value_from_json(choice, field + ".attributes.choices"));
    }
    return CategoricalDistribution(std::move(choices));
  }
  // Pre-3.0 Optuna names, still found in old databases.
  if (name == "UniformDistribution") {
    return FloatDistribution(number_attr(a, "low", field), number_attr(a, "high", field));
  }
  if (name == "LogUniformDistribution") {
    return FloatDistribution(number_attr(a, "low", field), number_attr(a, "high", field), true);
  }
  if (name == "DiscreteUniformDistribution") {
    return FloatDistribution(number_attr(a, "low", field), number_attr(a, "high", field), false,
                             number_attr(a, "q", field));
  }
  if (name == "IntUniformDistribution") {
    return IntDistribution(int_attr(a, "low", field, 0), int_attr(a, "high", field, 0), false,
                           int_attr(a, "step", field, 1));
  }
  if (name == "IntLogUniformDistribution") {
    return IntDistribution(int_attr(a, "low", field, 0), int_attr(a, "high", field, 0), true);
  }
  throw_invalid(field + ".name", name,
                "must be FloatDistribution, IntDistribution or CategoricalDistribution");
}

void check_compatible(const std::string& param_name, const Distribution& existing,
                      const Distribution& requested) {
  const std::string field = "parameter '" + param_name + "'";
  if (existing.index() != requested.index()) {
    throw_invalid(field, distribution_name(requested),
                  "was already suggested as a " + distribution_name(existing) +
                      " in this study; one name takes one kind of distribution");
  }
  if (const auto* c = std::get_if<CategoricalDistribution>(&existing)) {
    if (!(*c == std::get<CategoricalDistribution>(requested))) {
      throw_invalid(field, distribution_to_json(requested),
                    "was already suggested with other choices (" + distribution_to_json(existing) +
                        "); categorical choices cannot change within a study");
    }
    return;
  }
  bool old_log = std::visit([](const auto& d) {
    if constexpr (requires { d.log; }) return d.log; else return false;
  }, existing);
  bool new_log = std::visit([](const auto& d) {
    if constexpr (requires { d.log; }) return d.log; else return false;
  }, requested);
  if (old_log != new_log) {
    throw_invalid(field + " log", new_log,
                  std::string("was already suggested with log = ") + (old_log ? "true" : "false") +
                      "; the log flag cannot change within a study");
  }
}

}  // namespace knob
