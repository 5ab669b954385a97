#include "knob/train/data_files.h"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <utility>

#include "knob/core/error.h"
#include "knob/core/printable.h"

namespace knob {
namespace {

constexpr double kFloatMax = std::numeric_limits<float>::max();

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

CsvData parse_csv(std::string_view text, const std::string& path, const std::string& label_column,
                  Task task) {
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
      if (static_cast<int>(column) == label_index && task != Task::kClassification) {
        const bool in_range =
            task == Task::kRegression ? std::abs(v) <= kFloatMax : v >= 0 && v <= 1;
        if (!number || !in_range) {
          throw_invalid(where(path, line_number, shown(out.columns[column])), shown(cells[column]),
                        task == Task::kRegression
                            ? "must be a finite number (a regression target)"
                            : "must be a number in [0, 1] (a multi-label target, train.loss = "
                              "\"bce_with_logits\")");
        }
        out.targets.push_back(static_cast<float>(v));
      } else if (static_cast<int>(column) == label_index) {
        if (!number || v < 0 || v != std::floor(v) || v >= static_cast<double>(kMaxClasses)) {
          throw_invalid(where(path, line_number, shown(out.columns[column])), shown(cells[column]),
                        "must be a class index: an integer in [0, " + std::to_string(kMaxClasses) +
                            ") (knob allows at most " + std::to_string(kMaxClasses) + " classes)");
        }
        out.labels.push_back(static_cast<int64_t>(v));
        largest = std::max(largest, out.labels.back());
      } else {
        if (!number || std::abs(v) > kFloatMax) {
          throw_invalid(where(path, line_number, shown(out.columns[column])), shown(cells[column]),
                        "must be a finite number");
        }
        out.inputs.push_back(static_cast<float>(v));
      }
    }
  }
  if (out.columns.empty()) throw_invalid("data file", path, "is empty (a header row is needed)");
  if (out.rows() == 0) throw_invalid("data file", path, "has no rows");
  out.num_classes = largest + 1;
  return out;
}

CsvData read_csv_file(const std::string& path, const std::string& label_column, Task task) {
  return parse_csv(read_data_file(path), path, label_column, task);
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

// ---- NPY ----

namespace {

constexpr std::string_view kNpyMagic = "\x93NUMPY";
// More examples than this is a corrupt header, not a data set (and keeps N an int32 anywhere).
constexpr int64_t kMaxNpyExamples = (int64_t{1} << 31) - 1;
const char* const kNpyTypes =
    "bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float16, float32 or float64 "
    "(descr '|b1', '|i1', '<i2'..'<i8', '|u1', '<u2'..'<u8', '<f2', '<f4', '<f8'; '>' for "
    "big-endian)";
const char* const kNpyHeaderForm =
    "a numpy.save header is a dict like {'descr': '<f4', 'fortran_order': False, "
    "'shape': (60000, 784), }";

[[noreturn]] void npy_invalid(const std::string& key, const std::string& path,
                              const std::string& what) {
  throw_invalid(key, path, what);
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// The header dict, a Python literal: {'key': value, ...} with string, True/False and tuple of
// integer values; any spacing, a trailing comma, the keys in any order.
class NpyHeader {
 public:
  NpyHeader(std::string_view text, const std::string& key, const std::string& path)
      : text_(text), key_(key), path_(path) {}

  // Fills out.descr and out.shape; returns fortran_order.
  bool parse(NpyArray& out) {
    bool has_descr = false, has_order = false, has_shape = false, fortran = false;
    std::string descr;
    expect('{');
    while (!eat('}')) {
      std::string name = string_literal("a quoted key");
      expect(':');
      if (name == "descr") {
        once(has_descr, name);
        skip_space();
        if (peek() == '[') fail("'descr' is a list: structured (record) arrays are not read");
        descr = string_literal("a quoted dtype such as '<f4'");
      } else if (name == "fortran_order") {
        once(has_order, name);
        fortran = boolean();
      } else if (name == "shape") {
        once(has_shape, name);
        out.shape = tuple();
      } else {
        fail("unknown key '" + printable(name) + "'");
      }
      if (!eat(',')) {
        expect('}');
        break;
      }
    }
    skip_space();
    if (pos_ != text_.size()) fail("text after the closing '}'");
    if (!has_descr || !has_order || !has_shape) {
      fail(std::string("missing key '") +
           (!has_descr   ? "descr"
            : !has_order ? "fortran_order"
                         : "shape") +
           "'");
    }
    out.descr = descr;
    return fortran;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    std::string shown_header = printable(text_.substr(0, 120)) + (text_.size() > 120 ? "..." : "");
    npy_invalid(key_, path_,
                "has a malformed NPY header (" + what + " at character " + std::to_string(pos_) +
                    " of " + shown_header + "); " + kNpyHeaderForm);
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool eat(char c) {
    skip_space();
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  void once(bool& seen, const std::string& name) {
    if (seen) fail("key '" + name + "' twice");
    seen = true;
  }
  std::string string_literal(const char* what) {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail(std::string("expected ") + what);
    const size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) fail("an unterminated string");
    std::string out(text_.substr(pos_ + 1, end - pos_ - 1));
    if (out.find('\\') != std::string::npos) fail("an escape in a string");
    pos_ = end + 1;
    return out;
  }
  bool boolean() {
    skip_space();
    for (auto [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      if (text_.substr(pos_).starts_with(word)) {
        pos_ += std::string_view(word).size();
        return value;
      }
    }
    fail("'fortran_order' must be True or False");
  }
  // (d0, d1, ...), with an optional trailing comma (and Python 2's 'L' suffix).
  std::vector<int64_t> tuple() {
    expect('(');
    std::vector<int64_t> dims;
    while (!eat(')')) {
      skip_space();
      if (peek() < '0' || peek() > '9') fail("'shape' must be a tuple of integers >= 0");
      int64_t d = 0;
      while (peek() >= '0' && peek() <= '9') {
        if (d > (std::numeric_limits<int64_t>::max() - 9) / 10) fail("a dimension out of range");
        d = d * 10 + (text_[pos_++] - '0');
      }
      if (peek() == 'L') ++pos_;
      dims.push_back(d);
      if (dims.size() > 32) fail("more than 32 dimensions");
      if (!eat(',')) {
        expect(')');
        break;
      }
    }
    return dims;
  }

  std::string_view text_;
  size_t pos_ = 0;
  const std::string& key_;
  const std::string& path_;
};

// Sets kind, itemsize and byte order from out.descr ('<f4', '|u1', '>i8', ...).
void parse_descr(NpyArray& out) {
  const std::string& d = out.descr;
  auto refuse = [&](const std::string& why) {
    npy_invalid(out.key, out.path,
                "holds dtype '" + printable(d) + "'" + why + ": knob reads " + kNpyTypes);
  };
  if (d.find('O') != std::string::npos) refuse(" (pickled Python objects)");
  if (d.size() != 3 || (d[0] != '<' && d[0] != '>' && d[0] != '|')) refuse("");
  out.kind = d[1];
  out.itemsize = d[2] - '0';
  out.big_endian = d[0] == '>';
  const bool known =
      (out.kind == 'b' && out.itemsize == 1) ||
      ((out.kind == 'i' || out.kind == 'u') &&
       (out.itemsize == 1 || out.itemsize == 2 || out.itemsize == 4 || out.itemsize == 8)) ||
      (out.kind == 'f' && (out.itemsize == 2 || out.itemsize == 4 || out.itemsize == 8));
  if (!known) refuse("");
  if (d[0] == '|' && out.itemsize != 1) refuse(" ('|', no byte order, is only for 1-byte types)");
}

// A fortran_order array's bytes in C order: the element at C multi-index (i0, ..., ik) is at
// Fortran offset i0 + d0 (i1 + d1 (i2 + ...)).
std::string to_c_order(std::string_view fortran, const std::vector<int64_t>& shape, size_t itemsize,
                       size_t count) {
  const size_t rank = shape.size();
  if (rank <= 1 || count == 0) return std::string(fortran);
  std::string out(fortran.size(), '\0');
  std::vector<size_t> stride(rank, 1), index(rank, 0);
  for (size_t j = 1; j < rank; ++j) stride[j] = stride[j - 1] * static_cast<size_t>(shape[j - 1]);
  size_t offset = 0;
  for (size_t c = 0; c < count; ++c) {
    std::memcpy(out.data() + c * itemsize, fortran.data() + offset * itemsize, itemsize);
    for (size_t j = rank; j-- > 0;) {
      if (++index[j] < static_cast<size_t>(shape[j])) {
        offset += stride[j];
        break;
      }
      offset -= stride[j] * (index[j] - 1);
      index[j] = 0;
    }
  }
  return out;
}

// Parses the header of `bytes`; returns the offset of the data and whether it is in Fortran
// order, with every field of `out` but `data` set.
size_t parse_npy_header(std::string_view bytes, NpyArray& out, bool& fortran) {
  if (!bytes.starts_with(kNpyMagic)) {
    npy_invalid(out.key, out.path, "is not an NPY file (it does not start with \\x93NUMPY)");
  }
  if (bytes.size() < 10) npy_invalid(out.key, out.path, "is truncated inside its NPY header");
  const int major = static_cast<unsigned char>(bytes[6]);
  const int minor = static_cast<unsigned char>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0) {
    npy_invalid(out.key, out.path,
                "has NPY format version " + std::to_string(major) + "." + std::to_string(minor) +
                    ": knob reads versions 1.0, 2.0 and 3.0");
  }
  auto byte = [&](size_t i) { return static_cast<size_t>(static_cast<unsigned char>(bytes[i])); };
  size_t header_start = 10, header_length = byte(8) | byte(9) << 8;
  if (major >= 2) {
    if (bytes.size() < 12) npy_invalid(out.key, out.path, "is truncated inside its NPY header");
    header_start = 12;
    header_length |= byte(10) << 16 | byte(11) << 24;
  }
  if (header_length > bytes.size() - header_start) {
    npy_invalid(out.key, out.path,
                "is truncated: its NPY header is " + std::to_string(header_length) +
                    " bytes long, the file holds " + std::to_string(bytes.size() - header_start) +
                    " after the length");
  }
  fortran = NpyHeader(bytes.substr(header_start, header_length), out.key, out.path).parse(out);
  parse_descr(out);
  uint64_t count = 1;
  bool overflow = false;
  for (int64_t d : out.shape) overflow = overflow || __builtin_mul_overflow(count, d, &count);
  uint64_t promised = 0;
  overflow = overflow || __builtin_mul_overflow(count, out.itemsize, &promised);
  const size_t data_start = header_start + header_length;
  const size_t held = bytes.size() - data_start;
  if (overflow || promised != held) {
    npy_invalid(out.key, out.path,
                "is truncated or padded: its shape " + shape_text(out.shape) + " of '" + out.descr +
                    "' promises " +
                    (overflow ? std::string("more bytes than any file holds")
                              : std::to_string(promised) + " bytes") +
                    ", the file holds " + std::to_string(held) + " after the header");
  }
  if (!out.shape.empty() && out.shape[0] > kMaxNpyExamples) {
    npy_invalid(out.key, out.path,
                "has shape " + shape_text(out.shape) + ": at most " +
                    std::to_string(kMaxNpyExamples) + " examples (the first dimension)");
  }
  return data_start;
}

double half_to_double(uint16_t h) {
  const int exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  const double v = exponent == 0    ? std::ldexp(mantissa, -24)
                   : exponent == 31 ? (mantissa ? std::numeric_limits<double>::quiet_NaN()
                                                : std::numeric_limits<double>::infinity())
                                    : std::ldexp(mantissa + 1024, exponent - 25);
  return h & 0x8000 ? -v : v;
}

// Calls f(flat index, value) for each element, converted to double (bool: 0 or 1).
template <typename F>
void for_each_value(const NpyArray& a, F&& f) {
  const auto* p = reinterpret_cast<const unsigned char*>(a.data.data());
  const size_t n = static_cast<size_t>(a.size());
  const int size = a.itemsize;
  for (size_t i = 0; i < n; ++i, p += size) {
    uint64_t bits = 0;
    if (a.big_endian) {
      for (int k = 0; k < size; ++k) bits = bits << 8 | p[k];
    } else {
      for (int k = size; k-- > 0;) bits = bits << 8 | p[k];
    }
    double v = 0;
    switch (a.kind) {
      case 'b':
        v = bits != 0;
        break;
      case 'u':
        v = static_cast<double>(bits);
        break;
      case 'i': {
        const int shift = 64 - 8 * size;
        v = static_cast<double>(static_cast<int64_t>(bits << shift) >> shift);
        break;
      }
      default:
        if (size == 2) {
          v = half_to_double(static_cast<uint16_t>(bits));
        } else if (size == 4) {
          v = std::bit_cast<float>(static_cast<uint32_t>(bits));
        } else {
          v = std::bit_cast<double>(bits);
        }
    }
    f(i, v);
  }
}

// Where flat index i of an array of `shape` is: "flat index 7 (example 1)".
std::string npy_where(const NpyArray& a, size_t i) {
  const int64_t per = a.shape.size() > 1 && a.size() ? a.size() / a.shape[0] : 1;
  return "flat index " + std::to_string(i) + " (example " +
         std::to_string(static_cast<int64_t>(i) / per) + ")";
}

std::string number_text(double v) { return detail::format_value(v); }

// The elements as float32, each finite and within float range (`what`: "input", "target").
std::vector<float> npy_floats(const NpyArray& a, const char* what) {
  std::vector<float> out(static_cast<size_t>(a.size()));
  for_each_value(a, [&](size_t i, double v) {
    if (!std::isfinite(v) || std::abs(v) > kFloatMax) {
      npy_invalid(a.key, a.path,
                  std::string("has ") + what + " " + number_text(v) + " at " + npy_where(a, i) +
                      ": " + what + "s must be finite numbers within float32 range (|x| <= " +
                      number_text(kFloatMax) + ")");
    }
    out[i] = static_cast<float>(v);
  });
  return out;
}

// The labels or targets y holds for `task`, checked against the inputs x.
void set_npy_targets(Examples& out, const NpyArray& x, const NpyArray& y, Task task) {
  const int64_t n = x.shape[0];
  const std::string x_named = x.key + " (" + x.path + ")";
  if (y.shape.empty() || y.shape[0] != n) {
    npy_invalid(y.key, y.path,
                "has shape " + shape_text(y.shape) + ": it must hold one " +
                    (task == Task::kClassification ? "label" : "target row") + " per example of " +
                    x_named + ", which has " + std::to_string(n) + " (shape " +
                    shape_text(x.shape) + ")");
  }
  if (task == Task::kClassification) {
    if (y.shape.size() != 1) {
      npy_invalid(y.key, y.path,
                  "has shape " + shape_text(y.shape) +
                      ": class labels must be one integer per example, shape [N] (one-hot "
                      "labels: save y.argmax(1); several labels per example: train.loss = "
                      "\"bce_with_logits\")");
    }
    int64_t largest = -1;
    out.labels.resize(static_cast<size_t>(n));
    for_each_value(y, [&](size_t i, double v) {
      if (!(v >= 0 && v < static_cast<double>(kMaxClasses) && v == std::floor(v))) {
        npy_invalid(y.key, y.path,
                    "has label " + number_text(v) + " at index " + std::to_string(i) +
                        ": a class label must be an integer in [0, " + std::to_string(kMaxClasses) +
                        ") (knob allows at most " + std::to_string(kMaxClasses) +
                        " classes; float targets need a "
                        "regression or multi-label train.loss)");
      }
      out.labels[i] = static_cast<int64_t>(v);
      largest = std::max(largest, out.labels[i]);
    });
    out.num_classes = largest + 1;
    return;
  }
  if (y.shape.size() > 2) {
    npy_invalid(y.key, y.path,
                "has shape " + shape_text(y.shape) + ": targets must be [N] or [N, k]");
  }
  out.target_width = y.shape.size() == 2 ? y.shape[1] : 1;
  if (out.target_width == 0) {
    npy_invalid(y.key, y.path, "has shape " + shape_text(y.shape) + ": k must be >= 1");
  }
  out.targets = npy_floats(y, "target");
  if (task == Task::kMultiLabel) {
    for (size_t i = 0; i < out.targets.size(); ++i) {
      if (out.targets[i] < 0 || out.targets[i] > 1) {
        npy_invalid(y.key, y.path,
                    "has target " + number_text(out.targets[i]) + " at " + npy_where(y, i) +
                        ": multi-label targets (train.loss = \"bce_with_logits\") must be in "
                        "[0, 1]");
      }
    }
  }
}

NpyArray npy_of(std::string bytes, const std::string& key, const std::string& path) {
  NpyArray out;
  out.key = key;
  out.path = path;
  bool fortran = false;
  const size_t start = parse_npy_header(bytes, out, fortran);
  if (fortran) {
    out.data = to_c_order(std::string_view(bytes).substr(start), out.shape,
                          static_cast<size_t>(out.itemsize), static_cast<size_t>(out.size()));
  } else {
    bytes.erase(0, start);  // the data, without a second copy of it
    out.data = std::move(bytes);
  }
  return out;
}

}  // namespace

int64_t NpyArray::size() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

NpyArray parse_npy(std::string_view bytes, const std::string& key, const std::string& path) {
  return npy_of(std::string(bytes), key, path);
}

NpyArray read_npy_file(const std::string& key, const std::string& path) {
  std::string bytes;
  try {
    bytes = read_data_file(path);
  } catch (const InvalidArgument& e) {  // "data file = <path>: why" as "<key> = <path>: why"
    const std::string prefix = detail::invalid_message("data file", path, "");
    const std::string why = e.what();
    npy_invalid(key, path, why.starts_with(prefix) ? why.substr(prefix.size()) : why);
  }
  return npy_of(std::move(bytes), key, path);
}

Examples npy_examples(const NpyArray& x, const NpyArray& y, Task task) {
  if (x.shape.empty() || x.size() == 0) {
    npy_invalid(x.key, x.path,
                "has shape " + shape_text(x.shape) +
                    ": inputs must be [N, ...] with N >= 1 examples of at least one value");
  }
  Examples out;
  out.shape = x.shape;
  if (out.shape.size() == 1) out.shape.push_back(1);
  if (x.kind == 'u' && x.itemsize == 1) {
    out.bytes.assign(x.data.begin(), x.data.end());
  } else {
    out.floats = npy_floats(x, "input");
  }
  set_npy_targets(out, x, y, task);
  return out;
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
  out.targets = std::move(csv.targets);
  out.target_width = out.targets.empty() ? 0 : 1;
  out.num_classes = csv.num_classes;
  return out;
}

namespace {

// An NPY test set must look like the training set to the model: the same input shape per
// example and kind (bytes are scaled by 1/255, floats are not), the same target width, and
// class labels among the training set's.
void check_test_npy(const Examples& train, Examples& test, const DataConfig& c) {
  const std::vector<int64_t> train_each(train.shape.begin() + 1, train.shape.end());
  const std::vector<int64_t> test_each(test.shape.begin() + 1, test.shape.end());
  if (test_each != train_each) {
    throw_invalid("data.test_x", c.test_x,
                  "has examples of shape " + shape_text(test_each) + ": they must have the shape " +
                      shape_text(train_each) + " of the examples of data.train_x (" + c.train_x +
                      ")");
  }
  auto kind = [](const Examples& e) { return e.bytes.empty() ? "float" : "uint8"; };
  if (train.bytes.empty() != test.bytes.empty()) {
    throw_invalid("data.test_x", c.test_x,
                  std::string("holds ") + kind(test) + " inputs: they must be " + kind(train) +
                      " like those of data.train_x (" + c.train_x +
                      "), which are scaled alike (uint8 by 1/255)");
  }
  if (test.target_width != train.target_width) {
    throw_invalid("data.test_y", c.test_y,
                  "holds " + std::to_string(test.target_width) +
                      " targets per example: it must hold " + std::to_string(train.target_width) +
                      " like data.train_y (" + c.train_y + ")");
  }
  for (size_t i = 0; i < test.labels.size(); ++i) {
    if (test.labels[i] >= train.num_classes) {
      throw_invalid("data.test_y", c.test_y,
                    "has label " + std::to_string(test.labels[i]) + " at index " +
                        std::to_string(i) + ": it must be a class of the training set " +
                        c.train_y + " (labels 0.." + std::to_string(train.num_classes - 1) + ")");
    }
  }
  test.num_classes = train.num_classes;
}

Examples read_npy_pair(const std::string& x_key, const std::string& x_path,
                       const std::string& y_key, const std::string& y_path, Task task) {
  const NpyArray x = read_npy_file(x_key, x_path);
  return npy_examples(x, read_npy_file(y_key, y_path), task);
}

}  // namespace

DataFiles read_data_files(const DataConfig& c, Task task) {
  DataFiles files;
  if ((c.source == "fashion-mnist" || c.source == "idx") && task != Task::kClassification) {
    throw_invalid("data.source", c.source,
                  "holds class labels (IDX files), for train.loss = \"cross_entropy\"; "
                  "regression and multi-label targets come from csv or npy files");
  }
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
  } else if (c.source == "npy") {
    files.train = read_npy_pair("data.train_x", c.train_x, "data.train_y", c.train_y, task);
    if (!c.test_x.empty() || !c.test_y.empty()) {
      files.test = read_npy_pair("data.test_x", c.test_x, "data.test_y", c.test_y, task);
      check_test_npy(files.train, files.test, c);
    }
  } else {
    CsvData train = read_csv_file(c.train_csv, c.label_column, task);
    if (!c.test_csv.empty()) {
      CsvData test = read_csv_file(c.test_csv, c.label_column, task);
      check_test_csv(train, test);
      files.test = examples_of(std::move(test));
    }
    files.train = examples_of(std::move(train));
  }
  return files;
}

}  // namespace knob
