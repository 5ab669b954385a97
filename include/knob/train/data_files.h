// The data files a training run reads — IDX (MNIST's format, gzip or raw), CSV with a header
// row and NPY (numpy.save's format) — parsed into plain vectors, without libtorch, so they can be
// checked in full before any training (and fuzzed and unit-tested alone). Every defect throws
// InvalidArgument naming the file, the row and column where there is one, the value and what is
// allowed.
//
// Example:
//   knob::CsvData train = knob::read_csv_file("train.csv", "label");
//   knob::CsvData test = knob::read_csv_file("test.csv", "label");
//   knob::check_test_csv(train, test);  // same columns, labels among the training classes
//   knob::NpyArray x = knob::read_npy_file("data.train_x", "x.npy");
//   knob::NpyArray y = knob::read_npy_file("data.train_y", "y.npy");
//   knob::Examples train = knob::npy_examples(x, y, knob::Task::kRegression);
//   knob::DataFiles files = knob::read_data_files(config.data, knob::task_of(config.train.loss));
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "knob/train/config.h"
#include "knob/train/task.h"

namespace knob {

// The most classes a data set may have: a label is an index into the model's last layer, so
// a stray 1e7 must not build a ten-million-wide layer.
inline constexpr int64_t kMaxClasses = 10000;

// An IDX array of unsigned bytes (type 0x08): its dimensions and its bytes in row-major order.
struct IdxArray {
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

// Parses IDX bytes; `path` names the file in errors. The dimensions must multiply (without
// overflow) to exactly the bytes after the header.
IdxArray parse_idx(std::string_view data, const std::string& path);
// Reads a file whole, gunzipping it if it is gzip (raw files read unchanged).
std::string read_data_file(const std::string& path);
// read_data_file + parse_idx.
IdxArray read_idx_file(const std::string& path);

// Checks that `labels` (an IDX array of rank 1) holds one label per example of `images` and
// that each is a class index below `num_classes` (0: below kMaxClasses); returns the classes
// (`num_classes`, or the largest label + 1).
int64_t check_idx_labels(const IdxArray& images, const IdxArray& labels, int64_t num_classes,
                         const std::string& images_path, const std::string& labels_path);

// A CSV data set: every column but the label is a float input.
struct CsvData {
  std::string path;
  std::vector<std::string> columns;  // the header, label column included
  std::string label_column;
  std::vector<float> inputs;    // rows() x (columns.size() - 1), row-major
  std::vector<int64_t> labels;  // classification: the label column as class indices
  std::vector<float> targets;   // regression, multi-label: the label column as float targets
  int64_t num_classes = 0;      // classification: the largest label + 1
  int64_t rows() const {
    return static_cast<int64_t>(labels.empty() ? targets.size() : labels.size());
  }
  int64_t features() const { return static_cast<int64_t>(columns.size()) - 1; }
};

// Parses CSV text with a header row. Accepts a UTF-8 byte-order mark and CRLF line ends;
// skips empty lines. Every cell must be a finite number (no NaN, no Inf), every row as wide
// as the header. The label column holds, for `task`: classification, an integer class in
// [0, kMaxClasses) (`labels`); regression, a float target (`targets`); multi-label, a float
// target in [0, 1] (`targets`).
CsvData parse_csv(std::string_view text, const std::string& path, const std::string& label_column,
                  Task task = Task::kClassification);
CsvData read_csv_file(const std::string& path, const std::string& label_column,
                      Task task = Task::kClassification);

// A test set must have the training set's columns, in order, and only its classes.
void check_test_csv(const CsvData& train, const CsvData& test);

// An NPY array (numpy.save's format, versions 1.0, 2.0 and 3.0) as read: its shape, its
// element type and its elements' bytes in C (row-major) order — a fortran_order file is
// transposed on reading. Element types: bool, int8..int64, uint8..uint64, float16, float32 and
// float64, either byte order; no object, string, complex or structured arrays.
struct NpyArray {
  std::string key;  // the config key naming the file (data.train_x), for messages
  std::string path;
  std::string descr;  // the dtype as the header spells it: "<f4", "|u1", ">i8"
  char kind = 0;      // 'b' bool, 'i' signed, 'u' unsigned, 'f' float
  int itemsize = 0;   // bytes per element: 1, 2, 4 or 8
  bool big_endian = false;
  std::vector<int64_t> shape;
  std::string data;      // size() * itemsize bytes, C order, the file's byte order
  int64_t size() const;  // the elements: the product of the shape
};

// Parses NPY bytes; errors name `key` and `path` ("data.train_x = \"x.npy\": ...") and what is
// wrong: bad magic or version, a malformed header dict (a Python literal with exactly the keys
// 'descr', 'fortran_order' and 'shape', in any order), an element type knob does not read, or
// a shape whose elements (multiplied without overflow) are not exactly the bytes that follow.
NpyArray parse_npy(std::string_view bytes, const std::string& key, const std::string& path);
// read_data_file + parse_npy (a gzipped .npy is read too).
NpyArray read_npy_file(const std::string& key, const std::string& path);

// One split's examples as the files hold them: IDX (and NPY uint8) images as bytes, other
// inputs as floats; class labels for classification, float targets for the other tasks.
struct Examples {
  std::vector<int64_t> shape;   // of the inputs: [N, ...]
  std::vector<uint8_t> bytes;   // uint8 inputs, or empty
  std::vector<float> floats;    // other inputs as float32, or empty
  std::vector<int64_t> labels;  // classification: N class indices in [0, num_classes)
  std::vector<float> targets;   // regression, multi-label: N x target_width, row-major
  int64_t target_width = 0;     // 0: the examples have class labels
  int64_t num_classes = 0;
  int64_t size() const {
    return target_width ? static_cast<int64_t>(targets.size()) / target_width
                        : static_cast<int64_t>(labels.size());
  }
  // The model's output width: the classes, or the targets per example.
  int64_t outputs() const { return target_width ? target_width : num_classes; }
};

// A CSV data set's rows as Examples (its inputs as floats).
Examples examples_of(CsvData csv);

// NPY inputs `x` [N, ...] (rank 1: [N, 1]; uint8 kept as bytes, other types as finite float32)
// and their labels or targets `y` for `task`: classification, y [N] of integral values, each a
// class in [0, kMaxClasses) (num_classes = the largest + 1); regression, y [N] or [N, k] of
// finite numbers; multi-label, y [N] or [N, k] of values in [0, 1]. Errors name both files.
Examples npy_examples(const NpyArray& x, const NpyArray& y, Task task);

struct DataFiles {
  Examples train;
  Examples test;  // empty when the config names no test set
};

// Reads and checks every file `config` names (data.source fashion-mnist, idx, csv or npy) as
// training reads them for `task` (class labels, or float targets): what the trainer turns into
// tensors, and what a study can call before its first trial to refuse bad data once. IDX files
// hold class labels only (classification). A test set must match the training set: CSV columns;
// NPY inputs of the same shape per example and kind (bytes or floats), targets of the same
// width; class labels among the training set's.
DataFiles read_data_files(const DataConfig& config, Task task = Task::kClassification);

}  // namespace knob
