// SearchParam: one parameter of a declared search space (a study file's [search], a command
// objective's space) — its name, its distribution and, for a conditional parameter, the values
// of other parameters under which it is searched at all (`when`). suggest_params() suggests the
// parameters a trial uses, parents before the parameters that depend on them.
//
// Example (momentum only for the optimizers that have one):
//   std::vector<knob::SearchParam> space = {
//       {"optimizer.kind", knob::CategoricalDistribution({"sgd", "adam", "rmsprop"})},
//       {"optimizer.momentum", knob::FloatDistribution(0.5, 0.99),
//        {{"optimizer.kind", {"sgd", "rmsprop"}}}},
//   };
//   knob::order_search_space(space);  // checks the conditions, parents first
//   auto params = knob::suggest_params(trial, space);  // no momentum when kind is adam
#pragma once

#include <map>
#include <string>
#include <vector>

#include "knob/core/distribution.h"
#include "knob/core/param_value.h"

namespace knob {

class Trial;

// "`parameter` took one of `values`". The parameter is categorical (values among its choices)
// or an integer (values in its range).
struct SearchCondition {
  std::string parameter;
  std::vector<ParamValue> values;
};

struct SearchParam {
  std::string name;
  Distribution distribution;
  std::vector<SearchCondition> when = {};  // all must hold; empty: always searched
};

// Checks the conditions — each names another parameter of the space, categorical or integer,
// with values it can take, and no parameter depends on itself through others — and orders the
// space so that every parameter comes after those its conditions name (otherwise keeping the
// given order). InvalidArgument names "search.<name>.when.<parent>" and what is allowed.
void order_search_space(std::vector<SearchParam>& space);

// Suggests the parameters of an ordered space (order_search_space) whose conditions hold, in
// order; the others are not suggested and are absent from the result.
std::map<std::string, ParamValue> suggest_params(Trial& trial,
                                                 const std::vector<SearchParam>& space);

}  // namespace knob
