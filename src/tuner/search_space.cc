#include "knob/tuner/search_space.h"

#include <algorithm>
#include <set>

#include "knob/core/error.h"
#include "knob/tuner/trial.h"

namespace knob {
namespace {

std::string listed(const std::vector<ParamValue>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + to_string(v);
  return out;
}

void check_condition(const SearchParam& param, const SearchCondition& condition,
                     const SearchParam& parent) {
  const std::string field = "search." + param.name + ".when." + condition.parameter;
  KNOB_CHECK(!condition.values.empty(), field, std::string("[]"),
             "must list at least one value of " + condition.parameter);
  for (const auto& value : condition.values) {
    if (const auto* c = std::get_if<CategoricalDistribution>(&parent.distribution)) {
      KNOB_CHECK(
          std::find(c->choices.begin(), c->choices.end(), value) != c->choices.end(), field,
          to_string(value),
          "must be one of " + condition.parameter + "'s choices (" + listed(c->choices) + ")");
    } else if (const auto* d = std::get_if<IntDistribution>(&parent.distribution)) {
      const auto* v = std::get_if<int64_t>(&value);
      KNOB_CHECK(v && *v >= d->low && *v <= d->high && (*v - d->low) % d->step == 0, field,
                 to_string(value),
                 "must be a value " + condition.parameter + " can take (an integer in [" +
                     std::to_string(d->low) + ", " + std::to_string(d->high) + "] on its step)");
    } else {
      throw_invalid(field, distribution_name(parent.distribution),
                    "must name a categorical or integer parameter (a float takes any value, so "
                    "it cannot be matched)");
    }
  }
}

}  // namespace

void order_search_space(std::vector<SearchParam>& space) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < space.size(); ++i) {
    KNOB_CHECK(index.emplace(space[i].name, i).second, "search." + space[i].name,
               std::string("(twice)"), "must be declared once");
  }
  for (const auto& param : space) {
    for (const auto& condition : param.when) {
      auto it = index.find(condition.parameter);
      KNOB_CHECK(it != index.end() && condition.parameter != param.name,
                 "search." + param.name + ".when." + condition.parameter,
                 std::string("(a condition)"), "must name another parameter of [search]");
      check_condition(param, condition, space[it->second]);
    }
  }
  // Repeatedly take, in the given order, the first parameter whose parents are all placed.
  std::vector<SearchParam> ordered;
  std::set<std::string> placed;
  std::vector<bool> done(space.size(), false);
  while (ordered.size() < space.size()) {
    bool progressed = false;
    for (size_t i = 0; i < space.size(); ++i) {
      if (done[i]) continue;
      bool ready = std::all_of(space[i].when.begin(), space[i].when.end(),
                               [&](const SearchCondition& c) { return placed.count(c.parameter); });
      if (!ready) continue;
      done[i] = true;
      placed.insert(space[i].name);
      ordered.push_back(space[i]);
      progressed = true;
      break;
    }
    if (!progressed) {
      std::string cycle;
      for (size_t i = 0; i < space.size(); ++i)
        if (!done[i]) cycle += (cycle.empty() ? "" : ", ") + space[i].name;
      throw_invalid("search", cycle,
                    "has conditions that depend on each other in a circle; a `when` must name "
                    "a parameter that does not depend, through others, on the one it controls");
    }
  }
  space = std::move(ordered);
}

std::map<std::string, ParamValue> suggest_params(Trial& trial,
                                                 const std::vector<SearchParam>& space) {
  std::map<std::string, ParamValue> params;
  for (const auto& p : space) {
    bool active = std::all_of(p.when.begin(), p.when.end(), [&](const SearchCondition& c) {
      auto it = params.find(c.parameter);
      return it != params.end() &&
             std::find(c.values.begin(), c.values.end(), it->second) != c.values.end();
    });
    if (active) params.emplace(p.name, trial.suggest(p.name, p.distribution));
  }
  return params;
}

}  // namespace knob
