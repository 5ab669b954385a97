#!/usr/bin/python3
"""Storage benchmark driver: knob's SQLite storage (storage_bench, C++) beside Optuna 3.1's
(optuna_peer.py) on the same work — N trials, RandomSampler, 4 params, 10 reports a trial —
each in a fresh SQLite file in one temporary directory, alternating, several repetitions;
prints the medians and their ratio.

  bench/storage/run.py [--build DIR] [--trials N] [--reps R] [--no-optuna-like-knob]

Columns: "optuna" is Optuna as `storage="sqlite:///..."` runs it (new connection per
session, rollback journal, synchronous=FULL); "optuna like knob" is Optuna given knob's
SQLite settings (one connection, WAL, synchronous=NORMAL) — the code against the code.
Must run with Debian's /usr/bin/python3 (python3-optuna).
"""

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run_one(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{shlex.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])["trials_per_s"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(HERE, "..", "..", "build"),
                        help="CMake build directory holding bench/storage/storage_bench")
    parser.add_argument("--trials", type=int, default=100, help="trials per run (both sides)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (median reported)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-optuna-like-knob", dest="like_knob", action="store_false",
                        help="skip the run of Optuna with knob's SQLite settings")
    args = parser.parse_args()
    bench = os.path.join(args.build, "bench", "storage", "storage_bench")
    if not os.access(bench, os.X_OK):
        sys.exit(f"{bench} not found: build it (ninja -C {args.build} storage_bench)")
    python = "/usr/bin/python3"  # Debian's, with python3-optuna
    peer = os.path.join(HERE, "optuna_peer.py")
    print("command: " + shlex.join([sys.executable, *sys.argv]), flush=True)

    workdir = tempfile.mkdtemp(prefix="knob-storage-bench-")
    common = ["--trials", str(args.trials), "--dir", workdir, "--seed", str(args.seed)]
    runs = {"knob": [bench, *common], "optuna": [python, peer, *common]}
    if args.like_knob:
        runs["optuna like knob"] = [python, peer, *common, "--sqlite-like-knob"]
    results = {name: [] for name in runs}
    try:
        for rep in range(args.reps):
            for name, cmd in runs.items():
                results[name].append(run_one(cmd))
            print(f"rep {rep + 1}/{args.reps}: " +
                  ", ".join(f"{n} {results[n][-1]:.1f}" for n in runs) + " trials/s", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for name, cmd in runs.items():
        print(f"  {name}: {shlex.join(cmd).replace(workdir, '$TMPDIR_RUN')}")

    med = {name: statistics.median(v) for name, v in results.items()}
    print(f"\nstorage: {args.trials} trials/run, 4 params, 10 reports/trial, RandomSampler, "
          f"SQLite; median of {args.reps}")
    header = ["knob trials/s", "optuna trials/s", "ratio"]
    row = [f"{med['knob']:.1f}", f"{med['optuna']:.2f}", f"{med['knob'] / med['optuna']:.0f}x"]
    if args.like_knob:
        header += ["optuna like knob trials/s", "ratio"]
        row += [f"{med['optuna like knob']:.2f}",
                f"{med['knob'] / med['optuna like knob']:.0f}x"]
    widths = [max(len(h), len(r)) for h, r in zip(header, row)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print("| " + " | ".join(r.ljust(w) for r, w in zip(row, widths)) + " |")
    for name in [n for n in runs if n != "knob"]:
        verdict = "met" if med["knob"] >= 100 * med[name] else "NOT met"
        print(f"goal knob >= 100x {name}: {verdict} ({med['knob'] / med[name]:.0f}x)")


if __name__ == "__main__":
    main()
