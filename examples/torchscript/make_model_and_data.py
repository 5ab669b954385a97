#!/usr/bin/python3
"""Your PyTorch model and data, ready for knob — the Python side of examples/torchscript:

  cnn.pt            a small CNN with batch norm (your model), scripted: torch.jit.script
  fmnist_*.npy      Fashion-MNIST as NPY (inputs uint8 [N, 1, 28, 28], labels int64 [N]), from
                    Debian's dataset-fashion-mnist
  regressor.pt      an MLP regressor, traced: torch.jit.trace
  housing_*.npy     a regression data set (float32 inputs [N, 8], float32 targets [N, 1])

Run with Debian's python3 (python3-torch, python3-numpy), then tune:
  /usr/bin/python3 examples/torchscript/make_model_and_data.py --out DIR [--limit N]
  knob tune examples/torchscript/fmnist_cnn.toml        (run from DIR)
  knob tune examples/torchscript/regression.toml        (run from DIR)
The lines that matter for your own model are the two torch.jit.*(...).save(...) calls.
"""
import argparse
import gzip
import os

import numpy as np
import torch

FMNIST = "/usr/share/datasets/fashion-mnist"


class Cnn(torch.nn.Module):
    """Conv-BN-ReLU-pool twice, dropout, a linear classifier: [batch, 1, 28, 28] -> 10 logits.
    knob feeds uint8 images scaled to [0, 1] (and, with data.normalize, standardised)."""

    def __init__(self, channels: int = 16):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(1, channels, 3, padding=1), torch.nn.BatchNorm2d(channels),
            torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(channels, 2 * channels, 3, padding=1),
            torch.nn.BatchNorm2d(2 * channels), torch.nn.ReLU(), torch.nn.MaxPool2d(2))
        self.classifier = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Dropout(0.25),
                                              torch.nn.Linear(2 * channels * 7 * 7, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def read_idx(name):
    with gzip.open(os.path.join(FMNIST, name)) as f:
        data = f.read()
    rank = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * rank).reshape(shape)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=".")
    parser.add_argument("--limit", type=int, default=0, help="first N training images (0: all)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    out = lambda name: os.path.join(args.out, name)  # noqa: E731
    torch.manual_seed(0)

    # Your model, the one line that matters: script it and save it.
    torch.jit.script(Cnn()).save(out("cnn.pt"))
    # Your data, as numpy.save writes it.
    x, y = read_idx("train-images-idx3-ubyte.gz"), read_idx("train-labels-idx1-ubyte.gz")
    if args.limit:
        x, y = x[:args.limit], y[:args.limit]
    np.save(out("fmnist_train_x.npy"), x[:, None])  # [N, 1, 28, 28]
    np.save(out("fmnist_train_y.npy"), y.astype(np.int64))
    np.save(out("fmnist_test_x.npy"), read_idx("t10k-images-idx3-ubyte.gz")[:, None])
    np.save(out("fmnist_test_y.npy"), read_idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))

    # A regression: y = sin(x0) + x1 * x2 + 0.5 x3 + noise, 8 features.
    regressor = torch.nn.Sequential(torch.nn.Linear(8, 64), torch.nn.ReLU(),
                                    torch.nn.Linear(64, 64), torch.nn.ReLU(),
                                    torch.nn.Linear(64, 1))
    torch.jit.trace(regressor, torch.zeros(1, 8)).save(out("regressor.pt"))
    rng = np.random.default_rng(0)
    for split, n in (("train", 8000), ("test", 2000)):
        features = rng.normal(size=(n, 8)).astype(np.float32)
        target = (np.sin(features[:, 0]) + features[:, 1] * features[:, 2] + 0.5 * features[:, 3]
                  + 0.1 * rng.normal(size=n)).astype(np.float32)
        np.save(out(f"housing_{split}_x.npy"), features)
        np.save(out(f"housing_{split}_y.npy"), target[:, None])


if __name__ == "__main__":
    main()
