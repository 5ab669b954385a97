#!/usr/bin/python3
"""knob's multi-objective samplers beside Optuna 3.1's in one run, on the problems of
mo_problems.h (ZDT1, ZDT2, ZDT3 with 10 variables, DTLZ2 with 3 objectives, Binh-Korn with
two constraints, and a learning-rate/batch-size/epochs surrogate of error against seconds).
Run from the repository root after building mo_bench:

    /usr/bin/python3 bench/multi_objective/run.py --bench build/bench/multi_objective/mo_bench
    /usr/bin/python3 bench/multi_objective/run.py --bench build/bench/multi_objective/mo_bench --quick

Quality: each (problem, sampler, seed) is one run of --trials trials; its score is the
hypervolume of its feasible trials against the problem's fixed reference point, computed by
the same function (knob::hypervolume, exact) for both sides. Printed per problem: median
[q1, q3] over the seeds and the mean rank (samplers ranked within each seed, 1 = the largest
hypervolume). Summary: knob's best sampler (highest median) against Optuna's best, with the
rule of bench/samplers/run.py: "beats or ties" means Optuna's best is NOT significantly
better — knob's median is higher or equal, or a two-sided Mann-Whitney U test gives p > 0.05.

Overhead: ms per trial (ask + tell, in-memory storage on both sides, ZDT1) over the last 100 of
--overhead-trials trials, wall and the process's CPU time, one process per run, run one at a
time, the samplers alternating, --overhead-repeats runs each (median printed).
"""
import argparse
import concurrent.futures
import json
import os
import statistics
import sys
import time

import numpy as np
from scipy.stats import mannwhitneyu, rankdata

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "samplers"))
from run import fmt, quartiles, run_child  # noqa: E402  (bench/samplers/run.py)

PEER = [sys.executable, os.path.join(HERE, "optuna_peer.py")]
ALL_PROBLEMS = ["zdt1", "zdt2", "zdt3", "dtlz2", "binh_korn", "lr_batch_time"]
QUICK_PROBLEMS = ["zdt1", "binh_korn"]


def command(side, args, bench, lib):
    """The command of `side` ("knob" or "optuna") for mode args [mode, problem, ...]."""
    return [bench] + args if side == "knob" else PEER + [args[0], lib] + args[1:]


def p_value(x, y):
    return 1.0 if x == y else mannwhitneyu(x, y, alternative="two-sided").pvalue


def hv_tables(args, samplers, problems):
    seeds = list(range(args.seeds))
    chunks = [seeds[i:i + args.chunk] for i in range(0, len(seeds), args.chunk)]
    hv, seconds = {}, {}  # [(label, problem)] = list over seeds; wall seconds per label
    if args.load:  # samples of an earlier run (e.g. the slow Optuna half), not run again
        with open(args.load) as f:
            saved = json.load(f)
        for key, values in saved["hv"].items():
            label, problem = key.split("|")
            hv[(label, problem)] = values
        seconds.update(saved["seconds"])
        print(f"(samples of {', '.join(sorted(saved['seconds']))} from {args.load}: "
              f"{saved['note']})\n")
    jobs = [(s, p, c) for p in problems for s in samplers for c in chunks
            if (f"{s[0]}:{s[1]}", p) not in hv]

    def one(job):
        (side, name), problem, chunk = job
        out, wall = run_child(command(side, ["hv", problem, name, str(chunk[0]), str(len(chunk)),
                                             str(args.trials)], args.bench, args.lib))
        return job, [float(line) for line in out.split()], wall

    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for ((side, name), problem, chunk), values, wall in pool.map(one, jobs):
            hv.setdefault((f"{side}:{name}", problem), []).extend(values)
            seconds[f"{side}:{name}"] = seconds.get(f"{side}:{name}", 0) + wall

    if args.save:
        with open(args.save, "w") as f:
            json.dump({"hv": {f"{k[0]}|{k[1]}": v for k, v in hv.items()}, "seconds": seconds,
                       "note": f"{args.seeds} seeds x {args.trials} trials, load average "
                               f"{os.getloadavg()[0]:.1f} at the end"}, f)
    labels = [f"{side}:{name}" for side, name in samplers]
    if args.load:
        labels += sorted({label for label, _ in hv} - set(labels))
    print(f"## Final hypervolume after {args.trials} trials: median [q1, q3] over {args.seeds} "
          f"seeds (higher is better)\n")
    print("| problem | " + " | ".join(labels) + " |")
    print("|---|" + "---:|" * len(labels))
    def cell(values):  # a loaded run stopped early may have fewer seeds: say how many
        text = "{} [{}, {}]".format(*map(fmt, quartiles(values)))
        return text if len(values) == args.seeds else f"{text} ({len(values)} seeds)"

    for p in problems:
        cells = [cell(hv[(label, p)]) for label in labels]
        print(f"| {p} | " + " | ".join(cells) + " |")
    print("\n## Mean rank (samplers ranked within each seed; 1 = largest hypervolume; over the "
          "seeds every sampler has)\n")
    print("| problem | " + " | ".join(labels) + " |")
    print("|---|" + "---:|" * len(labels))
    for p in problems:
        common = min(len(hv[(label, p)]) for label in labels)  # seeds 0 .. common - 1
        table = np.array([hv[(label, p)][:common] for label in labels])  # [sampler][seed]
        ranks = np.array([rankdata(-table[:, s]) for s in range(table.shape[1])]).mean(axis=0)
        print(f"| {p} | " + " | ".join(f"{r:.2f}" for r in ranks) + " |")
    print("\nWall seconds of all runs, per sampler (children, with --jobs at once): " +
          ", ".join(f"{label} {seconds[label]:.0f}" for label in labels) + "\n")
    return hv


def summary(problems, hv):
    labels = sorted({label for label, _ in hv})
    knob = [label for label in labels if label.startswith("knob:")]
    optuna = [label for label in labels if label.startswith("optuna:")]
    if not knob or not optuna:
        return
    print("## Summary\n")
    print("knob's best sampler vs Optuna's best (best = highest median hypervolume); beats or "
          "ties = knob's median >= Optuna's, or Mann-Whitney U p > 0.05\n")
    print("| problem | knob best | median | Optuna best | median | p | verdict |")
    print("|---|---|---:|---|---:|---:|---|")
    wins = 0
    for p in problems:
        kb = max(knob, key=lambda s: statistics.median(hv[(s, p)]))
        ob = max(optuna, key=lambda s: statistics.median(hv[(s, p)]))
        km, om = statistics.median(hv[(kb, p)]), statistics.median(hv[(ob, p)])
        pv = p_value(hv[(kb, p)], hv[(ob, p)])
        verdict = ("beats" if km > om and pv <= 0.05 else "ties" if pv > 0.05 or km >= om
                   else "loses")
        wins += verdict != "loses"
        n = f" ({len(hv[(kb, p)])} vs {len(hv[(ob, p)])} seeds)" if len(hv[(kb, p)]) != len(
            hv[(ob, p)]) else ""
        print(f"| {p} | {kb} | {fmt(km)} | {ob} | {fmt(om)} | {pv:.3f}{n} | {verdict} |")
    print(f"\nknob's best beats or ties Optuna's best on {wins} of {len(problems)} problems "
          f"({100 * wins / len(problems):.0f}%; goal >= 80%)\n")


def overhead_table(args, samplers):
    n, r = args.overhead_trials, args.overhead_repeats
    print(f"## Overhead: ms per trial over the last 100 of {n:,} trials (ask + tell, in-memory "
          f"storage on both sides, {args.overhead_problem}); median of {r} runs, the samplers "
          f"alternating run by run; CPU = the process's CPU time\n")
    print("| sampler | wall ms | CPU ms | runs (wall / CPU) | Optuna's same sampler / knob's, "
          "wall | CPU |")
    print("|---|---:|---:|---|---:|---:|")
    runs = {s: [] for s in samplers}
    for _ in range(r):
        for side, name in samplers:
            out, _ = run_child(command(side, ["overhead", args.overhead_problem, name, str(n),
                                              str(min(100, n))], args.bench, args.lib))
            runs[(side, name)].append(tuple(map(float, out.split()[:2])))
    ms = {s: tuple(statistics.median(v[i] for v in runs[s]) for i in (0, 1)) for s in samplers}
    for side, name in samplers:
        wall, cpu = ms[(side, name)]
        each = ", ".join(f"{w:.3f}/{c:.3f}" for w, c in runs[(side, name)])
        ratio = " | "
        if side == "optuna" and ("knob", name) in ms:
            k = ms[("knob", name)]
            ratio = f"{wall / k[0]:.0f}x | {cpu / k[1]:.0f}x"
        print(f"| {side}:{name} | {wall:.3f} | {cpu:.3f} | {each} | {ratio} |", flush=True)
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", required=True, help="path to the mo_bench executable")
    ap.add_argument("--lib", help="libmo_problems.so (default: next to --bench)")
    ap.add_argument("--samplers", help="comma-separated side:name, e.g. knob:nsga2,optuna:nsga2 "
                    "(default: every sampler both sides have)")
    ap.add_argument("--problems", help="comma-separated (default: all 6)")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--chunk", type=int, default=5, help="seeds per process")
    ap.add_argument("--overhead-trials", type=int, default=1000)
    ap.add_argument("--overhead-problem", default="zdt1")
    ap.add_argument("--overhead-repeats", type=int, default=3,
                    help="runs of each overhead cell (median printed)")
    ap.add_argument("--save", help="write the hypervolume samples to this JSON file")
    ap.add_argument("--load", help="take the samplers' samples from a --save file of an earlier "
                    "run instead of running them")
    ap.add_argument("--no-hv", action="store_true")
    ap.add_argument("--no-overhead", action="store_true")
    ap.add_argument("--quick", action="store_true", help="2 problems, 3 seeds, 50 trials, "
                    "overhead at 200 trials")
    args = ap.parse_args()
    args.lib = args.lib or os.path.join(os.path.dirname(os.path.abspath(args.bench)),
                                        "libmo_problems.so")
    problems = args.problems.split(",") if args.problems else ALL_PROBLEMS
    if args.quick:
        problems, args.seeds, args.trials, args.overhead_trials = QUICK_PROBLEMS, 3, 50, 200
    if args.samplers:
        samplers = [tuple(s.split(":", 1)) for s in args.samplers.split(",")]
    else:
        names = {side: run_child(command(side, ["samplers"], args.bench, args.lib))[0].split()
                 for side in ("knob", "optuna")}
        samplers = [(side, n) for side in ("knob", "optuna") for n in names[side]]

    print(f"(load average at start: {os.getloadavg()[0]:.1f})\n")
    start = time.perf_counter()
    if not args.no_hv:
        hv = hv_tables(args, samplers, problems)
        summary(problems, hv)
        print(f"(hypervolume runs: {time.perf_counter() - start:.0f} s with {args.jobs} jobs)\n",
              flush=True)
    if not args.no_overhead:
        overhead_table(args, samplers)
    print(f"(total: {time.perf_counter() - start:.0f} s; load average at end: "
          f"{os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
