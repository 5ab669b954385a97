// TrainConfig: everything the trainer needs, as plain structs with defaults that reproduce
// the seed model (Fashion-MNIST, MLP 784-128-10 with dropout 0.2, Adam lr 0.001, batch 32).
//
// Every field has one dotted key ("optimizer.lr", "train.batch_size") in a single registry.
// The same keys are used by TOML files (table.key), by `--set key=value` overrides and by the
// tuner's search space, so a parameter named "optimizer.lr" in a study sets exactly that field.
// Unknown keys, wrong types and impossible values are reported with the file, table and key.
//
// Torch-free.
//
// Example:
//   knob::TrainConfig config = knob::load_train_config("examples/fashion_mnist_mlp.toml");
//   knob::set_config_value(config, "optimizer.lr", 0.01);
//   knob::validate(config);
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "knob/core/param_value.h"

namespace knob {

struct DataConfig {
  std::string source = "fashion-mnist";                   // fashion-mnist | idx | csv | npy
  std::string dir = "/usr/share/datasets/fashion-mnist";  // fashion-mnist: the IDX files
  std::string train_images, train_labels, test_images, test_labels;  // idx
  std::string train_csv, test_csv;                                   // csv
  std::string label_column = "label";  // csv: the label (or, for regression, target) column
  // npy (numpy.save's format): inputs [N, ...] (uint8, int, float32 or float64) and labels
  // [N] (int classes) or targets [N] / [N, k] (float, for regression and multi-label).
  std::string train_x, train_y, test_x, test_y;
  int64_t validation = 10000;  // examples held out for validation
  std::string split = "last";  // last (the last N, like Keras) | random (seeded)
  bool normalize = true;       // inputs to zero mean, unit variance (training-set statistics)
  int64_t limit = 0;           // use only the first N training examples (0: all)
};

struct ModelConfig {
  std::string kind = "mlp";  // mlp | cnn | torchscript
  std::string path;          // torchscript: the scripted or traced module's file (torch.jit.save)
  // torchscript: re-initialise the file's parameters from train.seed (PyTorch's default rules)
  // instead of starting every run from the file's weights.
  bool reinit = false;
  std::vector<int64_t> hidden = {128};       // mlp: hidden widths
  std::vector<int64_t> channels = {32, 64};  // cnn: conv channels (3x3 conv, ReLU, 2x2 pool)
  double dropout = 0.2;
};

struct OptimizerConfig {
  std::string kind = "adam";  // sgd | adam | adamw | rmsprop | adagrad
  double lr = 0.001;
  double momentum = 0.0;                          // sgd, rmsprop
  bool nesterov = false;                          // sgd
  double weight_decay = 0.0;                      // L2 (decoupled for adamw)
  double l1 = 0.0;                                // L1 penalty added to the loss
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // adam, adamw (eps also rmsprop, adagrad)
  double alpha = 0.99;                            // rmsprop smoothing
};

struct ScheduleConfig {
  // constant | inverse_time | step | multistep | exponential | polynomial | cosine |
  // cosine_restarts | cyclic | one_cycle | plateau | sequential | piecewise
  std::string kind = "constant";
  std::string per = "epoch";  // epoch | step: what t counts
  int64_t warmup = 0;         // linear warm-up length, in the same unit
  double warmup_start_factor = 0.0;
  double gamma = 0.1;               // step, multistep, exponential, cyclic exp_range
  int64_t step_size = 10;           // step
  std::vector<int64_t> milestones;  // multistep
  double alpha = 1.0;               // inverse_time: lr / (1 + alpha * t)
  double power = 1.0;               // polynomial
  int64_t t_max = 0;                // cosine, polynomial: length (0: the whole run after warm-up)
  double eta_min = 0.0;             // cosine, cosine_restarts
  int64_t t_0 = 10;                 // cosine_restarts
  int64_t t_mult = 1;
  double max_lr = 0.0;              // cyclic, one_cycle (0: 10 x optimizer.lr)
  int64_t step_size_up = 0;         // cyclic (0: half an epoch... see trainer docs)
  std::string mode = "triangular";  // cyclic: triangular | triangular2 | exp_range
  double pct_start = 0.3;           // one_cycle
  double factor = 0.1;              // plateau
  int64_t patience = 10;            // plateau
  double threshold = 1e-4;          // plateau
  double min_lr = 0.0;              // plateau
  // sequential: phases[i] (a kind above, with the options above) runs from switch_at[i-1] to
  // switch_at[i], each from its own t = 0 (PyTorch SequentialLR). switch_at counts from the
  // start of training, warm-up included; it has one entry fewer than phases.
  std::vector<std::string> phases;
  std::vector<int64_t> switch_at;
  // piecewise: the learning rate of each epoch (lrs[t] at epoch t, the last one held after the
  // list ends; optimizer.lr is not used). What a PBT lineage discovered, replayed.
  std::vector<double> lrs;
};

struct BatchConfig {
  int64_t size = 32;
  std::vector<int64_t> grow_at;  // epochs at which the batch grows (Smith et al. 2017)
  double grow_factor = 2.0;
  int64_t max_size = 0;   // cap for growth (0: none)
  bool scale_lr = false;  // linear scaling rule: lr x size / base (Goyal et al. 2017)
  int64_t base = 32;
};

// Upper bounds validate() sets on counts that start threads or loops (docs/config.md):
// train.threads (a libtorch pool per trial: past a few hundred threads only contend, huge
// values hang creating them) and lr_find.steps (a training batch each).
inline constexpr int64_t kMaxTrainThreads = 1024;
inline constexpr int64_t kMaxLrFindSteps = 100000;
inline constexpr double kMaxLrFindFactor = 1e4;  // lr_find.factor's upper bound

struct LoopConfig {
  int64_t epochs = 10;
  // cross_entropy | bce_with_logits | mse | l1 | smooth_l1: the task (knob/train/task.h).
  std::string loss = "cross_entropy";
  // The metric a run optimizes: what a study's trial reports per epoch and returns ("": the
  // task's default, val_accuracy or val_loss). See knob/train/task.h for the names.
  std::string objective;
  std::string device = "cpu";  // cpu | cuda | cuda:N (cuda needs a CUDA build of libtorch)
  uint64_t seed = 0;
  int64_t threads = 1;       // libtorch (and BLAS) threads
  double max_seconds = 0.0;  // wall-clock budget (0: none)
  // Early stopping (patience 0: off).
  std::string monitor;  // a metric of the task, as train.objective ("": train.objective's)
  int64_t patience = 0;
  double min_delta = 0.0;
  std::optional<double> baseline;
  int64_t start_from_epoch = 0;
  bool restore_best = false;
  // Divergence: a NaN/Inf loss, or a loss above divergence_factor x the first epoch's
  // starting loss, stops the run (0: only NaN/Inf).
  double divergence_factor = 10.0;
};

struct OutputConfig {
  std::string metrics;   // CSV or .jsonl path for per-epoch metrics ("": none)
  bool progress = true;  // progress bar on stderr
  bool test = true;      // evaluate on the test set at the end
  // Saves the trained model here ("": not saved): a TorchScript file for model.kind =
  // "torchscript" (torch.jit.load reads it), else a libtorch archive of the parameters and
  // buffers (torch::load in C++; torch.jit.load(path).state_dict() in Python).
  std::string model;
};

// Checkpoints: the whole training state (model, optimizer, schedule, early stopping, history,
// random generators) saved at the end of every `every` epochs; a resumed run continues with
// the same numbers as an uninterrupted one (at 1 thread).
struct CheckpointConfig {
  std::string path;     // file ("": no checkpoints)
  int64_t every = 1;    // epochs between saves
  bool resume = false;  // continue from `path` when it exists (else start and say so)
};

// The learning-rate range test (knob lr-find, and optimizer.lr = "find"): the learning rate
// swept from `start` to `end` over `steps` mini-batches (exponentially or linearly), the loss
// smoothed by a bias-corrected moving average with factor `beta`, stopped once the smoothed loss
// passes `diverge` x its best. Defaults as fastai's lr_find and torch-lr-finder.
struct LrFindConfig {
  double start = 1e-7;
  double end = 10.0;
  int64_t steps = 100;
  std::string mode = "exp";  // exp | linear
  double beta = 0.98;
  double diverge = 4.0;
  std::string suggestion = "valley";  // valley | steepest | minimum: the one used and marked
  bool use = false;  // set by optimizer.lr = "find": train with the chosen suggestion
  // With optimizer.lr = "find": train with factor x the suggestion. Searching this key tunes
  // the learning rate relative to the range test (docs/lr_prior.md).
  double factor = 1.0;
  // Not a key: a suggestion already measured (a study keeps one per optimizer kind:
  // knob/run/lr_prior.h), used instead of running the test again. NaN: run it.
  double known = std::numeric_limits<double>::quiet_NaN();
};

// The batch-size finder (knob batch-find, and batch.size = "find"; see knob/train/batch_find.h):
// the largest batch from `start` up to `max_size` whose training step stays under
// `memory_budget`, the throughput of each size tried, the gradient noise scale measured at
// `start` and a big batch over `noise_batches` batches after `noise_warmup` training steps, and
// the recommended size.
struct BatchFindConfig {
  int64_t start = 16;
  int64_t max_size = 0;                 // cap (0: the training-set size, at most 65536)
  std::optional<double> memory_budget;  // MiB (unset: 50% of MemAvailable in /proc/meminfo)
  int64_t steps = 3;                    // timed steps per size (after one warm-up step)
  int64_t noise_batches = 20;           // batches averaged for the noise scale
  int64_t noise_warmup = 100;           // training steps at batch.base before measuring it
  bool use = false;  // set by batch.size = "find": train with the recommended size
};

struct TrainConfig {
  DataConfig data;
  ModelConfig model;
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  BatchConfig batch;
  LoopConfig train;
  OutputConfig output;
  CheckpointConfig checkpoint;
  LrFindConfig lr_find;
  BatchFindConfig batch_find;
};

using ConfigValue = std::variant<bool, int64_t, double, std::string, std::vector<int64_t>,
                                 std::vector<std::string>, std::vector<double>>;

// Sets one field by dotted key. `optimizer.lr = "find"` sets lr_find.use (the learning rate
// then comes from the range test); `batch.size = "find"` sets batch_find.use. Numbers convert where
// exact (3 -> 3.0 for a double field, 4.0 -> 4 for an int field); throws InvalidArgument naming the
// key, the value and the type expected, or listing the keys of the table when the key is unknown.
void set_config_value(TrainConfig& config, const std::string& key, const ConfigValue& value);
// The same for a tuner parameter value.
void set_config_value(TrainConfig& config, const std::string& key, const ParamValue& value);
// "key=value" as typed on a command line (value parsed as TOML: 0.01, 32, true, "adam", [1,2]).
void apply_override(TrainConfig& config, const std::string& assignment);
// The current value of a field; throws InvalidArgument for unknown keys.
ConfigValue get_config_value(const TrainConfig& config, const std::string& key);
// Every dotted key, in registry order.
std::vector<std::string> config_keys();
// Whether a checkpoint cannot be loaded under another value of `key`: data.*, model.*,
// optimizer.kind, train.seed, train.loss (the tensors would not fit or mean nothing). PBT
// cannot mutate these across a copy.
bool checkpoint_structural(const std::string& key);

// Reads the [data] [model] [optimizer] [schedule] [batch] [train] [output] [checkpoint]
// [lr_find] [batch_find] tables of a TOML file (other tables, such as [study] and [search], are
// left to their readers). Throws InvalidArgument naming file, table and key.
TrainConfig load_train_config(const std::string& path);
// The same from TOML text; `origin` names it in messages.
TrainConfig parse_train_config(const std::string& toml_text, const std::string& origin);
// Every table a config file may hold: the trainer's and the study's ([study], [search],
// [objective]). Any other table or top-level key in a file is refused (check_table_names).
std::vector<std::string> config_table_names();

// Cross-field checks (lr > 0, batch >= 1, warm-up shorter than training, known kinds, ...).
// Throws InvalidArgument naming the key.
void validate(const TrainConfig& config);
// validate(config), its error naming also the table and the config file: "optimizer.lr = 0:
// must be a number > 0 (in [optimizer] of fmnist.toml)".
void validate(const TrainConfig& config, const std::string& origin);

// Whether `key` may take `value` in `base`: sets it on a copy and runs validate(). Throws the
// InvalidArgument of set_config_value (type) or of validate() when its message is about `key`
// itself (a choice the trainer refuses, a value outside the key's domain); checks that name
// other keys (a warm-up longer than these epochs) are left to the trial that meets them.
void check_config_value(const TrainConfig& base, const std::string& key, const ParamValue& value);

}  // namespace knob
