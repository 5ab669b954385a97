#include "knob/torch/dataset.h"

#include <cstring>
#include <map>
#include <mutex>

#include "knob/core/error.h"
#include "knob/train/data_files.h"

namespace knob {

Dataset Dataset::slice(int64_t start, int64_t count) const {
  return {inputs.narrow(0, start, count), labels.narrow(0, start, count), num_classes};
}

Dataset Dataset::select(const torch::Tensor& index) const {
  return {inputs.index_select(0, index), labels.index_select(0, index), num_classes};
}

torch::Tensor DataSplits::to_float(const torch::Tensor& batch_inputs) const {
  double scale = batch_inputs.scalar_type() == torch::kUInt8 ? 1.0 / 255.0 : 1.0;
  // (x * scale - mean) / stddev. Out of place first: for float inputs to() returns the stored
  // tensor itself, which must never change.
  return batch_inputs.to(torch::kFloat32).mul(scale / stddev).sub_(mean / stddev);
}

namespace {

torch::Tensor to_tensor(IdxArray array) {
  torch::Tensor out = torch::empty(array.shape, torch::kUInt8);
  if (!array.bytes.empty()) std::memcpy(out.data_ptr(), array.bytes.data(), array.bytes.size());
  return out;
}

// Examples read and checked torch-free (knob/train/data_files.h) as tensors.
Dataset to_dataset(Examples examples) {
  Dataset d;
  if (examples.size() == 0) return d;  // no test set
  if (!examples.floats.empty()) {
    d.inputs = torch::from_blob(examples.floats.data(), examples.shape, torch::kFloat32).clone();
  } else {
    d.inputs = to_tensor({std::move(examples.shape), std::move(examples.bytes)});
  }
  if (examples.target_width > 0) {
    d.labels = torch::from_blob(examples.targets.data(), {examples.size(), examples.target_width},
                                torch::kFloat32)
                   .clone();
  } else {
    d.labels = torch::from_blob(examples.labels.data(), {examples.size()}, torch::kInt64).clone();
  }
  d.num_classes = examples.outputs();
  return d;
}

}  // namespace

torch::Tensor read_idx(const std::string& path) { return to_tensor(read_idx_file(path)); }

Dataset read_csv(const std::string& path, const std::string& label_column) {
  return to_dataset(examples_of(read_csv_file(path, label_column)));
}

namespace {

struct RawData {
  Dataset train, test;
};

// Files are read once per process and shared by every trial.
std::shared_ptr<const RawData> read_raw(const DataConfig& c, Task task) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<const RawData>> cache;
  std::string key = c.source + "|" + c.dir + "|" + c.train_images + "|" + c.train_labels + "|" +
                    c.test_images + "|" + c.test_labels + "|" + c.train_csv + "|" + c.test_csv +
                    "|" + c.label_column + "|" + c.train_x + "|" + c.train_y + "|" + c.test_x +
                    "|" + c.test_y + "|" + std::to_string(static_cast<int>(task));
  std::lock_guard<std::mutex> lock(mutex);
  if (auto cached = cache[key].lock()) return cached;
  auto raw = std::make_shared<RawData>();
  DataFiles files = read_data_files(c, task);
  raw->train = to_dataset(std::move(files.train));
  raw->test = to_dataset(std::move(files.test));
  cache[key] = raw;
  return raw;
}

}  // namespace

std::shared_ptr<const DataSplits> make_data_splits(Dataset train, Dataset validation, Dataset test,
                                                   bool normalize) {
  KNOB_CHECK(train.size() > 0, "training set", train.size(), "must hold at least one example");
  auto same_kind = [&](const Dataset& other, const std::string& name) {
    if (other.size() == 0) return;
    KNOB_CHECK(other.inputs.sizes().slice(1) == train.inputs.sizes().slice(1) &&
                   other.inputs.scalar_type() == train.inputs.scalar_type(),
               name + " inputs", c10::str(other.inputs.sizes()),
               "must have the training inputs' shape per example and type (" +
                   c10::str(train.inputs.sizes()) + ")");
    KNOB_CHECK(
        other.labels.scalar_type() == train.labels.scalar_type() &&
            other.labels.sizes().slice(1) == train.labels.sizes().slice(1),
        name + " labels", c10::str(other.labels.sizes()),
        "must be of the training labels' kind and width (" + c10::str(train.labels.sizes()) + ")");
  };
  same_kind(validation, "validation");
  same_kind(test, "test");
  auto splits = std::make_shared<DataSplits>();
  if (normalize) {
    torch::Tensor x = train.inputs.to(torch::kFloat32);
    if (train.inputs.scalar_type() == torch::kUInt8) x.div_(255.0);
    splits->mean = x.mean().item<double>();
    splits->stddev = std::max(x.std().item<double>(), 1e-12);
  }
  splits->train = std::move(train);
  splits->validation = std::move(validation);
  splits->test = std::move(test);
  return splits;
}

std::shared_ptr<const DataSplits> load_data(const DataConfig& c, uint64_t seed, Task task) {
  auto raw = read_raw(c, task);
  Dataset all = raw->train;
  if (c.limit > 0 && c.limit < all.size()) all = all.slice(0, c.limit);
  const int64_t n = all.size();
  KNOB_CHECK(c.validation < n, "data.validation", c.validation,
             "must be smaller than the training set (" + std::to_string(n) + " examples)");
  if (c.split == "random") {
    auto generator = at::detail::createCPUGenerator(seed);
    torch::Tensor order = torch::randperm(n, generator, torch::kInt64);
    all = all.select(order);
  }
  return make_data_splits(all.slice(0, n - c.validation), all.slice(n - c.validation, c.validation),
                          raw->test, c.normalize);
}

}  // namespace knob
