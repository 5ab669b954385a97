#!/usr/bin/python3
"""knob's samplers beside Optuna 3.1's in one run, on the problems of problems.h (12:
Branin, Hartmann-6, Rosenbrock 2-D and 10-D, Ackley-5, Styblinski-Tang-5, Levy-5, six-hump
camel, a mixed int/float/categorical one, a log-scale learning-rate-like one, a conditional
space and a noisy Hartmann-6). Run from the repository root after building sampler_bench:

    /usr/bin/python3 bench/samplers/run.py --bench build/bench/samplers/sampler_bench          # full
    /usr/bin/python3 bench/samplers/run.py --bench build/bench/samplers/sampler_bench --quick  # ~2 min

Regret: each (problem, sampler, seed) is one run of max(budgets) trials; the regret at a
budget b is the noise-free value at the best observed trial among the first b, minus the
known minimum (samplers don't know the budget). Printed per problem and budget: median
[q1, q3] over the seeds, and the mean rank (samplers ranked within each seed, ties
averaged). Summary at 100 trials: knob's best sampler (lowest median) against Optuna's best.
"beats or ties" means Optuna's best is NOT significantly better: either knob's median is
lower or equal, or a two-sided Mann-Whitney U test of the two regret samples gives p > 0.05.
knob's TPE "matches" Optuna's TPE when the same test gives p > 0.05.

Overhead: ms per trial (ask + tell, in-memory storage, Hartmann-6 by default) over the last 100
of 100, 1,000 and 10,000 trials, one process per cell run one at a time, and that process's
peak resident memory (VmHWM of /proc/self/status, read by the child at its end: ru_maxrss of a
child started from Python would count Python's own memory from before the exec). Optuna at 10,000 trials takes hours (its samplers
are quadratic: each ask reads every trial), so that cell is skipped with an estimate unless
--full.

Time of the full run (20 seeds, budgets 50/100/200, all 12 problems, 4 knob + 5 Optuna
samplers, --jobs 2), measured piecewise on this 2-core machine while it was shared (load
average ~11): one seed of all five Optuna samplers on one problem takes ~30 s (TPESampler
~11 s for 200 trials, CmaEsSampler ~4 s), so Optuna's 240 (problem, seed) pairs take ~1 h on
two jobs; knob's regret runs ~2 min in all. Overhead: knob's TPE at 10,000 trials ~5 min
each (tpe, tpe-mv); Optuna's samplers at 1,000 trials ~1-3 min each. About 1.5 h in all.
--quick: 3 problems, 3 seeds, budget 50, overhead at 100 and 1,000 trials (Optuna's at 100
only): ~2-3 min.
"""
import argparse
import concurrent.futures
import os
import statistics
import subprocess
import sys
import time

import numpy as np
from scipy.stats import mannwhitneyu, rankdata

HERE = os.path.dirname(os.path.abspath(__file__))
PEER = [sys.executable, os.path.join(HERE, "optuna_peer.py")]
ALL_PROBLEMS = ["branin", "hartmann6", "rosenbrock2", "rosenbrock10", "ackley5",
                "styblinski_tang5", "levy5", "six_hump_camel", "mixed", "learning_rate",
                "conditional", "hartmann6_noisy"]
QUICK_PROBLEMS = ["branin", "hartmann6", "conditional"]


def command(side, args, bench, lib):
    """The command of `side` ("knob" or "optuna") for mode args [mode, problem, ...]."""
    return [bench] + args if side == "knob" else PEER + [args[0], lib] + args[1:]


def run_child(cmd):
    """(stdout, wall seconds) of one child process."""
    start = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr}")
    return p.stdout, time.perf_counter() - start


def quartiles(xs):
    q1, med, q3 = np.percentile(xs, [25, 50, 75])
    return med, q1, q3


def fmt(x):
    return f"{x:.3g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.1e}"


def regret_tables(args, samplers, problems, budgets):
    seeds = list(range(args.seeds))
    chunks = [seeds[i:i + args.chunk] for i in range(0, len(seeds), args.chunk)]
    jobs = [(s, p, c) for p in problems for s in samplers for c in chunks]
    # regret[(side:sampler, problem)][budget index] = list over seeds
    regret = {}

    def one(job):
        (side, name), problem, chunk = job
        cmd = command(side, ["regret", problem, name, str(chunk[0]), str(len(chunk)),
                             ",".join(map(str, budgets))], args.bench, args.lib)
        out, _ = run_child(cmd)
        return job, [[float(v) for v in line.split()] for line in out.splitlines()]

    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for ((side, name), problem, chunk), rows in pool.map(one, jobs):
            cell = regret.setdefault((f"{side}:{name}", problem), [[] for _ in budgets])
            for row in rows:
                for b, v in enumerate(row):
                    cell[b].append(v)

    labels = [f"{side}:{name}" for side, name in samplers]
    print(f"## Final regret: median [q1, q3] over {args.seeds} seeds (lower is better)\n")
    for b, budget in enumerate(budgets):
        print(f"### {budget} trials\n")
        print("| problem | " + " | ".join(labels) + " |")
        print("|---|" + "---:|" * len(labels))
        for p in problems:
            cells = []
            for label in labels:
                med, q1, q3 = quartiles(regret[(label, p)][b])
                cells.append(f"{fmt(med)} [{fmt(q1)}, {fmt(q3)}]")
            print(f"| {p} | " + " | ".join(cells) + " |")
        print()
    print("## Mean rank (samplers ranked within each seed; 1 = best)\n")
    for b, budget in enumerate(budgets):
        print(f"### {budget} trials\n")
        print("| problem | " + " | ".join(labels) + " |")
        print("|---|" + "---:|" * len(labels))
        for p in problems:
            table = np.array([regret[(label, p)][b] for label in labels])  # [sampler][seed]
            ranks = np.array([rankdata(table[:, s]) for s in range(table.shape[1])]).mean(axis=0)
            print(f"| {p} | " + " | ".join(f"{r:.2f}" for r in ranks) + " |")
        print()
    return regret


def summary(args, samplers, problems, budgets, regret):
    budget = 100 if 100 in budgets else max(b for b in budgets if b <= 100) \
        if min(budgets) <= 100 else min(budgets)
    b = budgets.index(budget)
    knob = [f"knob:{n}" for s, n in samplers if s == "knob"]
    optuna = [f"optuna:{n}" for s, n in samplers if s == "optuna"]
    if not knob or not optuna:
        return

    def p_value(x, y):
        return 1.0 if x == y else mannwhitneyu(x, y, alternative="two-sided").pvalue

    print(f"## Summary at {budget} trials\n")
    print("knob's best sampler vs Optuna's best (best = lowest median regret); beats or ties "
          "= knob's median <= Optuna's, or Mann-Whitney U p > 0.05\n")
    print("| problem | knob best | median | Optuna best | median | p | verdict |")
    print("|---|---|---:|---|---:|---:|---|")
    wins = 0
    for p in problems:
        kb = min(knob, key=lambda s: statistics.median(regret[(s, p)][b]))
        ob = min(optuna, key=lambda s: statistics.median(regret[(s, p)][b]))
        km, om = statistics.median(regret[(kb, p)][b]), statistics.median(regret[(ob, p)][b])
        pv = p_value(regret[(kb, p)][b], regret[(ob, p)][b])
        verdict = ("beats" if km < om and pv <= 0.05 else "ties" if pv > 0.05 or km <= om
                   else "loses")
        wins += verdict != "loses"
        print(f"| {p} | {kb} | {fmt(km)} | {ob} | {fmt(om)} | {pv:.3f} | {verdict} |")
    print(f"\nknob's best beats or ties Optuna's best on {wins} of {len(problems)} problems "
          f"({100 * wins / len(problems):.0f}%; goal >= 80%)\n")
    for name in ["tpe", "tpe-mv"]:
        k, o = f"knob:{name}", f"optuna:{name}"
        if k not in knob or o not in optuna:
            continue
        print(f"knob {name} vs Optuna {name} (matches = Mann-Whitney U p > 0.05)\n")
        print("| problem | knob median [q1, q3] | Optuna median [q1, q3] | p | |")
        print("|---|---:|---:|---:|---|")
        matches = 0
        for p in problems:
            x, y = regret[(k, p)][b], regret[(o, p)][b]
            pv = p_value(x, y)
            matches += pv > 0.05
            cells = ["{} [{}, {}]".format(*map(fmt, quartiles(v))) for v in (x, y)]
            print(f"| {p} | {cells[0]} | {cells[1]} | {pv:.3f} | "
                  f"{'matches' if pv > 0.05 else 'differs'} |")
        print(f"\n{name}: matches on {matches} of {len(problems)} problems\n")


def overhead_table(args, samplers, sizes):
    print(f"## Overhead: ms per trial over the last 100 trials (ask + tell, in-memory, "
          f"{args.overhead_problem}), peak RSS\n")
    print("| sampler | " + " | ".join(f"{n:,} trials" for n in sizes) + " |")
    print("|---|" + "---:|" * len(sizes))
    for side, name in samplers:
        cells, measured = [], None  # (trials, ms per trial) of the largest run
        for n in sizes:
            if side == "optuna" and n > args.optuna_max_trials and not args.full:
                if measured is None:
                    cells.append("not measured (--full)")
                else:  # each ask reads every trial: ms per trial grows ~linearly with n
                    m, ms = measured
                    minutes = ms * n * n / (2 * m) / 60000
                    cells.append(f"not measured (would take ~{minutes:.2g} min; --full)")
                continue
            cmd = command(side, ["overhead", args.overhead_problem, name, str(n),
                                 str(min(100, n))], args.bench, args.lib)
            ms, rss = map(float, run_child(cmd)[0].split())
            measured = (n, ms)
            cells.append(f"{ms:.3f} ms, {rss:.0f} MB")
        print(f"| {side}:{name} | " + " | ".join(cells) + " |", flush=True)
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", required=True, help="path to the sampler_bench executable")
    ap.add_argument("--lib", help="libsampler_problems.so (default: next to --bench)")
    ap.add_argument("--samplers", help="comma-separated side:name, e.g. knob:tpe,optuna:tpe "
                    "(default: every sampler both sides have)")
    ap.add_argument("--problems", help="comma-separated (default: all 12)")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--budgets", default="50,100,200")
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--chunk", type=int, default=5, help="seeds per process")
    ap.add_argument("--overhead-trials", default="100,1000,10000")
    ap.add_argument("--overhead-problem", default="hartmann6")
    ap.add_argument("--no-regret", action="store_true")
    ap.add_argument("--no-overhead", action="store_true")
    ap.add_argument("--optuna-max-trials", type=int, default=1000,
                    help="larger overhead runs of Optuna's samplers are estimated, not run")
    ap.add_argument("--full", action="store_true", help="run every overhead cell")
    ap.add_argument("--quick", action="store_true",
                    help="3 problems, 3 seeds, budget 50, overhead at 100 and 1,000 trials "
                    "(Optuna's at 100)")
    args = ap.parse_args()
    args.lib = args.lib or os.path.join(os.path.dirname(os.path.abspath(args.bench)),
                                        "libsampler_problems.so")
    problems = args.problems.split(",") if args.problems else ALL_PROBLEMS
    budgets = sorted(int(b) for b in args.budgets.split(","))
    sizes = [int(n) for n in args.overhead_trials.split(",")]
    if args.quick:
        problems, args.seeds, budgets, sizes = QUICK_PROBLEMS, 3, [50], [100, 1000]
        args.optuna_max_trials = 100
    if args.samplers:
        samplers = [tuple(s.split(":", 1)) for s in args.samplers.split(",")]
    else:
        names = {side: run_child(command(side, ["samplers"], args.bench, args.lib))[0].split()
                 for side in ("knob", "optuna")}
        samplers = [(side, n) for side in ("knob", "optuna") for n in names[side]]

    start = time.perf_counter()
    if not args.no_regret:
        regret = regret_tables(args, samplers, problems, budgets)
        summary(args, samplers, problems, budgets, regret)
        print(f"(regret: {time.perf_counter() - start:.0f} s with {args.jobs} jobs)\n", flush=True)
    if not args.no_overhead:
        overhead_table(args, samplers, sizes)
    print(f"(total: {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
