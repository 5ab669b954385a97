// The intersection search space (internal): the parameters that every trial seen so far has,
// with the same distribution (Optuna's IntersectionSearchSpace), kept up to date one trial at
// a time. Shared by the samplers that model a joint space (TPE multivariate, GP).
//
// Example:
//   std::optional<std::map<std::string, Distribution>> space;  // nothing seen yet
//   for (const auto& t : trials) detail::intersect_search_space(space, t.distributions);
#pragma once

#include <iterator>
#include <map>
#include <optional>
#include <string>

#include "knob/core/distribution.h"

namespace knob::detail {

inline void intersect_search_space(std::optional<std::map<std::string, Distribution>>& space,
                                   const std::map<std::string, Distribution>& distributions) {
  if (!space) {
    space = distributions;
    return;
  }
  for (auto it = space->begin(); it != space->end();) {
    auto d = distributions.find(it->first);
    it =
        (d == distributions.end() || !(d->second == it->second)) ? space->erase(it) : std::next(it);
  }
}

}  // namespace knob::detail
