#include "knob/run/trial_files.h"

#include <filesystem>
#include <set>

#include "knob/core/error.h"
#include "knob/storage/open_storage.h"

namespace knob::run {
namespace fs = std::filesystem;

namespace {

// A study name as one safe path component: letters, digits, '.', '-' and '_' kept, any other
// byte as '_' (and a name of dots alone prefixed, so it is never "." or "..").
std::string path_component(const std::string& name) {
  std::string out;
  for (unsigned char c : name) {
    out += std::isalnum(c) || c == '.' || c == '-' || c == '_' ? static_cast<char>(c) : '_';
  }
  if (out.empty() || out.find_first_not_of('.') == std::string::npos) out = "study" + out;
  return out;
}

void remove_quietly(const std::string& path) {
  std::error_code ignored;
  fs::remove(path, ignored);
}

}  // namespace

std::string models_dir(const std::string& storage_url, const std::string& study_name) {
  const std::string file = storage_file(storage_url);
  const fs::path base = file.empty() ? fs::path("knob-models") : fs::path(file + ".models");
  return (base / path_component(study_name)).string();
}

TrialFiles::TrialFiles(std::string dir, std::string keep)
    : dir_(std::move(dir)), keep_(std::move(keep)) {
  KNOB_CHECK(keep_ == "best" || keep_ == "all" || keep_ == "none", "study.keep_models", keep_,
             std::string("must be ") + kKeepModels);
}

std::string TrialFiles::checkpoint_path(int64_t number) const {
  return (fs::path(dir_) / ("trial-" + std::to_string(number) + ".ckpt")).string();
}

std::string TrialFiles::model_path(int64_t number) const {
  return (fs::path(dir_) / ("trial-" + std::to_string(number) + ".pt")).string();
}

std::optional<int64_t> TrialFiles::retried_number(const FrozenTrial& t) {
  if (auto it = t.system_attrs.find("knob:retry_of");
      it != t.system_attrs.end() && it->second.is_number_integer()) {
    return it->second.get<int64_t>();
  }
  if (auto it = t.system_attrs.find("retry_history");
      it != t.system_attrs.end() && it->second.is_array() && !it->second.empty() &&
      it->second.back().is_number_integer()) {
    return it->second.back().get<int64_t>();
  }
  return std::nullopt;
}

void TrialFiles::adopt(const FrozenTrial& trial) const {
  std::error_code error;
  fs::create_directories(dir_, error);
  KNOB_CHECK(!error && fs::is_directory(dir_), "study.keep_models", keep_,
             "needs the folder " + dir_ + " for the trials' checkpoints and models" +
                 (error ? " (" + error.message() + ")" : ""));
  if (auto retried = retried_number(trial)) {
    const std::string previous = checkpoint_path(*retried);
    if (fs::exists(previous)) fs::rename(previous, checkpoint_path(trial.number), error);
  }
}

void TrialFiles::configure(int64_t number, TrainConfig& config) const {
  config.checkpoint.path = checkpoint_path(number);
  config.checkpoint.resume = fs::exists(config.checkpoint.path);  // a retry's, adopted
  config.checkpoint.every = 1;
  if (keep_ != "none") config.output.model = model_path(number);
}

Callback TrialFiles::after_trial() const {
  TrialFiles files = *this;
  return [files](Study& study, const FrozenTrial& t) {
    // The interrupt mark is written to the storage, not to the trial handed to callbacks.
    const bool interrupted =
        t.state == TrialState::kFail &&
        study.storage().trial(t.trial_id).system_attrs.count("knob:interrupted");
    if (!interrupted) remove_quietly(files.checkpoint_path(t.number));
    if (files.keep_ != "best") return;
    std::set<int64_t> kept;
    for (const auto& best : study.best_trials()) kept.insert(best.number);
    for (const auto& other : study.trials()) {
      const bool finished =
          other.state != TrialState::kRunning && other.state != TrialState::kWaiting;
      if (finished && !kept.count(other.number)) remove_quietly(files.model_path(other.number));
    }
  };
}

TrialFiles ModelKeeping::files(const Study& study) const {
  return TrialFiles(models_dir(storage_url, study.study_name()), keep);
}

std::optional<std::string> TrialFiles::best_model(Study& study) const {
  if (keep_ == "none") return std::nullopt;
  const std::vector<FrozenTrial> best = study.best_trials();
  if (best.empty()) return std::nullopt;
  const std::string path = model_path(best.front().number);
  if (!fs::exists(path)) return std::nullopt;
  return path;
}

}  // namespace knob::run
