#!/usr/bin/python3
"""The Optuna 3.1 half of bench/multi_objective/run.py: the same problems (loaded from knob's
libmo_problems.so with ctypes) and the same protocol as mo_bench; fronts are measured by the
library's hypervolume (knob's), so both halves are scored by one implementation.

    optuna_peer.py samplers
    optuna_peer.py hv LIB PROBLEM SAMPLER SEED0 SEEDS TRIALS   final hypervolume, one line a seed
    optuna_peer.py overhead LIB PROBLEM SAMPLER TRIALS LAST    ms per trial (ask + tell): wall,
                                                               then the process's CPU ms
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


def constraints(trial):
    return trial.user_attrs["c"]


# Optuna 3.1: MOTPE is TPESampler on a study with several directions.
SAMPLERS = {
    "random": lambda s, c: optuna.samplers.RandomSampler(seed=s),
    "nsga2": lambda s, c: optuna.samplers.NSGAIISampler(
        seed=s, constraints_func=constraints if c else None),
    "motpe": lambda s, c: optuna.samplers.TPESampler(
        seed=s, constraints_func=constraints if c else None),
}


class Problems:
    def __init__(self, lib_path):
        self.lib = ctypes.CDLL(lib_path)
        self.lib.knob_mo_problems_json.restype = ctypes.c_char_p
        self.lib.knob_mo_evaluate.restype = ctypes.c_int
        self.lib.knob_mo_hypervolume.restype = ctypes.c_double
        self.spec = {p["name"]: p for p in json.loads(self.lib.knob_mo_problems_json())}

    def evaluate(self, name, x):
        p = self.spec[name]
        k, m = len(p["reference"]), p["n_constraints"]
        f, c = (ctypes.c_double * k)(), (ctypes.c_double * max(m, 1))()
        self.lib.knob_mo_evaluate(name.encode(), (ctypes.c_double * len(x))(*x), f, c)
        return list(f), list(c)[:m]

    def hypervolume(self, name, points):
        ref = self.spec[name]["reference"]
        flat = [v for p in points for v in p]
        return self.lib.knob_mo_hypervolume((ctypes.c_double * max(len(flat), 1))(*flat),
                                            len(points), len(ref), (ctypes.c_double * len(ref))(*ref))


def suggest(trial, problem):
    x = []
    for p in problem["params"]:
        if p["integer"]:
            x.append(float(trial.suggest_int(p["name"], int(p["low"]), int(p["high"]), log=p["log"])))
        else:
            x.append(trial.suggest_float(p["name"], p["low"], p["high"], log=p["log"]))
    return x


def run(problems, name, sampler, seed, trials):
    """The study after `trials` ask-and-tell trials, and the final hypervolume of its
    feasible trials."""
    problem = problems.spec[name]
    k, constrained = len(problem["reference"]), problem["n_constraints"] > 0
    study = optuna.create_study(directions=["minimize"] * k,
                                sampler=SAMPLERS[sampler](seed, constrained))
    feasible = []
    for _ in range(trials):
        t = study.ask()
        f, c = problems.evaluate(name, suggest(t, problem))
        t.set_user_attr("c", c)
        study.tell(t, f)
        if all(v <= 0 for v in c):
            feasible.append(f)
    return study, problems.hypervolume(name, feasible)


def main(argv):
    mode = argv[1] if len(argv) > 1 else ""
    if mode == "samplers":
        print("\n".join(SAMPLERS))
    elif mode == "hv" and len(argv) == 8:
        problems = Problems(argv[2])
        for seed in range(int(argv[5]), int(argv[5]) + int(argv[6])):
            print(repr(run(problems, argv[3], argv[4], seed, int(argv[7]))[1]), flush=True)
    elif mode == "overhead" and len(argv) == 7:
        problems = Problems(argv[2])
        name, trials, last = argv[3], int(argv[5]), int(argv[6])
        problem = problems.spec[name]
        k = len(problem["reference"])
        study = optuna.create_study(directions=["minimize"] * k,
                                    sampler=SAMPLERS[argv[4]](0, problem["n_constraints"] > 0))
        for i in range(trials):
            if i == trials - last:
                start, cpu_start = time.perf_counter(), time.process_time()
            t = study.ask()
            f, c = problems.evaluate(name, suggest(t, problem))
            t.set_user_attr("c", c)
            study.tell(t, f)
        print((time.perf_counter() - start) * 1000 / last,
              (time.process_time() - cpu_start) * 1000 / last)
    elif mode == "check" and len(argv) == 4:
        problems, failures = Problems(argv[2]), 0
        for name in problems.spec:
            for sampler in SAMPLERS:
                hv = run(problems, name, sampler, 0, int(argv[3]))[1]
                ok = math.isfinite(hv) and hv >= 0
                failures += not ok
                print("ok  " if ok else "FAIL", name, sampler, "hypervolume", hv)
        sys.exit(1 if failures else 0)
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
