// Trainer::find_lr: the learning-rate range test (knob/train/lr_range.h has the curve's math).
#include <cmath>

#include "knob/torch/optimizer.h"
#include "knob/train/lr_range.h"
#include "torch/trainer_internal.h"

namespace knob {

LrFindResult Trainer::find_lr() {
  return without_backtrace([&] { return find_lr_impl(config_); });
}

// The sweep trains its own model, initialized as fit() initializes it, and puts the global
// random generator back: a fit() after it starts exactly as if the test had not run.
LrFindResult Trainer::find_lr_impl(const TrainConfig& c) {
  const LrFindConfig& f = c.lr_find;
  const DataSplits& data = *state_->step.data;
  const auto start = Clock::now();
  KeepGlobalRng keep_rng;

  set_compute_threads(c.train.threads);
  torch::manual_seed(c.train.seed);
  torch::nn::Sequential model = build_model(c.model, state_->model_factory, state_->step);
  auto optimizer = make_optimizer(c.optimizer, model->parameters());

  LrFindResult result;
  const int64_t n_train = data.train.size();
  result.batch_size = batch_size_at(c.batch, 0, n_train);
  const int64_t batches = n_train / result.batch_size;  // whole batches only
  KNOB_CHECK(batches >= 1, "batch.size", result.batch_size,
             "must leave at least one whole batch of the " + std::to_string(n_train) +
                 " training examples for the range test");
  LrSmoother smoother(f.beta);
  double best = INFINITY;
  torch::Tensor order;
  const std::vector<double> lrs = sweep_learning_rates(f);
  result.stop_reason = "completed";
  for (int64_t step = 0; step < f.steps; ++step) {
    const int64_t b = step % batches;
    if (b == 0) {  // a new pass over the data, in a seeded order
      auto generator = at::detail::createCPUGenerator(c.train.seed * 1000003 + 999983 +
                                                      static_cast<uint64_t>(step / batches));
      order = torch::randperm(n_train, generator, torch::kInt64);
    }
    const double lr = lrs[static_cast<size_t>(step)];
    set_learning_rate(*optimizer, lr);
    optimizer->zero_grad();
    torch::Tensor loss =
        batch_loss(model, state_->step, order.narrow(0, b * result.batch_size, result.batch_size));
    const double value = loss.item<double>();
    if (step == 0 && !std::isfinite(value)) {
      throw TrainingDiverged("lr-find: the loss is " + std::to_string(value) +
                             " at the first step (lr " + detail::format_value(lr) +
                             "), before any update: the model or the data produce it, not the "
                             "learning rate");
    }
    const double smoothed = std::isfinite(value) ? smoother.add(value) : value;
    result.lrs.push_back(lr);
    result.losses.push_back(value);
    result.smoothed.push_back(smoothed);
    if (!std::isfinite(smoothed) || (step > 0 && smoothed > f.diverge * best)) {
      result.stop_reason = "diverged";
      break;
    }
    best = std::min(best, smoothed);
    loss.backward();
    optimizer->step();
  }
  result.suggestions = suggest_learning_rates(result.lrs, result.smoothed, f.steps);
  result.lr = NAN;
  for (const auto& s : result.suggestions) {
    if (s.name == f.suggestion) {
      result.chosen = s.name;
      result.lr = s.lr;
    }
  }
  result.seconds = seconds_since(start);
  return result;
}

}  // namespace knob
