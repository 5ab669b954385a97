// One training run as `knob train` does it: trains a config through the trainer plugin
// (knob/train/trainer_plugin.h), printing an epoch table and a summary, or — for a trial of
// `knob tune --isolate` — the trial protocol (trainer_objective.h, run_train_protocol).
//
// Example:
//   knob::TrainConfig config = knob::load_train_config("fmnist.toml");
//   knob::validate(config);
//   knob::run::train(config, knob::run::TrainRunOptions().tensorboard("runs/fmnist"));
#pragma once

#include <iostream>
#include <string>

#include "knob/core/arg.h"
#include "knob/train/config.h"

namespace knob::run {

// A stream to print to (KNOB_ARG takes a pointer type as one name).
using OstreamPtr = std::ostream*;

struct TrainRunOptions {
  // Also write TensorBoard event files here (the tags of knob/train/metric_scalars.h).
  KNOB_ARG(std::string, tensorboard);
  // Print the trial protocol on stdout instead of the table (`knob train --protocol`).
  KNOB_ARG(bool, protocol) = false;
  // The epoch table and the summary.
  KNOB_ARG(OstreamPtr, out) = &std::cout;
  // The "[knob] training ..." line.
  KNOB_ARG(OstreamPtr, log) = &std::cerr;
};

// Trains `config` (validated by the caller). Throws TrainingDiverged when the run diverged,
// after printing the summary.
void train(const TrainConfig& config, const TrainRunOptions& options = {});

}  // namespace knob::run
