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
#include "knob/torch/script_module.h"
#include "knob/train/batch_find.h"
#include "knob/train/early_stopping.h"
#include "knob/train/lr_range.h"
#include "knob/train/schedule.h"
#include "knob/train/task.h"
#include "torch/batch_gather.h"
#include "torch/checkpoint.h"
#include "torch/mlp_step.h"
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

namespace {

// train.device as a libtorch device. CUDA needs a CUDA build of libtorch and a visible GPU.
torch::Device resolve_device(const std::string& device) {
  if (device == "cpu") return torch::kCPU;
  KNOB_CHECK(torch::cuda::is_available(), "train.device", device,
             "needs a CUDA build of libtorch and a visible GPU: this libtorch has no CUDA or sees "
             "no device (use \"cpu\")");
  const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
  const int64_t index = device == "cuda" ? 0 : std::stoll(device.substr(5));
  KNOB_CHECK(index < count, "train.device", device,
             "must name a visible device: cuda:0 to cuda:" + std::to_string(count - 1));
  return {torch::kCUDA, static_cast<c10::DeviceIndex>(index)};
}

// The labels must be what the loss reads: class indices, or float targets.
void check_labels(const std::string& loss, const Dataset& train) {
  const bool classes = task_of(loss) == Task::kClassification;
  KNOB_CHECK(classes == (train.labels.scalar_type() == torch::kInt64), "train.loss", loss,
             classes ? "needs class labels (int64), and the training labels are floats: use mse, "
                       "l1 or smooth_l1 for regression, bce_with_logits for multi-label"
                     : "needs float targets [N, k], and the training labels are class indices: "
                       "use cross_entropy for classification");
}

}  // namespace

Trainer::Trainer(TrainConfig config, ModelFactory model, std::shared_ptr<const DataSplits> data)
    : config_(std::move(config)), state_(std::make_unique<State>()) {
  validate(config_);
  state_->model_factory = std::move(model);
  state_->step.loss = config_.train.loss;
  state_->step.device = resolve_device(config_.train.device);
  state_->step.data =
      data ? std::move(data)
           : load_data(config_.data, config_.train.seed, task_of(config_.train.loss));
  check_labels(config_.train.loss, state_->step.data->train);
  const int64_t n = state_->step.data->train.size();
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

torch::nn::Sequential build_model(const ModelConfig& config, const ModelFactory& factory,
                                  const StepContext& context) {
  const Dataset& train = context.data->train;
  std::vector<int64_t> example_shape(train.inputs.sizes().begin() + 1, train.inputs.sizes().end());
  torch::nn::Sequential model;
  if (factory) {
    model->push_back(factory(example_shape, train.num_classes));
  } else if (config.kind == "torchscript") {
    model->push_back(ScriptModule(config.path, config.reinit));
  } else {
    model = make_model(config, example_shape, train.num_classes);
  }
  model->to(context.device);
  return model;
}

torch::Tensor loss_of(const std::string& loss, const torch::Tensor& output,
                      const torch::Tensor& target, bool sum) {
  namespace F = torch::nn::functional;
  const auto reduction = [&](auto options) {
    return sum ? options.reduction(torch::kSum) : options.reduction(torch::kMean);
  };
  if (loss == "cross_entropy") {
    KNOB_CHECK(output.dim() == 2 && output.size(0) == target.size(0), "train.loss", loss,
               "needs the model to return [batch, classes] logits; it returned " +
                   c10::str(output.sizes()) + " for a batch of " + std::to_string(target.size(0)));
    return F::cross_entropy(output, target, reduction(F::CrossEntropyFuncOptions()));
  }
  KNOB_CHECK(output.numel() == target.numel(), "train.loss", loss,
             "needs one model output per target: the model returned " + c10::str(output.sizes()) +
                 " for targets " + c10::str(target.sizes()));
  const torch::Tensor y = output.reshape(target.sizes());
  if (loss == "bce_with_logits") {
    return F::binary_cross_entropy_with_logits(
        y, target, reduction(F::BinaryCrossEntropyWithLogitsFuncOptions()));
  }
  if (loss == "mse") return F::mse_loss(y, target, reduction(F::MSELossFuncOptions()));
  if (loss == "l1") return F::l1_loss(y, target, reduction(F::L1LossFuncOptions()));
  return F::smooth_l1_loss(y, target, reduction(F::SmoothL1LossFuncOptions()));
}

namespace {

// Right answers in `output` (no sync): classes by argmax, labels by the sign of their logit.
// An undefined tensor for regression.
torch::Tensor right_answers(const std::string& loss, const torch::Tensor& output,
                            const torch::Tensor& target) {
  switch (task_of(loss)) {
    case Task::kClassification:
      return output.argmax(1).eq(target);
    case Task::kMultiLabel:
      return output.reshape(target.sizes()).gt(0).eq(target.gt(0.5));
    case Task::kRegression:
      break;
  }
  return {};
}

}  // namespace

torch::Tensor batch_loss(torch::nn::Sequential& model, const StepContext& context,
                         const torch::Tensor& index, torch::Tensor* right) {
  const DataSplits& data = *context.data;
  Dataset batch = data.train.select(index);
  torch::Tensor output = model->forward(data.to_float(batch.inputs).to(context.device));
  torch::Tensor target = batch.labels.to(context.device);
  if (right) *right = right_answers(context.loss, output.detach(), target);
  return loss_of(context.loss, output, target);
}

namespace {

// The validation metrics of `set` (those of the task; the others stay NaN) in an
// EpochMetrics' val_* fields.
EpochMetrics evaluate(torch::nn::Sequential& model, const StepContext& context,
                      const Dataset& set) {
  torch::NoGradGuard no_grad;
  model->eval();
  const DataSplits& data = *context.data;
  const Task task = task_of(context.loss);
  const int64_t n = set.size();
  const int64_t width = set.labels.dim() == 2 ? set.labels.size(1) : 1;
  double loss = 0, right = 0;
  // Regression, per output: squared and absolute errors, the targets' sum and sum of squares.
  torch::Tensor sse, sae, sum_y, sum_y2;
  for (int64_t start = 0; start < n; start += 2048) {
    Dataset batch = set.slice(start, std::min<int64_t>(2048, n - start));
    torch::Tensor output = model->forward(data.to_float(batch.inputs).to(context.device));
    torch::Tensor target = batch.labels.to(context.device);
    loss += loss_of(context.loss, output, target, /*sum=*/true).item<double>();
    if (task != Task::kRegression) {
      right += right_answers(context.loss, output, target).sum().item<double>();
      continue;
    }
    torch::Tensor t = target.to(torch::kFloat64);
    torch::Tensor error = output.reshape(target.sizes()).to(torch::kFloat64) - t;
    torch::Tensor parts[] = {error.square().sum(0), error.abs().sum(0), t.sum(0),
                             t.square().sum(0)};
    if (!sse.defined()) {
      sse = parts[0], sae = parts[1], sum_y = parts[2], sum_y2 = parts[3];
    } else {
      sse += parts[0], sae += parts[1], sum_y += parts[2], sum_y2 += parts[3];
    }
  }
  model->train();
  EpochMetrics m;
  if (n == 0) return m;
  // cross_entropy averages over examples, the other losses over every output.
  const double count = static_cast<double>(task == Task::kClassification ? n : n * width);
  m.val_loss = loss / count;
  if (task != Task::kRegression) {
    m.val_accuracy = right / count;
    return m;
  }
  m.val_accuracy = NAN;
  m.val_rmse = std::sqrt(sse.sum().item<double>() / count);
  m.val_mae = sae.sum().item<double>() / count;
  // R² per output (1 - SSE/SST; a constant target scores 1 when predicted exactly, else 0),
  // averaged over the outputs as scikit-learn's r2_score does.
  torch::Tensor sst = sum_y2 - sum_y.square() / static_cast<double>(n);
  torch::Tensor r2 =
      torch::where(sst > 0, 1 - sse / sst.clamp_min(1e-300), (sse == 0).to(torch::kFloat64));
  m.val_r2 = r2.mean().item<double>();
  return m;
}

// Copies the validation metrics of `from` into `to`.
void set_validation(EpochMetrics& to, const EpochMetrics& from) {
  to.val_loss = from.val_loss;
  to.val_accuracy = from.val_accuracy;
  to.val_rmse = from.val_rmse;
  to.val_mae = from.val_mae;
  to.val_r2 = from.val_r2;
}

// Per-epoch metrics to CSV or, for a .jsonl path, JSON lines: the task's metrics
// (epoch_metric_names) between the epoch and the learning rate.
class MetricsWriter {
 public:
  MetricsWriter(const std::string& path, Task task)
      : jsonl_(path.size() > 6 && path.substr(path.size() - 6) == ".jsonl"),
        metrics_(epoch_metric_names(task)) {
    if (path.empty()) return;
    out_.open(path);
    KNOB_CHECK(out_.good(), "output.metrics", path, "must be a writable file path");
    if (jsonl_) return;
    out_ << "epoch";
    for (const auto& name : metrics_) out_ << "," << name;
    out_ << ",lr,batch_size,seconds,samples_per_second\n";
  }
  void write(const EpochMetrics& m) {
    if (!out_.is_open()) return;
    if (jsonl_) {
      Json j = {{"epoch", m.epoch}};
      for (const auto& name : metrics_) j[name] = epoch_metric(m, name);
      j["lr"] = m.lr;
      j["batch_size"] = m.batch_size;
      j["seconds"] = m.seconds;
      j["samples_per_second"] = m.samples_per_second;
      out_ << dumps(j) << "\n";
    } else {
      out_ << m.epoch;
      for (const auto& name : metrics_) out_ << "," << epoch_metric(m, name);
      out_ << "," << m.lr << "," << m.batch_size << "," << m.seconds << "," << m.samples_per_second
           << "\n";
    }
    out_.flush();
  }

 private:
  bool jsonl_;
  std::vector<std::string> metrics_;
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

// The model's state: its parameters, then its buffers (batch norm's running statistics).
std::vector<torch::Tensor> copy_state(torch::nn::Sequential& model) {
  std::vector<torch::Tensor> out;
  for (const auto& p : model->parameters()) out.push_back(p.detach().clone());
  for (const auto& b : model->buffers()) out.push_back(b.detach().clone());
  return out;
}

// Puts back what copy_state copied (or, from a checkpoint written before buffers were kept,
// the parameters alone).
void load_state(torch::nn::Sequential& model, const std::vector<torch::Tensor>& saved) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> state = model->parameters();
  const size_t n_parameters = state.size();
  for (const auto& b : model->buffers()) state.push_back(b);
  KNOB_CHECK(
      saved.size() == state.size() || saved.size() == n_parameters, "checkpoint best weights",
      static_cast<int64_t>(saved.size()),
      "must hold one tensor per parameter and buffer (" + std::to_string(state.size()) + ")");
  for (size_t i = 0; i < saved.size(); ++i) state[i].copy_(saved[i]);
}

// Saves the trained model to output.model: a TorchScript model as TorchScript, any other as a
// libtorch archive of its parameters and buffers.
void save_model(torch::nn::Sequential& model, const std::string& path) {
  if (auto script = std::dynamic_pointer_cast<ScriptModuleImpl>(model->ptr(0))) {
    script->save_script(path);
    return;
  }
  write_then_rename(path, "output.model",
                    [&](const std::string& temporary) { torch::save(model, temporary); });
}

int64_t count_parameters(torch::nn::Sequential& model) {
  int64_t n = 0;
  for (const auto& p : model->parameters()) {
    if (p.requires_grad()) n += p.numel();
  }
  return n;
}

// Median milliseconds of a forward pass of one sample, over the first (up to) 32 of `set`.
double latency_ms(torch::nn::Sequential& model, const StepContext& context, const Dataset& set) {
  const int64_t n = std::min<int64_t>(32, set.size());
  if (n == 0) return 0.0;
  const DataSplits& data = *context.data;
  torch::NoGradGuard no_grad;
  model->eval();
  // warm-up: first-call allocations
  model->forward(data.to_float(set.slice(0, 1).inputs).to(context.device));
  std::vector<double> ms;
  for (int64_t i = 0; i < n; ++i) {
    torch::Tensor input = data.to_float(set.slice(i, 1).inputs).to(context.device);
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
  const StepContext& context = state_->step;
  const DataSplits& data = *context.data;
  const std::string objective = objective_of(c);
  const std::string monitor = monitor_of(c);
  const auto start = Clock::now();
  TrainResult result;
  if (c.batch_find.use) {  // batch.size = "find": the finder's recommendation
    result.batch_find = find_batch_impl(c);
    c.batch.size = result.batch_find->recommended;
    std::cerr << "[knob] batch-find: batch size " << c.batch.size << " (" << result.batch_find->rule
              << ")\n";
  }
  if (c.lr_find.use) {  // optimizer.lr = "find": factor x the range test's suggestion
    if (std::isfinite(c.lr_find.known)) {
      c.optimizer.lr = c.lr_find.known;  // measured before (a study's prior): not run again
    } else {
      result.lr_find = find_lr_impl(c);
      c.optimizer.lr = suggested_lr(*result.lr_find, c.lr_find);
    }
    c.optimizer.lr *= c.lr_find.factor;
    // The suggestion is the learning rate at this batch size: undo the linear scaling rule.
    if (c.batch.scale_lr) {
      c.optimizer.lr *= static_cast<double>(c.batch.base) /
                        static_cast<double>(batch_size_at(c.batch, 0, data.train.size()));
    }
  }
  result.lr = c.optimizer.lr;
  set_compute_threads(c.train.threads);
  torch::manual_seed(c.train.seed);

  torch::nn::Sequential model = build_model(c.model, state_->model_factory, context);
  auto optimizer = make_optimizer(c.optimizer, model->parameters());
  // The built-in MLP under cross entropy on the CPU steps without autograd (bitwise the same
  // numbers); every other model through model->forward and loss.backward().
  std::unique_ptr<MlpStep> mlp_step;
  if (context.loss == "cross_entropy" && context.device.is_cpu() && c.optimizer.l1 == 0) {
    mlp_step = MlpStep::of(model);
  }
  BatchGather gathered;  // each batch's examples, in buffers kept from step to step

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
    o.maximize = metric_maximized(monitor);
    o.factor = c.schedule.factor;
    o.patience = c.schedule.patience;
    o.threshold = c.schedule.threshold;
    o.min_lr = c.schedule.min_lr;
    plateau.emplace(c.optimizer.lr, o);
  }
  double plateau_factor = 1.0;  // plateau lr / base lr

  EarlyStoppingOptions stop_options;
  stop_options.maximize = metric_maximized(monitor);
  stop_options.patience = c.train.patience;
  stop_options.min_delta = c.train.min_delta;
  stop_options.baseline = c.train.baseline;
  stop_options.start_from_epoch = c.train.start_from_epoch;
  EarlyStopping early_stopping(stop_options);
  EarlyStoppingOptions best_options;  // the best epoch by the objective, for the result
  best_options.maximize = metric_maximized(objective);
  EarlyStopping best_tracker(best_options);

  CheckpointState run;  // what a checkpoint holds besides the model and the optimizer
  run.first_loss = NAN;
  bool stop = false;
  // The metric-driven policies after an epoch: best so far, early stopping, plateau.
  auto end_epoch = [&](const EpochMetrics& m) {
    run.history.push_back(m);
    best_tracker.update(m.epoch, epoch_metric(m, objective));
    const double monitored = epoch_metric(m, monitor);
    if (early_stopping.update(m.epoch, monitored)) {
      result.stop_reason = "early_stopping";
      stop = true;
    }
    if (plateau) plateau_factor = plateau->step(monitored) / c.optimizer.lr;
  };

  if (c.checkpoint.resume) {
    if (std::filesystem::exists(c.checkpoint.path)) {
      CheckpointState saved =
          load_checkpoint(c.checkpoint.path, c, *model, *optimizer, context.device);
      run.step = saved.step;
      run.first_loss = saved.first_loss;
      run.best_weights = std::move(saved.best_weights);
      for (const auto& m : saved.history) end_epoch(m);  // replays the policies' state
      result.resumed_epochs = static_cast<int64_t>(saved.history.size());
    } else {
      std::cerr << "[knob] no checkpoint at " << c.checkpoint.path << ": starting at epoch 1\n";
    }
  }

  MetricsWriter metrics(c.output.metrics, task_of(c.train.loss));
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
      gathered.gather(data, order.narrow(0, b * batch_size, count), context.device);
      torch::Tensor right;  // for a step callback only: this batch's right answers
      torch::Tensor loss;
      if (mlp_step) {  // forward and backward: the gradients are set
        loss = mlp_step->loss_and_gradients(gathered.inputs(), gathered.labels());
        if (on_step) right = right_answers(context.loss, mlp_step->logits(), gathered.labels());
      } else {
        optimizer->zero_grad();
        torch::Tensor output = model->forward(gathered.inputs());
        if (on_step) right = right_answers(context.loss, output.detach(), gathered.labels());
        loss = loss_of(context.loss, output, gathered.labels());
      }
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
      if (!mlp_step) loss.backward();
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
        s.accuracy = right.defined() ? static_cast<double>(right.sum().item<int64_t>()) /
                                           static_cast<double>(right.numel())
                                     : NAN;
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

    EpochMetrics m = evaluate(model, context, data.validation);
    m.epoch = epoch;
    m.step = step;
    m.train_loss = seen ? loss_sum / static_cast<double>(seen) : NAN;
    m.lr = lr;
    m.batch_size = batch_size;
    m.seconds = seconds_since(epoch_start);
    m.samples_per_second = static_cast<double>(seen) / std::max(train_seconds, 1e-9);
    metrics.write(m);
    end_epoch(m);
    if (c.train.restore_best && early_stopping.improved()) {
      run.best_weights = copy_state(model);
    }
    const bool whole_epoch = seen == n_train;  // not cut by the time budget
    if (!c.checkpoint.path.empty() && whole_epoch &&
        ((epoch + 1) % c.checkpoint.every == 0 || stop || epoch + 1 == c.train.epochs)) {
      save_checkpoint(c.checkpoint.path, c, *model, *optimizer, run);
    }
    if (on_epoch) on_epoch(m);  // may throw to stop the run (pruning)
  }

  result.history = run.history;
  result.objective = objective;
  if (!result.history.empty()) {
    result.best_epoch = best_tracker.best_epoch();
    result.best_objective = best_tracker.best().value_or(NAN);
    result.best_val_accuracy = NAN;
    for (const auto& m : result.history) {
      if (!(m.val_accuracy <= result.best_val_accuracy)) result.best_val_accuracy = m.val_accuracy;
    }
    set_validation(result.final_validation, result.history.back());
  }
  if (c.train.restore_best && !run.best_weights.empty()) {
    load_state(model, run.best_weights);
    set_validation(result.final_validation, evaluate(model, context, data.validation));
  }
  result.final_validation.epoch = result.history.empty() ? -1 : result.history.back().epoch;
  result.final_val_accuracy = result.final_validation.val_accuracy;
  result.final_val_loss = result.final_validation.val_loss;
  const bool diverged = result.stop_reason == "diverged";
  if (c.output.test && data.test.size() > 0 && !diverged) {
    EpochMetrics test = evaluate(model, context, data.test);
    result.test_loss = test.val_loss;
    if (!std::isnan(test.val_accuracy)) result.test_accuracy = test.val_accuracy;
  }
  result.seconds = seconds_since(start);
  if (!diverged) {
    result.params = count_parameters(model);
    result.latency_ms = latency_ms(model, context, data.validation);
    if (!c.output.model.empty()) {
      save_model(model, c.output.model);
      result.model_path = c.output.model;
    }
  }
  return result;
}

}  // namespace knob
