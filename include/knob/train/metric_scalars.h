// The scalars a training run logs, named as `knob train --tensorboard` writes them, all on one
// step axis: the global optimizer step (1 for the run's first step). Torch-free.
//   per step:  "train/loss", "train/accuracy" (this batch's), "lr", "batch_size";
//   per epoch, at the step the epoch ended: "epoch/train_loss" (the epoch's mean),
//              "val/loss", "val/accuracy".
//
// Example:
//   for (const knob::MetricScalar& s : knob::step_scalars(m))
//     writer.add_scalar(s.tag, s.value, s.step);
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "knob/train/train_result.h"

namespace knob {

struct MetricScalar {
  std::string_view tag;  // a literal: valid for the program's lifetime
  double value = 0;
  int64_t step = 0;
};

std::array<MetricScalar, 4> step_scalars(const StepMetrics& m);
std::array<MetricScalar, 3> epoch_scalars(const EpochMetrics& m);

}  // namespace knob
