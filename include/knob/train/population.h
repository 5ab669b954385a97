// Population-based training (Jaderberg et al. 2017; the semantics of Ray Tune's
// PopulationBasedTraining, synchronous): `size` members train from one TrainConfig, each with
// its own mutable knobs (optimizer.lr, ...) sampled from their ranges. Every `interval` epochs
// the members are ranked by the validation metric; each member of the bottom quantile copies
// the checkpoint (weights, optimizer state, history, random state) and the config of a random
// member of the top quantile (exploit), then perturbs the mutable knobs by a random factor
// (0.8 or 1.2) or, with resample_probability, redraws them from their ranges (explore). The lr
// a lineage ends up using per epoch is a discovered learning-rate schedule.
//
// Torch-free: members train through a FitFunction (Trainer::fit, or train_with_plugin) and
// clone each other by copying checkpoint files. Same seed, same numbers at jobs = 1; with
// jobs > 1 members train in parallel threads (train.threads = 1 each) and share libtorch's
// global dropout generator, so the numbers vary.
//
// Example:
//   knob::TrainConfig config = knob::load_train_config("examples/fashion_mnist_mlp.toml");
//   auto fit = [](const knob::TrainConfig& c, const knob::EpochCallback& on_epoch) {
//     return knob::Trainer(c).fit(on_epoch);
//   };
//   knob::Population population(config, knob::PopulationOptions().size(8), fit);
//   knob::PopulationResult r = population.run();
//   for (double lr : r.best_schedule) std::cout << lr << "\n";
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "knob/core/arg.h"
#include "knob/core/random.h"
#include "knob/train/config.h"
#include "knob/train/pbt_policy.h"
#include "knob/train/train_result.h"

namespace knob {

struct PopulationOptions {
  KNOB_ARG(int64_t, size) = 4;      // members (>= 2)
  KNOB_ARG(int64_t, interval) = 1;  // epochs between exploit/explore steps
  // The bottom fraction copies the top fraction: ceil(size x fraction) members each, at most
  // size / 2 (Ray Tune's rule). 0 turns exploitation off (independent members, a baseline).
  KNOB_ARG(double, quantile_fraction) = 0.25;
  KNOB_ARG(double, resample_probability) = 0.25;
  KNOB_ARG(std::vector<double>, perturbation_factors) = std::vector<double>{1.2, 0.8};
  KNOB_ARG(std::vector<MutableKnob>,
           knobs) = std::vector<MutableKnob>{{"optimizer.lr", 1e-4, 1e-1, true}};
  // A per-epoch metric (knob/train/task.h): val_accuracy, val_r2 (max); losses, errors (min).
  KNOB_ARG(std::string, metric) = "val_accuracy";
  KNOB_ARG(int64_t, jobs) = 1;  // members trained at once
  // Knobs, exploit and explore draws: member m's at generation g from pbt_seed(seed, g, m).
  KNOB_ARG(uint64_t, seed) = 0;
  // Where the members' checkpoints live ("": a temporary directory, removed afterwards).
  KNOB_ARG(std::string, checkpoint_dir) = "";
};

// Throws InvalidArgument naming the option, its value and what is allowed. A kFloat knob must
// be a floating-point config key (optimizer.lr), a kInt knob an integer one (batch.size), and
// every choice of a kCategorical knob a value its key takes (optimizer.kind = "sgd").
void validate(const PopulationOptions& options);

// Member `member` continued, after `epoch` epochs, from member `source`'s checkpoint.
struct Exploit {
  int64_t member = 0, source = 0, epoch = 0;
  KnobValues knobs;  // after explore
};

struct PopulationMember {
  std::vector<EpochMetrics> history;  // the epochs this member trained (lr as actually used)
  std::vector<Exploit> lineage;       // the copies it made, in order
  KnobValues knobs;                   // current values of the mutable knobs
  TrainConfig config;                 // current config (knobs and seed included)
  std::string stop_reason;            // "" while training; else the trainer's stop reason
  // The source of the weights at the start of `epoch`, or -1 when the member's own.
  int64_t copied_from(int64_t epoch) const;
};

struct PopulationResult {
  std::vector<PopulationMember> members;
  int64_t best = -1;                  // the member with the best final metric
  std::vector<double> best_schedule;  // lr per epoch along the best member's lineage
};

// Trains a config with an epoch callback (which may throw to stop it); Trainer::fit.
using FitFunction = std::function<TrainResult(const TrainConfig&, const EpochCallback&)>;

class Population {
 public:
  // Validates the options and the config and samples each member's knobs. Member i trains
  // with train.seed + i (until it copies another member, whose seed it takes).
  Population(TrainConfig config, PopulationOptions options, FitFunction fit);
  ~Population();
  Population(const Population&) = delete;
  Population& operator=(const Population&) = delete;

  // Trains until train.epochs, with an exploit/explore step after every interval but the last.
  PopulationResult run();
  // The two halves of a round, for tests and custom loops.
  void train_round();                          // every member trains `interval` more epochs
  std::vector<Exploit> exploit_and_explore();  // the copies made
  bool done() const { return epochs_done_ >= config_.train.epochs; }
  int64_t epochs_done() const { return epochs_done_; }

  const std::vector<PopulationMember>& members() const { return members_; }
  std::string checkpoint_path(int64_t member) const;
  PopulationResult result() const;

 private:
  double score(const PopulationMember& member) const;
  void train_member(int64_t index, int64_t end_epoch);

  TrainConfig config_;
  PopulationOptions options_;
  FitFunction fit_;
  std::string dir_;
  bool remove_dir_ = false;
  std::vector<PopulationMember> members_;
  int64_t epochs_done_ = 0;
};

}  // namespace knob
