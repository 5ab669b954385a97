#include "knob/run/study_config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "knob/core/error.h"
#include "knob/core/text_file.h"
#include "knob/tuner/pruners/hyperband_pruner.h"
#include "knob/tuner/pruners/median_pruner.h"
#include "knob/tuner/pruners/patient_pruner.h"
#include "knob/tuner/pruners/percentile_pruner.h"
#include "knob/tuner/pruners/successive_halving_pruner.h"
#include "knob/tuner/pruners/threshold_pruner.h"
#include "knob/tuner/samplers/cmaes_sampler.h"
#include "knob/tuner/samplers/gp_sampler.h"
#include "knob/tuner/samplers/grid_sampler.h"
#include "knob/tuner/samplers/qmc_sampler.h"
#include "knob/tuner/samplers/random_sampler.h"
#include "knob/tuner/samplers/tpe_sampler.h"

namespace knob {
namespace {

ParamValue toml_scalar(const toml::node& node, const std::string& field) {
  if (auto v = node.as_boolean()) return v->get();
  if (auto v = node.as_integer()) return v->get();
  if (auto v = node.as_floating_point()) return v->get();
  if (auto v = node.as_string()) return v->get();
  throw_invalid(field, std::string("(a table or list)"), "must be a number, bool or string");
}

double toml_number(const toml::node& node, const std::string& field) {
  if (auto v = node.as_integer()) return static_cast<double>(v->get());
  if (auto v = node.as_floating_point()) return v->get();
  throw_invalid(field, std::string("(not a number)"), "must be a number");
}

Distribution parse_param(const std::string& name, const toml::table& spec) {
  const std::string field = "search." + name;
  for (const auto& [key, value] : spec) {
    const std::string k(key.str());
    if (k != "low" && k != "high" && k != "log" && k != "step" && k != "choices" && k != "type" &&
        k != "when") {
      throw_invalid(field + "." + k, std::string("(set)"),
                    "is unknown; a parameter takes low, high, log, step, type, choices or when");
    }
  }
  if (const toml::node* choices = spec.get("choices")) {
    const toml::array* list = choices->as_array();
    KNOB_CHECK(list && !list->empty(), field + ".choices", std::string("(not a list)"),
               "must be a non-empty list");
    std::vector<ParamValue> values;
    for (const auto& item : *list) values.push_back(toml_scalar(item, field + ".choices"));
    return CategoricalDistribution(std::move(values));
  }
  const toml::node* low = spec.get("low");
  const toml::node* high = spec.get("high");
  KNOB_CHECK(low && high, field, std::string("{...}"),
             "must give low and high (a range) or choices (a list)");
  bool log = spec["log"].value_or(false);
  std::string type = spec["type"].value_or(
      std::string(low->is_integer() && high->is_integer() &&
                          (!spec.get("step") || spec.get("step")->is_integer())
                      ? "int"
                      : "float"));
  KNOB_CHECK(type == "int" || type == "float", field + ".type", type, "must be int or float");
  try {
    if (type == "int") {
      auto as_int = [&](const toml::node& n, const std::string& f) {
        double x = toml_number(n, f);
        KNOB_CHECK(x == std::floor(x), f, x, "must be an integer for an int parameter");
        return static_cast<int64_t>(x);
      };
      int64_t step = spec.get("step") ? as_int(*spec.get("step"), field + ".step") : 1;
      return IntDistribution(as_int(*low, field + ".low"), as_int(*high, field + ".high"), log,
                             step);
    }
    std::optional<double> step;
    if (spec.get("step")) step = toml_number(*spec.get("step"), field + ".step");
    return FloatDistribution(toml_number(*low, field + ".low"), toml_number(*high, field + ".high"),
                             log, step);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(field + ": " + e.what());
  }
}

// when = { "optimizer.kind" = "sgd" } or { "optimizer.kind" = ["sgd", "rmsprop"], ... }: the
// values are checked against the parameters named by order_search_space.
std::vector<SearchCondition> parse_when(const std::string& name, const toml::table& spec) {
  const toml::node* when = spec.get("when");
  if (!when) return {};
  const std::string field = "search." + name + ".when";
  const toml::table* table = when->as_table();
  KNOB_CHECK(table && !table->empty(), field, std::string(table ? "{}" : "(not a table)"),
             "must be a table naming parameters and their values, e.g. when = { "
             "\"optimizer.kind\" = [\"sgd\", \"rmsprop\"] }");
  std::vector<SearchCondition> conditions;
  for (const auto& [key, node] : *table) {
    SearchCondition condition{std::string(key.str()), {}};
    const std::string f = field + "." + condition.parameter;
    if (const toml::array* list = node.as_array()) {
      for (const auto& item : *list) condition.values.push_back(toml_scalar(item, f));
    } else {
      condition.values.push_back(toml_scalar(node, f));
    }
    conditions.push_back(std::move(condition));
  }
  return conditions;
}

// [search] entries: quoted dotted keys ("optimizer.lr" = {...}) or nested tables
// ([search.optimizer] lr = {...}) both give the name "optimizer.lr".
void collect_search(const toml::table& table, const std::string& prefix,
                    std::vector<SearchParam>& out) {
  for (const auto& [key, node] : table) {
    const std::string name = prefix + std::string(key.str());
    const toml::table* spec = node.as_table();
    KNOB_CHECK(
        spec, "search." + name, std::string("(a value)"),
        "must be a table like { low = 1e-4, high = 1e-1, log = true } or { choices = [...] }");
    if (spec->contains("low") || spec->contains("high") || spec->contains("choices")) {
      out.push_back({name, parse_param(name, *spec), parse_when(name, *spec)});
    } else {
      collect_search(*spec, name + ".", out);
    }
  }
}

// One options table of [study] — tpe = { multivariate = true }, or a [study.tpe] table —
// read key by key with its type checked; a key no getter asked for is reported with the
// names allowed. Ranges are the options' own checks (the sampler's constructor).
class OptionsTable {
 public:
  OptionsTable(const toml::node& node, std::string field, const std::string& example)
      : field_(std::move(field)), table_(node.as_table()) {
    KNOB_CHECK(table_, field_, shown(node), "must be a table such as " + example);
  }

  std::optional<bool> flag(const std::string& key) {
    const toml::node* node = take(key);
    if (!node) return std::nullopt;
    auto v = node->value_exact<bool>();
    KNOB_CHECK(v.has_value(), field_ + "." + key, shown(*node), "must be true or false");
    return v;
  }
  std::optional<int> integer(const std::string& key) {
    const toml::node* node = take(key);
    if (!node) return std::nullopt;
    auto v = node->value_exact<int64_t>();
    KNOB_CHECK(v && *v >= INT32_MIN && *v <= INT32_MAX, field_ + "." + key, shown(*node),
               "must be an integer");
    return static_cast<int>(*v);
  }
  std::optional<int64_t> count(const std::string& key) {
    const toml::node* node = take(key);
    if (!node) return std::nullopt;
    auto v = node->value_exact<int64_t>();
    KNOB_CHECK(v.has_value(), field_ + "." + key, shown(*node), "must be an integer");
    return v;
  }
  // An integer, or "auto" (nullopt inside); nullopt outside when the key is not set.
  std::optional<std::optional<int64_t>> count_or_auto(const std::string& key) {
    const toml::node* node = take(key);
    if (!node) return std::nullopt;
    if (node->value_exact<std::string>() == std::optional<std::string>("auto"))
      return std::optional<int64_t>();
    auto v = node->value_exact<int64_t>();
    KNOB_CHECK(v.has_value(), field_ + "." + key, shown(*node), "must be an integer or \"auto\"");
    return v;
  }
  // The key's node, of any type (nullptr when not set).
  const toml::node* node(const std::string& key) { return take(key); }
  std::optional<double> number(const std::string& key) {
    const toml::node* node = take(key);
    if (!node) return std::nullopt;
    return toml_number(*node, field_ + "." + key);
  }
  std::optional<std::string> text(const std::string& key) {
    const toml::node* node = take(key);
    if (!node) return std::nullopt;
    auto v = node->value_exact<std::string>();
    KNOB_CHECK(v.has_value(), field_ + "." + key, shown(*node), "must be a string");
    return v;
  }
  // Throws for the first key no getter asked for.
  void finish() const {
    for (const auto& [key, node] : *table_) {
      const std::string k(key.str());
      if (std::find(names_.begin(), names_.end(), k) != names_.end()) continue;
      std::string names;
      for (const auto& n : names_) names += (names.empty() ? "" : ", ") + n;
      throw_invalid(field_ + "." + k, shown(node), "is unknown; " + field_ + " takes " + names);
    }
  }

 private:
  static std::string shown(const toml::node& node) {
    std::ostringstream out;
    node.visit([&](const auto& v) { out << v; });
    return out.str();
  }
  const toml::node* take(const std::string& key) {
    names_.push_back(key);
    return table_->get(key);
  }

  std::string field_;
  const toml::table* table_;
  std::vector<std::string> names_;
};

// [study] tpe = {...}: TpeOptions.
void parse_tpe(const toml::node& node, StudyConfig& c) {
  OptionsTable t(node, "study.tpe", "{ multivariate = true, n_startup_trials = 10 }");
  TpeOptions& o = c.tpe;
  if (auto v = t.integer("n_startup_trials")) o.n_startup_trials(*v);
  if (auto v = t.integer("n_ei_candidates")) o.n_ei_candidates(*v);
  if (auto v = t.number("prior_weight")) o.prior_weight(*v);
  if (auto v = t.flag("consider_prior")) o.consider_prior(*v);
  if (auto v = t.flag("consider_magic_clip")) o.consider_magic_clip(*v);
  if (auto v = t.flag("consider_endpoints")) o.consider_endpoints(*v);
  if (auto v = t.flag("multivariate")) o.multivariate(*v);
  if (auto v = t.flag("group")) o.group(*v);
  if (auto v = t.flag("constant_liar")) o.constant_liar(*v);
  t.finish();
}

// [study] qmc = {...}: QmcOptions.
void parse_qmc(const toml::node& node, StudyConfig& c) {
  OptionsTable t(node, "study.qmc", "{ scramble = true }");
  QmcOptions& o = c.qmc;
  if (auto v = t.text("qmc_type")) o.qmc_type(*v);
  if (auto v = t.flag("scramble")) o.scramble(*v);
  if (auto v = t.flag("warn_independent_sampling")) o.warn_independent_sampling(*v);
  t.finish();
}

// [study] gp = {...}: GpOptions.
void parse_gp(const toml::node& node, StudyConfig& c) {
  OptionsTable t(node, "study.gp", "{ n_startup_trials = 10 }");
  GpOptions& o = c.gp;
  if (auto v = t.integer("n_startup_trials")) o.n_startup_trials(*v);
  if (auto v = t.flag("deterministic_objective")) o.deterministic_objective(*v);
  if (auto v = t.integer("n_candidates")) o.n_candidates(*v);
  if (auto v = t.integer("n_local_search")) o.n_local_search(*v);
  t.finish();
}

// [study] cmaes = {...}: CmaEsOptions (x0 and the independent sampler stay C++ only).
void parse_cmaes(const toml::node& node, StudyConfig& c) {
  OptionsTable t(node, "study.cmaes", "{ restart_strategy = \"ipop\", with_margin = true }");
  CmaEsOptions& o = c.cmaes;
  if (auto v = t.number("sigma0")) o.sigma0(*v);
  if (auto v = t.integer("n_startup_trials")) o.n_startup_trials(*v);
  if (auto v = t.flag("warn_independent_sampling")) o.warn_independent_sampling(*v);
  if (auto v = t.flag("consider_pruned_trials")) o.consider_pruned_trials(*v);
  if (auto v = t.text("restart_strategy")) o.restart_strategy(*v);
  if (auto v = t.integer("popsize")) o.popsize(*v);
  if (auto v = t.integer("inc_popsize")) o.inc_popsize(*v);
  if (auto v = t.flag("with_margin")) o.with_margin(*v);
  t.finish();
}

// The options median and percentile share.
template <typename Options>
void read_percentile_options(OptionsTable& t, Options& o) {
  if (auto v = t.count("n_startup_trials")) o.n_startup_trials(*v);
  if (auto v = t.count("n_warmup_steps")) o.n_warmup_steps(*v);
  if (auto v = t.count("interval_steps")) o.interval_steps(*v);
  if (auto v = t.count("n_min_trials")) o.n_min_trials(*v);
}

// [study] median = {...}: MedianPrunerOptions.
void parse_median(const toml::node& node, StudyConfig& c) {
  OptionsTable t(node, "study.median", "{ n_startup_trials = 5, n_warmup_steps = 1 }");
  read_percentile_options(t, c.median);
  t.finish();
}

// [study] percentile = { percentile = 25, ... }: PercentilePrunerOptions.
void parse_percentile(const toml::node& node, StudyConfig& c) {
  OptionsTable t(node, "study.percentile", "{ percentile = 25.0, n_warmup_steps = 1 }");
  if (auto v = t.number("percentile")) c.percentile.percentile(*v);
  read_percentile_options(t, c.percentile);
  t.finish();
}

// [study] threshold = { lower = 0.2 } (or upper): ThresholdPrunerOptions.
void parse_threshold(const toml::node& node, StudyConfig& c) {
  OptionsTable t(node, "study.threshold", "{ lower = 0.2, n_warmup_steps = 1 }");
  ThresholdPrunerOptions& o = c.threshold;
  if (auto v = t.number("lower")) o.lower(*v);
  if (auto v = t.number("upper")) o.upper(*v);
  if (auto v = t.count("n_warmup_steps")) o.n_warmup_steps(*v);
  if (auto v = t.count("interval_steps")) o.interval_steps(*v);
  t.finish();
}

// [study] asha = {...}: SuccessiveHalvingPrunerOptions.
void parse_asha(const toml::node& node, StudyConfig& c) {
  OptionsTable t(node, "study.asha", "{ min_resource = 1, reduction_factor = 3 }");
  SuccessiveHalvingPrunerOptions& o = c.asha;
  if (auto v = t.count_or_auto("min_resource")) o.min_resource(*v);
  if (auto v = t.count("reduction_factor")) o.reduction_factor(*v);
  if (auto v = t.count("min_early_stopping_rate")) o.min_early_stopping_rate(*v);
  if (auto v = t.count("bootstrap_count")) o.bootstrap_count(*v);
  t.finish();
}

// [study] hyperband = {...}: HyperbandPrunerOptions.
void parse_hyperband(const toml::node& node, StudyConfig& c) {
  OptionsTable t(node, "study.hyperband", "{ min_resource = 1, max_resource = 20 }");
  HyperbandPrunerOptions& o = c.hyperband;
  if (auto v = t.count("min_resource")) o.min_resource(*v);
  if (auto v = t.count_or_auto("max_resource")) o.max_resource(*v);
  if (auto v = t.count("reduction_factor")) o.reduction_factor(*v);
  if (auto v = t.count("bootstrap_count")) o.bootstrap_count(*v);
  t.finish();
}

// [study] patient = { patience = 2 }: the chosen pruner, or none, wrapped in a PatientPruner.
void parse_patient(const toml::node& node, StudyConfig& c) {
  OptionsTable t(node, "study.patient", "{ patience = 2, min_delta = 0.0 }");
  auto patience = t.count("patience");
  KNOB_CHECK(patience.has_value(), "study.patient.patience", std::string("(not set)"),
             "must be set: the number of steps without improvement it tolerates");
  c.patient = PatientPrunerOptions(*patience);
  if (auto v = t.number("min_delta")) c.patient->min_delta(*v);
  t.finish();
}

// [objective] command = "..." or [...], timeout, kill_grace.
CommandConfig parse_objective(const toml::node& node) {
  OptionsTable t(node, "objective", "{ command = \"python3 train.py --lr {lr}\" }");
  CommandConfig c;
  const toml::node* command = t.node("command");
  KNOB_CHECK(command, "objective.command", std::string("(not set)"),
             "must be set: a shell command (\"python3 train.py --lr {lr}\") or a list of "
             "arguments ([\"python3\", \"train.py\", \"--lr={lr}\"])");
  if (auto text = command->value_exact<std::string>()) {
    KNOB_CHECK(!text->empty(), "objective.command", *text, "must not be empty");
    c.shell = *text;
  } else {
    const toml::array* list = command->as_array();
    KNOB_CHECK(list && !list->empty(), "objective.command", std::string("(not text or a list)"),
               "must be a string or a non-empty list of strings");
    for (const auto& item : *list) {
      auto word = item.value_exact<std::string>();
      KNOB_CHECK(word.has_value(), "objective.command", std::string("(a list with a non-string)"),
                 "must list strings only");
      c.argv.push_back(*word);
    }
  }
  if (auto v = t.number("timeout")) {
    KNOB_CHECK(*v > 0, "objective.timeout", *v, "must be > 0 seconds");
    c.timeout = v;
  }
  if (auto v = t.number("kill_grace")) {
    KNOB_CHECK(*v >= 0, "objective.kill_grace", *v, "must be >= 0 seconds");
    c.kill_grace = *v;
  }
  t.finish();
  return c;
}

using ParseOptions = void (*)(const toml::node&, StudyConfig&);

// The options tables of [study], by the sampler or pruner they belong to.
const std::map<std::string, ParseOptions> kSamplerOptions = {
    {"tpe", parse_tpe}, {"qmc", parse_qmc}, {"gp", parse_gp}, {"cmaes", parse_cmaes}};
const std::map<std::string, ParseOptions> kPrunerOptions = {
    {"median", parse_median}, {"percentile", parse_percentile}, {"threshold", parse_threshold},
    {"asha", parse_asha},     {"hyperband", parse_hyperband},   {"patient", parse_patient}};
const char* const kSamplers = "random, grid, tpe, qmc, gp or cmaes";
const char* const kPruners = "median, percentile, threshold, asha, hyperband or none";

std::string names_of(const std::map<std::string, ParseOptions>& tables) {
  std::string out;
  for (const auto& [name, parse] : tables) out += (out.empty() ? "" : ", ") + name;
  return out;
}

}  // namespace

StudyConfig parse_study_config(const std::string& toml_text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& error) {
    throw InvalidArgument(origin + ":" + std::to_string(error.source().begin.line) +
                          ": not valid TOML: " + std::string(error.description()));
  }
  StudyConfig c;
  std::set<std::string> samplers_given, pruners_given;  // with an options table
  try {
    if (const toml::table* study = root["study"].as_table()) {
      for (const auto& [key, node] : *study) {
        const std::string k(key.str());
        const std::string field = "study." + k;
        auto text = [&] {
          auto v = node.value<std::string>();
          KNOB_CHECK(v.has_value(), field, std::string("(not a string)"), "must be a string");
          return *v;
        };
        auto integer = [&](int64_t min) {
          auto v = node.value<int64_t>();
          KNOB_CHECK(v.has_value(), field, std::string("(not an integer)"), "must be an integer");
          KNOB_CHECK(*v >= min, field, *v, "must be >= " + std::to_string(min));
          return *v;
        };
        if (k == "storage")
          c.storage = text();
        else if (k == "name")
          c.name = text();
        else if (k == "direction")
          c.directions = {parse_direction(text(), field)};
        else if (k == "directions") {
          c.directions.clear();
          const toml::array* list = node.as_array();
          KNOB_CHECK(list && !list->empty(), field, std::string("(not a list)"),
                     "must be a list such as [\"maximize\", \"minimize\"]");
          for (const auto& d : *list)
            c.directions.push_back(parse_direction(d.value_or(std::string()), field));
        } else if (k == "sampler")
          c.sampler = text();
        else if (k == "seed")
          c.seed = static_cast<uint64_t>(integer(0));
        else if (k == "pruner")
          c.pruner = text();
        else if (k == "n_startup_trials")  // the median pruner's, as in knob's first configs
          c.median.n_startup_trials(integer(0));
        else if (k == "n_warmup_steps")
          c.median.n_warmup_steps(integer(0));
        else if (k == "n_trials")
          c.n_trials = integer(1);
        else if (k == "timeout") {
          double t = toml_number(node, field);
          KNOB_CHECK(t > 0, field, t, "must be > 0 seconds");
          c.timeout = t;
        } else if (k == "heartbeat_interval" || k == "grace_period") {
          double t = toml_number(node, field);
          KNOB_CHECK(t > 0, field, t, "must be > 0 seconds");
          (k == "heartbeat_interval" ? c.heartbeat_interval : c.grace_period) = t;
        } else if (k == "max_retry") {
          c.max_retry = integer(0);
        } else if (k == "jobs") {
          if (node.value_exact<std::string>() == std::optional<std::string>("auto")) {
            c.jobs = kJobsAuto;
          } else {
            KNOB_CHECK(node.is_integer(), field, node.value<std::string>().value_or("(not text)"),
                       "must be an integer >= 1 or \"auto\"");
            c.jobs = integer(1);
          }
        } else if (k == "isolate") {
          auto v = node.value_exact<bool>();
          if (!v && node.is_string())
            throw_invalid(field, *node.value<std::string>(), "must be true or false");
          if (!v && node.is_integer())
            throw_invalid(field, *node.value<int64_t>(), "must be true or false");
          KNOB_CHECK(v.has_value(), field, std::string("(not a bool)"), "must be true or false");
          c.isolate = *v;
        } else if (kSamplerOptions.count(k)) {
          kSamplerOptions.at(k)(node, c);
          samplers_given.insert(k);
        } else if (kPrunerOptions.count(k)) {
          kPrunerOptions.at(k)(node, c);
          if (k != "patient") pruners_given.insert(k);
        } else {
          throw_invalid(field, std::string("(set)"),
                        "is unknown; [study] takes storage, name, direction(s), sampler, seed, "
                        "pruner, n_startup_trials, n_warmup_steps, n_trials, timeout, jobs, "
                        "isolate, heartbeat_interval, grace_period, max_retry, and the options "
                        "tables " +
                            names_of(kSamplerOptions) + ", " + names_of(kPrunerOptions));
        }
      }
    }
    if (c.grace_period && c.heartbeat_interval) {
      KNOB_CHECK(*c.grace_period > *c.heartbeat_interval, "study.grace_period", *c.grace_period,
                 "must be > study.heartbeat_interval (" + dumps(Json(*c.heartbeat_interval)) +
                     " s): a live trial beats at least once per grace period");
    }
    if (c.sampler != "random" && c.sampler != "grid" && !kSamplerOptions.count(c.sampler)) {
      throw_invalid("study.sampler", c.sampler, std::string("must be ") + kSamplers);
    }
    if (c.pruner != "none" && (c.pruner == "patient" || !kPrunerOptions.count(c.pruner))) {
      throw_invalid("study.pruner", c.pruner,
                    std::string("must be ") + kPruners +
                        " (patient = { patience = N } wraps the one chosen)");
    }
    if (const toml::table* search = root["search"].as_table())
      collect_search(*search, "", c.search);
    order_search_space(c.search);
    if (const toml::node* objective = root.get("objective")) {
      c.command = parse_objective(*objective);
      KNOB_CHECK(!c.isolate, "study.isolate", std::string("true"),
                 "is for the trainer; a command objective always runs in its own process");
    }
    if (c.sampler == "grid") {
      KNOB_CHECK(!c.search.empty(), "search", std::string("{}"),
                 "must list parameters when study.sampler is grid");
      for (const auto& p : c.search) {
        KNOB_CHECK(std::holds_alternative<CategoricalDistribution>(p.distribution),
                   "search." + p.name, distribution_name(p.distribution),
                   "must list its values (choices = [...]) when study.sampler is grid");
        KNOB_CHECK(p.when.empty(), "search." + p.name + ".when", std::string("(set)"),
                   "is not allowed when study.sampler is grid: the grid runs every combination "
                   "of all parameters");
      }
    }
    // The options' ranges are checked where they are used, by the sampler's and pruner's
    // constructors; their messages start with the option's name ("n_startup_trials = -1:
    // must be >= 0"). Every options table given is checked, chosen or not.
    samplers_given.insert(c.sampler);
    for (const auto& sampler : samplers_given) {
      try {
        make_sampler(c, sampler);
      } catch (const InvalidArgument& e) {
        throw InvalidArgument("study." + sampler + "." + e.what());
      }
    }
    pruners_given.insert(c.pruner);
    for (const auto& pruner : pruners_given) {
      try {
        make_pruner(c, pruner);
      } catch (const InvalidArgument& e) {
        throw InvalidArgument("study." + pruner + "." + e.what());
      }
    }
    if (c.patient) {
      try {
        PatientPruner(nullptr, *c.patient);
      } catch (const InvalidArgument& e) {
        throw InvalidArgument(std::string("study.patient.") + e.what());
      }
    }
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(std::string(e.what()) + " (in " + origin + ")");
  }
  return c;
}

StudyConfig load_study_config(const std::string& path) {
  return parse_study_config(read_text_file(path, "config"), path);
}

std::shared_ptr<Sampler> make_sampler(const StudyConfig& c) { return make_sampler(c, c.sampler); }

std::shared_ptr<Sampler> make_sampler(const StudyConfig& c, const std::string& sampler) {
  if (sampler == "grid") {
    GridSampler::SearchSpace space;
    for (const auto& p : c.search)
      space[p.name] = std::get<CategoricalDistribution>(p.distribution).choices;
    return std::make_shared<GridSampler>(space, c.seed);
  }
  if (sampler == "tpe") return std::make_shared<TpeSampler>(TpeOptions(c.tpe).seed(c.seed));
  if (sampler == "qmc") return std::make_shared<QmcSampler>(QmcOptions(c.qmc).seed(c.seed));
  if (sampler == "gp") return std::make_shared<GpSampler>(GpOptions(c.gp).seed(c.seed));
  if (sampler == "cmaes") return std::make_shared<CmaEsSampler>(CmaEsOptions(c.cmaes).seed(c.seed));
  return std::make_shared<RandomSampler>(c.seed);
}

std::shared_ptr<Pruner> make_pruner(const StudyConfig& c) {
  std::shared_ptr<Pruner> chosen = c.pruner == "none" ? nullptr : make_pruner(c, c.pruner);
  if (c.patient) return std::make_shared<PatientPruner>(chosen, *c.patient);
  return chosen ? chosen : std::make_shared<NopPruner>();
}

std::shared_ptr<Pruner> make_pruner(const StudyConfig& c, const std::string& pruner) {
  if (pruner == "median") return std::make_shared<MedianPruner>(c.median);
  if (pruner == "percentile") {
    KNOB_CHECK(!std::isnan(c.percentile.percentile()), "percentile", std::string("(not set)"),
               "must be set: trials below this percentile of the others at the same step are "
               "pruned, in [0, 100]");
    return std::make_shared<PercentilePruner>(c.percentile);
  }
  if (pruner == "threshold") return std::make_shared<ThresholdPruner>(c.threshold);
  if (pruner == "asha") return std::make_shared<SuccessiveHalvingPruner>(c.asha);
  if (pruner == "hyperband") return std::make_shared<HyperbandPruner>(c.hyperband);
  return std::make_shared<NopPruner>();
}

}  // namespace knob
