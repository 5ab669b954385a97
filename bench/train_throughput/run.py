#!/usr/bin/python3
"""Training throughput driver: knob's trainer (train_bench, C++/libtorch) beside PyTorch 1.13
(torch_peer.py) on the same work — one epoch of the seed MLP (784-128-10, ReLU, dropout 0.2,
Adam lr 1e-3) over the 50000 Fashion-MNIST training images, one thread, per batch size —
alternating, several repetitions; prints the medians and their ratio, and the validation
accuracy each reached after that epoch (last 10000 training images), so the speed-up is read at
equal accuracy. A third row trains the same MLP scripted by PyTorch (torch.jit.script, written
here) through knob's TorchScript path (model.kind = "torchscript"): it must not be slower than
PyTorch, and the table says how far it is from the built-in model.

  bench/train_throughput/run.py [--build DIR] [--reps R] [--batch 32,128,512]

Both children run with OMP_NUM_THREADS=1 and OPENBLAS_NUM_THREADS=1 (and set one intra-op
thread themselves). knob's figure is its EpochMetrics::samples_per_second (its training loop
alone, as the peer times its own). Both warm up first, untimed: a fresh process's first epoch
pays lazy initialization (about 1 s in PyTorch here), which would otherwise land on the first
batch size measured. Must run with Debian's /usr/bin/python3 (python3-torch).
"""

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
MACHINE_LIMIT = 450_000  # samples/s: the estimated limit of this machine for this model
GOALS = {32: 2.0, 512: 1.2}  # the goals: knob >= this x PyTorch at that batch size


def run_one(cmd, env):
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"{shlex.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    out = {}
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            record = json.loads(line)
            out[int(record["batch"])] = (float(record["samples_per_s"]),
                                         float(record["val_accuracy"]))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(HERE, "..", "..", "build"),
                        help="CMake build directory holding bench/train_throughput/train_bench")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (median reported)")
    parser.add_argument("--batch", default="32,128,512", help="comma-separated batch sizes")
    args = parser.parse_args()
    batches = [int(b) for b in args.batch.split(",")]
    bench = os.path.join(args.build, "bench", "train_throughput", "train_bench")
    if not os.access(bench, os.X_OK):
        sys.exit(f"{bench} not found: build it (ninja -C {args.build} train_bench)")
    python = "/usr/bin/python3"  # Debian's, with python3-torch
    peer = os.path.join(HERE, "torch_peer.py")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    print("command: " + shlex.join([sys.executable, *sys.argv]), flush=True)

    batch_arg = ",".join(str(b) for b in batches)
    script_file = os.path.join(tempfile.mkdtemp(prefix="knob-bench-"), "seed_mlp.pt")
    subprocess.run([python, peer, "--write-torchscript", script_file], check=True, env=env)
    runs = {"knob": [bench, "--batch", batch_arg], "pytorch": [python, peer, "--batch", batch_arg],
            "knob-torchscript": [bench, "--batch", batch_arg, "--torchscript", script_file]}
    results = {name: {b: [] for b in batches} for name in runs}
    accuracies = {name: {b: [] for b in batches} for name in runs}
    for rep in range(args.reps):
        for name, cmd in runs.items():
            got = run_one(cmd, env)
            for b in batches:
                if b not in got:
                    sys.exit(f"{shlex.join(cmd)} printed no result for batch {b}")
                results[name][b].append(got[b][0])
                accuracies[name][b].append(got[b][1])
        print(f"rep {rep + 1}/{args.reps}: " + "; ".join(
            f"batch {b}: knob {results['knob'][b][-1]:.0f}, pytorch {results['pytorch'][b][-1]:.0f}"
            f", knob torchscript {results['knob-torchscript'][b][-1]:.0f}"
            for b in batches) + " samples/s", flush=True)
    for name, cmd in runs.items():
        print(f"  {name}: OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 {shlex.join(cmd)}")

    med = {name: {b: statistics.median(v) for b, v in per.items()} for name, per in results.items()}
    acc = {name: {b: statistics.median(v) for b, v in per.items()}
           for name, per in accuracies.items()}
    print(f"\ntrain throughput: seed MLP 784-128-10, Adam, 1 epoch of 50000 Fashion-MNIST images, "
          f"1 thread; median of {args.reps}")
    header = ["batch", "knob samples/s", "PyTorch samples/s", "ratio", "knob val acc",
              "PyTorch val acc", "knob TorchScript samples/s", "TS / PyTorch", "TS / knob"]
    ts = "knob-torchscript"
    rows = [[str(b), f"{med['knob'][b]:.0f}", f"{med['pytorch'][b]:.0f}",
             f"{med['knob'][b] / med['pytorch'][b]:.2f}x", f"{acc['knob'][b]:.4f}",
             f"{acc['pytorch'][b]:.4f}", f"{med[ts][b]:.0f}",
             f"{med[ts][b] / med['pytorch'][b]:.2f}x", f"{med[ts][b] / med['knob'][b]:.2f}x"]
            for b in batches]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
    for b, goal in GOALS.items():
        if b not in batches:
            print(f"goal knob >= {goal}x PyTorch at batch {b}: not measured")
            continue
        ratio = med["knob"][b] / med["pytorch"][b]
        # Equal accuracy: within one point after the same epoch (seeds differ between the two).
        equal = abs(acc["knob"][b] - acc["pytorch"][b]) <= 0.01
        verdict = "met" if ratio >= goal and equal else "NOT met"
        print(f"goal knob >= {goal}x PyTorch at batch {b} at equal accuracy: {verdict} "
              f"({ratio:.2f}x; val accuracy {acc['knob'][b]:.4f} vs {acc['pytorch'][b]:.4f})")
    slower = [b for b in batches if med[ts][b] < med["pytorch"][b]]
    print("goal TorchScript path not slower than PyTorch: " +
          ("met" if not slower else "NOT met at batch " + ", ".join(map(str, slower))))
    best = max(batches, key=lambda b: med["knob"][b])
    shares = ", ".join(f"{100 * med['knob'][b] / MACHINE_LIMIT:.1f}% at batch {b}"
                       for b in batches)
    print(f"machine limit ~{MACHINE_LIMIT:,} samples/s (estimated): knob reaches {shares}"
          f" — best {med['knob'][best]:.0f} samples/s, "
          f"{MACHINE_LIMIT / med['knob'][best]:.1f}x below the limit")


if __name__ == "__main__":
    main()
