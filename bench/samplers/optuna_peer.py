#!/usr/bin/python3
"""The Optuna 3.1 half of bench/samplers/run.py (same problems, same protocol as sampler_bench).

    optuna_peer.py regret branin|rosenbrock2 tpe|tpe-mv|random SEEDS TRIALS
    optuna_peer.py overhead tpe|tpe-mv|random TRIALS LAST
"""
import math
import sys
import time
import warnings

import optuna

optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.filterwarnings("ignore")


def branin(t):
    x = t.suggest_float("x", -5, 10)
    y = t.suggest_float("y", 0, 15)
    b, c, tt = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (y - b * x * x + c * x - 6) ** 2 + 10 * (1 - tt) * math.cos(x) + 10


def rosenbrock2(t):
    x = t.suggest_float("x", -5, 10)
    y = t.suggest_float("y", -5, 10)
    return 100 * (y - x * x) ** 2 + (1 - x) ** 2


def make(name, seed):
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "tpe-mv":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True)
    return optuna.samplers.RandomSampler(seed=seed)


def main(argv):
    if argv[1] == "regret":
        problem, sampler, seeds, trials = argv[2], argv[3], int(argv[4]), int(argv[5])
        minimum = 0.397887357729739 if problem == "branin" else 0.0
        objective = branin if problem == "branin" else rosenbrock2
        for seed in range(seeds):
            study = optuna.create_study(sampler=make(sampler, seed))
            study.optimize(objective, n_trials=trials)
            print(repr(study.best_value - minimum))
    else:
        sampler, trials, last = argv[2], int(argv[3]), int(argv[4])
        study = optuna.create_study(sampler=make(sampler, 0))
        for i in range(trials):
            if i == trials - last:
                start = time.perf_counter()
            t = study.ask()
            study.tell(t, branin(t))
        print((time.perf_counter() - start) * 1000 / last)


if __name__ == "__main__":
    main(sys.argv)
