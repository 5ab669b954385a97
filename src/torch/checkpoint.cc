#include "torch/checkpoint.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>

#include "knob/core/error.h"
#include "knob/core/json.h"

namespace knob {
namespace {

// Bumped when the layout changes; older files are refused by name.
constexpr int64_t kFormatVersion = 1;

// The settings a checkpoint was written with, by dotted key. Output, checkpoint and
// thread settings do not change the numbers and are left out.
Json settings(const TrainConfig& config) {
  Json out = Json::object();
  for (const auto& key : config_keys()) {
    if (key.rfind("output.", 0) == 0 || key.rfind("checkpoint.", 0) == 0 ||
        key == "train.threads" || key == "train.max_seconds") {
      continue;
    }
    std::visit([&](const auto& v) { out[key] = Json(v); }, get_config_value(config, key));
  }
  return out;
}

// Settings a checkpoint cannot be loaded under: the tensors would not fit or mean nothing.
bool structural(const std::string& key) { return checkpoint_structural(key); }

torch::Tensor text_tensor(const std::string& text) {
  return torch::from_blob(const_cast<char*>(text.data()), {static_cast<int64_t>(text.size())},
                          torch::kUInt8)
      .clone();
}

std::string tensor_text(const torch::Tensor& t) {
  torch::Tensor bytes = t.contiguous();
  return {reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()),
          static_cast<size_t>(bytes.numel())};
}

// EpochMetrics as rows of doubles, in this order (checkpoints before EpochMetrics::step have
// the first 8 columns, their epochs read with step 0; before the regression metrics, 9).
constexpr int64_t kMetricColumns = 12;

torch::Tensor history_tensor(const std::vector<EpochMetrics>& history) {
  torch::Tensor t =
      torch::empty({static_cast<int64_t>(history.size()), kMetricColumns}, torch::kFloat64);
  auto rows = t.accessor<double, 2>();
  for (size_t i = 0; i < history.size(); ++i) {
    const EpochMetrics& m = history[i];
    const double values[kMetricColumns] = {static_cast<double>(m.epoch),
                                           m.train_loss,
                                           m.val_loss,
                                           m.val_accuracy,
                                           m.lr,
                                           static_cast<double>(m.batch_size),
                                           m.seconds,
                                           m.samples_per_second,
                                           static_cast<double>(m.step),
                                           m.val_rmse,
                                           m.val_mae,
                                           m.val_r2};
    for (int64_t j = 0; j < kMetricColumns; ++j) rows[static_cast<int64_t>(i)][j] = values[j];
  }
  return t;
}

std::vector<EpochMetrics> history_from(const torch::Tensor& t) {
  KNOB_CHECK(t.dim() == 2 && (t.size(1) == 12 || t.size(1) == 9 || t.size(1) == 8) &&
                 t.scalar_type() == torch::kFloat64,
             "checkpoint history", std::string("shape ") + c10::str(t.sizes()),
             "must be [epochs, 12] (or, written by earlier versions, [epochs, 9] or [epochs, 8]) "
             "doubles");
  std::vector<EpochMetrics> out;
  auto rows = t.accessor<double, 2>();
  for (int64_t i = 0; i < t.size(0); ++i) {
    EpochMetrics m;
    m.epoch = static_cast<int64_t>(rows[i][0]);
    m.train_loss = rows[i][1];
    m.val_loss = rows[i][2];
    m.val_accuracy = rows[i][3];
    m.lr = rows[i][4];
    m.batch_size = static_cast<int64_t>(rows[i][5]);
    m.seconds = rows[i][6];
    m.samples_per_second = rows[i][7];
    if (t.size(1) >= 9) m.step = static_cast<int64_t>(rows[i][8]);
    if (t.size(1) >= 12) m.val_rmse = rows[i][9], m.val_mae = rows[i][10], m.val_r2 = rows[i][11];
    out.push_back(m);
  }
  return out;
}

// Refuses a checkpoint whose structural settings differ; lists the other differences.
void check_settings(const std::string& path, const Json& saved, const Json& now) {
  std::vector<std::string> changed;
  for (const auto& [key, value] : now.items()) {
    auto it = saved.find(key);
    const std::string before = it == saved.end() ? "(unset)" : dumps(*it);
    if (before == dumps(value)) continue;  // as text: NaN (an unset option) equals NaN
    if (structural(key)) {
      throw InvalidArgument("checkpoint.path = \"" + path + "\": was written with " + key + " = " +
                            before + ", this run has " + dumps(value) +
                            "; the model, data, optimizer kind and seed must match to resume");
    }
    changed.push_back(key + " " + before + " -> " + dumps(value));
  }
  if (changed.empty()) return;
  std::string list;
  for (const auto& c : changed) list += (list.empty() ? "" : ", ") + c;
  std::cerr << "[knob] resuming " << path << " with changed settings (" << list
            << "): the numbers will differ from an uninterrupted run\n";
}

Json saved_settings(const std::string& path, const torch::Tensor& text) {
  try {
    return loads(tensor_text(text), "settings");
  } catch (const InvalidArgument& e) {
    throw InvalidArgument("checkpoint.path = \"" + path + "\": has unreadable settings (" +
                          e.what() + ")");
  }
}

}  // namespace

void write_then_rename(const std::string& path, const std::string& key,
                       const std::function<void(const std::string& temporary)>& write) {
  const std::string temporary = path + ".tmp";
  try {
    write(temporary);
  } catch (const c10::Error& e) {
    throw_invalid(key, path, "cannot be written: " + std::string(e.what_without_backtrace()));
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  KNOB_CHECK(!error, key, path, "cannot be written: " + error.message());
}

void save_checkpoint(const std::string& path, const TrainConfig& config, torch::nn::Module& model,
                     const torch::optim::Optimizer& optimizer, const CheckpointState& state) {
  torch::serialize::OutputArchive archive;
  archive.write("format", torch::tensor(kFormatVersion));
  archive.write("settings", text_tensor(dumps(settings(config))));
  torch::serialize::OutputArchive model_archive, optimizer_archive, best_archive;
  model.save(model_archive);
  archive.write("model", model_archive);
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("history", history_tensor(state.history));
  archive.write("step", torch::tensor(state.step));
  archive.write("first_loss", torch::tensor(state.first_loss, torch::kFloat64));
  {
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    archive.write("rng", generator.get_state());
  }
  for (size_t i = 0; i < state.best_weights.size(); ++i) {
    best_archive.write(std::to_string(i), state.best_weights[i]);
  }
  archive.write("best_weights", best_archive);
  archive.write("best_weight_count",
                torch::tensor(static_cast<int64_t>(state.best_weights.size())));

  write_then_rename(path, "checkpoint.path",
                    [&](const std::string& temporary) { archive.save_to(temporary); });
}

CheckpointState load_checkpoint(const std::string& path, const TrainConfig& config,
                                torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                                torch::Device device) {
  torch::serialize::InputArchive archive;
  CheckpointState state;
  try {
    archive.load_from(path, device);
    torch::Tensor format;
    archive.read("format", format);
    KNOB_CHECK(format.item<int64_t>() == kFormatVersion, "checkpoint.path", path,
               "has checkpoint format " + std::to_string(format.item<int64_t>()) +
                   "; this knob reads format " + std::to_string(kFormatVersion));
    torch::Tensor settings_text;
    archive.read("settings", settings_text);
    check_settings(path, saved_settings(path, settings_text), settings(config));

    torch::serialize::InputArchive model_archive, optimizer_archive, best_archive;
    archive.read("model", model_archive);
    model.load(model_archive);
    archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
    torch::Tensor history, step, first_loss, rng, best_count;
    archive.read("history", history);
    state.history = history_from(history);
    archive.read("step", step);
    state.step = step.item<int64_t>();
    archive.read("first_loss", first_loss);
    state.first_loss = first_loss.item<double>();
    archive.read("best_weight_count", best_count);
    archive.read("best_weights", best_archive);
    for (int64_t i = 0; i < best_count.item<int64_t>(); ++i) {
      torch::Tensor weight;
      best_archive.read(std::to_string(i), weight);
      state.best_weights.push_back(weight);
    }
    archive.read("rng", rng);
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(rng);
  } catch (const c10::Error& e) {
    throw InvalidArgument("checkpoint.path = \"" + path +
                          "\": is not a checkpoint of this run's model and optimizer (" +
                          e.what_without_backtrace() + ")");
  }
  return state;
}

}  // namespace knob
