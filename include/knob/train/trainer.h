// Trainer: trains a classifier from a TrainConfig on libtorch — data, model, optimizer,
// learning-rate schedule with warm-up, batch-size policy, early stopping, a wall-clock budget
// and divergence detection — and returns the per-epoch history.
//
// Divergence (a NaN/Inf loss, or a loss above train.divergence_factor x the first batch's
// loss) never crashes or hangs: the run stops and the result says where.
// An epoch callback sees each epoch's metrics; it may throw (a tuner's TrialPruned) to stop.
// Not thread-safe per object; several Trainers may run in parallel threads (set
// train.threads = 1 each).
//
// Example:
//   knob::TrainConfig config = knob::load_train_config("examples/fashion_mnist_mlp.toml");
//   knob::TrainResult result = knob::Trainer(config).fit();
//   std::cout << result.final_val_accuracy << "\n";
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "knob/train/config.h"

namespace knob {

struct EpochMetrics {
  int64_t epoch = 0;  // 0-based
  double train_loss = 0, val_loss = 0, val_accuracy = 0;
  double lr = 0;
  int64_t batch_size = 0;
  double seconds = 0;             // this epoch's wall time
  double samples_per_second = 0;  // training throughput of this epoch
};

struct TrainResult {
  std::vector<EpochMetrics> history;
  // "completed", "early_stopping", "time_budget" or "diverged".
  std::string stop_reason = "completed";
  std::string divergence;  // what diverged and at which step, when stop_reason is "diverged"
  int64_t best_epoch = -1;
  double best_val_accuracy = 0;
  double final_val_accuracy = 0;  // of the model the run ends with (best if restored)
  std::optional<double> test_accuracy;
  double seconds = 0;
};

using EpochCallback = std::function<void(const EpochMetrics&)>;

class Trainer {
 public:
  // Validates the config (InvalidArgument naming the key) and loads the data.
  explicit Trainer(TrainConfig config);
  ~Trainer();
  TrainResult fit(const EpochCallback& on_epoch = {});

 private:
  struct State;
  TrainResult fit_impl(const EpochCallback& on_epoch);
  TrainConfig config_;
  std::unique_ptr<State> state_;
};

// Sets libtorch's intra-op threads and OpenBLAS's own thread count (libtorch does not bound the
// latter) — call before training when several trainers run side by side.
void set_compute_threads(int64_t threads);

}  // namespace knob
