#!/usr/bin/python3
"""The end-to-end benchmark's peer: Optuna 3.1 (TPE + MedianPruner, the defaults) tuning the
seed MLP written in PyTorch, as an Optuna user writes it: one process, trials one after
another, PyTorch's default threads. Same data, split, model and search space as
knob_study.toml. Every epoch's validation accuracy is reported to the pruner (and so stored,
where run.py watches it).

    optuna_peer.py --storage sqlite:///x.db --budget 600 --seed 1      # tune
    optuna_peer.py --retrain '{"lr": ..., ...}'                          # test accuracy
    [--model cnn]: knob's small CNN instead of the MLP, on either
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import optuna
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples", "python"))
from train_fmnist import read_idx  # noqa: E402  (the IDX reader of the Python example)

def load(limit=0, validation=10000):
    """Training images (the last `validation` held out; only the first `limit` when set, as
    knob's data.limit) and test images, normalized by the training split's mean and standard
    deviation, as knob's data.normalize does."""
    x = torch.tensor(read_idx("train-images-idx3-ubyte.gz"), dtype=torch.float32).reshape(-1, 784)
    y = torch.tensor(read_idx("train-labels-idx1-ubyte.gz"), dtype=torch.int64)
    if limit:
        x, y = x[:limit], y[:limit]
    x_test = torch.tensor(read_idx("t10k-images-idx3-ubyte.gz"), dtype=torch.float32)
    y_test = torch.tensor(read_idx("t10k-labels-idx1-ubyte.gz"), dtype=torch.int64)
    x_train, y_train = x[:-validation], y[:-validation]
    mean, std = x_train.mean(), x_train.std()
    norm = lambda t: (t.reshape(-1, 784) - mean) / std  # noqa: E731
    return (norm(x_train), y_train, norm(x[-validation:]), y[-validation:], norm(x_test),
            y_test)


def make_model(dropout, kind):
    """knob's built-in models (src/torch/model.cc) as a PyTorch user writes them: the seed MLP
    (784-128-10, dropout after the hidden layer) or the small CNN (3x3 convolutions of 32 and
    64 channels, padding 1, each with ReLU and 2x2 max pooling; dropout; a linear layer)."""
    if kind == "cnn":
        return torch.nn.Sequential(
            torch.nn.Unflatten(1, (1, 28, 28)),
            torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Flatten(), torch.nn.Dropout(dropout), torch.nn.Linear(64 * 7 * 7, 10))
    return torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(),
                               torch.nn.Dropout(dropout), torch.nn.Linear(128, 10))


def train(params, data, model_kind, on_epoch=lambda epoch, accuracy: None,
          evaluate_on_test=False):
    x_train, y_train, x_val, y_val, x_test, y_test = data
    model = make_model(params["dropout"], model_kind)
    if params["optimizer"] == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=params["lr"], momentum=0.9)
    elif params["optimizer"] == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=params["lr"])
    else:
        opt = torch.optim.RMSprop(model.parameters(), lr=params["lr"])
    loss_fn = torch.nn.CrossEntropyLoss()
    accuracy = 0.0
    for epoch in range(1, params["epochs"] + 1):
        model.train()
        order = torch.randperm(len(x_train))
        for i in range(0, len(order), params["batch_size"]):
            batch = order[i:i + params["batch_size"]]
            opt.zero_grad()
            loss = loss_fn(model(x_train[batch]), y_train[batch])
            if not torch.isfinite(loss):
                raise FloatingPointError(f"diverged at epoch {epoch}")
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(x_val).argmax(1) == y_val).float().mean().item()
        on_epoch(epoch, accuracy)
    if evaluate_on_test:
        with torch.no_grad():
            return (model(x_test).argmax(1) == y_test).float().mean().item()
    return accuracy


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--storage")
    ap.add_argument("--budget", type=float, default=600)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--retrain", help="a best trial's params as JSON: print its test accuracy")
    ap.add_argument("--limit", type=int, default=0, help="only the first N training images")
    ap.add_argument("--validation", type=int, default=10000)
    ap.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    args = ap.parse_args()
    data = load(args.limit, args.validation)
    if args.retrain:
        torch.manual_seed(args.seed)
        print(json.dumps({"test_accuracy": train(json.loads(args.retrain), data, args.model,
                                                 evaluate_on_test=True)}))
        return

    def objective(trial):
        params = {
            "lr": trial.suggest_float("lr", 1e-4, 1e-1, log=True),
            "batch_size": trial.suggest_int("batch_size", 16, 512, log=True),
            "epochs": trial.suggest_int("epochs", 1, 20),
            "optimizer": trial.suggest_categorical("optimizer", ["sgd", "adam", "rmsprop"]),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        }

        def on_epoch(epoch, accuracy):
            trial.report(accuracy, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()

        try:
            return train(params, data, args.model, on_epoch)
        except FloatingPointError:
            return float("nan")  # Optuna records a NaN value as FAIL

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=args.storage, study_name="e2e", direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=args.seed),
                                pruner=optuna.pruners.MedianPruner())
    try:
        study.optimize(objective, timeout=args.budget)
    except KeyboardInterrupt:  # run.py's signal at the end of the budget
        pass


if __name__ == "__main__":
    main()
