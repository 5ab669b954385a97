#include "knob/train/metric_scalars.h"

namespace knob {

std::array<MetricScalar, 4> step_scalars(const StepMetrics& m) {
  return {{{"train/loss", m.loss, m.step},
           {"train/accuracy", m.accuracy, m.step},
           {"lr", m.lr, m.step},
           {"batch_size", static_cast<double>(m.batch_size), m.step}}};
}

std::array<MetricScalar, 3> epoch_scalars(const EpochMetrics& m) {
  return {{{"epoch/train_loss", m.train_loss, m.step},
           {"val/loss", m.val_loss, m.step},
           {"val/accuracy", m.val_accuracy, m.step}}};
}

}  // namespace knob
