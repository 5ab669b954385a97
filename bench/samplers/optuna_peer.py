#!/usr/bin/python3
"""The Optuna 3.1 half of bench/samplers/run.py: the same problems (loaded from knob's
libsampler_problems.so with ctypes: spaces as JSON, values by knob_bench_evaluate) and the
same protocol as sampler_bench.

    optuna_peer.py samplers
    optuna_peer.py regret LIB PROBLEM SAMPLER SEED0 SEEDS BUDGETS
    optuna_peer.py overhead LIB PROBLEM SAMPLER TRIALS LAST   ms per trial, peak RSS in MB
    optuna_peer.py check LIB TRIALS      every sampler a few trials on every problem (CTest)
"""
import ctypes
import json
import math
import sys
import time
import warnings

import optuna

optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.filterwarnings("ignore")

SAMPLERS = {
    "random": lambda s: optuna.samplers.RandomSampler(seed=s),
    "tpe": lambda s: optuna.samplers.TPESampler(seed=s),
    "tpe-mv": lambda s: optuna.samplers.TPESampler(seed=s, multivariate=True),
    "cmaes": lambda s: optuna.samplers.CmaEsSampler(seed=s, warn_independent_sampling=False),
    "qmc": lambda s: optuna.samplers.QMCSampler(
        seed=s, scramble=True, warn_independent_sampling=False, warn_asynchronous_seeding=False
    ),
}


class Problems:
    def __init__(self, lib_path):
        self.lib = ctypes.CDLL(lib_path)
        self.lib.knob_bench_problems_json.restype = ctypes.c_char_p
        self.lib.knob_bench_evaluate.restype = ctypes.c_double
        self.lib.knob_bench_evaluate.argtypes = [
            ctypes.c_char_p, ctypes.POINTER(ctypes.c_double), ctypes.c_int, ctypes.c_uint64
        ]
        self.spec = {p["name"]: p for p in json.loads(self.lib.knob_bench_problems_json())}

    def evaluate(self, name, x, noisy, key):
        arr = (ctypes.c_double * len(x))(*x)
        return self.lib.knob_bench_evaluate(name.encode(), arr, int(noisy), key)


def suggest(trial, problem):
    """The problem's parameters suggested in order (layout as in problems.h)."""
    params = problem["params"]
    index = {p["name"]: i for i, p in enumerate(params)}
    x = [math.nan] * len(params)
    for i, p in enumerate(params):
        if p["if_param"]:
            j = index[p["if_param"]]
            if math.isnan(x[j]) or params[j]["choices"][int(x[j])] != p["if_choice"]:
                continue
        if p["kind"] == "float":
            step = p["step"] if p["step"] > 0 else None
            x[i] = trial.suggest_float(p["name"], p["low"], p["high"], log=p["log"], step=step)
        elif p["kind"] == "int":
            x[i] = float(
                trial.suggest_int(p["name"], int(p["low"]), int(p["high"]), log=p["log"],
                                  step=int(p["step"]))
            )
        else:
            x[i] = float(p["choices"].index(trial.suggest_categorical(p["name"], p["choices"])))
    return x


def peak_rss_mb():
    """VmHWM: unlike ru_maxrss it does not count the parent's memory before exec."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return math.nan


def regrets(problems, name, sampler, seed, budgets):
    """Regret at each budget (ascending) of one seeded run: the noise-free value at the best
    observed trial, minus the minimum."""
    problem = problems.spec[name]
    study = optuna.create_study(sampler=SAMPLERS[sampler](seed))
    best_observed, best_true, out = math.inf, math.inf, []
    for n in range(1, budgets[-1] + 1):
        t = study.ask()
        x = suggest(t, problem)
        observed = problems.evaluate(name, x, True, seed * 1000003 + t.number)
        study.tell(t, observed)
        if observed < best_observed:
            best_observed, best_true = observed, problems.evaluate(name, x, False, 0)
        if n in budgets:
            out.append(best_true - problem["minimum"])
    return out


def main(argv):
    mode = argv[1] if len(argv) > 1 else ""
    if mode == "samplers":
        print("\n".join(SAMPLERS))
    elif mode == "regret" and len(argv) == 8:
        problems = Problems(argv[2])
        budgets = sorted(int(b) for b in argv[7].split(","))
        for seed in range(int(argv[5]), int(argv[5]) + int(argv[6])):
            r = regrets(problems, argv[3], argv[4], seed, budgets)
            print(" ".join(repr(v) for v in r), flush=True)
    elif mode == "overhead" and len(argv) == 7:
        problems = Problems(argv[2])
        name, trials, last = argv[3], int(argv[5]), int(argv[6])
        study = optuna.create_study(sampler=SAMPLERS[argv[4]](0))
        for i in range(trials):
            if i == trials - last:
                start = time.perf_counter()
            t = study.ask()
            study.tell(t, problems.evaluate(name, suggest(t, problems.spec[name]), True, t.number))
        ms = (time.perf_counter() - start) * 1000 / last
        print(ms, peak_rss_mb())
    elif mode == "check" and len(argv) == 4:
        problems, failures = Problems(argv[2]), 0
        for name in problems.spec:
            for sampler in SAMPLERS:
                r = regrets(problems, name, sampler, 0, [int(argv[3])])[-1]
                ok = math.isfinite(r) and r >= -1e-9
                failures += not ok
                print("ok  " if ok else "FAIL", name, sampler, "regret", r)
        sys.exit(1 if failures else 0)
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
