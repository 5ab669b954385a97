#include "knob/torch/trainer.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>

#include "knob/core/error.h"
#include "knob/core/json.h"
#include "knob/torch/dataset.h"
#include "knob/torch/model.h"
#include "knob/torch/optimizer.h"
#include "knob/train/batch_find.h"
#include "knob/train/early_stopping.h"
#include "knob/train/lr_range.h"
#include "knob/train/schedule.h"
#include "torch/checkpoint.h"
#include "torch/trainer_internal.h"

namespace knob {

void set_compute_threads(int64_t threads) {
  at::set_num_threads(static_cast<int>(threads));
  // OpenBLAS (Debian's libblas.so.3 when libopenblas0-pthread is installed) keeps its own pool.
  using SetThreads = void (*)(int);
  if (auto f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    f(static_cast<int>(threads));
  }
}

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

torch::Tensor batch_loss(torch::nn::Sequential& model, const DataSplits& data,
                         const torch::Tensor& index, torch::Tensor* correct) {
  Dataset batch = data.train.select(index);
  torch::Tensor logits = model->forward(data.to_float(batch.inputs));
  if (correct) *correct = logits.detach().argmax(1).eq(batch.labels).sum();
  return torch::nn::functional::cross_entropy(logits, batch.labels);
}

namespace {

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

int64_t count_parameters(torch::nn::Sequential& model) {
  int64_t n = 0;
  for (const auto& p : model->parameters()) {
    if (p.requires_grad()) n += p.numel();
  }
  return n;
}

// Median milliseconds of a forward pass of one sample, over the first (up to) 32 of `set`.
double latency_ms(torch::nn::Sequential& model, const DataSplits& data, const Dataset& set) {
  const int64_t n = std::min<int64_t>(32, set.size());
  if (n == 0) return 0.0;
  torch::NoGradGuard no_grad;
  model->eval();
  model->forward(data.to_float(set.slice(0, 1).inputs));  // warm-up: first-call allocations
  std::vector<double> ms;
  for (int64_t i = 0; i < n; ++i) {
    torch::Tensor input = data.to_float(set.slice(i, 1).inputs);
    const auto start = Clock::now();
    model->forward(input);
    ms.push_back(1000.0 * seconds_since(start));
  }
  model->train();
  std::sort(ms.begin(), ms.end());
  return n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
}

}  // namespace

TrainResult Trainer::fit(const EpochCallback& on_epoch, const StepCallback& on_step) {
  return without_backtrace([&] { return fit_impl(on_epoch, on_step); });
}

TrainResult Trainer::fit_impl(const EpochCallback& on_epoch, const StepCallback& on_step) {
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
  EarlyStoppingOptions best_options;  // the best validation accuracy, for the result
  best_options.maximize = true;
  EarlyStopping best_tracker(best_options);

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
      lr = lr_at(epoch, step, schedule) * plateau_factor;
      set_learning_rate(*optimizer, lr);
      optimizer->zero_grad();
      torch::Tensor correct;  // for a step callback only: this batch's right answers
      torch::Tensor loss = batch_loss(model, data, order.narrow(0, b * batch_size, count),
                                      on_step ? &correct : nullptr);
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
      if (on_step) {
        StepMetrics s;
        s.step = step;
        s.epoch = epoch;
        s.loss = loss_value;
        s.lr = lr;
        s.batch_size = batch_size;
        s.accuracy = static_cast<double>(correct.item<int64_t>()) / static_cast<double>(count);
        on_step(s);  // may throw to stop the run
      }
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
    m.step = step;
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
    result.final_val_loss = result.history.back().val_loss;
  }
  if (c.train.restore_best && !run.best_weights.empty()) {
    load_parameters(model, run.best_weights);
    Evaluation best = evaluate(model, data, data.validation);
    result.final_val_accuracy = best.accuracy;
    result.final_val_loss = best.loss;
  }
  if (c.output.test && data.test.size() > 0 && result.stop_reason != "diverged") {
    result.test_accuracy = evaluate(model, data, data.test).accuracy;
  }
  result.seconds = seconds_since(start);
  if (result.stop_reason != "diverged") {
    result.params = count_parameters(model);
    result.latency_ms = latency_ms(model, data, data.validation);
  }
  return result;
}

}  // namespace knob
