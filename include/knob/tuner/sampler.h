// Sampler: decides the value of each parameter of a trial (Optuna's BaseSampler).
//
// A sampler works in the internal representation (distribution.h). Study calls it under its
// own lock, so an implementation need not be thread-safe. Model-based samplers sample the
// parameters they know jointly (infer_relative_search_space + sample_relative); the rest are
// sampled one by one (sample_independent).
//
// Example (floats at the middle of their range, integers at their low end, the first choice):
//   class Plain : public knob::Sampler {
//    public:
//     double sample_independent(knob::Study&, const knob::FrozenTrial&, const std::string&,
//                               const knob::Distribution& d) override {
//       if (auto* f = std::get_if<knob::FloatDistribution>(&d)) return (f->low + f->high) / 2;
//       if (auto* i = std::get_if<knob::IntDistribution>(&d)) return static_cast<double>(i->low);
//       return 0;  // a categorical's internal value is the index of its choice
//     }
//   };
#pragma once

#include <map>
#include <string>
#include <vector>

#include "knob/storage/frozen_trial.h"

namespace knob {

class Study;

class Sampler {
 public:
  virtual ~Sampler() = default;

  // Called before each trial is created or claimed; may enqueue trials (grid search does).
  virtual void before_ask(Study& study) { (void)study; }
  // The parameters to sample jointly for `trial` (empty: none).
  virtual std::map<std::string, Distribution> infer_relative_search_space(
      Study& study, const FrozenTrial& trial) {
    (void)study, (void)trial;
    return {};
  }
  // Internal values for (some of) the relative search space.
  virtual std::map<std::string, double> sample_relative(
      Study& study, const FrozenTrial& trial, const std::map<std::string, Distribution>& space) {
    (void)study, (void)trial, (void)space;
    return {};
  }
  // The internal value of one parameter that sample_relative did not give.
  virtual double sample_independent(Study& study, const FrozenTrial& trial, const std::string& name,
                                    const Distribution& distribution) = 0;
  // Called once a trial has finished, before its state is stored.
  virtual void after_trial(Study& study, const FrozenTrial& trial, TrialState state,
                           const std::vector<double>& values) {
    (void)study, (void)trial, (void)state, (void)values;
  }
  // True when the sampler has nothing left to propose (a fully visited grid): optimize() stops.
  virtual bool is_exhausted(Study& study) {
    (void)study;
    return false;
  }
};

}  // namespace knob
