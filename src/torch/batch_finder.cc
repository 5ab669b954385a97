// Trainer::find_batch_size: the batch-size finder (knob/train/batch_find.h has the math).
#include <c10/core/Allocator.h>
#include <c10/util/ThreadLocalDebugInfo.h>

#include <cmath>
#include <fstream>

#include "knob/torch/optimizer.h"
#include "knob/train/batch_find.h"
#include "torch/trainer_internal.h"

namespace knob {
namespace {

// Counts the bytes libtorch's CPU allocator hands out and takes back on this thread while it is
// installed (c10::DebugInfoGuard with DebugInfoKind::PROFILER_STATE, the hook of libtorch's
// memory profiler), and the peak of their running sum.
class TensorMemoryMeter : public c10::MemoryReportingInfoBase {
 public:
  void reportMemoryUsage(void* /*ptr*/, int64_t alloc_size, int64_t /*total_allocated*/,
                         int64_t /*total_reserved*/, c10::Device device) override {
    if (!device.is_cpu()) return;
    current_ += alloc_size;
    peak_ = std::max(peak_, current_);
  }
  bool memoryProfilingEnabled() const override { return true; }
  int64_t peak() const { return peak_; }

 private:
  int64_t current_ = 0, peak_ = 0;
};

constexpr double kMiB = 1024.0 * 1024.0;

// Half of MemAvailable in /proc/meminfo, in MiB (0 when it cannot be read).
double half_of_available_mib() {
  std::ifstream meminfo("/proc/meminfo");
  std::string name;
  double kib = 0;
  std::string unit;
  while (meminfo >> name >> kib >> unit) {
    if (name == "MemAvailable:") return kib / 1024.0 / 2.0;
  }
  return 0;
}

double gradient_sq_norm(torch::nn::Sequential& model) {
  double sum = 0;
  for (const auto& p : model->parameters()) {
    if (p.grad().defined()) sum += p.grad().pow(2).sum().item<double>();
  }
  return sum;
}

}  // namespace

BatchFindResult Trainer::find_batch_size() {
  return without_backtrace([&] { return find_batch_impl(config_); });
}

BatchFindResult Trainer::find_batch_impl(const TrainConfig& c) {
  const BatchFindConfig& f = c.batch_find;
  const DataSplits& data = *state_->step.data;
  KNOB_CHECK(state_->step.device.is_cpu(), "train.device", c.train.device,
             "must be cpu for the batch-size finder (it measures the CPU allocator's memory; "
             "device memory is not measured yet)");
  const int64_t n_train = data.train.size();
  const auto start = Clock::now();
  KeepGlobalRng keep_rng;
  set_compute_threads(c.train.threads);

  BatchFindResult result;
  result.cap = f.max_size > 0 ? f.max_size : std::min<int64_t>(n_train, 65536);
  KNOB_CHECK(result.cap <= n_train, "batch_find.max_size", f.max_size,
             "must be at most the number of training examples (" + std::to_string(n_train) + ")");
  KNOB_CHECK(
      f.start <= result.cap, "batch_find.start", f.start,
      "must be at most the largest size to try (" + std::to_string(result.cap) +
          (f.max_size > 0 ? ", batch_find.max_size)" : ", the training-set size, at most 65536)"));
  if (f.memory_budget) {
    result.budget_mib = *f.memory_budget;
    result.budget_source = "batch_find.memory_budget";
  } else {
    result.budget_mib = half_of_available_mib();
    KNOB_CHECK(result.budget_mib > 0, "batch_find.memory_budget", std::string("(unset)"),
               "must be set: MemAvailable could not be read from /proc/meminfo");
    result.budget_source = "50% of MemAvailable";
  }

  // One size: a fresh model, two training steps under the meter; when they fit, timed steps.
  auto measure = [&](int64_t size) {
    BatchTrial trial;
    trial.size = size;
    auto meter = std::make_shared<TensorMemoryMeter>();
    c10::DebugInfoGuard guard(c10::DebugInfoKind::PROFILER_STATE, meter);
    torch::manual_seed(c.train.seed);
    torch::nn::Sequential model = build_model(c.model, state_->model_factory, state_->step);
    auto optimizer = make_optimizer(c.optimizer, model->parameters());
    auto generator = at::detail::createCPUGenerator(c.train.seed * 1000003 + 424243);
    torch::Tensor order = torch::randperm(n_train, generator, torch::kInt64);
    const int64_t batches = n_train / size;
    auto step = [&](int64_t i) {
      optimizer->zero_grad();
      batch_loss(model, state_->step, order.narrow(0, (i % batches) * size, size)).backward();
      optimizer->step();
    };
    // The first step allocates the gradients and the optimizer's state; the second is a step
    // as every later one (which holds them while it runs: its peak is higher). Later steps
    // repeat the second's allocations, so the peak does not depend on how many are timed.
    step(0);
    step(1);
    trial.peak_mib = static_cast<double>(meter->peak()) / kMiB;
    trial.fits = trial.peak_mib <= result.budget_mib;
    if (!trial.fits) return trial;  // no more steps of a size over the budget
    // At least `steps` steps and 0.2 s (small batches take microseconds), at most 1000 steps.
    const auto timed = Clock::now();
    int64_t done = 0;
    while (done < f.steps || (seconds_since(timed) < 0.2 && done < 1000)) step(2 + done++);
    trial.samples_per_second =
        static_cast<double>(done * size) / std::max(seconds_since(timed), 1e-9);
    trial.peak_mib = static_cast<double>(meter->peak()) / kMiB;  // the same, unless libtorch
    trial.fits = trial.peak_mib <= result.budget_mib;            // allocated more after all
    return trial;
  };
  result.trials = search_batch_sizes(f.start, result.cap, measure);
  result.largest_fitting = largest_fitting(result.trials);
  if (result.largest_fitting == 0) {
    throw_invalid("batch_find.memory_budget", result.budget_mib,
                  "is too small for batch_find.start = " + std::to_string(f.start) +
                      ": its training step needs " + std::to_string(result.trials[0].peak_mib) +
                      " MiB; raise the budget or lower batch_find.start");
  }

  // The noise scale, on a model trained noise_warmup steps at batch.base.
  const int64_t b_small = f.start;
  const int64_t b_big = std::min(result.largest_fitting, n_train / 8);
  if (b_big < 2 * b_small) {
    result.noise_note = "not estimated: the big batch (at most the largest size that fits, " +
                        std::to_string(result.largest_fitting) + ", and 1/8 of the " +
                        std::to_string(n_train) + " training examples) must be >= 2 x " +
                        "batch_find.start (" + std::to_string(b_small) + ")";
    result.noise.b_simple = NAN;
  } else {
    torch::manual_seed(c.train.seed);
    torch::nn::Sequential model = build_model(c.model, state_->model_factory, state_->step);
    auto optimizer = make_optimizer(c.optimizer, model->parameters());
    const int64_t warm_size = std::min(c.batch.base, result.largest_fitting);
    const int64_t warm_batches = n_train / warm_size;
    torch::Tensor order;
    for (int64_t step = 0; step < f.noise_warmup; ++step) {
      if (step % warm_batches == 0) {
        auto generator = at::detail::createCPUGenerator(c.train.seed * 1000003 + 777767 +
                                                        static_cast<uint64_t>(step));
        order = torch::randperm(n_train, generator, torch::kInt64);
      }
      optimizer->zero_grad();
      batch_loss(model, state_->step, order.narrow(0, (step % warm_batches) * warm_size, warm_size))
          .backward();
      optimizer->step();
    }
    std::vector<double> small_sq, big_sq;
    for (int64_t k = 0; k < f.noise_batches; ++k) {
      auto generator = at::detail::createCPUGenerator(c.train.seed * 1000003 + 555557 +
                                                      static_cast<uint64_t>(k));
      torch::Tensor big = torch::randperm(n_train, generator, torch::kInt64).narrow(0, 0, b_big);
      optimizer->zero_grad();
      batch_loss(model, state_->step, big).backward();
      big_sq.push_back(gradient_sq_norm(model));
      optimizer->zero_grad();
      batch_loss(model, state_->step, big.narrow(0, 0, b_small)).backward();
      small_sq.push_back(gradient_sq_norm(model));
    }
    result.noise = estimate_noise_scale(b_small, b_big, small_sq, big_sq);
    if (!std::isfinite(result.noise.b_simple)) {
      result.noise_note = "the |G|^2 estimate is <= 0: more noise than signal at these sizes";
    }
  }

  BatchRecommendation recommendation = recommend_batch_size(result.trials, result.noise.b_simple);
  result.recommended = recommendation.size;
  result.rule = recommendation.rule;
  result.base = c.batch.base;
  result.base_lr = c.optimizer.lr;
  result.lr = scale_learning_rate(c.optimizer.lr, c.batch.base, result.recommended);
  result.seconds = seconds_since(start);
  return result;
}

}  // namespace knob
