#include "knob/train/data_files.h"

#include <gtest/gtest.h>

#include <fstream>

#include "knob/core/error.h"
#include "testing/test_support.h"

namespace knob {
namespace {

std::string idx(const std::vector<uint32_t>& dims, const std::string& body) {
  std::string out = {0, 0, 8, static_cast<char>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift : {24, 16, 8, 0}) out += static_cast<char>((d >> shift) & 0xff);
  }
  return out + body;
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

}  // namespace
}  // namespace knob
