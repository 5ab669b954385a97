#include "knob/torch/dataset.h"

#include <zlib.h>

#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "knob/core/error.h"

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

std::string read_file(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");  // reads raw files unchanged too
  if (!file) throw_invalid("data file", path, "must exist and be readable");
  std::string data;
  char buffer[1 << 16];
  int n;
  while ((n = gzread(file, buffer, sizeof buffer)) > 0) data.append(buffer, n);
  int error = 0;
  const char* message = gzerror(file, &error);
  bool failed = n < 0 || (error != Z_OK && error != Z_STREAM_END);
  std::string reason = failed ? message : "";
  gzclose(file);
  if (failed) throw_invalid("data file", path, "could not be read: " + reason + " (truncated?)");
  return data;
}

uint32_t big_endian(const std::string& data, size_t offset) {
  auto b = [&](size_t i) {
    return static_cast<uint32_t>(static_cast<unsigned char>(data[offset + i]));
  };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

}  // namespace

torch::Tensor read_idx(const std::string& path) {
  std::string data = read_file(path);
  if (data.size() < 4 || data[0] != 0 || data[1] != 0) {
    throw_invalid("data file", path, "is not an IDX file (bad magic number)");
  }
  if (static_cast<unsigned char>(data[2]) != 0x08) {
    throw_invalid("data file", path, "must hold unsigned bytes (IDX type 0x08)");
  }
  const int rank = static_cast<unsigned char>(data[3]);
  if (rank < 1 || data.size() < 4 + 4 * static_cast<size_t>(rank)) {
    throw_invalid("data file", path, "has a malformed IDX header");
  }
  std::vector<int64_t> shape;
  size_t count = 1;
  for (int i = 0; i < rank; ++i) {
    shape.push_back(big_endian(data, 4 + 4 * i));
    count *= static_cast<size_t>(shape.back());
  }
  const size_t header = 4 + 4 * static_cast<size_t>(rank);
  if (data.size() - header != count) {
    throw_invalid("data file", path,
                  "is truncated or padded: the header promises " + std::to_string(count) +
                      " bytes, the file holds " + std::to_string(data.size() - header));
  }
  torch::Tensor out = torch::empty(shape, torch::kUInt8);
  std::memcpy(out.data_ptr(), data.data() + header, count);
  return out;
}

Dataset read_csv(const std::string& path, const std::string& label_column) {
  std::ifstream in(path);
  if (!in) throw_invalid("data file", path, "must exist and be readable");
  std::string line;
  if (!std::getline(in, line))
    throw_invalid("data file", path, "is empty (a header row is needed)");
  std::vector<std::string> header;
  {
    std::stringstream row(line);
    std::string cell;
    while (std::getline(row, cell, ',')) header.push_back(cell);
  }
  int label_index = -1;
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == label_column) label_index = static_cast<int>(i);
  }
  if (label_index < 0) {
    throw_invalid("data.label_column", label_column, "is not a column of " + path);
  }
  std::vector<float> values;
  std::vector<int64_t> labels;
  int64_t line_number = 1;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    std::stringstream row(line);
    std::string cell;
    size_t column = 0;
    while (std::getline(row, cell, ',')) {
      char* end = nullptr;
      double v = std::strtod(cell.c_str(), &end);
      if (cell.empty() || *end != '\0') {
        throw_invalid(path + ":" + std::to_string(line_number) + " column " +
                          header.at(std::min(column, header.size() - 1)),
                      cell, "must be a number");
      }
      if (static_cast<int>(column) == label_index) {
        if (v < 0 || v != static_cast<double>(static_cast<int64_t>(v))) {
          throw_invalid(path + ":" + std::to_string(line_number) + " label", cell,
                        "must be a class index (an integer >= 0)");
        }
        labels.push_back(static_cast<int64_t>(v));
      } else {
        values.push_back(static_cast<float>(v));
      }
      ++column;
    }
    if (column != header.size()) {
      throw_invalid(path + ":" + std::to_string(line_number), std::to_string(column) + " cells",
                    "must have " + std::to_string(header.size()) + " cells like the header");
    }
  }
  if (labels.empty()) throw_invalid("data file", path, "has no rows");
  const auto n = static_cast<int64_t>(labels.size());
  Dataset d;
  d.inputs =
      torch::from_blob(values.data(), {n, static_cast<int64_t>(header.size()) - 1}, torch::kFloat32)
          .clone();
  d.labels = torch::from_blob(labels.data(), {n}, torch::kInt64).clone();
  d.num_classes = d.labels.max().item<int64_t>() + 1;
  return d;
}

namespace {

Dataset read_idx_pair(const std::string& images, const std::string& labels, int64_t num_classes) {
  Dataset d;
  d.inputs = read_idx(images);
  d.labels = read_idx(labels).to(torch::kInt64);
  if (d.labels.dim() != 1 || d.inputs.size(0) != d.labels.size(0)) {
    throw_invalid("data file", labels,
                  "must hold one label per example of " + images + " (" +
                      std::to_string(d.inputs.size(0)) + ")");
  }
  d.num_classes = num_classes > 0 ? num_classes : d.labels.max().item<int64_t>() + 1;
  int64_t max_label = d.labels.max().item<int64_t>();
  if (max_label >= d.num_classes) {
    throw_invalid("label in " + labels, max_label,
                  "must be < the number of classes (" + std::to_string(d.num_classes) + ")");
  }
  return d;
}

struct RawData {
  Dataset train, test;
};

// Files are read once per process and shared by every trial.
std::shared_ptr<const RawData> read_raw(const DataConfig& c) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<const RawData>> cache;
  std::string key =
      c.source + "|" + c.dir + "|" + c.train_images + "|" + c.train_csv + "|" + c.label_column;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto cached = cache[key].lock()) return cached;
  auto raw = std::make_shared<RawData>();
  if (c.source == "fashion-mnist") {
    const std::string d = c.dir + "/";
    raw->train =
        read_idx_pair(d + "train-images-idx3-ubyte.gz", d + "train-labels-idx1-ubyte.gz", 10);
    raw->test = read_idx_pair(d + "t10k-images-idx3-ubyte.gz", d + "t10k-labels-idx1-ubyte.gz", 10);
  } else if (c.source == "idx") {
    raw->train = read_idx_pair(c.train_images, c.train_labels, 0);
    if (!c.test_images.empty()) {
      raw->test = read_idx_pair(c.test_images, c.test_labels, raw->train.num_classes);
    }
  } else {
    raw->train = read_csv(c.train_csv, c.label_column);
    if (!c.test_csv.empty()) raw->test = read_csv(c.test_csv, c.label_column);
  }
  cache[key] = raw;
  return raw;
}

}  // namespace

std::shared_ptr<const DataSplits> load_data(const DataConfig& c, uint64_t seed) {
  auto raw = read_raw(c);
  auto splits = std::make_shared<DataSplits>();
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
  splits->train = all.slice(0, n - c.validation);
  splits->validation = all.slice(n - c.validation, c.validation);
  splits->test = raw->test;
  if (c.normalize) {
    torch::Tensor x = splits->train.inputs.to(torch::kFloat32);
    if (splits->train.inputs.scalar_type() == torch::kUInt8) x.div_(255.0);
    splits->mean = x.mean().item<double>();
    splits->stddev = std::max(x.std().item<double>(), 1e-12);
  }
  return splits;
}

}  // namespace knob
