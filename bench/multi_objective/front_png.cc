// A two-objective study's Pareto front as a PNG, drawn with the report module's chart
// (report/chart.h, report/png.h): the figure of docs/multi_objective.md.
//
//   front_png STORAGE STUDY OUT.png X Y "X LABEL" "Y LABEL"
//
// X and Y are objective indices. Dominated feasible trials are grey, the front (feasible
// COMPLETE trials no other dominates, study_tables.h) red and joined by a step line, each
// labelled with its trial number; infeasible trials (constraint values > 0) orange.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "knob/report/chart.h"
#include "knob/report/png.h"
#include "knob/report/study_tables.h"
#include "knob/storage/open_storage.h"
#include "knob/tuner/constraints.h"

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr, "usage: front_png STORAGE STUDY OUT.png X Y \"X LABEL\" \"Y LABEL\"\n");
    return 2;
  }
  auto storage = knob::open_storage(argv[1]);
  const int64_t id = storage->study_id_from_name(argv[2]);
  const auto directions = storage->study_directions(id);
  const auto trials = storage->trials(id);
  const size_t xi = std::strtoul(argv[4], nullptr, 10), yi = std::strtoul(argv[5], nullptr, 10);
  if (xi >= directions.size() || yi >= directions.size()) {
    std::fprintf(stderr, "X and Y must be objective indices below %zu\n", directions.size());
    return 2;
  }
  const auto front = knob::pareto_front(trials, directions);
  knob::Series dominated("dominated", {}, {}), infeasible("infeasible", {}, {});
  dominated.style(knob::SeriesStyle::kPoints).color("#9ab");
  infeasible.style(knob::SeriesStyle::kPoints).color("#ff7f0e").point_radius(2.5);
  std::vector<const knob::FrozenTrial*> on_front(front.begin(), front.end());
  std::sort(on_front.begin(), on_front.end(),
            [&](auto* a, auto* b) { return a->values[xi] < b->values[xi]; });
  knob::Chart chart;
  chart.title(std::string("Pareto front of ") + argv[2])
      .x_axis(knob::Axis().label(argv[6]))
      .y_axis(knob::Axis().label(argv[7]));
  for (const auto& t : trials) {
    if (t.state != knob::TrialState::kComplete || t.values.size() != directions.size()) continue;
    if (std::find(front.begin(), front.end(), &t) != front.end()) continue;
    knob::Series& s = knob::is_feasible(t) ? dominated : infeasible;
    s.x().push_back(t.values[xi]);
    s.y().push_back(t.values[yi]);
  }
  knob::Series line("Pareto front", {}, {});
  line.style(knob::SeriesStyle::kStep).color("#d62728");
  for (const auto* t : on_front) {
    line.x().push_back(t->values[xi]);
    line.y().push_back(t->values[yi]);
    chart.annotate(knob::Annotation::point(t->values[xi], t->values[yi],
                                           "trial " + std::to_string(t->number)));
  }
  chart.add(dominated).add(line);
  if (!infeasible.x().empty()) chart.add(infeasible);
  knob::write_png(knob::to_svg(chart), argv[3], 1280);
  std::printf("%zu trials on the front, written to %s\n", front.size(), argv[3]);
  return 0;
}
