#include "knob/train/schedule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "knob/core/error.h"
#include "schedule_golden.h"

namespace knob {
namespace {

// Relative agreement, with an absolute floor for values near zero.
void expect_close(double expected, double actual, const std::string& where) {
  EXPECT_NEAR(actual, expected, 1e-6 * std::abs(expected) + 1e-12) << where;
}

// Each golden case rebuilt with knob; numbers from scripts/gen_schedule_golden.py.
const std::map<std::string, std::function<SchedulePtr()>>& knob_cases() {
  static const std::map<std::string, std::function<SchedulePtr()>> kCases = {
      {"step", [] { return step_decay(0.1, 7, 0.5); }},
      {"multistep",
       [] {
         return multistep(0.1, {25, 10, 40}, 0.3);
       }},
      {"exponential", [] { return exponential(0.1, 0.95); }},
      {"polynomial", [] { return polynomial(0.1, 40, 2.0); }},
      {"cosine", [] { return cosine(0.1, 50, 0.001); }},
      {"cosine_warm_restarts", [] { return cosine_warm_restarts(0.1, 5, 2, 0.002); }},
      {"cyclic_triangular", [] { return cyclic(0.01, 0.1, 6); }},
      {"cyclic_triangular2", [] { return cyclic(0.01, 0.1, 4, 8, CyclicMode::kTriangular2); }},
      {"cyclic_exp_range", [] { return cyclic(0.01, 0.1, 5, 0, CyclicMode::kExpRange, 0.97); }},
      {"one_cycle", [] { return one_cycle(0.1, 60); }},
      {"one_cycle_linear_three_phase",
       [] {
         OneCycleOptions o;
         o.pct_start = 0.25;
         o.cosine_anneal = false;
         o.three_phase = true;
         o.div_factor = 10.0;
         o.final_div_factor = 100.0;
         return one_cycle(0.1, 60, o);
       }},
      {"warmup_cosine", [] { return linear_warmup(cosine(0.1, 50), 10, 0.1); }},
      {"sequential_constant_exponential",
       [] {
         return sequential({constant(0.1), exponential(0.1, 0.9)}, {20});
       }},
  };
  return kCases;
}

TEST(ScheduleTest, MatchesPyTorchForEveryGoldenCase) {
  for (const auto& [name, expected] : golden::schedule_lrs()) {
    if (name == "plateau") continue;
    ASSERT_TRUE(knob_cases().count(name)) << "no knob case for golden '" << name << "'";
    SchedulePtr schedule = knob_cases().at(name)();
    for (size_t t = 0; t < expected.size(); ++t) {
      expect_close(expected[t], schedule->lr(static_cast<int64_t>(t)),
                   name + " at t=" + std::to_string(t));
    }
  }
}

TEST(ScheduleTest, EveryKnobCaseHasAGoldenCase) {
  for (const auto& [name, make] : knob_cases()) {
    EXPECT_TRUE(golden::schedule_lrs().count(name)) << name;
  }
}

TEST(ScheduleTest, PlateauMatchesPyTorch) {
  PlateauOptions o;
  o.factor = 0.5;
  o.patience = 3;
  o.cooldown = 2;
  o.threshold = 1e-3;
  PlateauSchedule plateau(0.1, o);
  const auto& expected = golden::schedule_lrs().at("plateau");
  const auto& metrics = golden::plateau_metrics();
  for (size_t t = 0; t < expected.size(); ++t) {
    expect_close(expected[t], plateau.lr(), "plateau at t=" + std::to_string(t));
    plateau.step(metrics[t]);
  }
}

TEST(ScheduleTest, PlateauStateRestores) {
  PlateauOptions o;
  o.patience = 1;
  PlateauSchedule a(0.1, o), b(0.1, o);
  for (double m : {1.0, 1.0, 1.0}) a.step(m);
  b.restore(a.state());
  for (double m : {1.0, 0.5, 0.5, 0.5}) EXPECT_EQ(a.step(m), b.step(m));
}

// Closed forms at a few points, independent of the golden file.
TEST(ScheduleTest, ClosedForms) {
  EXPECT_DOUBLE_EQ(constant(0.3)->lr(1000), 0.3);
  EXPECT_DOUBLE_EQ(inverse_time(0.1, 0.5)->lr(4), 0.1 / 3.0);
  EXPECT_DOUBLE_EQ(inverse_time(0.1, 1.0, 10, true)->lr(19), 0.1 / 2.0);
  EXPECT_DOUBLE_EQ(inverse_time(0.1, 1.0, 10, false)->lr(15), 0.1 / 2.5);
  EXPECT_DOUBLE_EQ(cosine(1.0, 10)->lr(5), 0.5);
  EXPECT_NEAR(cosine(1.0, 10)->lr(10), 0.0, 1e-15);
  EXPECT_DOUBLE_EQ(polynomial(1.0, 10, 1.0)->lr(100), 0.0);
  EXPECT_DOUBLE_EQ(linear_warmup(constant(1.0), 4, 0.0)->lr(2), 0.5);
  EXPECT_DOUBLE_EQ(linear_warmup(constant(1.0), 0)->lr(0), 1.0);
  EXPECT_DOUBLE_EQ(cosine_warm_restarts(1.0, 4, 1)->lr(4), 1.0);  // restart
}

// A sequential config: 2 warm-up epochs, constant until epoch 5, then cosine to the end.
TEST(ScheduleTest, SequentialConfigSwitchesAtItsEpochs) {
  ScheduleConfig c;
  c.kind = "sequential";
  c.phases = {"constant", "cosine"};
  c.switch_at = {5};
  c.warmup = 2;
  SchedulePtr s = make_schedule(c, 0.1, 20);
  EXPECT_DOUBLE_EQ(s->lr(0), 0.0);   // warm-up from 0
  EXPECT_DOUBLE_EQ(s->lr(1), 0.05);  // halfway
  for (int64_t t = 2; t < 5; ++t) EXPECT_DOUBLE_EQ(s->lr(t), 0.1) << t;
  // The cosine runs its own t = 0..15 over the 15 remaining epochs.
  for (int64_t t = 5; t < 20; ++t) {
    expect_close(0.1 * (1 + std::cos(M_PI * static_cast<double>(t - 5) / 15.0)) / 2, s->lr(t),
                 "epoch " + std::to_string(t));
  }
}

// Piecewise: lrs[t] per epoch, the last held after the list ends; optimizer.lr is not used.
TEST(ScheduleTest, PiecewiseHoldsTheLastLearningRate) {
  struct Case {
    std::vector<double> lrs;
    std::vector<double> expected;  // at t = 0, 1, ...
  };
  const std::vector<Case> cases = {
      {{0.1}, {0.1, 0.1, 0.1}},
      {{0.1, 0.1, 0.05}, {0.1, 0.1, 0.05, 0.05, 0.05}},
      {{0.3, 0.2, 0.1, 0.4}, {0.3, 0.2, 0.1, 0.4, 0.4}},
  };
  for (const auto& c : cases) {
    SchedulePtr direct = piecewise(c.lrs);
    ScheduleConfig config;
    config.kind = "piecewise";
    config.lrs = c.lrs;
    SchedulePtr from_config = make_schedule(config, /*lr=*/9.0, /*total=*/5);
    for (size_t t = 0; t < c.expected.size(); ++t) {
      EXPECT_EQ(direct->lr(static_cast<int64_t>(t)), c.expected[t]) << t;
      EXPECT_EQ(from_config->lr(static_cast<int64_t>(t)), c.expected[t]) << t;
    }
  }
}

TEST(ScheduleTest, MalformedSettingsNameTheField) {
  struct Case {
    std::string field;
    std::function<void()> make;
  };
  const std::vector<Case> cases = {
      {"lr", [] { constant(0.0); }},
      {"lr", [] { constant(-1.0); }},
      {"lr", [] { constant(NAN); }},
      {"step_size", [] { step_decay(0.1, 0); }},
      {"gamma", [] { exponential(0.1, 0.0); }},
      {"total_steps", [] { polynomial(0.1, 0); }},
      {"t_max", [] { cosine(0.1, 0); }},
      {"eta_min", [] { cosine(0.1, 10, 0.5); }},
      {"t_mult", [] { cosine_warm_restarts(0.1, 5, 0); }},
      {"step_size_up", [] { cyclic(0.01, 0.1, 0); }},
      {"pct_start",
       [] {
         OneCycleOptions o;
         o.pct_start = 1.5;
         one_cycle(0.1, 10, o);
       }},
      {"warmup_steps", [] { linear_warmup(constant(0.1), -1); }},
      {"warmup_start_factor", [] { linear_warmup(constant(0.1), 5, 2.0); }},
      {"milestones",
       [] {
         sequential({constant(0.1), constant(0.2)}, {});
       }},
      {"milestones[1]",
       [] {
         sequential({constant(0.1), constant(0.2), constant(0.3)}, {5, 5});
       }},
      {"milestones[0]", [] { multistep(0.1, {-1}); }},
      {"lrs", [] { piecewise({}); }},
      {"lrs[1]",
       [] {
         piecewise({0.1, 0.0});
       }},
      {"lrs[0]", [] { piecewise({INFINITY}); }},
      {"factor",
       [] {
         PlateauOptions o;
         o.factor = 1.0;
         PlateauSchedule(0.1, o);
       }},
      {"patience",
       [] {
         PlateauOptions o;
         o.patience = -1;
         PlateauSchedule(0.1, o);
       }},
  };
  for (const auto& c : cases) {
    try {
      c.make();
      ADD_FAILURE() << "no error for bad " << c.field;
    } catch (const InvalidArgument& e) {
      EXPECT_EQ(std::string(e.what()).rfind(c.field + " = ", 0), 0u) << e.what();
    }
  }
}

}  // namespace
}  // namespace knob
