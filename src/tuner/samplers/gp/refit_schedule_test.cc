// The GP's refit schedule: every ask below 100 observations, then each 10% of growth.
#include "tuner/samplers/gp/refit_schedule.h"

#include <gtest/gtest.h>

namespace knob::detail {
namespace {

TEST(GpRefitSchedule, EveryAskBelowAHundredThenEachTenthOfGrowth) {
  struct Case {
    size_t n, fitted_n;
    bool due;
  };
  const Case cases[] = {
      {11, 10, true},       {99, 99, true},     {99, 98, true},    {100, 99, false},
      {107, 99, false},     {108, 99, true},    {109, 100, false}, {110, 100, true},
      {1000, 950, false},   {1044, 950, false}, {1045, 950, true}, {10999, 10000, false},
      {11000, 10000, true}, {5000, 100, true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(gp_refit_due(c.n, c.fitted_n), c.due) << c.n << " after a fit at " << c.fitted_n;
  }
}

TEST(GpRefitSchedule, OneObservationAtATimeRefitsLogarithmicallyOften) {
  size_t fitted_n = 0, refits_below_100 = 0, refits_to_1000 = 0;
  for (size_t n = 1; n <= 1000; ++n) {
    if (!gp_refit_due(n, fitted_n)) continue;
    fitted_n = n;
    ++(n < 100 ? refits_below_100 : refits_to_1000);
  }
  EXPECT_EQ(refits_below_100, 99u);
  // 99 -> 108 -> 118 -> ... -> 1000: about log(1000/99) / log(1.1) = 24 refits.
  EXPECT_GE(refits_to_1000, 22u);
  EXPECT_LE(refits_to_1000, 26u);
}

}  // namespace
}  // namespace knob::detail
