// Tuning knob's built-in MLP on Fashion-MNIST (Debian's dataset-fashion-mnist) from C++: the
// learning rate, batch size, epochs, optimizer and dropout, with knob::Trainer doing the
// training and the median pruner stopping trials that trail after an epoch; stored in SQLite
// (Optuna opens it). With MODEL `own` it tunes a libtorch module of its own instead (GeluNet
// below, handed to the Trainer by a knob::ModelFactory), and its width too.
//
//   tune_mlp [TRIALS [IMAGES [MODEL]]]   defaults: 20 trials, all 60,000 training images, mlp
#include <knob/core/error.h>
#include <knob/torch/trainer.h>
#include <knob/tuner/study.h>
#include <torch/torch.h>

#include <functional>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

// Your own module: anything with `torch::Tensor forward(torch::Tensor)` returning logits.
struct GeluNetImpl : torch::nn::Module {
  GeluNetImpl(int64_t inputs, int64_t width, double dropout, int64_t classes)
      : hidden(register_module("hidden", torch::nn::Linear(inputs, width))),
        drop(register_module("drop", torch::nn::Dropout(dropout))),
        out(register_module("out", torch::nn::Linear(width, classes))) {}
  torch::Tensor forward(torch::Tensor x) { return out(drop(torch::gelu(hidden(x.flatten(1))))); }
  torch::nn::Linear hidden;
  torch::nn::Dropout drop;
  torch::nn::Linear out;
};
TORCH_MODULE(GeluNet);

int main(int argc, char** argv) {
  const int64_t trials = argc > 1 ? std::stoll(argv[1]) : 20;
  const int64_t images = argc > 2 ? std::stoll(argv[2]) : 0;
  const bool own_model = argc > 3 && std::string(argv[3]) == "own";

  knob::TrainConfig base;  // Fashion-MNIST and the MLP 784-128-10 (knob/train/config.h)
  if (images > 0) {
    base.data.limit = images;           // the first IMAGES training images...
    base.data.validation = images / 6;  // ...the last sixth of them validates
  }
  base.output.progress = false;
  base.output.test = false;

  auto study = knob::create_study(knob::StudyOptions()
                                      .storage("sqlite:///tune_mlp.db")
                                      .study_name(own_model ? "tune-own-model" : "tune-mlp")
                                      .direction(knob::StudyDirection::kMaximize)
                                      .load_if_exists(true));
  study.optimize(
      [&](knob::Trial& t) {
        // Parameters named by their config keys, as `knob tune` names them.
        knob::TrainConfig config = base;
        config.optimizer.lr = t.suggest_float("optimizer.lr", 1e-4, 1e-1, {.log = true});
        config.batch.size = t.suggest_int("batch.size", 16, 512, {.log = true});
        config.train.epochs = t.suggest_int("train.epochs", 1, 5);
        config.model.dropout = t.suggest_float("model.dropout", 0.0, 0.5);
        config.optimizer.kind =
            t.suggest_categorical<std::string>("optimizer.kind", {"sgd", "adam"});
        if (config.optimizer.kind == "sgd") config.optimizer.momentum = 0.9;

        knob::ModelFactory model;  // empty: the config's [model], the built-in MLP
        if (own_model) {
          const int64_t width = t.suggest_int("width", 32, 512, {.log = true});
          // Called once per fit() with one example's shape ({28, 28}) and the class count.
          model = [width, dropout = config.model.dropout](const std::vector<int64_t>& shape,
                                                          int64_t classes) {
            const int64_t inputs =
                std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
            return torch::nn::AnyModule(GeluNet(inputs, width, dropout, classes));
          };
        }

        // Each epoch's validation accuracy goes to the pruner; TrialPruned stops the run.
        const knob::TrainResult result =
            knob::Trainer(config, model).fit([&](const knob::EpochMetrics& epoch) {
              t.report(epoch.val_accuracy, epoch.epoch);
              if (t.should_prune()) throw knob::TrialPruned();
            });
        // A run whose loss blew up (too high a learning rate) ends PRUNED, as in `knob tune`:
        // the sampler then counts it against its region (a FAIL trial it would leave out).
        if (result.stop_reason == "diverged")
          throw knob::TrialPruned("diverged: " + result.divergence);
        return result.final_val_accuracy;
      },
      knob::OptimizeOptions().n_trials(trials).show_progress(true));

  const knob::FrozenTrial best = study.best_trial();
  std::cout << "best validation accuracy " << best.value() << " (trial " << best.number << ")\n";
  for (const auto& [name, value] : best.params())
    std::cout << "  " << name << " = " << knob::to_string(value) << "\n";
  return 0;
}
