// Data for the trainer: examples held once in contiguous tensors — inputs as stored (uint8 for
// images, float otherwise), class labels as int64 or float targets — and converted to
// normalized float per batch, so trials in one process share one copy. Loaders for IDX (gzip or
// raw: the Fashion-MNIST files of Debian's dataset-fashion-mnist are the default), CSV with a
// named label column and NPY; or your own tensors (make_data_splits).
//
// Every failure (missing or truncated file, bad magic, a label out of range, a non-numeric
// CSV cell) throws InvalidArgument naming the file and what is wrong, before training starts.
//
// Example:
//   knob::DataConfig data;  // Fashion-MNIST from /usr/share/datasets/fashion-mnist
//   data.validation = 10000;  // the last 10,000 training images
//   std::shared_ptr<const knob::DataSplits> splits = knob::load_data(data, /*seed=*/1);
//
// Example (your own tensors: 1,000 examples of 8 features, a regression target each):
//   knob::Dataset train{torch::randn({1000, 8}), torch::randn({1000, 1}), 1};
//   knob::Dataset validation{torch::randn({200, 8}), torch::randn({200, 1}), 1};
//   auto splits = knob::make_data_splits(train, validation, {}, /*normalize=*/true);
//   knob::Trainer trainer(config, {}, splits);  // config.train.loss = "mse"
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "knob/train/config.h"
#include "knob/train/task.h"

namespace knob {

struct Dataset {
  torch::Tensor inputs;  // [N, ...] uint8 (scaled by 1/255) or float32
  // Classification: [N] int64 in [0, num_classes). Regression and multi-label: [N, k] float32
  // targets, and num_classes = k.
  torch::Tensor labels;
  int64_t num_classes = 0;  // the model's output width

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  // Rows [start, start + count) without a copy.
  Dataset slice(int64_t start, int64_t count) const;
  // Rows at `index` (one gather).
  Dataset select(const torch::Tensor& index) const;
};

// The three sets a training run uses, plus the normalization of the training inputs.
struct DataSplits {
  Dataset train, validation, test;
  double mean = 0.0;  // of the training inputs (as float), for normalize
  double stddev = 1.0;
  // Inputs of `batch` as float32, scaled (uint8 / 255) and normalized.
  torch::Tensor to_float(const torch::Tensor& batch_inputs) const;
};

// Reads one IDX file (the MNIST format; gzip detected by its magic). Returns the stored
// tensor: uint8 for type 0x08. Throws InvalidArgument naming the file. The parsing and its
// checks are torch-free: knob/train/data_files.h.
torch::Tensor read_idx(const std::string& path);

// Reads a CSV file with a header row; every column but `label_column` is a float input
// (checked as parse_csv in knob/train/data_files.h checks it: finite cells, integer labels
// below kMaxClasses, a BOM and CRLF line ends accepted).
Dataset read_csv(const std::string& path, const std::string& label_column);

// Loads the data a config names for `task` (cached per process by path: trials share one copy),
// splits off the validation set, computes the normalization on the training part.
std::shared_ptr<const DataSplits> load_data(const DataConfig& config, uint64_t seed,
                                            Task task = Task::kClassification);

// Splits of your own tensors (on the CPU), with the normalization of `train`'s inputs when
// `normalize`. `test` may be empty ({}). Throws InvalidArgument when the sets disagree (inputs'
// shape per example, label kind, output width) or the training set is empty.
std::shared_ptr<const DataSplits> make_data_splits(Dataset train, Dataset validation, Dataset test,
                                                   bool normalize);

}  // namespace knob
