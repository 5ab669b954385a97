#include "knob/tuner/study_config.h"

#include <toml++/toml.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "knob/core/error.h"
#include "knob/core/text_file.h"
#include "knob/tuner/grid_sampler.h"
#include "knob/tuner/median_pruner.h"
#include "knob/tuner/random_sampler.h"
#include "knob/tuner/tpe_sampler.h"

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
    if (k != "low" && k != "high" && k != "log" && k != "step" && k != "choices" && k != "type") {
      throw_invalid(field + "." + k, std::string("(set)"),
                    "is unknown; a parameter takes low, high, log, step, type or choices");
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
      out.push_back({name, parse_param(name, *spec)});
    } else {
      collect_search(*spec, name + ".", out);
    }
  }
}

// [study] tpe = { multivariate = true, ... } (or a [study.tpe] table): TpeOptions.
void parse_tpe(const toml::node& node, TpeOptions& tpe) {
  const toml::table* table = node.as_table();
  KNOB_CHECK(table, "study.tpe", std::string("(not a table)"),
             "must be a table such as { multivariate = true, n_startup_trials = 10 }");
  for (const auto& [key, value] : *table) {
    const std::string k(key.str());
    const std::string field = "study.tpe." + k;
    auto flag = [&] {
      auto v = value.value_exact<bool>();
      KNOB_CHECK(v.has_value(), field, std::string("(not a bool)"), "must be true or false");
      return *v;
    };
    auto integer = [&](int64_t min) {
      auto v = value.value_exact<int64_t>();
      KNOB_CHECK(v.has_value(), field, std::string("(not an integer)"), "must be an integer");
      KNOB_CHECK(*v >= min && *v <= 1000000, field, *v,
                 "must be an integer in [" + std::to_string(min) + ", 1000000]");
      return static_cast<int>(*v);
    };
    if (k == "n_startup_trials") {
      tpe.n_startup_trials(integer(0));
    } else if (k == "n_ei_candidates") {
      tpe.n_ei_candidates(integer(1));
    } else if (k == "prior_weight") {
      double w = toml_number(value, field);
      KNOB_CHECK(std::isfinite(w) && w > 0, field, w, "must be a finite number > 0");
      tpe.prior_weight(w);
    } else if (k == "consider_prior") {
      tpe.consider_prior(flag());
    } else if (k == "consider_magic_clip") {
      tpe.consider_magic_clip(flag());
    } else if (k == "consider_endpoints") {
      tpe.consider_endpoints(flag());
    } else if (k == "multivariate") {
      tpe.multivariate(flag());
    } else if (k == "group") {
      tpe.group(flag());
    } else if (k == "constant_liar") {
      tpe.constant_liar(flag());
    } else {
      throw_invalid(field, std::string("(set)"),
                    "is unknown; study.tpe takes n_startup_trials, n_ei_candidates, "
                    "prior_weight, consider_prior, consider_magic_clip, consider_endpoints, "
                    "multivariate, group, constant_liar");
    }
  }
  KNOB_CHECK(!tpe.group() || tpe.multivariate(), "study.tpe.group", std::string("true"),
             "needs multivariate = true");
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
        else if (k == "n_startup_trials")
          c.n_startup_trials = integer(0);
        else if (k == "n_warmup_steps")
          c.n_warmup_steps = integer(0);
        else if (k == "n_trials")
          c.n_trials = integer(1);
        else if (k == "timeout") {
          double t = toml_number(node, field);
          KNOB_CHECK(t > 0, field, t, "must be > 0 seconds");
          c.timeout = t;
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
        } else if (k == "tpe") {
          parse_tpe(node, c.tpe);
        } else {
          throw_invalid(field, std::string("(set)"),
                        "is unknown; [study] takes storage, name, direction(s), sampler, seed, "
                        "pruner, n_startup_trials, n_warmup_steps, n_trials, timeout, jobs, "
                        "isolate, tpe");
        }
      }
    }
    if (c.sampler != "random" && c.sampler != "grid" && c.sampler != "tpe") {
      throw_invalid("study.sampler", c.sampler, "must be random, grid or tpe");
    }
    if (c.pruner != "median" && c.pruner != "none") {
      throw_invalid("study.pruner", c.pruner, "must be median or none");
    }
    if (const toml::table* search = root["search"].as_table())
      collect_search(*search, "", c.search);
    if (c.sampler == "grid") {
      KNOB_CHECK(!c.search.empty(), "search", std::string("{}"),
                 "must list parameters when study.sampler is grid");
      for (const auto& p : c.search) {
        KNOB_CHECK(std::holds_alternative<CategoricalDistribution>(p.distribution),
                   "search." + p.name, distribution_name(p.distribution),
                   "must list its values (choices = [...]) when study.sampler is grid");
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

std::shared_ptr<Sampler> make_sampler(const StudyConfig& c) {
  if (c.sampler == "grid") {
    GridSampler::SearchSpace space;
    for (const auto& p : c.search)
      space[p.name] = std::get<CategoricalDistribution>(p.distribution).choices;
    return std::make_shared<GridSampler>(space, c.seed);
  }
  if (c.sampler == "tpe") return std::make_shared<TpeSampler>(TpeOptions(c.tpe).seed(c.seed));
  return std::make_shared<RandomSampler>(c.seed);
}

std::shared_ptr<Pruner> make_pruner(const StudyConfig& c) {
  if (c.pruner == "none") return std::make_shared<NopPruner>();
  return std::make_shared<MedianPruner>(
      MedianPrunerOptions().n_startup_trials(c.n_startup_trials).n_warmup_steps(c.n_warmup_steps));
}

}  // namespace knob
