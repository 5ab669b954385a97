#include "knob/train/data_files.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include "knob/core/error.h"
#include "testing/test_support.h"
#include "train/npy_golden.h"

namespace knob {
namespace {

std::string idx(const std::vector<uint32_t>& dims, const std::string& body) {
  std::string out = {0, 0, 8, static_cast<char>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift : {24, 16, 8, 0}) out += static_cast<char>((d >> shift) & 0xff);
  }
  return out + body;
}

// A .npy file as numpy.save lays one out: magic, version, the header's length (2 bytes in
// version 1.0, 4 in 2.0 and 3.0), the dict padded with spaces to a multiple of 64 and ended by
// '\n', then `body`.
std::string npy(const std::string& dict, const std::string& body, int major = 1) {
  const size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  for (size_t i = 0; i < (major == 1 ? 2u : 4u); ++i) {
    out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  }
  return out + header + body;
}

std::string dict(const std::string& descr, const std::string& shape,
                 const std::string& fortran = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
}

// The values' bytes, little-endian or (big) big-endian.
template <typename T>
std::string raw(const std::vector<T>& values, bool big = false) {
  static_assert(std::endian::native == std::endian::little);
  std::string out;
  for (T v : values) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    if (big) std::reverse(b, b + sizeof(T));
    out.append(b, sizeof(T));
  }
  return out;
}

// The inputs x as float32 (or bytes), read through npy_examples with N zero labels.
std::vector<float> inputs_of(const NpyArray& x) {
  const NpyArray y = parse_npy(npy(dict("|u1", "(" + std::to_string(x.shape[0]) + ",)"),
                                   std::string(static_cast<size_t>(x.shape[0]), '\0')),
                               "data.train_y", "y.npy");
  Examples e = npy_examples(x, y, Task::kClassification);
  if (!e.bytes.empty()) return std::vector<float>(e.bytes.begin(), e.bytes.end());
  return e.floats;
}

TEST(DataFilesTest, ParsesIdx) {
  IdxArray a = parse_idx(idx({2, 3}, "abcdef"), "a.idx");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.bytes.size(), 6u);
  EXPECT_EQ(a.bytes[5], 'f');
  IdxArray labels = parse_idx(idx({2}, std::string("\x01\x03", 2)), "l.idx");
  EXPECT_EQ(check_idx_labels(a, labels, 0, "a.idx", "l.idx"), 4);
  EXPECT_EQ(check_idx_labels(a, labels, 10, "a.idx", "l.idx"), 10);
}

TEST(DataFilesTest, ParsesCsvWithABomAndCrlfLineEnds) {
  for (const std::string& text : {std::string("x,label,y\n1,0,2.5\n-3e2,2,4\n\n"),
                                  std::string("x,label,y\r\n1,0,2.5\r\n-3e2,2,4\r\n"),
                                  std::string("\xEF\xBB\xBFx,label,y\r\n1,0,2.5\r\n-3e2,2,4")}) {
    CsvData d = parse_csv(text, "t.csv", "label");
    EXPECT_EQ(d.columns, (std::vector<std::string>{"x", "label", "y"}));
    EXPECT_EQ(d.rows(), 2);
    EXPECT_EQ(d.features(), 2);
    EXPECT_EQ(d.inputs, (std::vector<float>{1, 2.5, -300, 4}));
    EXPECT_EQ(d.labels, (std::vector<int64_t>{0, 2}));
    EXPECT_EQ(d.num_classes, 3);
  }
}

// Malformed data: InvalidArgument naming the file, the row and column, the value and the rule.
TEST(DataFilesTest, MalformedDataIsNamed) {
  struct Case {
    std::string name, text;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> csv_cases = {
      {"empty", "", {"t.csv", "empty"}},
      {"header only", "a,label\n", {"t.csv", "has no rows"}},
      {"no label column",
       "a,b\n1,2\n",
       {"data.label_column = \"label\"", "not a column of t.csv", "a, b"}},
      {"text cell", "a,label\n1,0\nx,1\n", {"t.csv:3 (row 3, column a) = \"x\"", "finite number"}},
      {"nan cell", "a,label\nnan,0\n", {"t.csv:2 (row 2, column a) = \"nan\"", "finite number"}},
      {"inf cell", "a,label\n1,0\n-inf,1\n", {"column a) = \"-inf\"", "finite number"}},
      {"float overflow", "a,label\n1e39,0\n", {"column a) = \"1e39\"", "finite number"}},
      {"huge label",
       "a,label\n1,10000000\n",
       {"t.csv:2 (row 2, column label) = \"10000000\"", "[0, 10000)", "at most 10000 classes"}},
      {"label 1e9", "a,label\n1,1e9\n", {"= \"1e9\"", "class index"}},
      {"negative label", "a,label\n1,-1\n", {"= \"-1\"", "class index"}},
      {"fractional label", "a,label\n1,0.5\n", {"= \"0.5\"", "class index"}},
      {"nan label", "a,label\n1,nan\n", {"= \"nan\"", "class index"}},
      {"short row", "a,b,label\n1,2,0\n1,0\n", {"t.csv:3 (row 3) = \"2 cells\"", "3 cells"}},
      {"long row", "a,label\n1,0,7\n", {"t.csv:2", "\"3 cells\"", "2 cells like the header"}},
      {"control bytes shown escaped", "a,label\n\x1b[31m,0\n", {"\"\\x1b[31m\""}},
      {"empty cell", "a,label\n,0\n", {"(row 2, column a) = \"\"", "finite number"}},
  };
  for (const auto& c : csv_cases) {
    testing::expect_invalid(
        c.name, [&] { parse_csv(c.text, "t.csv", "label"); }, c.fragments);
  }
  const std::vector<Case> idx_cases = {
      {"bad magic", "hello world", {"t.idx", "not an IDX file"}},
      {"not bytes", std::string("\0\0\x0d\x01\0\0\0\0", 8), {"t.idx", "0x08"}},
      {"short header", std::string("\0\0\x08\x03\0\0", 6), {"t.idx", "malformed IDX header"}},
      {"truncated",
       idx({10, 28, 28}, std::string(100, '\0')),
       {"t.idx", "10 x 28 x 28 promise 7840 bytes", "holds 100"}},
      {"dimensions overflow",
       idx({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, ""),
       {"t.idx", "more bytes than any file holds", "holds 0"}},
      {"dimensions wrap to zero",
       idx({65536, 65536, 65536, 65536}, ""),
       {"t.idx", "more bytes than any file holds"}},
  };
  for (const auto& c : idx_cases) {
    testing::expect_invalid(
        c.name, [&] { parse_idx(c.text, "t.idx"); }, c.fragments);
  }
  IdxArray images = parse_idx(idx({3, 1}, "abc"), "i.idx");
  testing::expect_invalid("label count",
                          [&] {
                            check_idx_labels(images, parse_idx(idx({2}, "\x01\x01"), "l.idx"), 0,
                                             "i.idx", "l.idx");
                          },
                          {"l.idx", "one label per example of i.idx (3)"});
  testing::expect_invalid(
      "label above the classes",
      [&] {
        check_idx_labels(images, parse_idx(idx({3}, std::string("\x00\x01\x0c", 3)), "l.idx"), 10,
                         "i.idx", "l.idx");
      },
      {"label 2 of l.idx = 12", "< the number of classes (10)"});
  testing::expect_invalid("missing file", [&] { read_idx_file("/nonexistent/t.idx"); },
                          {"/nonexistent/t.idx", "must exist"});
}

TEST(DataFilesTest, ReadsWhatAConfigNames) {
  testing::TempDir dir;
  auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(dir.file(name), std::ios::binary) << bytes;
    return dir.file(name);
  };
  DataConfig idx_config;
  idx_config.source = "idx";
  idx_config.train_images = write("i.idx", idx({3, 2}, "abcdef"));
  idx_config.train_labels = write("l.idx", idx({3}, std::string("\x00\x02\x01", 3)));
  DataFiles files = read_data_files(idx_config);
  EXPECT_EQ(files.train.shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(files.train.labels, (std::vector<int64_t>{0, 2, 1}));
  EXPECT_EQ(files.train.num_classes, 3);
  EXPECT_EQ(files.test.size(), 0);
  idx_config.test_images = write("ti.idx", idx({1, 2}, "gh"));
  idx_config.test_labels = write("tl.idx", idx({1}, std::string("\x03", 1)));
  testing::expect_invalid("test label beyond the training classes",
                          [&] { read_data_files(idx_config); },
                          {"label 0 of " + dir.file("tl.idx") + " = 3", "classes (3)"});

  DataConfig csv_config;
  csv_config.source = "csv";
  csv_config.train_csv = write("train.csv", "a,label\n1,0\n2,1\n");
  csv_config.test_csv = write("test.csv", "a,label\n3,1\n");
  files = read_data_files(csv_config);
  EXPECT_EQ(files.train.floats, (std::vector<float>{1, 2}));
  EXPECT_EQ(files.test.labels, (std::vector<int64_t>{1}));
  EXPECT_EQ(files.test.shape, (std::vector<int64_t>{1, 1}));
  csv_config.test_csv = write("other.csv", "b,label\n3,1\n");
  testing::expect_invalid("test csv with other columns", [&] { read_data_files(csv_config); },
                          {"data.test_csv", "other.csv"});
}

TEST(DataFilesTest, ATestCsvMustMatchTheTrainingColumnsAndClasses) {
  CsvData train = parse_csv("a,b,label\n1,2,0\n3,4,1\n", "train.csv", "label");
  EXPECT_NO_THROW(check_test_csv(train, parse_csv("a,b,label\n1,2,1\n", "test.csv", "label")));
  testing::expect_invalid(
      "other columns",
      [&] { check_test_csv(train, parse_csv("a,c,label\n1,2,0\n", "test.csv", "label")); },
      {"data.test_csv = \"test.csv\"", "columns of train.csv", "a, b, label", "a, c, label"});
  testing::expect_invalid(
      "other labels",
      [&] { check_test_csv(train, parse_csv("a,b,label\n1,2,0\n1,2,5\n", "test.csv", "label")); },
      {"label of row 2 of test.csv = 5", "labels 0..1"});
}

// Debian's numpy wrote these (scripts/gen_npy_golden.py): every dtype, both byte orders,
// Fortran order, format versions 2.0 and 3.0.
TEST(NpyTest, ReadsWhatNumpyWrites) {
  for (const auto& golden : npy_golden::files()) {
    SCOPED_TRACE(golden.name);
    NpyArray a = parse_npy(golden.bytes, "data.train_x", "golden.npy");
    EXPECT_EQ(a.descr, golden.descr);
    EXPECT_EQ(a.shape, golden.shape);
    if (a.size() == 0) {
      testing::expect_invalid("no values per example", [&] { inputs_of(a); },
                              {"data.train_x = \"golden.npy\"", "[3, 0]", "at least one value"});
      continue;
    }
    std::vector<float> expected(golden.values.begin(), golden.values.end());
    EXPECT_EQ(inputs_of(a), expected);
  }
}

TEST(NpyTest, ReadsEveryDtypeInBothByteOrders) {
  struct Case {
    std::string descr, body;
    std::vector<float> values;
  };
  const std::vector<int64_t> big = {-3, 0, std::numeric_limits<int64_t>::max()};
  const std::vector<Case> cases = {
      {"|u1", raw<uint8_t>({0, 7, 255}), {0, 7, 255}},
      {"|i1", raw<int8_t>({-128, 0, 127}), {-128, 0, 127}},
      {"|b1", raw<uint8_t>({1, 0, 1}), {1, 0, 1}},
      {"<i2", raw<int16_t>({-32768, 1, 32767}), {-32768, 1, 32767}},
      {">i2", raw<int16_t>({-32768, 1, 32767}, true), {-32768, 1, 32767}},
      {"<u2", raw<uint16_t>({0, 1, 65535}), {0, 1, 65535}},
      {">u2", raw<uint16_t>({0, 1, 65535}, true), {0, 1, 65535}},
      {"<i4", raw<int32_t>({-5, 6, -7}), {-5, 6, -7}},
      {">i4", raw<int32_t>({-5, 6, -7}, true), {-5, 6, -7}},
      {"<u4", raw<uint32_t>({0, 1, 4294967295u}), {0, 1, 4294967295.0f}},
      {"<i8", raw<int64_t>(big), {-3, 0, 9.223372e18f}},
      {">i8", raw<int64_t>(big, true), {-3, 0, 9.223372e18f}},
      {"<u8", raw<uint64_t>({0, 2, ~uint64_t{0}}), {0, 2, 1.8446744e19f}},
      {">u8", raw<uint64_t>({0, 2, ~uint64_t{0}}, true), {0, 2, 1.8446744e19f}},
      // float16: 1, -2, the largest (65504), the smallest subnormal (2^-24)
      {"<f2", raw<uint16_t>({0x3c00, 0xc000, 0x7bff}), {1, -2, 65504}},
      {">f2", raw<uint16_t>({0x0001, 0x8000, 0x3800}, true), {std::ldexp(1.0f, -24), -0.0f, 0.5f}},
      {"<f4", raw<float>({1.5f, -0.0f, 3e38f}), {1.5f, -0.0f, 3e38f}},
      {">f4", raw<float>({1.5f, -0.0f, 3e38f}, true), {1.5f, -0.0f, 3e38f}},
      {"<f8", raw<double>({0.1, -2, 1e-300}), {0.1f, -2, 0}},
      {">f8", raw<double>({0.1, -2, 1e-300}, true), {0.1f, -2, 0}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.descr);
    for (int major : {1, 2, 3}) {
      NpyArray a = parse_npy(npy(dict(c.descr, "(3,)"), c.body, major), "data.train_x", "x.npy");
      EXPECT_EQ(a.shape, (std::vector<int64_t>{3}));
      EXPECT_EQ(inputs_of(a), c.values);
    }
  }
  // uint8 inputs stay bytes (the trainer scales them by 1/255), rank 1 becomes [N, 1]
  NpyArray x = parse_npy(npy(dict("|u1", "(3,)"), "abc"), "data.train_x", "x.npy");
  Examples e = npy_examples(x, x, Task::kRegression);
  EXPECT_EQ(e.shape, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(e.bytes, (std::vector<uint8_t>{'a', 'b', 'c'}));
  EXPECT_TRUE(e.floats.empty());
}

// The header is a Python literal: any spacing, either quotes, a trailing comma or none, the keys
// in any order, Python 2's 3L.
TEST(NpyTest, ParsesHeaderDictsRobustly) {
  const std::string body = raw<int16_t>({1, 2, 3, 4, 5, 6});
  for (const std::string& header : {
           std::string("{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }"),
           std::string("{'descr':'<i2','fortran_order':False,'shape':(2,3)}"),
           std::string("{ \"shape\" : ( 2 , 3 , ) , \"descr\" : \"<i2\", "
                       "'fortran_order' : False }"),
           std::string("{'fortran_order': False, 'shape': (2L, 3L), 'descr': '<i2',}"),
           std::string("\t{'descr': '<i2',\n 'fortran_order': False,\n 'shape': (2, 3)}\n"),
       }) {
    SCOPED_TRACE(header);
    NpyArray a = parse_npy(npy(header, body), "data.train_x", "x.npy");
    EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(inputs_of(a), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  }
}

// A fortran_order file is transposed into C order: element [i, j, k] reads back where it was.
TEST(NpyTest, TransposesFortranOrder) {
  std::vector<float> fortran(24);
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) {
      for (int k = 0; k < 4; ++k) fortran[i + 2 * (j + 3 * k)] = 100.0f * i + 10.0f * j + k;
    }
  }
  NpyArray a =
      parse_npy(npy(dict("<f4", "(2, 3, 4)", "True"), raw(fortran)), "data.train_x", "x.npy");
  std::vector<float> c_order = inputs_of(a);
  ASSERT_EQ(c_order.size(), 24u);
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) {
      for (int k = 0; k < 4; ++k) EXPECT_EQ(c_order[(i * 3 + j) * 4 + k], 100 * i + 10 * j + k);
    }
  }
}

TEST(NpyTest, LabelsAndTargetsFollowTheTask) {
  NpyArray x = parse_npy(npy(dict("<f4", "(3, 2)"), raw<float>({1, 2, 3, 4, 5, 6})), "data.train_x",
                         "x.npy");
  auto y = [](const std::string& descr, const std::string& shape, const std::string& body) {
    return parse_npy(npy(dict(descr, shape), body), "data.train_y", "y.npy");
  };
  // classification: integer classes of any integer type, or integral floats
  for (const NpyArray& labels :
       {y("<i8", "(3,)", raw<int64_t>({2, 0, 4})), y("|u1", "(3,)", raw<uint8_t>({2, 0, 4})),
        y(">i2", "(3,)", raw<int16_t>({2, 0, 4}, true)),
        y("<f8", "(3,)", raw<double>({2, 0, 4}))}) {
    Examples e = npy_examples(x, labels, Task::kClassification);
    EXPECT_EQ(e.labels, (std::vector<int64_t>{2, 0, 4}));
    EXPECT_EQ(e.num_classes, 5);
    EXPECT_EQ(e.target_width, 0);
    EXPECT_EQ(e.size(), 3);
    EXPECT_EQ(e.outputs(), 5);
    EXPECT_EQ(e.shape, (std::vector<int64_t>{3, 2}));
    EXPECT_EQ(e.floats, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  }
  // regression: [N] is one target, [N, k] k targets, any numeric type
  Examples r = npy_examples(x, y("<i4", "(3,)", raw<int32_t>({-1, 7, 2})), Task::kRegression);
  EXPECT_EQ(r.targets, (std::vector<float>{-1, 7, 2}));
  EXPECT_EQ(r.target_width, 1);
  EXPECT_TRUE(r.labels.empty());
  EXPECT_EQ(r.size(), 3);
  r = npy_examples(x, y("<f8", "(3, 2)", raw<double>({0.5, -1e10, 2, 3, 4, 5})), Task::kRegression);
  EXPECT_EQ(r.targets, (std::vector<float>{0.5, -1e10, 2, 3, 4, 5}));
  EXPECT_EQ(r.target_width, 2);
  EXPECT_EQ(r.outputs(), 2);
  EXPECT_EQ(r.size(), 3);
  // multi-label: values in [0, 1], bool too
  Examples m =
      npy_examples(x, y("|b1", "(3, 2)", raw<uint8_t>({1, 0, 0, 0, 1, 1})), Task::kMultiLabel);
  EXPECT_EQ(m.targets, (std::vector<float>{1, 0, 0, 0, 1, 1}));
  EXPECT_EQ(m.target_width, 2);
  m = npy_examples(x, y("<f4", "(3,)", raw<float>({0.25f, 1, 0})), Task::kMultiLabel);
  EXPECT_EQ(m.target_width, 1);
}

TEST(NpyTest, MalformedNpyIsNamed) {
  const std::string f4 = raw<float>({1, 2, 3, 4, 5, 6});
  const std::string good = npy(dict("<f4", "(2, 3)"), f4);
  struct Case {
    std::string name, bytes;
    std::vector<std::string> fragments;
  };
  auto header = [&](const std::string& d) { return npy(d, f4); };
  const std::vector<Case> cases = {
      {"empty", "", {"not an NPY file"}},
      {"bad magic", "\x93NUMPZ" + good.substr(6), {"not an NPY file", "\\x93NUMPY"}},
      {"a pickle", "\x80\x04\x95", {"not an NPY file"}},
      {"truncated prefix", good.substr(0, 9), {"truncated inside its NPY header"}},
      {"version 2 truncated prefix",
       npy(dict("<f4", "(2, 3)"), f4, 2).substr(0, 11),
       {"truncated inside its NPY header"}},
      {"truncated header", good.substr(0, 40), {"truncated", "header is 118 bytes", "holds 30"}},
      {"unknown version",
       good.substr(0, 6) + std::string("\x04\x00", 2) + good.substr(8),
       {"version 4.0", "1.0, 2.0 and 3.0"}},
      {"unknown minor version", good.substr(0, 6) + "\x01\x01" + good.substr(8), {"version 1.1"}},
      {"not a dict", header("['descr', '<f4']"), {"malformed NPY header", "expected '{'"}},
      {"unquoted key", header("{descr: '<f4'}"), {"malformed NPY header", "a quoted key"}},
      {"unknown key",
       header("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1}"),
       {"malformed NPY header", "unknown key 'x'"}},
      {"missing shape",
       header("{'descr': '<f4', 'fortran_order': False}"),
       {"missing key 'shape'"}},
      {"missing descr", header("{'shape': (6,), 'fortran_order': False}"), {"missing key 'descr'"}},
      {"key twice", header("{'descr': '<f4', 'descr': '<f4'}"), {"key 'descr' twice"}},
      {"unterminated dict",
       header("{'descr': '<f4', 'fortran_order': False, 'shape': (6,)"),
       {"expected '}'"}},
      {"unterminated string", header("{'descr: '<f4'}"), {"expected ':'"}},
      {"text after the dict", header(dict("<f4", "(2, 3)") + " x"), {"text after the closing '}'"}},
      {"fortran_order not a bool",
       header(dict("<f4", "(2, 3)", "0")),
       {"'fortran_order' must be True or False"}},
      {"shape not a tuple", header(dict("<f4", "[2, 3]")), {"expected '('"}},
      {"negative dimension", header(dict("<f4", "(-2, 3)")), {"tuple of integers >= 0"}},
      {"dimension out of range",
       header(dict("<f4", "(99999999999999999999, 3)")),
       {"a dimension out of range"}},
      {"shape larger than the data",
       header(dict("<f4", "(3, 3)")),
       {"shape [3, 3] of '<f4' promises 36 bytes", "holds 24 after the header"}},
      {"shape smaller than the data",
       header(dict("<f4", "(5,)")),
       {"promises 20 bytes", "holds 24"}},
      {"truncated data", good.substr(0, good.size() - 1), {"promises 24 bytes", "holds 23"}},
      {"shape overflows",
       header(dict("<f4", "(4294967296, 4294967296, 4294967296)")),
       {"more bytes than any file holds"}},
      {"shape wraps to zero",
       header(dict("<f4", "(4294967296, 4294967296)")),
       {"more bytes than any file holds"}},
      {"too many examples",
       npy(dict("<f4", "(4294967296, 0)"), ""),
       {"[4294967296, 0]", "at most 2147483647 examples"}},
      {"object dtype",
       header(dict("|O", "(6,)")),
       {"dtype '|O'", "pickled Python objects", "float32"}},
      {"string dtype", header(dict("<U3", "(2,)")), {"dtype '<U3'", "knob reads bool, int8"}},
      {"complex dtype", header(dict("<c8", "(3,)")), {"dtype '<c8'"}},
      {"long double", header(dict("<f16", "(1,)")), {"dtype '<f16'"}},
      {"no byte order for a wide type", header(dict("|i4", "(6,)")), {"'|', no byte order"}},
      {"structured dtype",
       header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,)}"),
       {"'descr' is a list: structured"}},
  };
  for (const auto& c : cases) {
    testing::expect_invalid(
        c.name, [&] { parse_npy(c.bytes, "data.train_x", "x.npy"); },
        [&] {
          std::vector<std::string> all = {"data.train_x = \"x.npy\""};
          all.insert(all.end(), c.fragments.begin(), c.fragments.end());
          return all;
        }());
  }

  // The values, and the labels or targets for each task.
  auto x_of = [](const std::string& descr, const std::string& shape, const std::string& body) {
    return parse_npy(npy(dict(descr, shape), body), "data.train_x", "x.npy");
  };
  auto y_of = [](const std::string& descr, const std::string& shape, const std::string& body) {
    return parse_npy(npy(dict(descr, shape), body), "data.train_y", "y.npy");
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const NpyArray x = x_of("<f4", "(3, 2)", raw<float>({1, 2, 3, 4, 5, 6}));
  const NpyArray y3 = y_of("<i8", "(3,)", raw<int64_t>({0, 1, 2}));
  struct ValueCase {
    std::string name;
    NpyArray x, y;
    Task task;
    std::vector<std::string> fragments;
  };
  const std::vector<ValueCase> value_cases = {
      {"NaN input",
       x_of("<f8", "(3, 2)", raw<double>({1, 2, 3, nan, 5, 6})),
       y3,
       Task::kClassification,
       {"data.train_x = \"x.npy\"", "input nan at flat index 3 (example 1)", "finite"}},
      {"Inf float16 input",
       x_of("<f2", "(3,)", raw<uint16_t>({0, 0x7c00, 0})),
       y3,
       Task::kClassification,
       {"data.train_x = \"x.npy\"", "input inf at flat index 1"}},
      {"input overflows float32",
       x_of("<f8", "(3,)", raw<double>({1, 2, 1e39})),
       y3,
       Task::kRegression,
       {"data.train_x = \"x.npy\"", "1e+39 at flat index 2 (example 2)", "within float32 range"}},
      {"rank-0 inputs",
       x_of("<f4", "()", raw<float>({1})),
       y3,
       Task::kClassification,
       {"data.train_x = \"x.npy\"", "shape []", "N >= 1"}},
      {"no examples",
       x_of("<f4", "(0, 2)", ""),
       y3,
       Task::kClassification,
       {"data.train_x = \"x.npy\"", "shape [0, 2]"}},
      {"N mismatch",
       x,
       y_of("<i8", "(2,)", raw<int64_t>({0, 1})),
       Task::kClassification,
       {"data.train_y = \"y.npy\"", "shape [2]", "one label per example of data.train_x (x.npy)",
        "which has 3 (shape [3, 2])"}},
      {"N mismatch of targets",
       x,
       y_of("<f4", "(4, 1)", raw<float>({0, 1, 2, 3})),
       Task::kRegression,
       {"data.train_y = \"y.npy\"", "one target row per example", "has 3"}},
      {"non-integer class",
       x,
       y_of("<f8", "(3,)", raw<double>({0, 1.5, 2})),
       Task::kClassification,
       {"data.train_y = \"y.npy\"", "label 1.5 at index 1", "an integer in [0, 10000)"}},
      {"NaN class",
       x,
       y_of("<f4", "(3,)", raw<float>({0, 1, NAN})),
       Task::kClassification,
       {"data.train_y = \"y.npy\"", "label nan at index 2"}},
      {"class too large",
       x,
       y_of("<i4", "(3,)", raw<int32_t>({0, 10000, 2})),
       Task::kClassification,
       {"data.train_y = \"y.npy\"", "label 10000 at index 1", "at most 10000 classes"}},
      {"huge uint64 class",
       x,
       y_of("<u8", "(3,)", raw<uint64_t>({0, ~uint64_t{0}, 1})),
       Task::kClassification,
       {"data.train_y = \"y.npy\"", "at index 1", "[0, 10000)"}},
      {"negative class",
       x,
       y_of("|i1", "(3,)", raw<int8_t>({0, -1, 2})),
       Task::kClassification,
       {"data.train_y = \"y.npy\"", "label -1 at index 1"}},
      {"one-hot labels",
       x,
       y_of("|u1", "(3, 2)", raw<uint8_t>({1, 0, 0, 1, 1, 0})),
       Task::kClassification,
       {"data.train_y = \"y.npy\"", "shape [3, 2]", "shape [N]", "y.argmax(1)"}},
      {"multi-label 2.0",
       x,
       y_of("<f4", "(3, 2)", raw<float>({0, 1, 2, 0, 1, 1})),
       Task::kMultiLabel,
       {"data.train_y = \"y.npy\"", "target 2 at flat index 2 (example 1)", "in [0, 1]"}},
      {"multi-label -0.5",
       x,
       y_of("<f8", "(3,)", raw<double>({0, -0.5, 1})),
       Task::kMultiLabel,
       {"data.train_y = \"y.npy\"", "target -0.5 at flat index 1"}},
      {"NaN target",
       x,
       y_of("<f8", "(3,)", raw<double>({0, 1, nan})),
       Task::kRegression,
       {"data.train_y = \"y.npy\"", "target nan at flat index 2", "finite"}},
      {"targets of rank 3",
       x,
       y_of("<f4", "(3, 1, 1)", raw<float>({0, 1, 2})),
       Task::kRegression,
       {"data.train_y = \"y.npy\"", "[N] or [N, k]"}},
      {"zero-width targets",
       x,
       y_of("<f4", "(3, 0)", ""),
       Task::kRegression,
       {"data.train_y = \"y.npy\"", "shape [3, 0]", "k must be >= 1"}},
  };
  for (const auto& c : value_cases) {
    testing::expect_invalid(
        c.name, [&] { npy_examples(c.x, c.y, c.task); }, c.fragments);
  }
  testing::expect_invalid("missing file",
                          [&] { read_npy_file("data.test_x", "/nonexistent/x.npy"); },
                          {"data.test_x = \"/nonexistent/x.npy\": must exist and be readable"});
}

TEST(DataFilesTest, CsvTargetsForRegressionAndMultiLabel) {
  CsvData r = parse_csv("x,label\n1,0.5\n2,-1e3\n", "t.csv", "label", Task::kRegression);
  EXPECT_EQ(r.targets, (std::vector<float>{0.5, -1000}));
  EXPECT_TRUE(r.labels.empty());
  EXPECT_EQ(r.rows(), 2);
  EXPECT_EQ(r.num_classes, 0);
  Examples e = examples_of(r);
  EXPECT_EQ(e.target_width, 1);
  EXPECT_EQ(e.size(), 2);
  EXPECT_EQ(e.shape, (std::vector<int64_t>{2, 1}));
  CsvData m = parse_csv("x,label\n1,0.25\n2,1\n", "t.csv", "label", Task::kMultiLabel);
  EXPECT_EQ(m.targets, (std::vector<float>{0.25, 1}));
  testing::expect_invalid(
      "NaN target", [&] { parse_csv("x,label\n1,nan\n", "t.csv", "label", Task::kRegression); },
      {"t.csv:2 (row 2, column label) = \"nan\"", "finite number (a regression target)"});
  testing::expect_invalid(
      "target beyond float",
      [&] { parse_csv("x,label\n1,1e39\n", "t.csv", "label", Task::kRegression); },
      {"= \"1e39\"", "regression target"});
  testing::expect_invalid(
      "multi-label 2",
      [&] { parse_csv("x,label\n1,0\n1,2\n", "t.csv", "label", Task::kMultiLabel); },
      {"t.csv:3 (row 3, column label) = \"2\"", "in [0, 1]", "bce_with_logits"});
}

TEST(DataFilesTest, ReadsNpyFilesAConfigNames) {
  testing::TempDir dir;
  auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(dir.file(name), std::ios::binary) << bytes;
    return dir.file(name);
  };
  DataConfig c;
  c.source = "npy";
  c.train_x = write("x.npy", npy(dict("|u1", "(3, 2, 2)"), std::string(12, '\x07')));
  c.train_y = write("y.npy", npy(dict("<i8", "(3,)"), raw<int64_t>({0, 2, 1})));
  DataFiles files = read_data_files(c);
  EXPECT_EQ(files.train.shape, (std::vector<int64_t>{3, 2, 2}));
  {  // a gzipped .npy reads the same
    const std::string y = npy(dict("<i8", "(3,)"), raw<int64_t>({0, 2, 1}));
    gzFile gz = gzopen(dir.file("y.npy.gz").c_str(), "wb");
    ASSERT_TRUE(gz);
    gzwrite(gz, y.data(), static_cast<unsigned>(y.size()));
    gzclose(gz);
    DataConfig gzipped = c;
    gzipped.train_y = dir.file("y.npy.gz");
    EXPECT_EQ(read_data_files(gzipped).train.labels, (std::vector<int64_t>{0, 2, 1}));
  }
  EXPECT_EQ(files.train.bytes.size(), 12u);
  EXPECT_EQ(files.train.labels, (std::vector<int64_t>{0, 2, 1}));
  EXPECT_EQ(files.train.num_classes, 3);
  EXPECT_EQ(files.test.size(), 0);

  c.test_x = write("tx.npy", npy(dict("|u1", "(1, 2, 2)"), std::string(4, '\x01')));
  c.test_y = write("ty.npy", npy(dict("<i8", "(1,)"), raw<int64_t>({1})));
  files = read_data_files(c);
  EXPECT_EQ(files.test.shape, (std::vector<int64_t>{1, 2, 2}));
  EXPECT_EQ(files.test.labels, (std::vector<int64_t>{1}));
  EXPECT_EQ(files.test.num_classes, 3);  // the training set's

  c.test_y = write("ty.npy", npy(dict("<i8", "(1,)"), raw<int64_t>({3})));
  testing::expect_invalid("test label beyond the training classes", [&] { read_data_files(c); },
                          {"data.test_y = \"" + c.test_y + "\"", "label 3 at index 0",
                           "a class of the training set " + c.train_y, "labels 0..2"});
  c.test_y = write("ty.npy", npy(dict("<i8", "(1,)"), raw<int64_t>({1})));
  c.test_x = write("tx.npy", npy(dict("|u1", "(1, 4)"), std::string(4, '\x01')));
  testing::expect_invalid("test inputs of another shape", [&] { read_data_files(c); },
                          {"data.test_x = \"" + c.test_x + "\"", "of shape [4]",
                           "shape [2, 2] of the examples of data.train_x"});
  c.test_x = write("tx.npy", npy(dict("<f4", "(1, 2, 2)"), raw<float>({1, 1, 1, 1})));
  testing::expect_invalid("float test inputs of uint8 training inputs", [&] { read_data_files(c); },
                          {"data.test_x = \"" + c.test_x + "\"", "holds float inputs",
                           "must be uint8 like those of data.train_x"});
  c.test_x = write("tx.npy", npy(dict("|u1", "(2, 2, 2)"), std::string(8, '\x01')));
  testing::expect_invalid("test N mismatch", [&] { read_data_files(c); },
                          {"data.test_y = \"" + c.test_y + "\"", "shape [1]",
                           "per example of data.test_x (" + c.test_x + "), which has 2"});

  // Regression: float targets, the test set's of the same width.
  c.train_y = write("y.npy", npy(dict("<f4", "(3, 2)"), raw<float>({0, 1, 2, 3, 4, 5})));
  c.test_x = write("tx.npy", npy(dict("|u1", "(1, 2, 2)"), std::string(4, '\x01')));
  c.test_y = write("ty.npy", npy(dict("<f8", "(1, 2)"), raw<double>({9, -9})));
  files = read_data_files(c, Task::kRegression);
  EXPECT_EQ(files.train.targets, (std::vector<float>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(files.train.target_width, 2);
  EXPECT_EQ(files.test.targets, (std::vector<float>{9, -9}));
  testing::expect_invalid("[N, 2] targets for classification",
                          [&] { read_data_files(c, Task::kClassification); },
                          {"data.train_y", "shape [N]"});
  c.test_y = write("ty.npy", npy(dict("<f8", "(1,)"), raw<double>({9})));
  testing::expect_invalid("test targets of another width",
                          [&] { read_data_files(c, Task::kRegression); },
                          {"data.test_y = \"" + c.test_y + "\"", "holds 1 targets per example",
                           "must hold 2 like data.train_y"});

  // CSV targets through the config; IDX holds class labels only.
  DataConfig csv;
  csv.source = "csv";
  csv.train_csv = write("train.csv", "a,label\n1,0.5\n2,1.5\n");
  files = read_data_files(csv, Task::kRegression);
  EXPECT_EQ(files.train.targets, (std::vector<float>{0.5, 1.5}));
  EXPECT_EQ(files.train.target_width, 1);
  EXPECT_EQ(files.train.outputs(), 1);
  DataConfig idx_config;
  idx_config.source = "idx";
  testing::expect_invalid("IDX for regression",
                          [&] { read_data_files(idx_config, Task::kRegression); },
                          {"data.source = \"idx\"", "class labels", "csv or npy"});
}

}  // namespace
}  // namespace knob
