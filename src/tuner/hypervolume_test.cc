// Hypervolume: closed forms, against inclusion–exclusion over every subset of random point
// sets in 2 to 5 objectives (an independent exact formula), the history of a study, and
// malformed input.
#include "knob/tuner/hypervolume.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "knob/core/error.h"
#include "knob/core/random.h"
#include "knob/tuner/constraints.h"

namespace knob {
namespace {

using Points = std::vector<std::vector<double>>;

// The volume of the union of the boxes [p, reference], by inclusion–exclusion.
double inclusion_exclusion(const Points& points, const std::vector<double>& reference) {
  double total = 0;
  const size_t n = points.size();
  for (size_t mask = 1; mask < (size_t{1} << n); ++mask) {
    std::vector<double> corner(reference.size(), -std::numeric_limits<double>::infinity());
    int count = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!(mask & (size_t{1} << i))) continue;
      ++count;
      for (size_t k = 0; k < corner.size(); ++k) corner[k] = std::max(corner[k], points[i][k]);
    }
    double v = 1;
    for (size_t k = 0; k < corner.size(); ++k) v *= std::max(0.0, reference[k] - corner[k]);
    total += (count % 2 ? 1 : -1) * v;
  }
  return total;
}

TEST(Hypervolume, ClosedForms) {
  struct Case {
    const char* name;
    Points points;
    std::vector<double> reference;
    double expected;
  } cases[] = {
      {"empty", {}, {1, 1}, 0},
      {"one point 1-D", {{0.25}}, {1}, 0.75},
      {"staircase 2-D", {{1, 3}, {2, 2}, {3, 1}}, {4, 4}, 6},
      {"dominated point adds nothing", {{1, 1}, {2, 2}}, {3, 3}, 4},
      {"duplicates count once", {{1, 1}, {1, 1}}, {3, 3}, 4},
      {"outside the reference ignored", {{1, 1}, {5, 0}, {0, 3}}, {3, 3}, 4},
      {"on the reference adds nothing", {{3, 0}}, {3, 3}, 0},
      {"unit cube 3-D", {{0, 0, 0}}, {1, 1, 1}, 1},
      {"two boxes 3-D", {{0, 0, 0.5}, {0.5, 0.5, 0}}, {1, 1, 1}, 0.5 + 0.25 - 0.125},
      {"4-D corner", {{0, 0, 0, 0}, {0.5, 0.5, 0.5, 0.5}}, {1, 1, 1, 1}, 1},
  };
  for (const auto& c : cases)
    EXPECT_NEAR(hypervolume(c.points, c.reference), c.expected, 1e-12) << c.name;
}

TEST(Hypervolume, MatchesInclusionExclusion) {
  Rng rng(7);
  for (size_t dims = 2; dims <= 5; ++dims) {
    for (int rep = 0; rep < 20; ++rep) {
      Points points(6 + rep % 5, std::vector<double>(dims));
      for (auto& p : points) {
        for (auto& v : p) v = rng.uniform();
      }
      // Points on a simplex are mutually non-dominated: the hard case.
      if (rep % 2) {
        for (auto& p : points) {
          double sum = 0;
          for (double v : p) sum += v;
          for (auto& v : p) v /= sum;
        }
      }
      const std::vector<double> reference(dims, 1.1);
      EXPECT_NEAR(hypervolume(points, reference), inclusion_exclusion(points, reference), 1e-12)
          << dims << "-D, rep " << rep;
    }
  }
}

FrozenTrial complete(int64_t number, std::vector<double> values,
                     std::optional<std::vector<double>> constraints = std::nullopt) {
  FrozenTrial t;
  t.number = number;
  t.state = TrialState::kComplete;
  t.values = std::move(values);
  if (constraints) t.system_attrs[kConstraintsKey] = Json(*constraints);
  return t;
}

TEST(Hypervolume, HistoryByTrialNumberFeasibleOnly) {
  // Minimize the first objective, maximize the second; reference (4, 0).
  std::vector<FrozenTrial> trials = {
      complete(3, {1, 1}),               // box 3 x 1
      complete(0, {2, 2}),               // first by number: box 2 x 2
      complete(1, {0, 5}, {{0.5}}),      // infeasible: nothing
      complete(2, {3, 1}),               // dominated by trial 0: nothing
      complete(4, {0.5, 3}, {{-1, 0}}),  // feasible, dominates trials 0 and 3
  };
  FrozenTrial running;
  running.number = 5;
  running.state = TrialState::kRunning;
  trials.push_back(running);
  const auto history =
      hypervolume_history(trials, {StudyDirection::kMinimize, StudyDirection::kMaximize}, {4, 0});
  ASSERT_EQ(history.size(), 5u);
  EXPECT_DOUBLE_EQ(history[0], 4);
  EXPECT_DOUBLE_EQ(history[1], 4);
  EXPECT_DOUBLE_EQ(history[2], 4);
  EXPECT_DOUBLE_EQ(history[3], 4 + 3 - 2);  // union of (2 x 2) and (3 x 1)
  EXPECT_DOUBLE_EQ(history[4], 3.5 * 3);
}

TEST(Hypervolume, MalformedInput) {
  struct Case {
    const char* name;
    Points points;
    std::vector<double> reference;
    const char* message;
  } cases[] = {
      {"empty reference", {}, {}, "reference"},
      {"NaN in reference", {}, {1, NAN}, "reference"},
      {"size mismatch", {{1, 2, 3}}, {4, 4}, "points[0]"},
      {"NaN in point", {{0, 0}, {NAN, 0}}, {4, 4}, "points[1]"},
  };
  for (const auto& c : cases) {
    try {
      hypervolume(c.points, c.reference);
      ADD_FAILURE() << c.name << ": did not throw";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos)
          << c.name << ": " << e.what();
    }
  }
  EXPECT_THROW(hypervolume_history({}, {StudyDirection::kMinimize}, {1, 2}), InvalidArgument);
}

}  // namespace
}  // namespace knob
