#include "knob/train/data_files.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "knob/core/error.h"
#include "knob/core/printable.h"

namespace knob {
namespace {

uint32_t big_endian(std::string_view data, size_t offset) {
  auto b = [&](size_t i) {
    return static_cast<uint32_t>(static_cast<unsigned char>(data[offset + i]));
  };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

// A cell as the message shows it: control bytes escaped, long cells cut.
std::string shown(std::string_view cell) {
  return printable(cell.substr(0, 40)) + (cell.size() > 40 ? "..." : "");
}

std::string where(const std::string& path, int64_t line, const std::string& column) {
  return path + ":" + std::to_string(line) + " (row " + std::to_string(line) + ", column " +
         column + ")";
}

// The cells of one line split at commas.
std::vector<std::string_view> split_cells(std::string_view line) {
  std::vector<std::string_view> cells;
  size_t start = 0;
  for (;;) {
    size_t comma = line.find(',', start);
    cells.push_back(line.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (comma == std::string_view::npos) return cells;
    start = comma + 1;
  }
}

// A finite number spelled as the whole cell (strtod accepts "nan" and "inf": refused here).
bool parse_number(std::string_view cell, double& out) {
  if (cell.empty() || cell.size() > 64) return false;
  std::string text(cell);
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(out);
}

}  // namespace

std::string read_data_file(const std::string& path) {
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

IdxArray parse_idx(std::string_view data, const std::string& path) {
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
  const size_t header = 4 + 4 * static_cast<size_t>(rank);
  const size_t held = data.size() - header;
  IdxArray out;
  std::string dims;
  size_t count = 1;
  bool overflow = false;
  for (int i = 0; i < rank; ++i) {
    uint32_t d = big_endian(data, 4 + 4 * static_cast<size_t>(i));
    out.shape.push_back(d);
    dims += (i ? " x " : "") + std::to_string(d);
    if (d != 0 && count > std::numeric_limits<size_t>::max() / d) overflow = true;
    if (!overflow) count *= d;
  }
  if (overflow || count != held) {
    throw_invalid("data file", path,
                  "is truncated or padded: its IDX dimensions " + dims + " promise " +
                      (overflow ? std::string("more bytes than any file holds")
                                : std::to_string(count) + " bytes") +
                      ", the file holds " + std::to_string(held));
  }
  out.bytes.assign(data.begin() + static_cast<std::ptrdiff_t>(header), data.end());
  return out;
}

IdxArray read_idx_file(const std::string& path) { return parse_idx(read_data_file(path), path); }

int64_t check_idx_labels(const IdxArray& images, const IdxArray& labels, int64_t num_classes,
                         const std::string& images_path, const std::string& labels_path) {
  if (labels.shape.size() != 1 || labels.shape[0] != images.shape[0]) {
    throw_invalid("data file", labels_path,
                  "must hold one label per example of " + images_path + " (" +
                      std::to_string(images.shape[0]) + ")");
  }
  if (images.shape[0] == 0) throw_invalid("data file", images_path, "holds no examples");
  const int64_t limit = num_classes > 0 ? num_classes : kMaxClasses;
  int64_t largest = -1;
  for (size_t i = 0; i < labels.bytes.size(); ++i) {
    const int64_t label = labels.bytes[i];
    if (label >= limit) {
      throw_invalid("label " + std::to_string(i) + " of " + labels_path, label,
                    "must be < the number of classes (" + std::to_string(limit) + ")");
    }
    largest = std::max(largest, label);
  }
  return num_classes > 0 ? num_classes : largest + 1;
}

CsvData parse_csv(std::string_view text, const std::string& path, const std::string& label_column) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte-order mark
  CsvData out;
  out.path = path;
  out.label_column = label_column;
  int64_t line_number = 0;
  int label_index = -1;
  size_t width = 0;
  int64_t largest = -1;
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF
    if (line.empty()) continue;
    std::vector<std::string_view> cells = split_cells(line);
    if (out.columns.empty()) {
      for (auto cell : cells) out.columns.emplace_back(cell);
      for (size_t i = 0; i < out.columns.size(); ++i) {
        if (out.columns[i] == label_column && label_index < 0) label_index = static_cast<int>(i);
      }
      if (label_index < 0) {
        std::string listed;
        for (const auto& c : out.columns) listed += (listed.empty() ? "" : ", ") + shown(c);
        throw_invalid("data.label_column", label_column,
                      "is not a column of " + path + " (its header has: " + listed + ")");
      }
      width = out.columns.size();
      continue;
    }
    if (cells.size() != width) {
      throw_invalid(
          path + ":" + std::to_string(line_number) + " (row " + std::to_string(line_number) + ")",
          std::to_string(cells.size()) + " cells",
          "must have " + std::to_string(width) + " cells like the header");
    }
    for (size_t column = 0; column < width; ++column) {
      double v = 0;
      const bool number = parse_number(cells[column], v);
      if (static_cast<int>(column) == label_index) {
        if (!number || v < 0 || v != std::floor(v) || v >= static_cast<double>(kMaxClasses)) {
          throw_invalid(where(path, line_number, shown(out.columns[column])), shown(cells[column]),
                        "must be a class index: an integer in [0, " + std::to_string(kMaxClasses) +
                            ") (knob allows at most " + std::to_string(kMaxClasses) + " classes)");
        }
        out.labels.push_back(static_cast<int64_t>(v));
        largest = std::max(largest, out.labels.back());
      } else {
        if (!number || std::abs(v) > std::numeric_limits<float>::max()) {
          throw_invalid(where(path, line_number, shown(out.columns[column])), shown(cells[column]),
                        "must be a finite number");
        }
        out.inputs.push_back(static_cast<float>(v));
      }
    }
  }
  if (out.columns.empty()) throw_invalid("data file", path, "is empty (a header row is needed)");
  if (out.labels.empty()) throw_invalid("data file", path, "has no rows");
  out.num_classes = largest + 1;
  return out;
}

CsvData read_csv_file(const std::string& path, const std::string& label_column) {
  return parse_csv(read_data_file(path), path, label_column);
}

void check_test_csv(const CsvData& train, const CsvData& test) {
  if (test.columns != train.columns) {
    std::string listed;
    for (const auto& c : train.columns) listed += (listed.empty() ? "" : ", ") + shown(c);
    std::string got;
    for (const auto& c : test.columns) got += (got.empty() ? "" : ", ") + shown(c);
    throw_invalid("data.test_csv", test.path,
                  "must have the columns of " + train.path + " in the same order (" + listed +
                      "); its header has: " + got);
  }
  for (size_t i = 0; i < test.labels.size(); ++i) {
    if (test.labels[i] >= train.num_classes) {
      throw_invalid("label of row " + std::to_string(i + 1) + " of " + test.path, test.labels[i],
                    "must be a class of the training set " + train.path + " (labels 0.." +
                        std::to_string(train.num_classes - 1) + ")");
    }
  }
}

namespace {

Examples from_idx(IdxArray images, const IdxArray& labels, int64_t num_classes,
                  const std::string& images_path, const std::string& labels_path) {
  Examples out;
  out.num_classes = check_idx_labels(images, labels, num_classes, images_path, labels_path);
  out.shape = std::move(images.shape);
  out.bytes = std::move(images.bytes);
  out.labels.assign(labels.bytes.begin(), labels.bytes.end());
  return out;
}

Examples read_idx_pair(const std::string& images, const std::string& labels, int64_t num_classes) {
  IdxArray image_array = read_idx_file(images);
  return from_idx(std::move(image_array), read_idx_file(labels), num_classes, images, labels);
}

}  // namespace

Examples examples_of(CsvData csv) {
  Examples out;
  out.shape = {csv.rows(), csv.features()};
  out.floats = std::move(csv.inputs);
  out.labels = std::move(csv.labels);
  out.num_classes = csv.num_classes;
  return out;
}

DataFiles read_data_files(const DataConfig& c, Task task) {
  DataFiles files;
  if (c.source == "fashion-mnist") {
    const std::string d = c.dir + "/";
    files.train =
        read_idx_pair(d + "train-images-idx3-ubyte.gz", d + "train-labels-idx1-ubyte.gz", 10);
    files.test =
        read_idx_pair(d + "t10k-images-idx3-ubyte.gz", d + "t10k-labels-idx1-ubyte.gz", 10);
  } else if (c.source == "idx") {
    files.train = read_idx_pair(c.train_images, c.train_labels, 0);
    if (!c.test_images.empty()) {
      files.test = read_idx_pair(c.test_images, c.test_labels, files.train.num_classes);
    }
  } else {
    CsvData train = read_csv_file(c.train_csv, c.label_column);
    if (!c.test_csv.empty()) {
      CsvData test = read_csv_file(c.test_csv, c.label_column);
      check_test_csv(train, test);
      files.test = examples_of(std::move(test));
    }
    files.train = examples_of(std::move(train));
  }
  return files;
}

}  // namespace knob
