#!/usr/bin/python3
"""A PyTorch training script tuned by knob through the command protocol (no knob import).

It trains an MLP on Fashion-MNIST (Debian's dataset-fashion-mnist; the last 10,000 training
images are the validation set) and speaks knob's line protocol on stdout:

    knob:report EPOCH VAL_ACCURACY   after every epoch: knob's pruner may stop the run here
                                     (SIGTERM; the script just dies, which is fine)
    knob:value VAL_ACCURACY          once, at the end

Run by examples/configs/python_command.toml:
    build/knob tune examples/configs/python_command.toml
or alone:
    /usr/bin/python3 examples/python/train_fmnist.py --lr 0.003 --batch-size 64 --epochs 3
"""
import argparse
import gzip
import os
import sys

import numpy as np
import torch

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lr", type=float, required=True)
    ap.add_argument("--batch-size", type=int, required=True)
    ap.add_argument("--epochs", type=int, required=True)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--optimizer", choices=["sgd", "adam"], default="adam")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N training images")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)  # knob runs trials side by side

    images = read_idx("train-images-idx3-ubyte.gz")
    labels = read_idx("train-labels-idx1-ubyte.gz")
    if args.limit:
        images, labels = images[:args.limit], labels[:args.limit]
    n_val = len(images) // 6  # 10,000 of 60,000
    x = torch.tensor(images, dtype=torch.float32).reshape(len(images), -1) / 255.0
    y = torch.tensor(labels, dtype=torch.int64)
    x_train, y_train, x_val, y_val = x[:-n_val], y[:-n_val], x[-n_val:], y[-n_val:]

    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(),
                                torch.nn.Dropout(args.dropout), torch.nn.Linear(128, 10))
    if args.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    accuracy = 0.0
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(x_train))
        for i in range(0, len(order), args.batch_size):
            batch = order[i:i + args.batch_size]
            opt.zero_grad()
            loss = loss_fn(model(x_train[batch]), y_train[batch])
            if not torch.isfinite(loss):
                sys.exit(f"diverged at epoch {epoch}: loss {loss.item()}")  # the trial FAILs
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(x_val).argmax(1) == y_val).float().mean().item()
        print(f"knob:report {epoch} {accuracy}", flush=True)
    print(f"knob:value {accuracy}", flush=True)


if __name__ == "__main__":
    main()
