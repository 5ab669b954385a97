// GridSampler: full-factorial grid search, every point exactly once — even with many
// threads or processes on one study. On the first ask it enqueues every grid point as a
// WAITING trial in one transaction (once per study and grid); workers then claim them
// atomically, and optimize() stops when none is left. The order is shuffled by the seed.
//
// Each grid trial carries the system attributes Optuna's GridSampler writes ("grid_id",
// "search_space") besides "fixed_params".
//
// Example (the seed article's grid: 3 x 3 x 3 = 27 trials):
//   auto grid = std::make_shared<knob::GridSampler>(knob::GridSampler::SearchSpace{
//       {"lr", {0.001, 0.01, 0.1}}, {"batch_size", {32, 64, 128}}, {"epochs", {10, 20, 30}}});
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "knob/core/random.h"
#include "knob/tuner/sampler.h"

namespace knob {

class GridSampler : public Sampler {
 public:
  using SearchSpace = std::map<std::string, std::vector<ParamValue>>;

  // Throws InvalidArgument for an empty space or a parameter without values.
  explicit GridSampler(SearchSpace search_space, std::optional<uint64_t> seed = std::nullopt);

  void before_ask(Study& study) override;
  // Outside the grid's parameters throws InvalidArgument; after the grid is used up (when
  // asked explicitly) returns a random grid value, as Optuna does.
  double sample_independent(Study& study, const FrozenTrial& trial, const std::string& name,
                            const Distribution& distribution) override;
  bool is_exhausted(Study& study) override;

  // Number of grid points.
  size_t size() const { return size_; }
  // The point with index `grid_id` (row-major over the parameter names in sorted order).
  std::map<std::string, ParamValue> point(size_t grid_id) const;

 private:
  SearchSpace space_;
  size_t size_ = 1;
  Rng rng_;
  std::optional<uint64_t> seed_;
  int64_t enqueued_for_study_ = -1;
};

}  // namespace knob
