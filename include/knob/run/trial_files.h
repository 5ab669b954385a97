// The files a study's trainer trials keep: each trial's checkpoint (so a trial retried after
// its worker died, or re-run after Ctrl-C and `--resume`, continues from its last finished epoch
// instead of epoch 0) and its trained model ([study] keep_models = "best" | "all" | "none").
//
// They live in one folder per study beside the database: for sqlite:///runs/knob.db and study
// "mlp", runs/knob.db.models/mlp/ (other storages: ./knob-models/<study>/); trial N writes
// trial-N.ckpt while it trains and trial-N.pt when it ends (TorchScript for a TorchScript model,
// so torch.jit.load reads it; a libtorch archive otherwise), its path in the user attribute
// "model_path". A retry (Optuna's "retry_history", or knob's "knob:retry_of" after an interrupt)
// takes over the checkpoint of the trial it retries. After each trial, keep_models = "best"
// removes the models of finished trials that are not among the study's best (the Pareto front
// of a multi-objective study); a trial's checkpoint goes once it ends, except after an
// interrupt.
//
// Example:
//   knob::run::TrialFiles files(knob::run::models_dir("sqlite:///knob.db", "mlp"), "best");
//   files.adopt(trial.snapshot());             // a retry takes over its checkpoint
//   files.configure(trial.number(), config);  // sets checkpoint.* and output.model
//   options.callbacks({files.after_trial()});
#pragma once

#include <string>

#include "knob/train/config.h"
#include "knob/tuner/study.h"

namespace knob::run {

// The study's folder of trial files (not created here).
std::string models_dir(const std::string& storage_url, const std::string& study_name);

// The values [study] keep_models accepts.
inline constexpr const char* kKeepModels = "best, all or none";

class TrialFiles {
 public:
  // `keep`: best | all | none (InvalidArgument naming study.keep_models otherwise).
  TrialFiles(std::string dir, std::string keep);

  const std::string& dir() const { return dir_; }
  std::string checkpoint_path(int64_t number) const;
  std::string model_path(int64_t number) const;

  // Creates the folder and moves the checkpoint of the trial `trial` retries (if it left one)
  // to `trial`'s own. Throws InvalidArgument naming study.keep_models when the folder cannot be
  // created.
  void adopt(const FrozenTrial& trial) const;
  // Points config.checkpoint at trial `number`'s checkpoint (saved every epoch, resumed when a
  // retry adopted one) and, unless
  // keep is "none", output.model at its model file.
  void configure(int64_t number, TrainConfig& config) const;
  // The number of the trial `trial` continues (its retry source), if any.
  static std::optional<int64_t> retried_number(const FrozenTrial& trial);

  // The study callback: after trial `t`, removes its checkpoint (unless it was interrupted)
  // and, for keep = "best", the models of finished trials no longer among the best.
  Callback after_trial() const;
  // The model file of the study's best trial (the first of best_trials), if it kept one.
  std::optional<std::string> best_model(Study& study) const;

 private:
  std::string dir_;
  std::string keep_;
};

// A study's [study] keep_models with its storage: the TrialFiles of a study of that storage.
struct ModelKeeping {
  std::string storage_url;
  std::string keep = "best";
  TrialFiles files(const Study& study) const;
};

}  // namespace knob::run
