// Define-by-run tuning of a libtorch model: the learning rate, batch size, epochs, optimizer
// and dropout of an MLP on Fashion-MNIST (Debian's dataset-fashion-mnist), with the median
// pruner stopping trials that trail after an epoch, stored in SQLite (Optuna opens it).
//
//   tune_mlp [TRIALS [IMAGES]]     defaults: 20 trials on all 60,000 training images
#include <knob/core/error.h>
#include <knob/tuner/study.h>
#include <torch/torch.h>
#include <zlib.h>

#include <cstdint>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// An IDX file of the data set (gzip), as bytes after its header; `dims` its shape.
std::vector<uint8_t> read_idx(const std::string& name, std::vector<int64_t>& dims) {
  const std::string path = "/usr/share/datasets/fashion-mnist/" + name;
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file)
    throw std::runtime_error("cannot open " + path + " (apt-get install dataset-fashion-mnist)");
  std::vector<uint8_t> bytes;
  uint8_t buffer[1 << 16];
  for (int n; (n = gzread(file, buffer, sizeof buffer)) > 0;)
    bytes.insert(bytes.end(), buffer, buffer + n);
  gzclose(file);
  const int rank = bytes.at(3);
  dims.clear();
  for (int i = 0; i < rank; ++i) {
    const uint8_t* d = &bytes.at(4 + 4 * i);
    dims.push_back(int64_t{d[0]} << 24 | d[1] << 16 | d[2] << 8 | d[3]);
  }
  return {bytes.begin() + 4 + 4 * rank, bytes.end()};
}

struct Data {
  torch::Tensor x_train, y_train, x_val, y_val;
};

// The first `limit` training images (0: all); the last sixth of them validates.
Data load(int64_t limit) {
  std::vector<int64_t> image_dims, label_dims;
  auto images = read_idx("train-images-idx3-ubyte.gz", image_dims);
  auto labels = read_idx("train-labels-idx1-ubyte.gz", label_dims);
  const int64_t n = limit > 0 ? std::min(limit, image_dims[0]) : image_dims[0];
  auto x = torch::from_blob(images.data(), {image_dims[0], 784}, torch::kUInt8)
               .slice(0, 0, n)
               .to(torch::kFloat32) /
           255.0;
  auto y = torch::from_blob(labels.data(), {label_dims[0]}, torch::kUInt8)
               .slice(0, 0, n)
               .to(torch::kInt64);
  const int64_t n_val = n / 6;
  return {x.slice(0, 0, n - n_val), y.slice(0, 0, n - n_val), x.slice(0, n - n_val),
          y.slice(0, n - n_val)};
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t trials = argc > 1 ? std::stoll(argv[1]) : 20;
  const Data data = load(argc > 2 ? std::stoll(argv[2]) : 0);
  torch::set_num_threads(1);

  auto study = knob::create_study(knob::StudyOptions()
                                      .storage("sqlite:///tune_mlp.db")
                                      .study_name("tune-mlp")
                                      .direction(knob::StudyDirection::kMaximize)
                                      .load_if_exists(true));
  study.optimize(
      [&](knob::Trial& t) {
        const double lr = t.suggest_float("lr", 1e-4, 1e-1, {.log = true});
        const int64_t batch = t.suggest_int("batch_size", 16, 512, {.log = true});
        const int64_t epochs = t.suggest_int("epochs", 1, 5);
        const double dropout = t.suggest_float("dropout", 0.0, 0.5);
        const auto kind = t.suggest_categorical<std::string>("optimizer", {"sgd", "adam"});

        torch::manual_seed(0);
        torch::nn::Sequential model(torch::nn::Linear(784, 128), torch::nn::ReLU(),
                                    torch::nn::Dropout(dropout), torch::nn::Linear(128, 10));
        std::unique_ptr<torch::optim::Optimizer> optimizer;
        if (kind == "sgd") {
          optimizer = std::make_unique<torch::optim::SGD>(
              model->parameters(), torch::optim::SGDOptions(lr).momentum(0.9));
        } else {
          optimizer = std::make_unique<torch::optim::Adam>(model->parameters(),
                                                           torch::optim::AdamOptions(lr));
        }
        double accuracy = 0;
        for (int64_t epoch = 0; epoch < epochs; ++epoch) {
          model->train();
          auto order = torch::randperm(data.x_train.size(0));
          for (int64_t i = 0; i < order.size(0); i += batch) {
            auto index = order.slice(0, i, i + batch);
            optimizer->zero_grad();
            auto loss =
                torch::cross_entropy_loss(model->forward(data.x_train.index_select(0, index)),
                                          data.y_train.index_select(0, index));
            loss.backward();
            optimizer->step();
          }
          model->eval();
          torch::NoGradGuard no_grad;
          accuracy = model->forward(data.x_val)
                         .argmax(1)
                         .eq(data.y_val)
                         .to(torch::kFloat64)
                         .mean()
                         .item<double>();
          t.report(accuracy, epoch);
          if (t.should_prune()) throw knob::TrialPruned();
        }
        return accuracy;
      },
      knob::OptimizeOptions().n_trials(trials).show_progress(true));

  const knob::FrozenTrial best = study.best_trial();
  std::cout << "best validation accuracy " << best.value() << " (trial " << best.number << ")\n";
  for (const auto& [name, value] : best.params())
    std::cout << "  " << name << " = " << knob::to_string(value) << "\n";
  return 0;
}
