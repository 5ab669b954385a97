#include "knob/train/schedule.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "knob/core/error.h"

namespace knob {
namespace {

// A schedule from a closure: every closed form below is one lambda.
class FunctionSchedule : public Schedule {
 public:
  explicit FunctionSchedule(std::function<double(int64_t)> f) : f_(std::move(f)) {}
  double lr(int64_t t) const override { return f_(t < 0 ? 0 : t); }

 private:
  std::function<double(int64_t)> f_;
};

SchedulePtr make(std::function<double(int64_t)> f) {
  return std::make_shared<FunctionSchedule>(std::move(f));
}

void check_lr(const char* field, double lr) {
  KNOB_CHECK(std::isfinite(lr) && lr > 0, field, lr, "must be a finite number > 0");
}

void check_steps(const char* field, int64_t steps) {
  KNOB_CHECK(steps >= 1, field, steps, "must be >= 1");
}

void check_gamma(double gamma) {
  KNOB_CHECK(std::isfinite(gamma) && gamma > 0, "gamma", gamma, "must be a finite number > 0");
}

}  // namespace

SchedulePtr constant(double lr) {
  check_lr("lr", lr);
  return make([lr](int64_t) { return lr; });
}

SchedulePtr inverse_time(double lr, double alpha, int64_t decay_steps, bool staircase) {
  check_lr("lr", lr);
  KNOB_CHECK(std::isfinite(alpha) && alpha >= 0, "alpha", alpha, "must be a finite number >= 0");
  check_steps("decay_steps", decay_steps);
  return make([=](int64_t t) {
    double p = static_cast<double>(t) / static_cast<double>(decay_steps);
    if (staircase) p = std::floor(p);
    return lr / (1.0 + alpha * p);
  });
}

SchedulePtr step_decay(double lr, int64_t step_size, double gamma) {
  check_lr("lr", lr);
  check_steps("step_size", step_size);
  check_gamma(gamma);
  return make([=](int64_t t) { return lr * std::pow(gamma, static_cast<double>(t / step_size)); });
}

SchedulePtr multistep(double lr, std::vector<int64_t> milestones, double gamma) {
  check_lr("lr", lr);
  check_gamma(gamma);
  for (size_t i = 0; i < milestones.size(); ++i) {
    KNOB_CHECK(milestones[i] >= 0, "milestones[" + std::to_string(i) + "]", milestones[i],
               "must be >= 0");
  }
  std::sort(milestones.begin(), milestones.end());
  return make([lr, gamma, milestones = std::move(milestones)](int64_t t) {
    auto passed = std::upper_bound(milestones.begin(), milestones.end(), t) - milestones.begin();
    return lr * std::pow(gamma, static_cast<double>(passed));
  });
}

SchedulePtr exponential(double lr, double gamma) {
  check_lr("lr", lr);
  check_gamma(gamma);
  return make([=](int64_t t) { return lr * std::pow(gamma, static_cast<double>(t)); });
}

SchedulePtr polynomial(double lr, int64_t total_steps, double power) {
  check_lr("lr", lr);
  check_steps("total_steps", total_steps);
  KNOB_CHECK(std::isfinite(power) && power >= 0, "power", power, "must be a finite number >= 0");
  return make([=](int64_t t) {
    double done = static_cast<double>(std::min(t, total_steps)) / static_cast<double>(total_steps);
    return lr * std::pow(1.0 - done, power);
  });
}

SchedulePtr cosine(double lr, int64_t t_max, double eta_min) {
  check_lr("lr", lr);
  check_steps("t_max", t_max);
  KNOB_CHECK(eta_min >= 0 && eta_min <= lr, "eta_min", eta_min, "must be in [0, lr]");
  return make([=](int64_t t) {
    return eta_min +
           (lr - eta_min) *
               (1.0 + std::cos(M_PI * static_cast<double>(t) / static_cast<double>(t_max))) / 2.0;
  });
}

SchedulePtr cosine_warm_restarts(double lr, int64_t t_0, int64_t t_mult, double eta_min) {
  check_lr("lr", lr);
  check_steps("t_0", t_0);
  check_steps("t_mult", t_mult);
  KNOB_CHECK(eta_min >= 0 && eta_min <= lr, "eta_min", eta_min, "must be in [0, lr]");
  return make([=](int64_t t) {
    int64_t t_cur = t, t_i = t_0;
    while (t_cur >= t_i) {  // walk the restarts: cheap, exact in integers
      t_cur -= t_i;
      t_i *= t_mult;
    }
    return eta_min +
           (lr - eta_min) *
               (1.0 + std::cos(M_PI * static_cast<double>(t_cur) / static_cast<double>(t_i))) / 2.0;
  });
}

SchedulePtr cyclic(double base_lr, double max_lr, int64_t step_size_up, int64_t step_size_down,
                   CyclicMode mode, double gamma) {
  check_lr("base_lr", base_lr);
  check_lr("max_lr", max_lr);
  check_steps("step_size_up", step_size_up);
  KNOB_CHECK(step_size_down >= 0, "step_size_down", step_size_down, "must be >= 0 (0: same as up)");
  check_gamma(gamma);
  if (step_size_down == 0) step_size_down = step_size_up;
  const double total = static_cast<double>(step_size_up + step_size_down);
  const double ratio = static_cast<double>(step_size_up) / total;
  return make([=](int64_t t) {
    double cycle = std::floor(1.0 + static_cast<double>(t) / total);
    double x = 1.0 + static_cast<double>(t) / total - cycle;
    double scale = x <= ratio ? x / ratio : (x - 1.0) / (ratio - 1.0);
    double height = (max_lr - base_lr) * scale;
    switch (mode) {
      case CyclicMode::kTriangular:
        return base_lr + height;
      case CyclicMode::kTriangular2:
        return base_lr + height / std::pow(2.0, cycle - 1.0);
      case CyclicMode::kExpRange:
        return base_lr + height * std::pow(gamma, static_cast<double>(t));
    }
    return base_lr;
  });
}

SchedulePtr one_cycle(double max_lr, int64_t total_steps, OneCycleOptions o) {
  check_lr("max_lr", max_lr);
  check_steps("total_steps", total_steps);
  KNOB_CHECK(o.pct_start > 0 && o.pct_start < 1, "pct_start", o.pct_start, "must be in (0, 1)");
  KNOB_CHECK(o.div_factor > 0, "div_factor", o.div_factor, "must be > 0");
  KNOB_CHECK(o.final_div_factor > 0, "final_div_factor", o.final_div_factor, "must be > 0");
  const double initial = max_lr / o.div_factor;
  const double min_lr = initial / o.final_div_factor;
  const double n = static_cast<double>(total_steps);
  struct Phase {
    double end_step, start_lr, end_lr;
  };
  std::vector<Phase> phases;
  if (o.three_phase) {
    phases = {{o.pct_start * n - 1, initial, max_lr},
              {2 * o.pct_start * n - 2, max_lr, initial},
              {n - 1, initial, min_lr}};
  } else {
    phases = {{o.pct_start * n - 1, initial, max_lr}, {n - 1, max_lr, min_lr}};
  }
  const bool cosine_anneal = o.cosine_anneal;
  return make([=](int64_t t) {
    double step = static_cast<double>(t);
    double start_step = 0;
    for (size_t i = 0; i < phases.size(); ++i) {
      const Phase& p = phases[i];
      if (step <= p.end_step || i + 1 == phases.size()) {
        double pct = (step - start_step) / (p.end_step - start_step);
        return cosine_anneal ? p.end_lr + (p.start_lr - p.end_lr) / 2.0 * (std::cos(M_PI * pct) + 1)
                             : (p.end_lr - p.start_lr) * pct + p.start_lr;
      }
      start_step = p.end_step;
    }
    return min_lr;
  });
}

SchedulePtr linear_warmup(SchedulePtr after, int64_t warmup_steps, double start_factor) {
  KNOB_CHECK(after != nullptr, "schedule", std::string("null"), "must be a schedule");
  KNOB_CHECK(warmup_steps >= 0, "warmup_steps", warmup_steps, "must be >= 0");
  KNOB_CHECK(start_factor >= 0 && start_factor <= 1, "warmup_start_factor", start_factor,
             "must be in [0, 1]");
  if (warmup_steps == 0) return after;
  return make([after = std::move(after), warmup_steps, start_factor](int64_t t) {
    if (t >= warmup_steps) return after->lr(t - warmup_steps);
    double factor = start_factor + (1.0 - start_factor) * static_cast<double>(t) /
                                       static_cast<double>(warmup_steps);
    return after->lr(0) * factor;
  });
}

SchedulePtr sequential(std::vector<SchedulePtr> schedules, std::vector<int64_t> milestones) {
  KNOB_CHECK(!schedules.empty(), "schedules", std::string("[]"), "must hold at least one schedule");
  KNOB_CHECK(milestones.size() + 1 == schedules.size(), "milestones",
             static_cast<int64_t>(milestones.size()),
             "must number one less than the schedules (" + std::to_string(schedules.size()) + ")");
  for (size_t i = 0; i < milestones.size(); ++i) {
    KNOB_CHECK(milestones[i] >= 1 && (i == 0 || milestones[i] > milestones[i - 1]),
               "milestones[" + std::to_string(i) + "]", milestones[i],
               "must be >= 1 and increasing");
  }
  for (const auto& s : schedules) {
    KNOB_CHECK(s != nullptr, "schedules", std::string("null"), "must all be schedules");
  }
  return make([schedules = std::move(schedules), milestones = std::move(milestones)](int64_t t) {
    auto index = std::upper_bound(milestones.begin(), milestones.end(), t) - milestones.begin();
    int64_t start = index == 0 ? 0 : milestones[index - 1];
    return schedules[index]->lr(t - start);
  });
}

SchedulePtr piecewise(std::vector<double> lrs) {
  KNOB_CHECK(!lrs.empty(), "lrs", std::string("[]"), "must hold at least one learning rate");
  for (size_t i = 0; i < lrs.size(); ++i) {
    check_lr(("lrs[" + std::to_string(i) + "]").c_str(), lrs[i]);
  }
  return make([lrs = std::move(lrs)](int64_t t) {
    return lrs[static_cast<size_t>(std::min<int64_t>(t, static_cast<int64_t>(lrs.size()) - 1))];
  });
}

// ---------------------------------------------------------------- plateau

PlateauSchedule::PlateauSchedule(double lr, PlateauOptions options)
    : options_(options), lr_(lr), best_(options.maximize ? -HUGE_VAL : HUGE_VAL) {
  check_lr("lr", lr);
  KNOB_CHECK(options.factor > 0 && options.factor < 1, "factor", options.factor,
             "must be in (0, 1)");
  KNOB_CHECK(options.patience >= 0, "patience", options.patience, "must be >= 0");
  KNOB_CHECK(options.cooldown >= 0, "cooldown", options.cooldown, "must be >= 0");
  KNOB_CHECK(options.threshold >= 0, "threshold", options.threshold, "must be >= 0");
  KNOB_CHECK(options.min_lr >= 0, "min_lr", options.min_lr, "must be >= 0");
}

bool PlateauSchedule::is_better(double metric) const {
  const double t = options_.threshold;
  if (options_.maximize) {
    return options_.relative_threshold ? metric > best_ * (1.0 + t) : metric > best_ + t;
  }
  return options_.relative_threshold ? metric < best_ * (1.0 - t) : metric < best_ - t;
}

double PlateauSchedule::step(double metric) {
  if (is_better(metric)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;
  }
  if (num_bad_epochs_ > options_.patience) {
    double reduced = std::max(lr_ * options_.factor, options_.min_lr);
    if (lr_ - reduced > options_.eps) lr_ = reduced;
    cooldown_counter_ = options_.cooldown;
    num_bad_epochs_ = 0;
  }
  return lr_;
}

void PlateauSchedule::restore(const State& s) {
  lr_ = s.lr;
  best_ = s.best;
  num_bad_epochs_ = s.num_bad_epochs;
  cooldown_counter_ = s.cooldown_counter;
}

}  // namespace knob

namespace knob {

namespace {

// One schedule of kind `kind` (not sequential, not plateau) running `length` units.
SchedulePtr make_phase(const ScheduleConfig& c, const std::string& kind, double lr,
                       int64_t length) {
  const double max_lr = c.max_lr > 0 ? c.max_lr : 10 * lr;
  if (kind == "inverse_time") return inverse_time(lr, c.alpha);
  if (kind == "step") return step_decay(lr, c.step_size, c.gamma);
  if (kind == "multistep") return multistep(lr, c.milestones, c.gamma);
  if (kind == "exponential") return exponential(lr, c.gamma);
  if (kind == "polynomial") return polynomial(lr, c.t_max > 0 ? c.t_max : length, c.power);
  if (kind == "cosine") return cosine(lr, c.t_max > 0 ? c.t_max : length, c.eta_min);
  if (kind == "cosine_restarts") return cosine_warm_restarts(lr, c.t_0, c.t_mult, c.eta_min);
  if (kind == "cyclic") {
    CyclicMode mode = c.mode == "triangular2" ? CyclicMode::kTriangular2
                      : c.mode == "exp_range" ? CyclicMode::kExpRange
                                              : CyclicMode::kTriangular;
    int64_t up = c.step_size_up > 0 ? c.step_size_up : std::max<int64_t>(1, length / 4);
    return cyclic(lr, max_lr, up, 0, mode, c.gamma);  // gamma matters for exp_range only
  }
  if (kind == "piecewise") return piecewise(c.lrs);
  if (kind == "one_cycle") {
    OneCycleOptions o;
    o.pct_start = c.pct_start;
    return one_cycle(max_lr, length, o);
  }
  return constant(lr);  // "constant", and "plateau" whose changes come from metrics
}

}  // namespace

SchedulePtr make_schedule(const ScheduleConfig& c, double lr, int64_t total) {
  const int64_t main_length = std::max<int64_t>(1, total - c.warmup);
  if (c.kind != "sequential") {
    return linear_warmup(make_phase(c, c.kind, lr, main_length), c.warmup, c.warmup_start_factor);
  }
  // switch_at counts from the start of training; the phases run after the warm-up.
  std::vector<int64_t> starts = {c.warmup};
  starts.insert(starts.end(), c.switch_at.begin(), c.switch_at.end());
  std::vector<SchedulePtr> phases;
  std::vector<int64_t> milestones;
  for (size_t i = 0; i < c.phases.size(); ++i) {
    const int64_t end = i + 1 < starts.size() ? starts[i + 1] : total;
    phases.push_back(make_phase(c, c.phases[i], lr, std::max<int64_t>(1, end - starts[i])));
    if (i > 0) milestones.push_back(starts[i] - c.warmup);
  }
  return linear_warmup(sequential(std::move(phases), std::move(milestones)), c.warmup,
                       c.warmup_start_factor);
}

}  // namespace knob
