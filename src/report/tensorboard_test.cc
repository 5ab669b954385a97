#include "knob/report/tensorboard.h"

#include <gtest/gtest.h>

#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <thread>

#include "testing/test_support.h"

namespace knob {
namespace {

std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (int b : list) out.push_back(static_cast<char>(b));
  return out;
}

uint64_t read_le(std::string_view s, size_t at, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

// The records of a TFRecord file, each frame's CRCs checked.
std::vector<std::string> read_records(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> records;
  size_t at = 0;
  while (at < file.size()) {
    EXPECT_LE(at + 12, file.size());
    const uint64_t length = read_le(file, at, 8);
    EXPECT_EQ(read_le(file, at + 8, 4), detail::masked_crc32c(file.substr(at, 8)));
    EXPECT_LE(at + 12 + length + 4, file.size());
    std::string data = file.substr(at + 12, length);
    EXPECT_EQ(read_le(file, at + 12 + length, 4), detail::masked_crc32c(data));
    records.push_back(data);
    at += 12 + length + 4;
  }
  return records;
}

// A scalar event ends with its value's fixed32 (Summary is Event's last field, simple_value
// Value's last).
float last_float(const std::string& event) {
  return std::bit_cast<float>(static_cast<uint32_t>(read_le(event, event.size() - 4, 4)));
}

TEST(TensorBoardTest, Crc32cMatchesPublishedVectors) {
  // RFC 3720 (iSCSI) B.4 and the usual check value.
  EXPECT_EQ(detail::crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(detail::crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(detail::crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  EXPECT_EQ(detail::crc32c(""), 0u);
}

TEST(TensorBoardTest, MaskedCrcRotatesAndAddsTheConstant) {
  EXPECT_EQ(detail::masked_crc32c(""), 0xa282ead8u);  // crc 0: only the constant
  // 0xE3069283 rotated right by 15 = 0x2507c60d; + 0xa282ead8 = 0xc78ab0e5 (no carry out).
  EXPECT_EQ(detail::masked_crc32c("123456789"), 0xc78ab0e5u);
}

TEST(TensorBoardTest, EncodesEventsByHand) {
  // wall_time 1.5 = 0x3FF8000000000000; key 0x09 = field 1, fixed64.
  const std::string wall = bytes({0x09, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F});
  // key 0x1a = field 3, length-delimited; 13 bytes of "brain.Event:2".
  EXPECT_EQ(detail::version_event(1.5), wall + bytes({0x1a, 13}) + "brain.Event:2");
  // Value{tag "a" (0x0a 1 'a'), simple_value 0.5f (key 0x15 = field 2 fixed32, 0x3F000000)}
  const std::string value = bytes({0x0a, 1, 'a', 0x15, 0, 0, 0, 0x3F});
  const std::string summary = bytes({0x0a, 8}) + value;  // Summary.value, field 1
  // step 300 as a varint: 0b10_0101100 -> 0xAC 0x02; key 0x10 = field 2, varint.
  // Summary: key 0x2a = field 5, length-delimited, 10 bytes.
  EXPECT_EQ(detail::scalar_event(1.5, 300, "a", 0.5f),
            wall + bytes({0x10, 0xAC, 0x02}) + bytes({0x2a, 10}) + summary);
  // A negative int64 is its two's complement: ten varint bytes.
  EXPECT_EQ(detail::scalar_event(1.5, -1, "a", 0.5f),
            wall + bytes({0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}) +
                bytes({0x2a, 10}) + summary);
}

TEST(TensorBoardTest, FramesARecord) {
  const std::string record = detail::tfrecord("xyz");
  ASSERT_EQ(record.size(), 8u + 4 + 3 + 4);
  EXPECT_EQ(record.substr(0, 8), bytes({3, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(read_le(record, 8, 4), detail::masked_crc32c(record.substr(0, 8)));
  EXPECT_EQ(record.substr(12, 3), "xyz");
  EXPECT_EQ(read_le(record, 15, 4), detail::masked_crc32c("xyz"));
}

TEST(TensorBoardTest, WritesAnEventFileThatReadsBack) {
  testing::TempDir dir;
  const std::string logdir = dir.file("runs/a");  // created with its parent
  std::string path;
  const std::vector<std::pair<std::string, float>> expected = {{"train/loss", 0.75f},
                                                               {"val/loss", 0.8125f},
                                                               {"val/accuracy", 0.71f},
                                                               {"lr", 1e-3f},
                                                               {"batch_size", 128.0f}};
  {
    TensorBoardWriter tb(logdir);
    path = tb.path();
    for (const auto& [tag, value] : expected) tb.add_scalar(tag, value, 2);
  }
  const std::string name = std::filesystem::path(path).filename().string();
  EXPECT_EQ(name.rfind("events.out.tfevents.", 0), 0u) << name;
  EXPECT_EQ(std::filesystem::path(path).parent_path(), std::filesystem::path(logdir));
  const auto records = read_records(path);
  ASSERT_EQ(records.size(), 6u);
  EXPECT_TRUE(records[0].ends_with("brain.Event:2"));
  for (size_t i = 0; i < expected.size(); ++i) {
    const std::string& event = records[i + 1];
    EXPECT_NE(event.find(expected[i].first), std::string::npos) << expected[i].first;
    EXPECT_EQ(last_float(event), expected[i].second) << expected[i].first;
    EXPECT_EQ(event.substr(9, 2), bytes({0x10, 2}));  // step 2
  }
}

// Records wait in memory until flush() or a record added a second after the last flush (or
// destruction: the other tests); the version record is on disk from the start.
TEST(TensorBoardTest, BuffersRecordsUntilFlushOrASecondLater) {
  testing::TempDir dir;
  TensorBoardWriter tb(dir.path());
  EXPECT_EQ(read_records(tb.path()).size(), 1u);
  tb.add_scalar("x", 1.0, 1);
  tb.add_scalar("x", 2.0, 2);
  EXPECT_EQ(read_records(tb.path()).size(), 1u);  // buffered
  tb.flush();
  EXPECT_EQ(read_records(tb.path()).size(), 3u);
  tb.add_scalar("x", 3.0, 3);
  EXPECT_EQ(read_records(tb.path()).size(), 3u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  tb.add_scalar("x", 4.0, 4);  // over a second since the flush: both go out
  const auto records = read_records(tb.path());
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(last_float(records[4]), 4.0f);
}

TEST(TensorBoardTest, WritesNanAndInfinityAsFloats) {
  testing::TempDir dir;
  std::string path;
  {
    TensorBoardWriter tb(dir.path());
    path = tb.path();
    tb.add_scalar("x", std::numeric_limits<double>::quiet_NaN(), 1);
    tb.add_scalar("x", std::numeric_limits<double>::infinity(), 2);
    tb.add_scalar("x", -std::numeric_limits<double>::infinity(), 3);
  }
  const auto records = read_records(path);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_TRUE(std::isnan(last_float(records[1])));
  EXPECT_EQ(last_float(records[2]), std::numeric_limits<float>::infinity());
  EXPECT_EQ(last_float(records[3]), -std::numeric_limits<float>::infinity());
}

TEST(TensorBoardTest, RefusesADirectoryItCannotCreate) {
  testing::TempDir dir;
  std::ofstream(dir.file("file")) << "not a directory";
  for (const std::string& bad : {dir.file("file"), dir.file("file/sub")}) {
    testing::expect_invalid(bad, [&] { TensorBoardWriter tb(bad); },
                            {"tensorboard", bad, "must be a directory"});
  }
}

}  // namespace
}  // namespace knob
