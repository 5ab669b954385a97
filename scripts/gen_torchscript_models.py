#!/usr/bin/python3
"""Writes the TorchScript models the trainer's tests load (tests/data/torchscript/), with
Debian's python3-torch: what a user's one line, torch.jit.save(torch.jit.script(model), path),
produces.

  tiny_cnn.pt       scripted: Conv2d(1, 4) + BatchNorm2d + ReLU + AvgPool(4) + Dropout + Linear
                    to 10 logits; takes [batch, 28, 28] or [batch, 1, 28, 28] images
  tiny_regressor.pt traced: Linear(8, 16) + Tanh + Linear(16, 1); takes [batch, 8]
  tuple_output.pt   scripted: returns (logits, features), which the trainer must refuse

Run: /usr/bin/python3 scripts/gen_torchscript_models.py
"""
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data",
                   "torchscript")


class TinyCnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(4)
        self.pool = torch.nn.AvgPool2d(4)
        self.drop = torch.nn.Dropout(0.1)
        self.fc = torch.nn.Linear(4 * 7 * 7, 10)

    def forward(self, x):
        if x.dim() == 3:
            x = x.unsqueeze(1)
        x = self.pool(torch.relu(self.bn(self.conv(x))))
        return self.fc(self.drop(x.flatten(1)))


class TupleOutput(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(784, 10)

    def forward(self, x):
        features = x.flatten(1)
        return self.fc(features), features


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(1)
    torch.jit.script(TinyCnn()).save(os.path.join(OUT, "tiny_cnn.pt"))
    regressor = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(),
                                    torch.nn.Linear(16, 1))
    torch.jit.trace(regressor, torch.zeros(2, 8)).save(os.path.join(OUT, "tiny_regressor.pt"))
    torch.jit.script(TupleOutput()).save(os.path.join(OUT, "tuple_output.pt"))


if __name__ == "__main__":
    main()
