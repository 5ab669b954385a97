#include "knob/tuner/hypervolume.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "knob/core/error.h"
#include "knob/tuner/constraints.h"

namespace knob {
namespace {

using Point = std::vector<double>;

double box(const Point& p, const Point& reference) {
  double v = 1;
  for (size_t i = 0; i < p.size(); ++i) v *= reference[i] - p[i];
  return v;
}

// 2-D: sorted by the first objective, each point adds the strip below the best second
// objective seen so far.
double hypervolume_2d(std::vector<Point> points, const Point& reference) {
  std::sort(points.begin(), points.end());
  double volume = 0, best_y = reference[1];
  for (const Point& p : points) {
    if (p[1] < best_y) {
      volume += (reference[0] - p[0]) * (best_y - p[1]);
      best_y = p[1];
    }
  }
  return volume;
}

// 3-D: slices along the third objective, each the 2-D hypervolume of the points below it.
double hypervolume_3d(std::vector<Point> points, const Point& reference) {
  std::sort(points.begin(), points.end(),
            [](const Point& a, const Point& b) { return a[2] < b[2]; });
  double volume = 0;
  std::vector<Point> below;
  for (size_t i = 0; i < points.size(); ++i) {
    below.push_back({points[i][0], points[i][1]});
    const double next_z = i + 1 < points.size() ? points[i + 1][2] : reference[2];
    if (next_z > points[i][2]) volume += hypervolume_2d(below, reference) * (next_z - points[i][2]);
  }
  return volume;
}

// The points of `points` no other point weakly dominates (duplicates kept once).
std::vector<Point> non_dominated(std::vector<Point> points) {
  std::sort(points.begin(), points.end());
  points.erase(std::unique(points.begin(), points.end()), points.end());
  std::vector<Point> front;
  for (size_t i = 0; i < points.size(); ++i) {
    bool dominated = false;
    for (size_t j = 0; j < points.size() && !dominated; ++j) {
      if (i == j) continue;
      bool all_le = true;
      for (size_t k = 0; k < points[i].size() && all_le; ++k) all_le = points[j][k] <= points[i][k];
      dominated = all_le;
    }
    if (!dominated) front.push_back(points[i]);
  }
  return front;
}

double hypervolume_rec(std::vector<Point> points, const Point& reference);

// WFG: the volume only `point` dominates, given the points after it.
double exclusive(const Point& point, const std::vector<Point>& rest, const Point& reference) {
  std::vector<Point> limited;
  limited.reserve(rest.size());
  for (const Point& q : rest) {
    Point l(q.size());
    for (size_t k = 0; k < q.size(); ++k) l[k] = std::max(q[k], point[k]);
    limited.push_back(std::move(l));
  }
  return box(point, reference) - hypervolume_rec(non_dominated(std::move(limited)), reference);
}

double hypervolume_rec(std::vector<Point> points, const Point& reference) {
  if (points.empty()) return 0;
  if (points.size() == 1) return box(points[0], reference);
  if (reference.size() == 1) {
    double low = reference[0];
    for (const Point& p : points) low = std::min(low, p[0]);
    return reference[0] - low;
  }
  if (reference.size() == 2) return hypervolume_2d(std::move(points), reference);
  if (reference.size() == 3) return hypervolume_3d(std::move(points), reference);
  std::sort(points.begin(), points.end());
  double volume = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    volume += exclusive(
        points[i], {points.begin() + static_cast<std::ptrdiff_t>(i) + 1, points.end()}, reference);
  }
  return volume;
}

}  // namespace

double hypervolume(std::vector<std::vector<double>> points, const std::vector<double>& reference) {
  KNOB_CHECK(!reference.empty(), "reference", std::string("[]"),
             "must have one value per objective");
  for (double r : reference) {
    KNOB_CHECK(!std::isnan(r), "reference", dumps(Json(reference)), "must not contain NaN");
  }
  std::vector<Point> inside;
  for (size_t i = 0; i < points.size(); ++i) {
    const Point& p = points[i];
    KNOB_CHECK(p.size() == reference.size(), "points[" + std::to_string(i) + "]", dumps(Json(p)),
               "must have " + std::to_string(reference.size()) + " values, as the reference");
    bool below = true;
    for (size_t k = 0; k < p.size(); ++k) {
      KNOB_CHECK(!std::isnan(p[k]), "points[" + std::to_string(i) + "]", dumps(Json(p)),
                 "must not contain NaN");
      below = below && p[k] < reference[k];
    }
    if (below) inside.push_back(p);
  }
  if (inside.size() > 1 && reference.size() > 3) inside = non_dominated(std::move(inside));
  return hypervolume_rec(std::move(inside), reference);
}

std::vector<double> hypervolume_history(const std::vector<FrozenTrial>& trials,
                                        const std::vector<StudyDirection>& directions,
                                        const std::vector<double>& reference) {
  KNOB_CHECK(reference.size() == directions.size(), "reference", dumps(Json(reference)),
             "must have one value per direction (" + std::to_string(directions.size()) + ")");
  std::vector<double> signs;
  Point minimized_reference;
  for (size_t i = 0; i < directions.size(); ++i) {
    signs.push_back(directions[i] == StudyDirection::kMaximize ? -1.0 : 1.0);
    minimized_reference.push_back(signs[i] * reference[i]);
  }
  std::vector<const FrozenTrial*> complete;
  for (const FrozenTrial& t : trials) {
    if (t.state == TrialState::kComplete && t.values.size() == directions.size())
      complete.push_back(&t);
  }
  std::stable_sort(
      complete.begin(), complete.end(),
      [](const FrozenTrial* a, const FrozenTrial* b) { return a->number < b->number; });
  std::vector<double> history;
  std::vector<Point> front;
  double volume = 0;
  for (const FrozenTrial* t : complete) {
    Point p(directions.size());
    bool inside = true;
    for (size_t k = 0; k < p.size(); ++k) {
      p[k] = signs[k] * t->values[k];
      inside = inside && p[k] <= minimized_reference[k];
    }
    const bool covered = std::any_of(front.begin(), front.end(), [&](const Point& f) {
      for (size_t k = 0; k < p.size(); ++k) {
        if (f[k] > p[k]) return false;
      }
      return true;
    });
    if (inside && !covered && is_feasible(*t)) {
      std::erase_if(front, [&](const Point& f) {
        for (size_t k = 0; k < p.size(); ++k) {
          if (p[k] > f[k]) return false;
        }
        return true;
      });
      front.push_back(p);
      volume = hypervolume(front, minimized_reference);
    }
    history.push_back(volume);
  }
  return history;
}

}  // namespace knob
