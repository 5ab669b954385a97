// train_bench: knob's training throughput on the seed model — the MLP 784-128-10 (ReLU,
// dropout 0.2), Adam lr 0.001, Fashion-MNIST — one epoch over the 50000 training images
// (the last 10000 held out for validation) with one libtorch thread, for each batch size.
// Its peer is torch_peer.py (the same work in PyTorch); bench/train_throughput/run.py runs
// both and prints the ratio.
//
//   train_bench [--batch 32,128,512] [--data DIR] [--torchscript FILE]
//
// With --torchscript, the model is that file (model.kind = "torchscript"): run.py writes the
// same MLP scripted by PyTorch, to compare the TorchScript path with the built-in model.
//
// Prints one JSON line per batch size:
//   {"impl": "knob", "batch": B, "samples": 50000, "seconds": ..., "samples_per_s": ...}
// samples_per_s is the trainer's own EpochMetrics::samples_per_second (the training loop).
#include <cstdint>
#include <cstdio>
#include <exception>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "knob/torch/trainer.h"
#include "knob/train/config.h"

namespace {

int usage(const std::string& why) {
  std::cerr << "train_bench: " << why
            << "\nusage: train_bench [--batch 32,128,512] [--data DIR] [--torchscript FILE]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> batches = {32, 128, 512};
  std::string data_dir;
  std::string torchscript;  // the seed MLP as a TorchScript file instead of the built-in model
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) return usage("missing value after " + arg);
    std::string value = argv[++i];
    if (arg == "--batch") {
      batches.clear();
      std::stringstream in(value);
      std::string item;
      while (std::getline(in, item, ',')) {
        try {
          batches.push_back(std::stoll(item));
        } catch (const std::exception&) {
          return usage("bad batch size '" + item + "'");
        }
        if (batches.back() < 1) return usage("batch sizes must be >= 1");
      }
      if (batches.empty()) return usage("no batch sizes");
    } else if (arg == "--data") {
      data_dir = value;
    } else if (arg == "--torchscript") {
      torchscript = value;
    } else {
      return usage("unknown option " + arg);
    }
  }
  auto set_model = [&](knob::TrainConfig& c) {
    if (torchscript.empty()) return;
    c.model.kind = "torchscript";
    c.model.path = torchscript;
  };
  try {
    // Warm-up, untimed, on 5000 images at each batch size, as the PyTorch peer does: the first
    // epoch of a process pays lazy initialization.
    for (int64_t batch : batches) {
      knob::TrainConfig warm;
      if (!data_dir.empty()) warm.data.dir = data_dir;
      warm.data.limit = 15000;  // 5000 to train on after the 10000 held out
      warm.batch.size = batch;
      warm.train.epochs = 1;
      warm.output.progress = false;
      warm.output.test = false;
      set_model(warm);
      knob::Trainer(warm).fit();
    }
    for (int64_t batch : batches) {
      knob::TrainConfig config;  // the seed model
      if (!data_dir.empty()) config.data.dir = data_dir;
      config.batch.size = batch;
      config.train.epochs = 1;
      config.train.threads = 1;
      config.output.progress = false;
      config.output.test = false;
      set_model(config);
      knob::TrainResult result = knob::Trainer(config).fit();
      if (result.history.empty()) {
        std::cerr << "train_bench: no epoch ran (" << result.stop_reason << ")\n";
        return 1;
      }
      const knob::EpochMetrics& m = result.history.front();
      std::printf(
          "{\"impl\": \"%s\", \"batch\": %lld, \"samples\": 50000, \"seconds\": %.6f, "
          "\"samples_per_s\": %.1f, \"val_accuracy\": %.4f}\n",
          torchscript.empty() ? "knob" : "knob-torchscript", static_cast<long long>(batch),
          m.seconds, m.samples_per_second, m.val_accuracy);
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::cerr << "train_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
