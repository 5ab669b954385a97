// TensorBoard event files: scalars that TensorBoard (and every tool reading its event files)
// plots, written without TensorFlow. One writer owns one file, DIR/events.out.tfevents.<unix
// seconds>.<hostname>.<pid>, flushed after every record; not thread-safe.
//
// Example:
//   knob::TensorBoardWriter tb("runs/fmnist");  // then: tensorboard --logdir runs
//   tb.add_scalar("train/loss", 0.52, 1);
//   knob::add_epoch_scalars(tb, metrics);  // train/loss, val/loss, val/accuracy, lr, batch_size
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "knob/train/train_result.h"

namespace knob {

class TensorBoardWriter {
 public:
  // Creates `dir` (and its parents) and the event file, and writes the version record.
  // Throws InvalidArgument naming `dir` when it cannot.
  explicit TensorBoardWriter(const std::string& dir);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  // One scalar at `step`; `wall_time` in seconds since the Unix epoch (now when negative).
  // NaN and infinities are written as they are (TensorBoard shows them). Throws Error on I/O.
  void add_scalar(const std::string& tag, double value, int64_t step, double wall_time = -1);

  const std::string& path() const { return path_; }

 private:
  void write_record(std::string_view data);

  std::string path_;
  std::FILE* file_ = nullptr;
};

// An epoch's metrics at step epoch + 1 (the epoch number `knob train` prints): "train/loss",
// "val/loss", "val/accuracy", "lr" and "batch_size".
void add_epoch_scalars(TensorBoardWriter& writer, const EpochMetrics& m);

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
