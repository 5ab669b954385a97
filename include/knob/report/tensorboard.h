// TensorBoard event files: scalars that TensorBoard (and every tool reading its event files)
// plots, written without TensorFlow. One writer owns one file, DIR/events.out.tfevents.<unix
// seconds>.<hostname>.<pid>. Records are buffered (64 KiB): the buffer goes to the file when
// it is full, when a record is added a second or more after the last flush, on flush() and on
// destruction. Not thread-safe. (The tags a training run writes: knob/train/metric_scalars.h.)
//
// Example:
//   knob::TensorBoardWriter tb("runs/fmnist");  // then: tensorboard --logdir runs
//   tb.add_scalar("train/loss", 0.52, 1);
//   tb.flush();  // e.g. at the end of an epoch
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace knob {

class TensorBoardWriter {
 public:
  // Creates `dir` (and its parents) and the event file, and writes the version record.
  // Throws InvalidArgument naming `dir` when it cannot.
  explicit TensorBoardWriter(const std::string& dir);
  ~TensorBoardWriter();  // flushes; an I/O error here goes unreported (call flush() to see it)
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  // One scalar at `step`; `wall_time` in seconds since the Unix epoch (now when negative).
  // NaN and infinities are written as they are (TensorBoard shows them). Throws Error on I/O.
  void add_scalar(std::string_view tag, double value, int64_t step, double wall_time = -1);
  // Writes what is buffered to the file now. Throws Error on I/O.
  void flush();

  const std::string& path() const { return path_; }

 private:
  void write_record(std::string_view data);

  std::string path_;
  std::FILE* file_ = nullptr;
  std::chrono::steady_clock::time_point last_flush_;
};

namespace detail {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord frames use it.
uint32_t crc32c(std::string_view data);
// TFRecord's masked CRC: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t masked_crc32c(std::string_view data);
// One TFRecord: uint64 LE length, masked CRC of those 8 bytes, data, masked CRC of the data.
std::string tfrecord(std::string_view data);
// Serialized tensorflow.Event messages (tensorflow/core/util/event.proto).
std::string version_event(double wall_time);  // file_version "brain.Event:2"
std::string scalar_event(double wall_time, int64_t step, std::string_view tag, float value);

}  // namespace detail
}  // namespace knob
