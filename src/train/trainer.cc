#include "knob/train/trainer.h"

#include <c10/core/Allocator.h>
#include <c10/util/ThreadLocalDebugInfo.h>
#include <dlfcn.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>

#include "checkpoint.h"
#include "knob/core/error.h"
#include "knob/core/json.h"
#include "knob/train/batch_find.h"
#include "knob/train/dataset.h"
#include "knob/train/early_stopping.h"
#include "knob/train/lr_range.h"
#include "knob/train/model.h"
#include "knob/train/optimizer.h"
#include "knob/train/schedule.h"

namespace knob {

void set_compute_threads(int64_t threads) {
  at::set_num_threads(static_cast<int>(threads));
  // OpenBLAS (Debian's libblas.so.3 when libopenblas0-pthread is installed) keeps its own pool.
  using SetThreads = void (*)(int);
  if (auto f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    f(static_cast<int>(threads));
  }
}

struct Trainer::State {
  std::shared_ptr<const DataSplits> data;
  ModelFactory model_factory;
};

Trainer::Trainer(TrainConfig config, ModelFactory model)
    : config_(std::move(config)), state_(std::make_unique<State>()) {
  validate(config_);
  state_->model_factory = std::move(model);
  state_->data = load_data(config_.data, config_.train.seed);
  const int64_t n = state_->data->train.size();
  KNOB_CHECK(config_.batch.size <= n, "batch.size", config_.batch.size,
             "must be at most the number of training examples (" + std::to_string(n) + ")");
}

Trainer::~Trainer() = default;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Batch size of an epoch: grows by grow_factor at each milestone in grow_at, up to max_size.
int64_t batch_size_at(const BatchConfig& b, int64_t epoch, int64_t n_train) {
  double size = static_cast<double>(b.size);
  for (int64_t milestone : b.grow_at) {
    if (epoch >= milestone) size *= b.grow_factor;
  }
  auto out = static_cast<int64_t>(std::llround(size));
  if (b.max_size > 0) out = std::min(out, b.max_size);
  return std::clamp<int64_t>(out, 1, n_train);
}

struct Evaluation {
  double loss = 0, accuracy = 0;
};

Evaluation evaluate(torch::nn::Sequential& model, const DataSplits& data, const Dataset& set) {
  torch::NoGradGuard no_grad;
  model->eval();
  double loss = 0;
  int64_t correct = 0;
  const int64_t n = set.size();
  for (int64_t start = 0; start < n; start += 2048) {
    Dataset batch = set.slice(start, std::min<int64_t>(2048, n - start));
    torch::Tensor logits = model->forward(data.to_float(batch.inputs));
    loss += torch::nn::functional::cross_entropy(
                logits, batch.labels,
                torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                .item<double>();
    correct += logits.argmax(1).eq(batch.labels).sum().item<int64_t>();
  }
  model->train();
  return {n ? loss / static_cast<double>(n) : 0.0,
          n ? static_cast<double>(correct) / static_cast<double>(n) : 0.0};
}

// Per-epoch metrics to CSV or, for a .jsonl path, JSON lines.
class MetricsWriter {
 public:
  explicit MetricsWriter(const std::string& path)
      : jsonl_(path.size() > 6 && path.substr(path.size() - 6) == ".jsonl") {
    if (path.empty()) return;
    out_.open(path);
    KNOB_CHECK(out_.good(), "output.metrics", path, "must be a writable file path");
    if (!jsonl_)
      out_ << "epoch,train_loss,val_loss,val_accuracy,lr,batch_size,seconds,samples_per_second\n";
  }
  void write(const EpochMetrics& m) {
    if (!out_.is_open()) return;
    if (jsonl_) {
      Json j = {{"epoch", m.epoch},
                {"train_loss", m.train_loss},
                {"val_loss", m.val_loss},
                {"val_accuracy", m.val_accuracy},
                {"lr", m.lr},
                {"batch_size", m.batch_size},
                {"seconds", m.seconds},
                {"samples_per_second", m.samples_per_second}};
      out_ << dumps(j) << "\n";
    } else {
      out_ << m.epoch << "," << m.train_loss << "," << m.val_loss << "," << m.val_accuracy << ","
           << m.lr << "," << m.batch_size << "," << m.seconds << "," << m.samples_per_second
           << "\n";
    }
    out_.flush();
  }

 private:
  bool jsonl_;
  std::ofstream out_;
};

// The in-epoch progress bar on stderr (only on a terminal, at most 5 updates a second).
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled && isatty(STDERR_FILENO)) {}
  void update(int64_t epoch, int64_t epochs, int64_t batch, int64_t batches, double loss, double lr,
              double samples_per_second, double eta_seconds) {
    if (!enabled_ || seconds_since(last_) < 0.2) return;
    last_ = Clock::now();
    std::fprintf(
        stderr,
        "\r  epoch %lld/%lld  batch %lld/%lld  loss %.4f  lr %.3g  %.0f samples/s  ETA %.0fs   ",
        static_cast<long long>(epoch + 1), static_cast<long long>(epochs),
        static_cast<long long>(batch), static_cast<long long>(batches), loss, lr,
        samples_per_second, eta_seconds);
  }
  void clear() {
    if (enabled_) std::fprintf(stderr, "\r%100s\r", "");
  }

 private:
  bool enabled_;
  Clock::time_point last_ = Clock::now();
};

std::vector<torch::Tensor> copy_parameters(torch::nn::Sequential& model) {
  std::vector<torch::Tensor> out;
  for (const auto& p : model->parameters()) out.push_back(p.detach().clone());
  return out;
}

void load_parameters(torch::nn::Sequential& model, const std::vector<torch::Tensor>& saved) {
  torch::NoGradGuard no_grad;
  auto params = model->parameters();
  for (size_t i = 0; i < params.size(); ++i) params[i].copy_(saved[i]);
}

// The config's model, or the factory's module, for the data's inputs and classes.
torch::nn::Sequential build_model(const ModelConfig& config, const ModelFactory& factory,
                                  const DataSplits& data) {
  std::vector<int64_t> example_shape(data.train.inputs.sizes().begin() + 1,
                                     data.train.inputs.sizes().end());
  if (!factory) return make_model(config, example_shape, data.train.num_classes);
  torch::nn::Sequential model;
  model->push_back(factory(example_shape, data.train.num_classes));
  return model;
}

// Runs `body`, turning libtorch's errors (whose messages carry a C++ backtrace) into knob
// errors that keep the sentence and drop the frames.
template <typename Body>
auto without_backtrace(Body body) {
  try {
    return body();
  } catch (const c10::Error& e) {
    throw Error(std::string("libtorch: ") + e.what_without_backtrace());
  }
}

// Puts libtorch's global random generator back as it was when it goes out of scope, so that a
// finder run before fit() leaves fit() starting exactly as without it.
class KeepGlobalRng {
 public:
  KeepGlobalRng() : generator_(at::detail::getDefaultCPUGenerator()) {
    std::lock_guard<std::mutex> lock(generator_.mutex());
    state_ = generator_.get_state();
  }
  ~KeepGlobalRng() {
    std::lock_guard<std::mutex> lock(generator_.mutex());
    generator_.set_state(state_);
  }
  KeepGlobalRng(const KeepGlobalRng&) = delete;
  KeepGlobalRng& operator=(const KeepGlobalRng&) = delete;

 private:
  at::Generator generator_;
  torch::Tensor state_;
};

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

torch::Tensor batch_loss(torch::nn::Sequential& model, const DataSplits& data,
                         const torch::Tensor& index) {
  Dataset batch = data.train.select(index);
  return torch::nn::functional::cross_entropy(model->forward(data.to_float(batch.inputs)),
                                              batch.labels);
}

double gradient_sq_norm(torch::nn::Sequential& model) {
  double sum = 0;
  for (const auto& p : model->parameters()) {
    if (p.grad().defined()) sum += p.grad().pow(2).sum().item<double>();
  }
  return sum;
}

}  // namespace

TrainResult Trainer::fit(const EpochCallback& on_epoch) {
  return without_backtrace([&] { return fit_impl(on_epoch); });
}

LrFindResult Trainer::find_lr() {
  return without_backtrace([&] { return find_lr_impl(config_); });
}

BatchFindResult Trainer::find_batch_size() {
  return without_backtrace([&] { return find_batch_impl(config_); });
}

// The sweep trains its own model, initialized as fit() initializes it, and puts the global
// random generator back: a fit() after it starts exactly as if the test had not run.
LrFindResult Trainer::find_lr_impl(const TrainConfig& c) {
  const LrFindConfig& f = c.lr_find;
  const DataSplits& data = *state_->data;
  const auto start = Clock::now();
  KeepGlobalRng keep_rng;

  set_compute_threads(c.train.threads);
  torch::manual_seed(c.train.seed);
  torch::nn::Sequential model = build_model(c.model, state_->model_factory, data);
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
    Dataset batch = data.train.select(order.narrow(0, b * result.batch_size, result.batch_size));
    const double lr = lrs[static_cast<size_t>(step)];
    set_learning_rate(*optimizer, lr);
    optimizer->zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(
        model->forward(data.to_float(batch.inputs)), batch.labels);
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

BatchFindResult Trainer::find_batch_impl(const TrainConfig& c) {
  const BatchFindConfig& f = c.batch_find;
  const DataSplits& data = *state_->data;
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
    torch::nn::Sequential model = build_model(c.model, state_->model_factory, data);
    auto optimizer = make_optimizer(c.optimizer, model->parameters());
    auto generator = at::detail::createCPUGenerator(c.train.seed * 1000003 + 424243);
    torch::Tensor order = torch::randperm(n_train, generator, torch::kInt64);
    const int64_t batches = n_train / size;
    auto step = [&](int64_t i) {
      optimizer->zero_grad();
      batch_loss(model, data, order.narrow(0, (i % batches) * size, size)).backward();
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
    torch::nn::Sequential model = build_model(c.model, state_->model_factory, data);
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
      batch_loss(model, data, order.narrow(0, (step % warm_batches) * warm_size, warm_size))
          .backward();
      optimizer->step();
    }
    std::vector<double> small_sq, big_sq;
    for (int64_t k = 0; k < f.noise_batches; ++k) {
      auto generator = at::detail::createCPUGenerator(c.train.seed * 1000003 + 555557 +
                                                      static_cast<uint64_t>(k));
      torch::Tensor big = torch::randperm(n_train, generator, torch::kInt64).narrow(0, 0, b_big);
      optimizer->zero_grad();
      batch_loss(model, data, big).backward();
      big_sq.push_back(gradient_sq_norm(model));
      optimizer->zero_grad();
      batch_loss(model, data, big.narrow(0, 0, b_small)).backward();
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

TrainResult Trainer::fit_impl(const EpochCallback& on_epoch) {
  TrainConfig c = config_;
  const DataSplits& data = *state_->data;
  const auto start = Clock::now();
  TrainResult result;
  if (c.batch_find.use) {  // batch.size = "find": the finder's recommendation
    result.batch_find = find_batch_impl(c);
    c.batch.size = result.batch_find->recommended;
    std::cerr << "[knob] batch-find: batch size " << c.batch.size << " (" << result.batch_find->rule
              << ")\n";
  }
  if (c.lr_find.use) {  // optimizer.lr = "find": the range test's suggestion
    result.lr_find = find_lr_impl(c);
    if (result.lr_find->chosen.empty()) {
      throw TrainingDiverged("lr-find: the loss diverged after " +
                             std::to_string(result.lr_find->lrs.size()) +
                             " steps, too few for a suggestion (" + c.lr_find.suggestion +
                             "); lower lr_find.end or set optimizer.lr");
    }
    // The suggestion is the learning rate at this batch size: undo the linear scaling rule.
    c.optimizer.lr = result.lr_find->lr;
    if (c.batch.scale_lr) {
      c.optimizer.lr *= static_cast<double>(c.batch.base) /
                        static_cast<double>(batch_size_at(c.batch, 0, data.train.size()));
    }
  }
  set_compute_threads(c.train.threads);
  torch::manual_seed(c.train.seed);

  torch::nn::Sequential model = build_model(c.model, state_->model_factory, data);
  auto optimizer = make_optimizer(c.optimizer, model->parameters());

  // Learning rate: base (scaled by the linear scaling rule), schedule, plateau.
  const int64_t n_train = data.train.size();
  int64_t total_steps = 0;
  for (int64_t e = 0; e < c.train.epochs; ++e) {
    int64_t bs = batch_size_at(c.batch, e, n_train);
    total_steps += (n_train + bs - 1) / bs;
  }
  const bool per_step = c.schedule.per == "step";
  KNOB_CHECK(!per_step || c.schedule.warmup < total_steps, "schedule.warmup", c.schedule.warmup,
             "must be shorter than training (" + std::to_string(total_steps) + " steps)");
  auto lr_at = [&](int64_t epoch, int64_t step, const SchedulePtr& schedule) {
    double lr = schedule->lr(per_step ? step : epoch);
    if (c.batch.scale_lr) {
      lr *= static_cast<double>(batch_size_at(c.batch, epoch, n_train)) /
            static_cast<double>(c.batch.base);
    }
    return lr;
  };
  SchedulePtr schedule =
      make_schedule(c.schedule, c.optimizer.lr, per_step ? total_steps : c.train.epochs);
  std::optional<PlateauSchedule> plateau;
  if (c.schedule.kind == "plateau") {
    PlateauOptions o;
    o.maximize = c.train.monitor == "val_accuracy";
    o.factor = c.schedule.factor;
    o.patience = c.schedule.patience;
    o.threshold = c.schedule.threshold;
    o.min_lr = c.schedule.min_lr;
    plateau.emplace(c.optimizer.lr, o);
  }
  double plateau_factor = 1.0;  // plateau lr / base lr

  EarlyStoppingOptions stop_options;
  stop_options.maximize = c.train.monitor == "val_accuracy";
  stop_options.patience = c.train.patience;
  stop_options.min_delta = c.train.min_delta;
  stop_options.baseline = c.train.baseline;
  stop_options.start_from_epoch = c.train.start_from_epoch;
  EarlyStopping early_stopping(stop_options);
  EarlyStopping best_tracker({.maximize = true});  // best validation accuracy, for the result

  CheckpointState run;  // what a checkpoint holds besides the model and the optimizer
  run.first_loss = NAN;
  bool stop = false;
  // The metric-driven policies after an epoch: best so far, early stopping, plateau.
  auto end_epoch = [&](const EpochMetrics& m) {
    run.history.push_back(m);
    best_tracker.update(m.epoch, m.val_accuracy);
    const double monitored = c.train.monitor == "val_accuracy" ? m.val_accuracy
                             : c.train.monitor == "val_loss"   ? m.val_loss
                                                               : m.train_loss;
    if (early_stopping.update(m.epoch, monitored)) {
      result.stop_reason = "early_stopping";
      stop = true;
    }
    if (plateau) plateau_factor = plateau->step(monitored) / c.optimizer.lr;
  };

  if (c.checkpoint.resume) {
    if (std::filesystem::exists(c.checkpoint.path)) {
      CheckpointState saved = load_checkpoint(c.checkpoint.path, c, *model, *optimizer);
      run.step = saved.step;
      run.first_loss = saved.first_loss;
      run.best_weights = std::move(saved.best_weights);
      for (const auto& m : saved.history) end_epoch(m);  // replays the policies' state
      result.resumed_epochs = static_cast<int64_t>(saved.history.size());
    } else {
      std::cerr << "[knob] no checkpoint at " << c.checkpoint.path << ": starting at epoch 1\n";
    }
  }

  MetricsWriter metrics(c.output.metrics);
  for (const auto& m : run.history) metrics.write(m);
  ProgressBar bar(c.output.progress);
  int64_t& step = run.step;
  double& first_loss = run.first_loss;

  for (int64_t epoch = result.resumed_epochs; epoch < c.train.epochs && !stop; ++epoch) {
    const auto epoch_start = Clock::now();
    const int64_t batch_size = batch_size_at(c.batch, epoch, n_train);
    const int64_t batches = (n_train + batch_size - 1) / batch_size;
    auto generator =
        at::detail::createCPUGenerator(c.train.seed * 1000003 + static_cast<uint64_t>(epoch));
    torch::Tensor order = torch::randperm(n_train, generator, torch::kInt64);
    double loss_sum = 0;
    int64_t seen = 0;
    double lr = 0;
    for (int64_t b = 0; b < batches; ++b) {
      const int64_t count = std::min(batch_size, n_train - b * batch_size);
      Dataset batch = data.train.select(order.narrow(0, b * batch_size, count));
      lr = lr_at(epoch, step, schedule) * plateau_factor;
      set_learning_rate(*optimizer, lr);
      optimizer->zero_grad();
      torch::Tensor loss = torch::nn::functional::cross_entropy(
          model->forward(data.to_float(batch.inputs)), batch.labels);
      double loss_value = loss.item<double>();
      if (c.optimizer.l1 > 0) {
        torch::Tensor penalty = torch::zeros({});
        for (const auto& p : model->parameters()) penalty = penalty + p.abs().sum();
        loss = loss + c.optimizer.l1 * penalty;
      }
      if (std::isnan(first_loss)) first_loss = loss_value;
      if (!std::isfinite(loss_value) ||
          (c.train.divergence_factor > 0 && loss_value > c.train.divergence_factor * first_loss)) {
        result.stop_reason = "diverged";
        char text[160];
        std::snprintf(text, sizeof text, "loss %g at step %lld (epoch %lld) %s", loss_value,
                      static_cast<long long>(step), static_cast<long long>(epoch),
                      std::isfinite(loss_value) ? "exceeded divergence_factor x the first loss"
                                                : "is not finite");
        result.divergence = text;
        stop = true;
        break;
      }
      loss.backward();
      optimizer->step();
      loss_sum += loss_value * static_cast<double>(count);
      seen += count;
      ++step;
      double elapsed = seconds_since(epoch_start);
      bar.update(epoch, c.train.epochs, b + 1, batches, loss_sum / static_cast<double>(seen), lr,
                 static_cast<double>(seen) / elapsed,
                 elapsed / static_cast<double>(seen) * static_cast<double>(n_train - seen));
      if (c.train.max_seconds > 0 && seconds_since(start) > c.train.max_seconds) {
        result.stop_reason = "time_budget";
        stop = true;
        break;
      }
    }
    bar.clear();
    const double train_seconds = seconds_since(epoch_start);  // the loop alone, no validation
    if (result.stop_reason == "diverged") break;

    Evaluation val = evaluate(model, data, data.validation);
    EpochMetrics m;
    m.epoch = epoch;
    m.train_loss = seen ? loss_sum / static_cast<double>(seen) : NAN;
    m.val_loss = val.loss;
    m.val_accuracy = val.accuracy;
    m.lr = lr;
    m.batch_size = batch_size;
    m.seconds = seconds_since(epoch_start);
    m.samples_per_second = static_cast<double>(seen) / std::max(train_seconds, 1e-9);
    metrics.write(m);
    end_epoch(m);
    if (c.train.restore_best && early_stopping.improved()) {
      run.best_weights = copy_parameters(model);
    }
    const bool whole_epoch = seen == n_train;  // not cut by the time budget
    if (!c.checkpoint.path.empty() && whole_epoch &&
        ((epoch + 1) % c.checkpoint.every == 0 || stop || epoch + 1 == c.train.epochs)) {
      save_checkpoint(c.checkpoint.path, c, *model, *optimizer, run);
    }
    if (on_epoch) on_epoch(m);  // may throw to stop the run (pruning)
  }

  result.history = run.history;
  if (!result.history.empty()) {
    result.best_epoch = best_tracker.best_epoch();
    result.best_val_accuracy = *best_tracker.best();
    result.final_val_accuracy = result.history.back().val_accuracy;
  }
  if (c.train.restore_best && !run.best_weights.empty()) {
    load_parameters(model, run.best_weights);
    result.final_val_accuracy = evaluate(model, data, data.validation).accuracy;
  }
  if (c.output.test && data.test.size() > 0 && result.stop_reason != "diverged") {
    result.test_accuracy = evaluate(model, data, data.test).accuracy;
  }
  result.seconds = seconds_since(start);
  return result;
}

}  // namespace knob
