// Learning-rate schedules: the learning rate as a pure function of the step t (t = 0 is the
// first optimizer step, or the first epoch when a schedule runs per epoch). Pure functions make
// checkpoints trivial (the step is the whole state) and let a plot show the schedule before
// training. Numbers match PyTorch's torch.optim.lr_scheduler for the same settings (tested).
// Reduce-on-plateau is the one schedule that depends on metrics: see PlateauSchedule.
//
// Torch-free: this header and its implementation do not include libtorch.
//
// Example (5 warm-up epochs, then cosine decay over the remaining 45):
//   auto schedule = knob::linear_warmup(knob::cosine(0.1, /*t_max=*/45), /*warmup_steps=*/5);
//   double lr = schedule->lr(epoch);
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace knob {

class Schedule {
 public:
  virtual ~Schedule() = default;
  // The learning rate at step t >= 0.
  virtual double lr(int64_t t) const = 0;
};

using SchedulePtr = std::shared_ptr<const Schedule>;

// lr at every step.
SchedulePtr constant(double lr);
// lr / (1 + alpha * t / decay_steps); with staircase, t / decay_steps is floored (Keras).
SchedulePtr inverse_time(double lr, double alpha, int64_t decay_steps = 1, bool staircase = false);
// lr * gamma^floor(t / step_size)  (PyTorch StepLR).
SchedulePtr step_decay(double lr, int64_t step_size, double gamma = 0.1);
// lr * gamma^(number of milestones <= t)  (PyTorch MultiStepLR).
SchedulePtr multistep(double lr, std::vector<int64_t> milestones, double gamma = 0.1);
// lr * gamma^t  (PyTorch ExponentialLR).
SchedulePtr exponential(double lr, double gamma);
// lr * (1 - min(t, total_steps) / total_steps)^power  (PyTorch PolynomialLR).
SchedulePtr polynomial(double lr, int64_t total_steps, double power = 1.0);
// eta_min + (lr - eta_min) * (1 + cos(pi * t / t_max)) / 2  (PyTorch CosineAnnealingLR).
SchedulePtr cosine(double lr, int64_t t_max, double eta_min = 0.0);
// Cosine restarted every t_0, t_0*t_mult, ... steps  (PyTorch CosineAnnealingWarmRestarts).
SchedulePtr cosine_warm_restarts(double lr, int64_t t_0, int64_t t_mult = 1, double eta_min = 0.0);

enum class CyclicMode { kTriangular, kTriangular2, kExpRange };
// Between base_lr and max_lr, up in step_size_up steps and down in step_size_down (0: same
// as up)  (PyTorch CyclicLR; gamma is for kExpRange).
SchedulePtr cyclic(double base_lr, double max_lr, int64_t step_size_up, int64_t step_size_down = 0,
                   CyclicMode mode = CyclicMode::kTriangular, double gamma = 1.0);

struct OneCycleOptions {
  double pct_start = 0.3;         // share of the steps spent increasing the lr
  bool cosine_anneal = true;      // false: linear
  double div_factor = 25.0;       // initial lr = max_lr / div_factor
  double final_div_factor = 1e4;  // min lr = initial lr / final_div_factor
  bool three_phase = false;
};
// Up from max_lr / div_factor to max_lr, then down to the minimum  (PyTorch OneCycleLR).
SchedulePtr one_cycle(double max_lr, int64_t total_steps, OneCycleOptions options = {});

// The first warmup_steps steps rise linearly from start_factor * after(0) towards after(0);
// then `after` runs from its own step 0  (PyTorch SequentialLR of LinearLR and `after`).
SchedulePtr linear_warmup(SchedulePtr after, int64_t warmup_steps, double start_factor = 0.0);
// schedules[i] runs from milestones[i-1] (its own step 0) until milestones[i]
// (PyTorch SequentialLR). Needs milestones.size() == schedules.size() - 1, increasing.
SchedulePtr sequential(std::vector<SchedulePtr> schedules, std::vector<int64_t> milestones);

// lrs[t] at step t, the last value held after the list ends (the per-epoch learning rates a
// PBT lineage used, replayed). Needs at least one value, each finite and > 0.
SchedulePtr piecewise(std::vector<double> lrs);

// Reduce the learning rate by `factor` when a metric stops improving (PyTorch
// ReduceLROnPlateau, same options and defaults). Stateful: feed it one metric per epoch.
struct PlateauOptions {
  bool maximize = false;  // mode "max": the metric should grow (accuracy)
  double factor = 0.1;
  int64_t patience = 10;
  double threshold = 1e-4;
  bool relative_threshold = true;  // threshold_mode "rel" (else "abs")
  int64_t cooldown = 0;
  double min_lr = 0.0;
  double eps = 1e-8;
};

class PlateauSchedule {
 public:
  // Throws InvalidArgument for factor outside (0, 1), negative patience/cooldown/threshold.
  PlateauSchedule(double lr, PlateauOptions options = {});
  // Records the epoch's metric; returns the learning rate to use from now on.
  double step(double metric);
  double lr() const { return lr_; }

  // State for checkpoints.
  struct State {
    double lr, best;
    int64_t num_bad_epochs, cooldown_counter;
  };
  State state() const { return {lr_, best_, num_bad_epochs_, cooldown_counter_}; }
  void restore(const State& s);

 private:
  bool is_better(double metric) const;
  PlateauOptions options_;
  double lr_;
  double best_;
  int64_t num_bad_epochs_ = 0;
  int64_t cooldown_counter_ = 0;
};

}  // namespace knob

#include "knob/train/config.h"

namespace knob {

// The schedule a config asks for, for base learning rate `lr` over `total` units (epochs, or
// steps when config.per is "step"), warm-up included. Not for "plateau" (see PlateauSchedule).
SchedulePtr make_schedule(const ScheduleConfig& config, double lr, int64_t total);

}  // namespace knob
