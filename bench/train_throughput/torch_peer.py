#!/usr/bin/python3
"""PyTorch peer of train_bench: one epoch of the seed MLP on Fashion-MNIST, one thread.

Same work as knob's trainer: the IDX gz files read with gzip + numpy (no torchvision); the
first 50000 training images (the last 10000 of the 60000 are knob's validation split);
uint8 tensors converted per batch with the same normalization (x / 255, then (x - mean) / std
with the 50000-image training set's mean and std, as one multiply and one subtract, as knob
does); nn.Sequential(Flatten, Linear(784, 128), ReLU, Dropout(0.2), Linear(128, 10)); Adam
lr 1e-3; cross entropy; batches of a randperm order gathered with index_select; the loss read
back each step (knob does, for its running loss). Only the training loop is timed; afterwards
(untimed) the model is evaluated on the last 10000 training images, knob's validation split, so
the two can be compared at equal accuracy.

  torch_peer.py [--batch 32,128,512] [--data DIR] [--seed S]

Prints one JSON line per batch size:
  {"impl": "pytorch", "batch": B, "samples": 50000, "seconds": ..., "samples_per_s": ...,
   "train_loss": ..., "val_accuracy": ...}
Must run with Debian's /usr/bin/python3 (python3-torch, PyTorch 1.13).
"""

import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

N_TRAIN = 50000


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def accuracy(model, images, labels, scale, shift):
    model.eval()
    with torch.no_grad():
        x = images.to(torch.float32).mul(scale).sub_(shift)
        correct = (model(x).argmax(1) == labels).sum().item()
    model.train()
    return correct / labels.numel()


def seed_mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(128, 10))


def one_epoch(images, labels, batch, mean, std, seed, val_images, val_labels):
    torch.manual_seed(seed)
    model = seed_mlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    n = images.shape[0]
    scale, shift = 1.0 / 255.0 / std, mean / std
    start = time.perf_counter()
    order = torch.randperm(n)
    loss_sum = 0.0
    for b in range(0, n, batch):
        index = order[b:b + batch]
        x = images.index_select(0, index).to(torch.float32).mul(scale).sub_(shift)
        y = labels.index_select(0, index)
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss_sum += loss.item() * index.numel()
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    return seconds, loss_sum / n, accuracy(model, val_images, val_labels, scale, shift)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", default="32,128,512")
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write-torchscript", metavar="FILE",
                        help="write this script's MLP, scripted (torch.jit.script), and exit")
    args = parser.parse_args()
    if args.write_torchscript:
        torch.jit.script(seed_mlp()).save(args.write_torchscript)
        return
    batches = [int(b) for b in args.batch.split(",")]
    if not batches or min(batches) < 1:
        sys.exit("torch_peer.py: batch sizes must be >= 1")
    torch.set_num_threads(1)

    all_images = read_idx(os.path.join(args.data, "train-images-idx3-ubyte.gz"))
    all_labels = read_idx(os.path.join(args.data, "train-labels-idx1-ubyte.gz"))
    images = torch.from_numpy(all_images[:N_TRAIN].copy())              # uint8 [50000, 28, 28]
    labels = torch.from_numpy(all_labels[:N_TRAIN].astype(np.int64))    # int64 [50000]
    val_images = torch.from_numpy(all_images[N_TRAIN:].copy())          # the last 10000
    val_labels = torch.from_numpy(all_labels[N_TRAIN:].astype(np.int64))
    x = images.to(torch.float32).div_(255.0)
    mean, std = x.mean().item(), max(x.std().item(), 1e-12)
    del x

    # Warm-up, untimed: the first epoch in a fresh process runs up to ~1 s slower here (lazy
    # initialization in PyTorch and OpenBLAS), which would land on whichever batch size runs
    # first. knob's bench warms up the same way.
    for batch in batches:
        one_epoch(images[:5000], labels[:5000], batch, mean, std, args.seed, val_images[:100],
                  val_labels[:100])

    for batch in batches:
        seconds, loss, val_accuracy = one_epoch(images, labels, batch, mean, std, args.seed,
                                                val_images, val_labels)
        print(json.dumps({"impl": "pytorch", "batch": batch, "samples": N_TRAIN,
                          "seconds": round(seconds, 6),
                          "samples_per_s": round(N_TRAIN / seconds, 1),
                          "train_loss": round(loss, 4),
                          "val_accuracy": round(val_accuracy, 4)}), flush=True)


if __name__ == "__main__":
    main()
