#!/usr/bin/python3
"""Does the range test's learning rate train as well as the best of a grid?

For Adam and for SGD (momentum 0.9) on the seed MLP and Fashion-MNIST: `knob lr-find` suggests
a learning rate; then the model is trained for 5 epochs at that rate and at each rate of a
log-grid of 7 (1e-5 ... 1e1), and the final validation accuracies are compared. The goal
(issue 4): the suggestion within 1 point of the grid's best. Also prints what each costs: the
range test's seconds beside the grid's.

  bench/finders/lr_find_vs_grid.py [--knob build/knob] [--jobs 2] [--epochs 5]

Training runs go side by side (--jobs, one libtorch thread each). Standard library only.
"""

import argparse
import concurrent.futures
import os
import re
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = os.path.join(HERE, "..", "..", "examples", "fashion_mnist_mlp.toml")
GRID = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1e0, 1e1]
OPTIMIZERS = {
    "adam": ["--set", "optimizer.kind=adam"],
    "sgd": ["--set", "optimizer.kind=sgd", "--set", "optimizer.momentum=0.9"],
}


def run(cmd):
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):  # 1: diverged, a legitimate outcome for a grid point
        sys.exit(f"{shlex.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc, seconds


def final_accuracy(proc):
    found = re.findall(r"final val_accuracy ([0-9.]+)", proc.stdout)
    return float(found[-1]) if found else float("nan")  # diverged: no accuracy


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--knob", default=os.path.join(HERE, "..", "..", "build", "knob"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    print("command: " + shlex.join([sys.executable, *sys.argv]), flush=True)
    common = ["--set", f"train.epochs={args.epochs}", "--set", "train.threads=1",
              "--set", "output.test=false", "--quiet"]

    rows = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for name, opt in OPTIMIZERS.items():
            out = f"/tmp/knob_lr_find_{name}"
            proc, find_seconds = run([args.knob, "lr-find", CONFIG, *opt, "--out", out])
            suggested = float(re.search(r"suggested: --set optimizer.lr=(\S+)", proc.stdout)[1])
            # Every suggestion is trained too, to show what the other two would have given.
            others = {m[0]: float(m[1]) for m in
                      re.findall(r"^  (valley|steepest|minimum)\s+(\S+)", proc.stdout, re.M)}
            lrs = sorted(set(GRID + [suggested] + list(others.values())))
            jobs = {lr: pool.submit(run, [args.knob, "train", CONFIG, *opt, *common, "--set",
                                          f"optimizer.lr={lr!r}"]) for lr in lrs}
            results = {lr: (final_accuracy(f.result()[0]), f.result()[1]) for lr, f in jobs.items()}
            for lr in GRID:
                print(f"  {name} lr {lr:g}: val accuracy {results[lr][0]:.4f} "
                      f"({results[lr][1]:.0f}s)", flush=True)
            best_lr = max(GRID, key=lambda lr: -1 if results[lr][0] != results[lr][0]
                          else results[lr][0])
            rows.append((name, suggested, results[suggested][0], best_lr, results[best_lr][0],
                         find_seconds, sum(results[lr][1] for lr in GRID)))
            print(f"  {name} suggested lr {suggested:.3g} (plot {out}.png): val accuracy "
                  f"{results[suggested][0]:.4f}", flush=True)
            for kind, lr in others.items():
                print(f"  {name} {kind} suggestion {lr:.3g}: val accuracy {results[lr][0]:.4f}",
                      flush=True)

    print(f"\nsuggested learning rate vs the best of a 7-point log grid, seed MLP, "
          f"{args.epochs} epochs, final validation accuracy")
    print("| optimizer | suggested lr | its accuracy | best grid lr | its accuracy | difference "
          "| lr-find seconds | grid seconds (sum) |")
    print("|---|---|---|---|---|---|---|---|")
    met = True
    for name, lr, acc, best_lr, best_acc, find_s, grid_s in rows:
        diff = (acc - best_acc) * 100
        met = met and diff >= -1.0
        print(f"| {name} | {lr:.3g} | {acc:.4f} | {best_lr:g} | {best_acc:.4f} | "
              f"{diff:+.2f} points | {find_s:.1f} | {grid_s:.0f} |")
    print(f"goal: suggestion within 1 point of the grid's best for every optimizer: "
          f"{'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
