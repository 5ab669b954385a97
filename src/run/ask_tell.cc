#include "knob/run/ask_tell.h"

#include <cmath>

#include "knob/core/error.h"
#include "knob/run/study_config.h"
#include "knob/run/warm_start.h"
#include "knob/storage/open_storage.h"
#include "knob/tuner/study.h"
#include "knob/tuner/study_transfer.h"

namespace knob::run {
namespace {

constexpr const char* kAskSamplers = "random, tpe, qmc, gp or cmaes";

// The sampler from --sampler and --sampler-kwargs, read as a study file's [study] table
// would be (the same names, defaults and checks).
std::shared_ptr<Sampler> sampler_from_flags(const std::string& name, const std::string& kwargs) {
  KNOB_CHECK(!name.empty() || kwargs.empty(), "--sampler-kwargs", kwargs,
             "needs --sampler (" + std::string(kAskSamplers) + ")");
  if (name.empty()) return nullptr;
  KNOB_CHECK(name == "random" || name == "tpe" || name == "qmc" || name == "gp" || name == "cmaes",
             "--sampler", name, std::string("must be ") + kAskSamplers);
  std::string toml = "[study]\nsampler = " + dumps(Json(name)) + "\n";
  std::string options;
  if (!kwargs.empty()) {
    const Json root = loads(kwargs, "--sampler-kwargs");
    KNOB_CHECK(root.is_object(), "--sampler-kwargs", kwargs,
               "must be a JSON object such as {\"seed\": 1, \"n_startup_trials\": 5}");
    for (const auto& [key, value] : root.items()) {
      KNOB_CHECK(!value.is_object() && !value.is_null(), "--sampler-kwargs." + key, dumps(value),
                 "must be a number, string, bool or list");
      (key == "seed" ? toml : options) += dumps(Json(key)) + " = " + dumps(value) + "\n";
    }
  }
  if (!options.empty()) toml += "[study." + name + "]\n" + options;
  return make_sampler(parse_study_config(toml, "--sampler-kwargs"));
}

std::string python_repr(const ParamValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) return "'" + *s + "'";
  if (std::holds_alternative<double>(value)) return dumps(to_json(value));
  return to_string(value);
}

std::string yaml_scalar(const ParamValue& value) {
  if (std::holds_alternative<std::monostate>(value)) return "null";
  if (const auto* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  if (const auto* d = std::get_if<double>(&value)) {
    if (std::isnan(*d)) return ".nan";
    if (std::isinf(*d)) return *d > 0 ? ".inf" : "-.inf";
  }
  return dumps(to_json(value));
}

// Optuna CLI's table: +---+ rules, numbers right-aligned.
std::string box_table(const std::vector<std::string>& header, const std::vector<std::string>& row,
                      const std::vector<bool>& numeric) {
  std::string rule = "+", head = "|", cells = "|";
  for (size_t i = 0; i < header.size(); ++i) {
    const size_t width = std::max(header[i].size(), row[i].size());
    rule += std::string(width + 2, '-') + "+";
    auto pad = [&](const std::string& text) {
      const std::string fill(width - text.size(), ' ');
      return " " + (numeric[i] ? fill + text : text + fill) + " |";
    };
    head += pad(header[i]);
    cells += pad(row[i]);
  }
  return rule + "\n" + head + "\n" + rule + "\n" + cells + "\n" + rule + "\n";
}

}  // namespace

AskedTrial ask(const AskOptions& o) {
  std::shared_ptr<Sampler> sampler = sampler_from_flags(o.sampler(), o.sampler_kwargs());
  std::vector<std::pair<std::string, Distribution>> space;
  if (!o.search_space().empty()) space = parse_search_space_json(o.search_space());
  check_sqlite_file_exists(o.storage());
  Study study =
      open_named_study(open_storage(o.storage()), o.study_name(), "--study-name", sampler);
  const auto known = trial_distributions(study.trials());
  for (const auto& [name, d] : space) {
    if (auto k = known.find(name); k != known.end()) {
      try {
        check_compatible(name, k->second, d);
      } catch (const InvalidArgument& e) {
        throw InvalidArgument("--search-space." + name + ": " + e.what());
      }
    }
  }
  Trial trial = study.ask();
  AskedTrial asked;
  asked.number = trial.number();
  for (const auto& [name, d] : space) asked.params.emplace_back(name, trial.suggest(name, d));
  return asked;
}

std::string format_asked(const AskedTrial& t, const std::string& format, bool flatten) {
  const std::string number = std::to_string(t.number);
  if (format == "json") {
    Json out = Json::object();
    out["number"] = t.number;
    Json params = Json::object();
    for (const auto& [name, value] : t.params) {
      (flatten ? out["params_" + name] : params[name]) = to_json(value);
    }
    if (!flatten || t.params.empty()) out["params"] = std::move(params);
    return dumps(out) + "\n";
  }
  if (format == "yaml") {  // yaml.safe_dump: keys sorted
    std::vector<std::pair<std::string, ParamValue>> sorted(t.params.begin(), t.params.end());
    std::sort(sorted.begin(), sorted.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string out = "number: " + number + "\n";
    if (flatten && !sorted.empty()) {
      for (const auto& [name, value] : sorted)
        out += "params_" + name + ": " + yaml_scalar(value) + "\n";
      return out;
    }
    if (sorted.empty()) return out + "params: {}\n";
    out += "params:\n";
    for (const auto& [name, value] : sorted) out += "  " + name + ": " + yaml_scalar(value) + "\n";
    return out;
  }
  std::vector<std::string> header = {"number"}, row = {number};
  std::vector<bool> numeric = {true};
  if (flatten && !t.params.empty()) {
    for (const auto& [name, value] : t.params) {
      header.push_back("params_" + name);
      row.push_back(to_string(value));
      numeric.push_back(!std::holds_alternative<std::string>(value));
    }
  } else {
    std::string dict = "{";
    for (const auto& [name, value] : t.params) {
      dict += (dict.size() > 1 ? ", '" : "'") + name + "': " + python_repr(value);
    }
    header.push_back("params");
    row.push_back(dict + "}");
    numeric.push_back(false);
  }
  if (format == "value") {
    std::string line;
    for (const auto& cell : row) line += (line.empty() ? "" : " ") + cell;
    return line + "\n";
  }
  KNOB_CHECK(format == "table", "--format", format, "must be json, yaml, table or value");
  return box_table(header, row, numeric);
}

ToldTrial tell(const TellOptions& o) {
  KNOB_CHECK(o.trial_number().has_value(), "--trial-number", std::string("(not given)"),
             "must name the trial to finish (the \"number\" `knob ask` printed)");
  KNOB_CHECK(
      o.state().empty() || o.state() == "complete" || o.state() == "pruned" || o.state() == "fail",
      "--state", o.state(), "must be complete, pruned or fail");
  const TrialState state = o.state().empty() || o.state() == "complete" ? TrialState::kComplete
                           : o.state() == "pruned"                      ? TrialState::kPruned
                                                                        : TrialState::kFail;
  std::string values_text;
  for (double v : o.values()) values_text += (values_text.empty() ? "" : " ") + dumps(Json(v));
  if (state != TrialState::kComplete) {
    KNOB_CHECK(o.values().empty(), "--values", values_text,
               "must not be given with --state " + o.state() + " (only complete takes values)");
  }
  check_sqlite_file_exists(o.storage());
  std::shared_ptr<Storage> storage = open_storage(o.storage());
  Study study = open_named_study(storage, o.study_name());
  int64_t trial_id;
  try {
    trial_id = storage->trial_id_from_number(study.study_id(), *o.trial_number());
  } catch (const NotFound&) {
    throw_invalid("--trial-number", *o.trial_number(),
                  "study '" + o.study_name() + "' has no trial of this number");
  }
  FrozenTrial stored = storage->trial(trial_id);
  if (is_finished(stored.state)) {
    if (o.skip_if_finished()) return {true, stored};
    throw_invalid("--trial-number", *o.trial_number(),
                  "the trial has already finished as " + to_string(stored.state) +
                      "; it cannot be told again (--skip-if-finished accepts this)");
  }
  KNOB_CHECK(stored.state == TrialState::kRunning, "--trial-number", *o.trial_number(),
             "the trial is " + to_string(stored.state) + ": only a RUNNING trial (asked) is told");
  if (state == TrialState::kComplete) {
    const size_t n = study.directions().size();
    KNOB_CHECK(o.values().size() == n, "--values",
               values_text.empty() ? std::string("(none)") : values_text,
               "the study has " + std::to_string(n) + " direction(s): give " + std::to_string(n) +
                   " value(s), or --state pruned|fail");
    for (double v : o.values()) {
      KNOB_CHECK(!std::isnan(v), "--values", values_text, "must not be NaN (tell --state fail)");
    }
  }
  return {false, study.tell(*o.trial_number(), state, o.values())};
}

}  // namespace knob::run
