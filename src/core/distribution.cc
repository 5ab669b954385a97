#include "knob/core/distribution.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>

#include "knob/core/error.h"

namespace knob {
namespace {

std::string number_text(double x) { return dumps(Json(x)); }

bool is_nan(const ParamValue& v) {
  const double* d = std::get_if<double>(&v);
  return d && std::isnan(*d);
}

// Python-like equality for categorical choices: 1 == 1.0 == True, "a" == "a", None == None,
// and NaN == NaN as Optuna's _categorical_choice_equal has it.
bool choices_equal(const ParamValue& a, const ParamValue& b) {
  if (is_nan(a) && is_nan(b)) return true;
  if (a.index() == b.index()) return a == b;
  bool a_num =
      !std::holds_alternative<std::string>(a) && !std::holds_alternative<std::monostate>(a);
  bool b_num =
      !std::holds_alternative<std::string>(b) && !std::holds_alternative<std::monostate>(b);
  return a_num && b_num && as_double(a) == as_double(b);
}

// Optuna rounds high onto the step grid and decides single() in decimal arithmetic on each
// number's shortest text (Decimal(str(x))): 3 * Decimal("0.3333333333333333") is
// 0.9999999999999999, where binary arithmetic gives 1.0. An exact decimal mantissa * 10^exponent
// (at most 17 digits from the shortest text) aligned with others onto the smallest exponent
// fits in 128 bits while the numbers span at most 20 decimal orders of magnitude.
struct Decimal {
  __int128 mantissa = 0;
  int exponent = 0;
};

Decimal to_decimal(double x) {
  char text[64];
  *std::to_chars(text, text + sizeof text - 1, x, std::chars_format::scientific).ptr = '\0';
  Decimal d;
  const char* p = text + (text[0] == '-');
  int fraction_digits = 0;
  bool after_point = false;
  for (; *p != 'e'; ++p) {
    if (*p == '.') {
      after_point = true;
      continue;
    }
    d.mantissa = d.mantissa * 10 + (*p - '0');
    fraction_digits += after_point;
  }
  d.exponent = std::atoi(p + 1) - fraction_digits;
  if (text[0] == '-') d.mantissa = -d.mantissa;
  return d;
}

// Rescales the numbers onto their smallest exponent; false if that could overflow.
bool align(std::initializer_list<Decimal*> numbers) {
  int exponent = (*numbers.begin())->exponent;
  for (Decimal* d : numbers) exponent = std::min(exponent, d->exponent);
  for (Decimal* d : numbers) {
    if (d->exponent - exponent > 20) return false;
    for (; d->exponent > exponent; --d->exponent) d->mantissa *= 10;
  }
  return true;
}

double to_double(Decimal d) {
  bool negative = d.mantissa < 0;
  unsigned __int128 m = negative ? -static_cast<unsigned __int128>(d.mantissa) : d.mantissa;
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(m % 10)));
    m /= 10;
  } while (m != 0);
  std::string text = (negative ? "-" : "") + digits + "e" + std::to_string(d.exponent);
  return std::strtod(text.c_str(), nullptr);
}

// Optuna's _adjust_discrete_uniform_high: high rounded down onto low + k*step.
double adjust_high_onto_grid(double low, double high, double step) {
  Decimal l = to_decimal(low), h = to_decimal(high), s = to_decimal(step);
  if (align({&l, &h, &s})) {
    __int128 range = h.mantissa - l.mantissa;  // >= 0 and step > 0
    if (range % s.mantissa == 0) return high;
    return to_double({range / s.mantissa * s.mantissa + l.mantissa, l.exponent});
  }
  // Beyond 128 bits: binary arithmetic; the tolerance absorbs (0.3-0.1)/0.1 = 1.999...
  double k = std::floor((high - low) / step + 1e-9);
  char text[32];
  std::snprintf(text, sizeof text, "%.15g", low + k * step);
  return std::min(std::strtod(text, nullptr), high);  // never widen the range
}

}  // namespace

FloatDistribution::FloatDistribution(double low_, double high_, bool log_,
                                     std::optional<double> step_)
    : low(low_), high(high_), log(log_), step(step_) {
  KNOB_CHECK(std::isfinite(low), "low", low, "must be a finite number");
  KNOB_CHECK(std::isfinite(high), "high", high, "must be a finite number");
  KNOB_CHECK(low <= high, "low", low, "must be <= high (" + number_text(high) + ")");
  KNOB_CHECK(!(log && step), "step", *step, "must be unset when log is true");
  KNOB_CHECK(!log || low > 0.0, "low", low, "must be > 0 when log is true");
  if (step) {
    KNOB_CHECK(*step > 0.0 && std::isfinite(*step), "step", *step, "must be > 0");
    high = adjust_high_onto_grid(low, high, *step);
  }
}

IntDistribution::IntDistribution(int64_t low_, int64_t high_, bool log_, int64_t step_)
    : low(low_), high(high_), log(log_), step(step_) {
  KNOB_CHECK(low <= high, "low", low, "must be <= high (" + std::to_string(high) + ")");
  KNOB_CHECK(step >= 1, "step", step, "must be >= 1");
  KNOB_CHECK(!log || step == 1, "step", step, "must be 1 when log is true");
  KNOB_CHECK(!log || low >= 1, "low", low, "must be >= 1 when log is true");
  // In unsigned arithmetic: high - low may not fit in int64_t.
  const auto span = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  const auto grid = span / static_cast<uint64_t>(step) * static_cast<uint64_t>(step);
  high = static_cast<int64_t>(static_cast<uint64_t>(low) + grid);
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
  KNOB_CHECK(
      !std::holds_alternative<std::string>(value) && !std::holds_alternative<std::monostate>(value),
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
    if (!f->step) return false;
    Decimal l = to_decimal(f->low), h = to_decimal(f->high), s = to_decimal(*f->step);
    if (align({&l, &h, &s})) return h.mantissa - l.mantissa < s.mantissa;  // as Optuna: decimal
    return (f->high - f->low) < *f->step;
  }
  if (const auto* i = std::get_if<IntDistribution>(&distribution)) {
    const auto span = static_cast<uint64_t>(i->high) - static_cast<uint64_t>(i->low);
    return i->low == i->high || (!i->log && span < static_cast<uint64_t>(i->step));
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
  // [-2^63, 2^63): what an int64 holds (a larger double does not convert).
  KNOB_CHECK(x == std::round(x) && x >= -9223372036854775808.0 && x < 9223372036854775808.0,
             field + ".attributes." + key, x, "must be an integer within the range of int64");
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
    // Optuna passes step on to IntDistribution(log=True, step=...), which refuses step != 1.
    return IntDistribution(int_attr(a, "low", field, 0), int_attr(a, "high", field, 0), true,
                           int_attr(a, "step", field, 1));
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
    // Python compares the choice tuples: (1, 2) == (1.0, 2.0), NaN equals NaN (Optuna).
    const auto& r = std::get<CategoricalDistribution>(requested);
    if (c->choices.size() != r.choices.size() ||
        !std::equal(c->choices.begin(), c->choices.end(), r.choices.begin(), choices_equal)) {
      throw_invalid(field, distribution_to_json(requested),
                    "was already suggested with other choices (" + distribution_to_json(existing) +
                        "); categorical choices cannot change within a study");
    }
    return;
  }
  bool old_log = std::visit(
      [](const auto& d) {
        if constexpr (requires { d.log; })
          return d.log;
        else
          return false;
      },
      existing);
  bool new_log = std::visit(
      [](const auto& d) {
        if constexpr (requires { d.log; })
          return d.log;
        else
          return false;
      },
      requested);
  if (old_log != new_log) {
    throw_invalid(field + " log", new_log,
                  std::string("was already suggested with log = ") + (old_log ? "true" : "false") +
                      "; the log flag cannot change within a study");
  }
}

}  // namespace knob
