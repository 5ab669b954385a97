// Stand-ins for a build without libtorch: no `knob train`, and config studies that need the
// trainer say why they cannot run.
#include "commands.h"
#include "knob/core/error.h"
#include "trainer_objective.h"

namespace knob::cli {

bool trainer_available() { return false; }

std::function<double(Trial&)> make_trainer_objective(const TrainConfig&,
                                                     const std::vector<SearchParam>&) {
  throw Error("this knob was built without libtorch, so it has no trainer; "
              "install libtorch-dev (scripts/setup does) and rebuild");
}

void add_train_command(CLI::App&) {}

}  // namespace knob::cli
