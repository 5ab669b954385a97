#include "knob/run/study_config.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>

#include "knob/core/error.h"
#include "knob/core/field_table.h"
#include "knob/core/json.h"
#include "knob/core/text_file.h"
#include "knob/core/toml_value.h"
#include "knob/train/config.h"
#include "knob/train/task.h"
#include "knob/tuner/pruners/curve_pruner.h"
#include "knob/tuner/pruners/hyperband_pruner.h"
#include "knob/tuner/pruners/median_pruner.h"
#include "knob/tuner/pruners/patient_pruner.h"
#include "knob/tuner/pruners/percentile_pruner.h"
#include "knob/tuner/pruners/successive_halving_pruner.h"
#include "knob/tuner/pruners/threshold_pruner.h"
#include "knob/tuner/samplers/cmaes_sampler.h"
#include "knob/tuner/samplers/gp_sampler.h"
#include "knob/tuner/samplers/grid_sampler.h"
#include "knob/tuner/samplers/nsga2_sampler.h"
#include "knob/tuner/samplers/qmc_sampler.h"
#include "knob/tuner/samplers/random_sampler.h"
#include "knob/tuner/samplers/tpe_sampler.h"

namespace knob {
namespace {

// The options tables of [study], by the sampler or pruner they belong to ("patient" wraps the
// pruner chosen and is not one).
const std::vector<std::string> kSamplerTables = {"tpe", "qmc", "gp", "cmaes", "nsga2"};
const std::vector<std::string> kPrunerTables = {"median", "percentile", "threshold",
                                                "asha",   "hyperband",  "curve"};
const char* const kSamplers = "random, grid, tpe, qmc, gp, cmaes or nsga2";
const char* const kPruners = "median, percentile, threshold, asha, hyperband, curve or none";

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// [study]'s own counts take exact floats (20.0) as they always did; the options tables do not.
const Rule kWhole = Rule().integral_floats();
const Rule kSeconds = Rule().above(0).unit("seconds");

// A TOML scalar as a parameter value (choices, when).
ParamValue param_value(const TomlValue& value, const std::string& field) {
  return std::visit(
      [&](const auto& v) -> ParamValue {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, TomlValue::Array> || std::is_same_v<T, TomlValue::Table>) {
          throw_bad_value(field, value, "must be a number, bool or string");
        } else {
          return v;
        }
      },
      value.data());
}

// One [search] entry as written: { low, high, log, step, type, choices, when }.
struct ParamSpec {
  std::optional<TomlValue> low, high, step, choices, when;
  bool log = false;
  std::optional<std::string> type;
};

FieldTable<ParamSpec> param_table(const std::string& field) {
  FieldTable<ParamSpec> t(field, "{ low = 1e-4, high = 1e-1, log = true } or { choices = [...] }");
  t.add("low", &ParamSpec::low)
      .add("high", &ParamSpec::high)
      .add("log", &ParamSpec::log)
      .add("step", &ParamSpec::step)
      .add("type", &ParamSpec::type)
      .add("choices", &ParamSpec::choices)
      .add("when", &ParamSpec::when);
  return t;
}

Distribution parse_param(const std::string& field, const TomlValue& value, const ParamSpec& spec) {
  if (spec.choices) {
    const auto* list = spec.choices->as<TomlValue::Array>();
    if (!list || list->empty()) {
      throw_bad_value(field + ".choices", *spec.choices, "must be a non-empty list");
    }
    std::vector<ParamValue> values;
    for (const auto& item : *list) values.push_back(param_value(item, field + ".choices"));
    return CategoricalDistribution(std::move(values));
  }
  if (!spec.low || !spec.high) {
    throw_bad_value(field, value, "must give low and high (a range) or choices (a list)");
  }
  const bool integers = spec.low->as<int64_t>() && spec.high->as<int64_t>() &&
                        (!spec.step || spec.step->as<int64_t>());
  const std::string type = spec.type.value_or(integers ? "int" : "float");
  KNOB_CHECK(type == "int" || type == "float", field + ".type", type, "must be int or float");
  try {
    if (type == "int") {
      auto as_int = [&](const TomlValue& n, const std::string& f) {
        double x = read_value<double>(n, f);
        KNOB_CHECK(x == std::floor(x), f, x, "must be an integer for an int parameter");
        return static_cast<int64_t>(x);
      };
      int64_t step = spec.step ? as_int(*spec.step, field + ".step") : 1;
      return IntDistribution(as_int(*spec.low, field + ".low"), as_int(*spec.high, field + ".high"),
                             spec.log, step);
    }
    std::optional<double> step;
    if (spec.step) step = read_value<double>(*spec.step, field + ".step");
    return FloatDistribution(read_value<double>(*spec.low, field + ".low"),
                             read_value<double>(*spec.high, field + ".high"), spec.log, step);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(field + ": " + e.what());
  }
}

// when = { "optimizer.kind" = "sgd" } or { "optimizer.kind" = ["sgd", "rmsprop"], ... }: the
// values are checked against the parameters named by order_search_space.
std::vector<SearchCondition> parse_when(const std::string& field, const TomlValue& when) {
  const auto* table = when.as<TomlValue::Table>();
  if (!table || table->empty()) {
    throw_bad_value(field, when,
                    "must be a table naming parameters and their values, e.g. when = { "
                    "\"optimizer.kind\" = [\"sgd\", \"rmsprop\"] }");
  }
  std::vector<SearchCondition> conditions;
  for (const auto& [key, value] : *table) {
    SearchCondition condition{key, {}};
    const std::string f = field + "." + key;
    if (const auto* list = value.as<TomlValue::Array>()) {
      for (const auto& item : *list) condition.values.push_back(param_value(item, f));
    } else {
      condition.values.push_back(param_value(value, f));
    }
    conditions.push_back(std::move(condition));
  }
  return conditions;
}

// [search] entries: quoted dotted keys ("optimizer.lr" = {...}) or nested tables
// ([search.optimizer] lr = {...}) both give the name "optimizer.lr".
void collect_search(const TomlValue& table, const std::string& prefix,
                    std::vector<SearchParam>& out) {
  for (const auto& [key, value] : *table.as<TomlValue::Table>()) {
    const std::string name = prefix + key;
    const std::string field = "search." + name;
    if (!value.is_table()) {
      throw_bad_value(
          field, value,
          "must be a table like { low = 1e-4, high = 1e-1, log = true } or { choices = [...] }");
    }
    if (value.get("low") || value.get("high") || value.get("choices")) {
      ParamSpec spec;
      param_table(field).read(value, spec);
      out.push_back(
          {name, parse_param(field, value, spec),
           spec.when ? parse_when(field + ".when", *spec.when) : std::vector<SearchCondition>{}});
    } else {
      collect_search(value, name + ".", out);
    }
  }
}

// One [[study.enqueue]] table: parameter name -> value; dotted names may be nested tables.
void collect_enqueue(const TomlValue& table, const std::string& prefix, const std::string& field,
                     std::map<std::string, ParamValue>& out) {
  for (const auto& [key, value] : *table.as<TomlValue::Table>()) {
    const std::string name = prefix + key;
    if (value.is_table()) {
      collect_enqueue(value, name + ".", field, out);
    } else if (const auto* b = value.as<bool>()) {
      out[name] = *b;
    } else if (const auto* i = value.as<int64_t>()) {
      out[name] = *i;
    } else if (const auto* d = value.as<double>()) {
      out[name] = *d;
    } else if (const auto* text = value.as<std::string>()) {
      out[name] = *text;
    } else {
      throw_bad_value(field + "." + name, value, "must be a number, string or bool");
    }
  }
}

// [[study.enqueue]]: each table's names must be [search] parameters, its values in their
// distributions.
void check_enqueue(const StudyConfig& c) {
  for (size_t i = 0; i < c.enqueue.size(); ++i) {
    const std::string field = "study.enqueue[" + std::to_string(i) + "]";
    for (const auto& [name, value] : c.enqueue[i]) {
      // By value: clang 14 cannot capture a structured binding.
      auto p = std::find_if(c.search.begin(), c.search.end(),
                            [key = name](const SearchParam& s) { return s.name == key; });
      if (p == c.search.end()) {
        std::string names;
        for (const auto& s : c.search) names += (names.empty() ? "" : ", ") + s.name;
        throw_invalid(field + "." + name, to_string(value),
                      "names no parameter of [search] (" + (names.empty() ? "none" : names) + ")");
      }
      const double internal = to_internal(p->distribution, value, field + "." + name);
      KNOB_CHECK(contains(p->distribution, internal), field + "." + name, to_string(value),
                 "must lie in search." + name + " " + distribution_to_json(p->distribution));
    }
  }
}

// The options median and percentile share.
template <typename Options>
void add_percentile_fields(FieldTable<Options>& t) {
  t.add("n_startup_trials", &Options::n_startup_trials)
      .add("n_warmup_steps", &Options::n_warmup_steps)
      .add("interval_steps", &Options::interval_steps)
      .add("n_min_trials", &Options::n_min_trials);
}

// An options table of [study] (tpe = {...}, or a [study.tpe] table) read into `member`; its
// ranges are the options' own checks (the sampler's or pruner's constructor).
template <typename Options>
void add_options(FieldTable<StudyConfig>& study, Options StudyConfig::*member,
                 FieldTable<Options> table) {
  const std::string key = table.name().substr(table.name().find('.') + 1);
  study.add_custom(key, [member, table](StudyConfig& c, const TomlValue& value,
                                        const std::string&) { table.read(value, c.*member); });
}

// patient = { patience = 2, min_delta = 0.0 }: patience has no default.
struct PatientFields {
  std::optional<int64_t> patience;
  std::optional<double> min_delta;
};

// [objective] command = "..." or [...].
void set_command(CommandConfig& c, const TomlValue& value, const std::string& field) {
  if (const auto* text = value.as<std::string>()) {
    if (text->empty()) throw_bad_value(field, value, "must not be empty");
    c.shell = *text;
    return;
  }
  const auto* list = value.as<TomlValue::Array>();
  if (!list || list->empty()) {
    throw_bad_value(field, value, "must be a string or a non-empty list of strings");
  }
  for (const auto& item : *list) {
    const auto* word = item.as<std::string>();
    if (!word) throw_bad_value(field, value, "must list strings only");
    c.argv.push_back(*word);
  }
}

FieldTable<CommandConfig> make_objective_table() {
  FieldTable<CommandConfig> t("objective", "{ command = \"python3 train.py --lr {lr}\" }");
  t.add_custom("command", set_command)
      .add("timeout", &CommandConfig::timeout, kSeconds)
      .add("kill_grace", &CommandConfig::kill_grace, Rule().at_least(0).unit("seconds"));
  return t;
}

FieldTable<StudyConfig> make_study_table() {
  FieldTable<StudyConfig> study("study", "[study] with sampler = \"tpe\", n_trials = 20");
  study.add("storage", &StudyConfig::storage)
      .add("name", &StudyConfig::name)
      .add_custom("direction",
                  [](StudyConfig& c, const TomlValue& value, const std::string& field) {
                    c.directions = {parse_direction(read_value<std::string>(value, field), field)};
                  })
      .add_custom(
          "directions",
          [](StudyConfig& c, const TomlValue& value, const std::string& field) {
            const auto* list = value.as<TomlValue::Array>();
            if (!list || list->empty()) {
              throw_bad_value(field, value, "must be a list such as [\"maximize\", \"minimize\"]");
            }
            c.directions.clear();
            for (const auto& d : *list) {
              c.directions.push_back(parse_direction(read_value<std::string>(d, field), field));
            }
          })
      .add_custom("objectives",
                  [](StudyConfig& c, const TomlValue& value, const std::string& field) {
                    const auto* list = value.as<TomlValue::Array>();
                    if (!list || list->empty()) {
                      throw_bad_value(field, value,
                                      "must be a list such as [\"val_accuracy\", "
                                      "\"train_seconds\"], one trainer metric per direction");
                    }
                    c.objectives.clear();
                    for (const auto& m : *list) {
                      auto name = read_value<std::string>(m, field);
                      find_trainer_metric(name, field);
                      KNOB_CHECK(!contains(c.objectives, name), field, name,
                                 "is listed twice: each metric is one objective");
                      c.objectives.push_back(name);
                    }
                  })
      .add_custom("constraints",
                  [](StudyConfig& c, const TomlValue& value, const std::string& field) {
                    const auto* list = value.as<TomlValue::Array>();
                    if (!list) {
                      throw_bad_value(field, value,
                                      "must be a list such as [\"train_seconds <= 300\"]");
                    }
                    c.constraints.clear();
                    for (size_t i = 0; i < list->size(); ++i) {
                      const std::string f = field + "[" + std::to_string(i) + "]";
                      c.constraints.push_back(
                          parse_metric_constraint(read_value<std::string>((*list)[i], f), f));
                    }
                  })
      .add("sampler", &StudyConfig::sampler)
      .add("seed", &StudyConfig::seed, kWhole)
      .add("pruner", &StudyConfig::pruner)
      // The median pruner's, as in knob's first configs (also median = {...}).
      .add(
          "n_startup_trials", [](auto& c) -> auto& { return c.median.n_startup_trials(); },
          kWhole.at_least(0))
      .add(
          "n_warmup_steps", [](auto& c) -> auto& { return c.median.n_warmup_steps(); },
          kWhole.at_least(0))
      .add("n_trials", &StudyConfig::n_trials, kWhole.at_least(1))
      .add("timeout", &StudyConfig::timeout, kSeconds)
      .add_custom("jobs",
                  [](StudyConfig& c, const TomlValue& value, const std::string& field) {
                    c.jobs = read_value<std::optional<int64_t>>(value, field,
                                                                Rule().at_least(1).or_word("auto"))
                                 .value_or(kJobsAuto);
                  })
      .add("isolate", &StudyConfig::isolate)
      .add_custom(
          "keep_models",
          [](StudyConfig& c, const TomlValue& value, const std::string& field) {
            c.keep_models = read_value<std::string>(value, field);
            KNOB_CHECK(c.keep_models == "best" || c.keep_models == "all" || c.keep_models == "none",
                       field, c.keep_models, "must be best, all or none");
          })
      .add("heartbeat_interval", &StudyConfig::heartbeat_interval, kSeconds)
      .add("grace_period", &StudyConfig::grace_period, kSeconds)
      .add("max_retry", &StudyConfig::max_retry, kWhole.at_least(0))
      .add_custom("enqueue", [](StudyConfig& c, const TomlValue& value, const std::string& field) {
        const auto* list = value.as<TomlValue::Array>();
        if (!list) throw_bad_value(field, value, "must be [[study.enqueue]] tables of parameters");
        for (size_t i = 0; i < list->size(); ++i) {
          const std::string item = field + "[" + std::to_string(i) + "]";
          if (!(*list)[i].is_table()) {
            throw_bad_value(item, (*list)[i], "must be a table of parameter = value");
          }
          c.enqueue.emplace_back();
          collect_enqueue((*list)[i], "", item, c.enqueue.back());
        }
      });

  FieldTable<TpeOptions> tpe("study.tpe", "{ multivariate = true, n_startup_trials = 10 }");
  tpe.add("n_startup_trials", &TpeOptions::n_startup_trials)
      .add("n_ei_candidates", &TpeOptions::n_ei_candidates)
      .add("prior_weight", &TpeOptions::prior_weight)
      .add("consider_prior", &TpeOptions::consider_prior)
      .add("consider_magic_clip", &TpeOptions::consider_magic_clip)
      .add("consider_endpoints", &TpeOptions::consider_endpoints)
      .add("multivariate", &TpeOptions::multivariate)
      .add("group", &TpeOptions::group)
      .add("constant_liar", &TpeOptions::constant_liar);
  add_options(study, &StudyConfig::tpe, tpe);

  FieldTable<QmcOptions> qmc("study.qmc", "{ scramble = true }");
  qmc.add("qmc_type", &QmcOptions::qmc_type)
      .add("scramble", &QmcOptions::scramble)
      .add("warn_independent_sampling", &QmcOptions::warn_independent_sampling);
  add_options(study, &StudyConfig::qmc, qmc);

  FieldTable<GpOptions> gp("study.gp", "{ n_startup_trials = 10 }");
  gp.add("n_startup_trials", &GpOptions::n_startup_trials)
      .add("deterministic_objective", &GpOptions::deterministic_objective)
      .add("n_candidates", &GpOptions::n_candidates)
      .add("n_local_search", &GpOptions::n_local_search);
  add_options(study, &StudyConfig::gp, gp);

  // x0 and the independent sampler stay C++ only.
  FieldTable<CmaEsOptions> cmaes("study.cmaes",
                                 "{ restart_strategy = \"ipop\", with_margin = true }");
  cmaes.add("sigma0", &CmaEsOptions::sigma0)
      .add("n_startup_trials", &CmaEsOptions::n_startup_trials)
      .add("warn_independent_sampling", &CmaEsOptions::warn_independent_sampling)
      .add("consider_pruned_trials", &CmaEsOptions::consider_pruned_trials)
      .add("restart_strategy", &CmaEsOptions::restart_strategy)
      .add("popsize", &CmaEsOptions::popsize)
      .add("inc_popsize", &CmaEsOptions::inc_popsize)
      .add("with_margin", &CmaEsOptions::with_margin);
  add_options(study, &StudyConfig::cmaes, cmaes);

  // The crossover by name with Optuna's parameters; constraints_func stays C++ only.
  FieldTable<NsgaIIOptions> nsga2("study.nsga2", "{ population_size = 50, crossover = \"sbx\" }");
  nsga2.add("population_size", &NsgaIIOptions::population_size)
      .add("mutation_prob", &NsgaIIOptions::mutation_prob)
      .add_custom("crossover",
                  [](NsgaIIOptions& o, const TomlValue& value, const std::string& field) {
                    const auto* name = value.as<std::string>();
                    if (!name) throw_bad_value(field, value, "must be a crossover's name");
                    o.crossover(NsgaIICrossover::from_name(*name, field));
                  })
      .add("crossover_prob", &NsgaIIOptions::crossover_prob)
      .add("swapping_prob", &NsgaIIOptions::swapping_prob);
  add_options(study, &StudyConfig::nsga2, nsga2);

  FieldTable<MedianPrunerOptions> median("study.median",
                                         "{ n_startup_trials = 5, n_warmup_steps = 1 }");
  add_percentile_fields(median);
  add_options(study, &StudyConfig::median, median);

  FieldTable<PercentilePrunerOptions> percentile("study.percentile",
                                                 "{ percentile = 25.0, n_warmup_steps = 1 }");
  percentile.add("percentile", &PercentilePrunerOptions::percentile);
  add_percentile_fields(percentile);
  add_options(study, &StudyConfig::percentile, percentile);

  FieldTable<ThresholdPrunerOptions> threshold("study.threshold",
                                               "{ lower = 0.2, n_warmup_steps = 1 }");
  threshold.add("lower", &ThresholdPrunerOptions::lower)
      .add("upper", &ThresholdPrunerOptions::upper)
      .add("n_warmup_steps", &ThresholdPrunerOptions::n_warmup_steps)
      .add("interval_steps", &ThresholdPrunerOptions::interval_steps);
  add_options(study, &StudyConfig::threshold, threshold);

  const Rule resource = Rule().or_word("auto");  // "auto": as Optuna
  FieldTable<SuccessiveHalvingPrunerOptions> asha("study.asha",
                                                  "{ min_resource = 1, reduction_factor = 3 }");
  asha.add("min_resource", &SuccessiveHalvingPrunerOptions::min_resource, resource)
      .add("reduction_factor", &SuccessiveHalvingPrunerOptions::reduction_factor)
      .add("min_early_stopping_rate", &SuccessiveHalvingPrunerOptions::min_early_stopping_rate)
      .add("bootstrap_count", &SuccessiveHalvingPrunerOptions::bootstrap_count);
  add_options(study, &StudyConfig::asha, asha);

  FieldTable<HyperbandPrunerOptions> hyperband("study.hyperband",
                                               "{ min_resource = 1, max_resource = 20 }");
  hyperband.add("min_resource", &HyperbandPrunerOptions::min_resource)
      .add("max_resource", &HyperbandPrunerOptions::max_resource, resource)
      .add("reduction_factor", &HyperbandPrunerOptions::reduction_factor)
      .add("bootstrap_count", &HyperbandPrunerOptions::bootstrap_count);
  add_options(study, &StudyConfig::hyperband, hyperband);

  FieldTable<CurvePrunerOptions> curve("study.curve",
                                       "{ probability = 0.05, max_resource = \"auto\" }");
  curve.add("max_resource", &CurvePrunerOptions::max_resource, resource)
      .add("probability", &CurvePrunerOptions::probability)
      .add("n_startup_trials", &CurvePrunerOptions::n_startup_trials)
      .add("n_warmup_steps", &CurvePrunerOptions::n_warmup_steps)
      .add("interval_steps", &CurvePrunerOptions::interval_steps)
      .add("min_reports", &CurvePrunerOptions::min_reports);
  add_options(study, &StudyConfig::curve, curve);

  // Population-based training inside the study.
  FieldTable<PbtConfig> pbt("study.pbt", "{ population = 8, interval = 2 }");
  pbt.add("population", &PbtConfig::population, Rule().at_least(2))
      .add("interval", &PbtConfig::interval, Rule().at_least(1).unit("epochs"))
      .add("quantile_fraction", &PbtConfig::quantile_fraction)
      .add("resample_probability", &PbtConfig::resample_probability)
      .add("checkpoint_dir", &PbtConfig::checkpoint_dir);
  study.add_custom("pbt", [pbt](StudyConfig& c, const TomlValue& value, const std::string& field) {
    PbtConfig config;
    pbt.read(value, config);
    KNOB_CHECK(config.quantile_fraction >= 0 && config.quantile_fraction <= 0.5,
               field + ".quantile_fraction", config.quantile_fraction,
               "must be in [0, 0.5] (0: members never copy)");
    KNOB_CHECK(config.resample_probability >= 0 && config.resample_probability <= 1,
               field + ".resample_probability", config.resample_probability, "must be in [0, 1]");
    c.pbt = config;
  });

  // The chosen pruner, or none, wrapped in a PatientPruner.
  FieldTable<PatientFields> patient("study.patient", "{ patience = 2, min_delta = 0.0 }");
  patient.add("patience", &PatientFields::patience).add("min_delta", &PatientFields::min_delta);
  study.add_custom(
      "patient", [patient](StudyConfig& c, const TomlValue& value, const std::string& field) {
        PatientFields fields;
        patient.read(value, fields);
        KNOB_CHECK(fields.patience.has_value(), field + ".patience", std::string("(not set)"),
                   "must be set: the number of steps without improvement it tolerates");
        c.patient = PatientPrunerOptions(*fields.patience);
        if (fields.min_delta) c.patient->min_delta(*fields.min_delta);
      });
  return study;
}

// Builds the sampler or pruner `name` to run its options' checks; their messages start with
// the option's name ("n_startup_trials = -1: must be >= 0").
template <typename Make>
void check_options(const std::string& name, Make make) {
  try {
    make();
  } catch (const InvalidArgument& e) {
    throw InvalidArgument("study." + name + "." + e.what());
  }
}

std::string direction_word(StudyDirection d) {
  return d == StudyDirection::kMaximize ? "maximize" : "minimize";
}

// Direction i of the study agrees with the metric `field` names.
void check_direction(const StudyConfig& c, size_t i, const std::string& field,
                     const std::string& metric) {
  const TrainerMetric& m = find_trainer_metric(metric, field);
  KNOB_CHECK(c.directions[i] == m.better,
             c.directions.size() > 1 ? "study.directions[" + std::to_string(i) + "]"
                                     : std::string("study.direction"),
             direction_word(c.directions[i]),
             "contradicts " + field + " = \"" + m.name + "\", the " + m.meaning + ": must be " +
                 direction_word(m.better));
}

// objectives and constraints against the directions and the kind of objective, before any
// trial runs.
void check_objectives(const StudyConfig& c, bool command) {
  if (command) {
    KNOB_CHECK(c.objectives.empty(), "study.objectives", c.objectives.front(),
               "names trainer metrics; a command objective prints its values (`knob:value V1 "
               "V2`, one per direction)");
    KNOB_CHECK(c.constraints.empty(), "study.constraints", c.constraints.front().text(),
               "bounds trainer metrics; a command objective prints its constraint values "
               "(`knob:constraints [C1, C2]`, <= 0 feasible)");
    return;
  }
  const size_t n = c.directions.size();
  if (c.objectives.empty()) {
    // The direction of the default objective, train.objective, is checked with the trainer's
    // config (check_trainer_objectives).
    KNOB_CHECK(n == 1, "study.directions", std::to_string(n) + " directions",
               "need study.objectives naming one trainer metric each (" + trainer_metric_names() +
                   "), e.g. objectives = [\"val_accuracy\", "
                   "\"train_seconds\"]");
    return;
  }
  KNOB_CHECK(c.objectives.size() == n, "study.objectives",
             std::to_string(c.objectives.size()) + " metrics",
             "must name one metric per direction: study.directions has " + std::to_string(n));
  for (size_t i = 0; i < n; ++i) {
    check_direction(c, i, "study.objectives[" + std::to_string(i) + "]", c.objectives[i]);
  }
}

}  // namespace

std::vector<std::string> trainer_objectives(const StudyConfig& config, const TrainConfig& trainer) {
  return config.objectives.empty() ? std::vector<std::string>{objective_of(trainer)}
                                   : config.objectives;
}

void check_trainer_objectives(const StudyConfig& config, const TrainConfig& trainer) {
  const std::vector<std::string> objectives = trainer_objectives(config, trainer);
  const std::vector<std::string> per_epoch = epoch_metric_names(task_of(trainer.train.loss));
  auto check_task = [&](const std::string& field, const std::string& metric) {
    if (!find_trainer_metric(metric, field).per_epoch || contains(per_epoch, metric)) return;
    std::string list;
    for (const auto& m : per_epoch) list += (list.empty() ? "" : ", ") + m;
    throw_invalid(field, metric,
                  "is not measured for train.loss = \"" + trainer.train.loss +
                      "\": its metrics are " + list + " (and train_seconds, params, latency_ms)");
  };
  for (size_t i = 0; i < objectives.size(); ++i) {
    const std::string field = config.objectives.empty()
                                  ? "train.objective"
                                  : "study.objectives[" + std::to_string(i) + "]";
    check_task(field, objectives[i]);
    check_direction(config, i, field, objectives[i]);
  }
  for (size_t i = 0; i < config.constraints.size(); ++i) {
    check_task("study.constraints[" + std::to_string(i) + "]", config.constraints[i].metric);
  }
}

namespace {

// PBT trains the trainer's members over [search]'s ranges, one objective, no conditions.
void check_pbt(const StudyConfig& c) {
  KNOB_CHECK(!c.command, "study.pbt", std::string("(set)"),
             "needs the trainer as the objective (members continue from checkpoints), not an "
             "[objective] command");
  KNOB_CHECK(
      c.directions.size() == 1, "study.pbt", std::string("(set)"),
      "ranks members by one objective; this study has " + std::to_string(c.directions.size()));
  KNOB_CHECK(!c.search.empty(), "search", std::string("{}"),
             "must list the knobs PBT mutates when study.pbt is set");
  for (const auto& p : c.search) {
    KNOB_CHECK(p.when.empty(), "search." + p.name + ".when", std::string("(set)"),
               "is not allowed with study.pbt: every member mutates every knob");
    KNOB_CHECK(!checkpoint_structural(p.name), "search." + p.name, p.name,
               "cannot be mutated by study.pbt: a checkpoint does not load under another value "
               "of it (data.*, model.*, optimizer.kind, train.seed, train.loss)");
  }
  KNOB_CHECK(c.enqueue.empty(), "study.enqueue", std::string("(set)"),
             "is not allowed with study.pbt: the members' first segments are the study's first "
             "trials");
}

}  // namespace

StudyConfig parse_study_config(const std::string& toml_text, const std::string& origin) {
  static const FieldTable<StudyConfig> kStudy = make_study_table();
  static const FieldTable<CommandConfig> kObjective = make_objective_table();
  const TomlValue root = parse_toml(toml_text, origin);
  check_table_names(root, config_table_names(), origin);  // [serach] must not tune nothing
  StudyConfig c;
  naming_origin(origin, "", [&] {
    std::set<std::string> samplers_given, pruners_given;  // with an options table
    if (const TomlValue* study = root.get("study")) {
      kStudy.read(*study, c);
      for (const auto& [key, value] : *study->as<TomlValue::Table>()) {
        if (contains(kSamplerTables, key)) samplers_given.insert(key);
        if (contains(kPrunerTables, key)) pruners_given.insert(key);
      }
    }
    KNOB_CHECK(c.jobs == kJobsAuto || c.jobs <= kMaxJobs, "study.jobs", c.jobs,
               "must be \"auto\" or an integer from 1 to " + std::to_string(kMaxJobs) +
                   " (trials at once, a thread each)");
    if (c.grace_period && c.heartbeat_interval) {
      KNOB_CHECK(*c.grace_period > *c.heartbeat_interval, "study.grace_period", *c.grace_period,
                 "must be > study.heartbeat_interval (" + dumps(Json(*c.heartbeat_interval)) +
                     " s): a live trial beats at least once per grace period");
    }
    check_objectives(c, root.get("objective") != nullptr);
    if (c.sampler != "random" && c.sampler != "grid" && !contains(kSamplerTables, c.sampler)) {
      throw_invalid("study.sampler", c.sampler, std::string("must be ") + kSamplers);
    }
    if (c.pruner != "none" && !contains(kPrunerTables, c.pruner)) {
      throw_invalid("study.pruner", c.pruner,
                    std::string("must be ") + kPruners +
                        " (patient = { patience = N } wraps the one chosen)");
    }
    if (const TomlValue* search = root.get("search")) {
      if (!search->is_table()) throw_bad_value("search", *search, "must be a table ([search])");
      collect_search(*search, "", c.search);
    }
    order_search_space(c.search);
    check_enqueue(c);
    if (const TomlValue* objective = root.get("objective")) {
      CommandConfig command;
      kObjective.read(*objective, command);
      const std::string seconds_allowed = "must be at most 1e9 seconds (about 31 years)";
      if (command.timeout) {
        KNOB_CHECK(*command.timeout <= kMaxSeconds, "objective.timeout", *command.timeout,
                   "must be > 0 and " + seconds_allowed);
      }
      KNOB_CHECK(command.kill_grace <= kMaxSeconds, "objective.kill_grace", command.kill_grace,
                 "must be >= 0 and " + seconds_allowed);
      KNOB_CHECK(!command.shell.empty() || !command.argv.empty(), "objective.command",
                 std::string("(not set)"),
                 "must be set: a shell command (\"python3 train.py --lr {lr}\") or a list of "
                 "arguments ([\"python3\", \"train.py\", \"--lr={lr}\"])");
      c.command = command;
      KNOB_CHECK(!c.isolate, "study.isolate", std::string("true"),
                 "is for the trainer; a command objective always runs in its own process");
    }
    if (c.pbt) check_pbt(c);
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
    // constructors. Every options table given is checked, chosen or not.
    samplers_given.insert(c.sampler);
    for (const auto& sampler : samplers_given) {
      check_options(sampler, [&] { make_sampler(c, sampler); });
    }
    pruners_given.insert(c.pruner);
    for (const auto& pruner : pruners_given) {
      check_options(pruner, [&] { make_pruner(c, pruner); });
    }
    if (c.patient) check_options("patient", [&] { PatientPruner(nullptr, *c.patient); });
  });
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
  if (sampler == "nsga2")
    return std::make_shared<NsgaIISampler>(NsgaIIOptions(c.nsga2).seed(c.seed));
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
  if (pruner == "curve") return std::make_shared<CurvePruner>(c.curve);
  return std::make_shared<NopPruner>();
}

}  // namespace knob
