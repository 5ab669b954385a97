#!/usr/bin/python3
"""knob's TpeSampler beside Optuna 3.1's TPESampler in one run: median final regret over
SEEDS seeds of TRIALS trials on Branin and Rosenbrock-2D (univariate and multivariate TPE,
random as a floor), and sampler overhead in ms per trial over trials 901-1000 (ask + tell,
in-memory storage, Branin). Run from the repository root after building:

    /usr/bin/python3 bench/samplers/run.py --bench build-tpe/bench/samplers/sampler_bench
"""
import argparse
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def lines(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [float(x) for x in out.split()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True, help="path to the sampler_bench executable")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--overhead-trials", type=int, default=1000)
    args = ap.parse_args()
    peer = [sys.executable, os.path.join(HERE, "optuna_peer.py")]
    knob = [args.bench]

    print(f"median final regret, {args.seeds} seeds x {args.trials} trials (lower is better)\n")
    print(f"| problem | sampler | knob | Optuna 3.1 | knob / Optuna |")
    print(f"|---|---|---:|---:|---:|")
    for problem in ["branin", "rosenbrock2"]:
        for sampler in ["tpe", "tpe-mv", "random"]:
            common = ["regret", problem, sampler, str(args.seeds), str(args.trials)]
            k = statistics.median(lines(knob + common))
            o = statistics.median(lines(peer + common))
            print(f"| {problem} | {sampler} | {k:.4g} | {o:.4g} | {k / o:.2f} |", flush=True)

    n = args.overhead_trials
    print(f"\nms per trial (ask + tell) over trials {n - 99}-{n}, Branin, in-memory storage\n")
    print("| sampler | knob | Optuna 3.1 | Optuna / knob |")
    print("|---|---:|---:|---:|")
    for sampler in ["tpe", "tpe-mv"]:
        common = ["overhead", sampler, str(n), "100"]
        k = lines(knob + common)[0]
        o = lines(peer + common)[0]
        print(f"| {sampler} | {k:.3f} | {o:.2f} | {o / k:.0f}x |", flush=True)


if __name__ == "__main__":
    main()
