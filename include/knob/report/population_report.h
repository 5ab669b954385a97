// What `knob pbt` shows of a population-based training run (knob/train/population.h): the
// members' epochs as CSV, a chart of each member's learning rate per epoch with the best
// lineage's schedule on top, and a text summary (a table of the members and that schedule).
//
// Example:
//   knob::PopulationResult r = population.result();
//   std::cout << knob::population_summary(r);
//   std::ofstream("pbt.csv") << knob::population_csv(r);
//   std::string svg = knob::to_svg(knob::population_lr_chart(r));
#pragma once

#include <string>

#include "knob/report/chart.h"
#include "knob/train/population.h"

namespace knob {

// "member,epoch,lr,val_accuracy,val_loss,copied_from" and a row per member and epoch
// (numbers to 10 significant digits; copied_from empty for a member's own weights).
std::string population_csv(const PopulationResult& result);

// lr per epoch (log axis) as a dashed step line per member and a solid black one for the
// best lineage.
Chart population_lr_chart(const PopulationResult& result);

// A table of the members (final val_accuracy, val_loss and lr, the copies each made; the best
// and diverged ones marked), a blank line, then the best lineage's lr per epoch.
std::string population_summary(const PopulationResult& result);

}  // namespace knob
