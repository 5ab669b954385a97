// Your own data and your own module, trained and tuned by knob from C++: a regression problem
// held in tensors you built (here a synthetic y = sin(x0) + x1 * x2
// + noise over 8 features), handed to knob::Trainer through knob::make_data_splits, a module of
// your own through a knob::ModelFactory, train.loss = "mse", the learning rate and width tuned
// by TPE to the lowest validation RMSE. The best trial's model is saved (output.model) and read
// back with torch::load to show it is the trained one.
//
//   own_data [TRIALS]   default 8 trials; writes own_data.db and own_data_best.pt here
#include <knob/core/error.h>
#include <knob/torch/dataset.h>
#include <knob/torch/trainer.h>
#include <knob/tuner/samplers/tpe_sampler.h>
#include <knob/tuner/study.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <string>

// Your module: [batch, 8] features -> [batch, 1] prediction.
struct RegressorImpl : torch::nn::Module {
  RegressorImpl(int64_t inputs, int64_t width)
      : hidden(register_module("hidden", torch::nn::Linear(inputs, width))),
        out(register_module("out", torch::nn::Linear(width, 1))) {}
  torch::Tensor forward(torch::Tensor x) { return out(torch::tanh(hidden(x))); }
  torch::nn::Linear hidden, out;
};
TORCH_MODULE(Regressor);

// Your data: any tensors, inputs [N, ...] and float targets [N, k] (or int64 class labels [N]).
knob::Dataset make_set(int64_t n) {
  torch::Tensor x = torch::randn({n, 8});
  torch::Tensor y =
      torch::sin(x.select(1, 0)) + x.select(1, 1) * x.select(1, 2) + 0.1 * torch::randn({n});
  return {x, y.unsqueeze(1), /*num_classes (outputs)=*/1};
}

int main(int argc, char** argv) {
  const int64_t trials = argc > 1 ? std::stoll(argv[1]) : 8;
  torch::manual_seed(0);
  const auto data = knob::make_data_splits(make_set(4000), make_set(1000), make_set(1000),
                                           /*normalize=*/false);
  knob::TrainConfig base;
  base.train.loss = "mse";
  base.train.objective = "val_rmse";
  base.train.epochs = 8;
  base.output.progress = false;

  auto study = knob::create_study(knob::StudyOptions()
                                      .storage("sqlite:///own_data.db")
                                      .study_name("own-data")
                                      .direction(knob::StudyDirection::kMinimize)
                                      .sampler(std::make_shared<knob::TpeSampler>(
                                          knob::TpeOptions().seed(1).n_startup_trials(4)))
                                      .load_if_exists(true));
  study.optimize(
      [&](knob::Trial& t) {
        knob::TrainConfig config = base;
        config.optimizer.lr = t.suggest_float("optimizer.lr", 1e-4, 3e-2, {.log = true});
        config.batch.size = t.suggest_int("batch.size", 16, 256, {.log = true});
        const int64_t width = t.suggest_int("width", 8, 128, {.log = true});
        auto model = [width](const std::vector<int64_t>& shape, int64_t) {
          return torch::nn::AnyModule(Regressor(shape[0], width));
        };
        config.output.model = "own_data_trial.pt";
        const knob::TrainResult r = knob::Trainer(config, model, data).fit();
        if (r.stop_reason == "diverged") throw knob::TrialPruned("diverged: " + r.divergence);
        t.set_user_attr("val_r2", r.final_validation.val_r2);
        if (study.trials({knob::TrialState::kComplete}).empty() ||
            r.final_validation.val_rmse < study.best_value()) {
          std::filesystem::rename(r.model_path, "own_data_best.pt");  // keep the best only
        }
        return r.final_validation.val_rmse;
      },
      knob::OptimizeOptions().n_trials(trials));

  const knob::FrozenTrial best = study.best_trial();
  std::cout << "best validation RMSE " << best.value() << " (trial " << best.number << ", R² "
            << knob::dumps(best.user_attrs.at("val_r2")) << ")\n";
  // The saved model is the trained one: load it into the same architecture and check.
  Regressor again(8, std::get<int64_t>(best.params().at("width")));
  torch::nn::Sequential wrapped;  // output.model saves the module as the Trainer holds it
  wrapped->push_back(again);
  torch::load(wrapped, "own_data_best.pt");
  torch::NoGradGuard no_grad;
  wrapped->eval();
  const torch::Tensor error = wrapped->forward(data->validation.inputs) - data->validation.labels;
  const double rmse = std::sqrt(error.square().mean().item<double>());
  std::cout << "own_data_best.pt reloaded: validation RMSE " << rmse << "\n";
  return std::abs(rmse - best.value()) < 1e-4 ? 0 : 1;
}
