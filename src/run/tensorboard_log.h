// Private to the run module: a training run's TensorBoard log (the tags of
// knob/train/metric_scalars.h), shared by the trainer objective and `knob train`'s run.
// Without a directory it writes nothing and gives the trainer no step callback.
#pragma once

#include <memory>
#include <string>

#include "knob/report/tensorboard.h"
#include "knob/train/metric_scalars.h"
#include "knob/train/train_result.h"

namespace knob::run::detail {

class TensorBoardLog {
 public:
  explicit TensorBoardLog(const std::string& dir) {
    if (!dir.empty()) writer_ = std::make_unique<TensorBoardWriter>(dir);
  }
  StepCallback on_step() {
    if (!writer_) return {};
    return [w = writer_.get()](const StepMetrics& m) {
      for (const MetricScalar& s : step_scalars(m)) w->add_scalar(s.tag, s.value, s.step);
    };
  }
  void on_epoch(const EpochMetrics& m) {
    if (!writer_) return;
    for (const MetricScalar& s : epoch_scalars(m)) writer_->add_scalar(s.tag, s.value, s.step);
    writer_->flush();  // TensorBoard shows each epoch as it ends
  }

 private:
  std::unique_ptr<TensorBoardWriter> writer_;
};

}  // namespace knob::run::detail
