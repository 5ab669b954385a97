#include "knob/tuner/samplers/grid_sampler.h"

#include <algorithm>
#include <numeric>

#include "knob/core/error.h"
#include "knob/tuner/study.h"

namespace knob {
namespace {

Json space_json(const GridSampler::SearchSpace& space) {
  Json out = Json::object();
  for (const auto& [name, values] : space) {
    Json list = Json::array();
    for (const auto& v : values) list.push_back(to_json(v));
    out[name] = std::move(list);
  }
  return out;
}

}  // namespace

GridSampler::GridSampler(SearchSpace search_space, std::optional<uint64_t> seed)
    : space_(std::move(search_space)), rng_(seed), seed_(seed) {
  KNOB_CHECK(!space_.empty(), "search_space", std::string("{}"),
             "must name at least one parameter with its values");
  for (const auto& [name, values] : space_) {
    KNOB_CHECK(!values.empty(), "search_space." + name, std::string("[]"),
               "must list at least one value");
    size_ *= values.size();
  }
}

std::map<std::string, ParamValue> GridSampler::point(size_t grid_id) const {
  std::map<std::string, ParamValue> out;
  // Last name varies fastest.
  for (auto it = space_.rbegin(); it != space_.rend(); ++it) {
    out[it->first] = it->second[grid_id % it->second.size()];
    grid_id /= it->second.size();
  }
  return out;
}

void GridSampler::before_ask(Study& study) {
  if (enqueued_for_study_ == study.study_id()) return;
  const Json space = space_json(space_);
  std::vector<size_t> order(size_);
  std::iota(order.begin(), order.end(), 0);
  for (size_t i = order.size(); i > 1; --i) {  // Fisher–Yates with our own Rng: reproducible
    std::swap(order[i - 1],
              order[static_cast<size_t>(rng_.uniform_int(0, static_cast<int64_t>(i) - 1))]);
  }
  std::vector<FrozenTrial> templates;
  templates.reserve(size_);
  for (size_t grid_id : order) {
    FrozenTrial t;
    t.state = TrialState::kWaiting;
    Json fixed = Json::object();
    for (const auto& [name, value] : point(grid_id)) fixed[name] = to_json(value);
    t.system_attrs["fixed_params"] = std::move(fixed);
    t.system_attrs["grid_id"] = grid_id;
    t.system_attrs["search_space"] = space;
    templates.push_back(std::move(t));
  }
  study.storage().create_trials_once(study.study_id(), "knob:grid:" + dumps(space), templates);
  enqueued_for_study_ = study.study_id();
}

double GridSampler::sample_independent(Study&, const FrozenTrial&, const std::string& name,
                                       const Distribution& distribution) {
  auto it = space_.find(name);
  if (it == space_.end()) {
    std::string names;
    for (const auto& [n, values] : space_) names += (names.empty() ? "" : ", ") + n;
    throw_invalid("parameter", name, "is not in the grid; the grid has " + names);
  }
  const auto& values = it->second;
  const ParamValue& value =
      values[static_cast<size_t>(rng_.uniform_int(0, static_cast<int64_t>(values.size()) - 1))];
  return to_internal(distribution, value, "grid value of '" + name + "'");
}

bool GridSampler::is_exhausted(Study& study) {
  before_ask(study);
  return study.storage().n_trials(study.study_id(), TrialState::kWaiting) == 0;
}

}  // namespace knob
