#!/usr/bin/python3
"""knob's parameter importance beside Optuna 3.1's, in one run, on the same trials: N trials
(default 1,000) of five parameters (float, log float, int, step float, categorical) with an
objective that depends strongly on two, weakly on one and not at all on two. Prints the time
of each evaluator (fANOVA, mean decrease impurity; 64 trees, seed 0) on both sides, the ratio,
and both rankings. Run from the repository root after building importance_bench:

    /usr/bin/python3 bench/importance/run.py --bench build/bench/importance/importance_bench

--knob-only skips Optuna (CI's smoke check: the bench still runs).
"""
import argparse
import json
import math
import os
import subprocess
import tempfile
import time

import numpy as np


def make_trials(n, seed=0):
    rs = np.random.RandomState(seed)
    space = [
        ("x", {"name": "FloatDistribution", "attributes": {"low": -1.0, "high": 1.0, "log": False, "step": None}}),
        ("lr", {"name": "FloatDistribution", "attributes": {"low": 1e-5, "high": 1e-1, "log": True, "step": None}}),
        ("units", {"name": "IntDistribution", "attributes": {"low": 1, "high": 64, "log": False, "step": 1}}),
        ("dropout", {"name": "FloatDistribution", "attributes": {"low": 0.0, "high": 0.5, "log": False, "step": 0.1}}),
        ("optimizer", {"name": "CategoricalDistribution", "attributes": {"choices": ["sgd", "adam", "rmsprop"]}}),
    ]
    trials = []
    for _ in range(n):
        x = rs.uniform(-1, 1)
        lr = math.exp(rs.uniform(math.log(1e-5), math.log(1e-1)))
        units = int(rs.randint(1, 65))
        dropout = 0.1 * rs.randint(0, 6)
        opt = int(rs.randint(0, 3))
        value = 4 * x * x + (math.log10(lr) + 3) ** 2 / 4 + 0.01 * units + rs.normal() * 0.05
        trials.append({"params": [x, lr, float(units), dropout, float(opt)], "value": value})
    return space, trials


def optuna_side(space, trials):
    import optuna
    from optuna.distributions import json_to_distribution
    from optuna.importance import FanovaImportanceEvaluator, MeanDecreaseImpurityImportanceEvaluator
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = {name: json_to_distribution(json.dumps(d)) for name, d in space}
    study = optuna.create_study()
    for t in trials:
        params = {name: dists[name].to_external_repr(v) for (name, _), v in zip(space, t["params"])}
        study.add_trial(optuna.trial.create_trial(params=params, distributions=dists, value=t["value"]))
    out = []
    for name, evaluator in [("fanova", FanovaImportanceEvaluator(seed=0)),
                            ("mean_decrease_impurity", MeanDecreaseImpurityImportanceEvaluator(seed=0))]:
        start = time.perf_counter()
        result = optuna.importance.get_param_importances(study, evaluator=evaluator)
        out.append({"evaluator": name, "seconds": time.perf_counter() - start,
                    "importances": dict(result)})
    return out


def ranking(importances):
    return " > ".join(f"{k} {v:.3f}" for k, v in sorted(importances.items(), key=lambda kv: -kv[1]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench", required=True)
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--knob-only", action="store_true")
    args = parser.parse_args()
    space, trials = make_trials(args.trials)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "trials.json")
        with open(path, "w") as f:
            json.dump({"space": [{"name": n, "distribution": d} for n, d in space], "trials": trials}, f)
        proc = subprocess.run([args.bench, path], capture_output=True, text=True, check=True)
    knob = [json.loads(line) for line in proc.stdout.splitlines()]
    optuna = None if args.knob_only else optuna_side(space, trials)
    print(f"{args.trials} trials x {len(space)} params, 64 trees, seed 0")
    print(f"{'evaluator':24} {'knob s':>9} {'optuna s':>9} {'optuna/knob':>11}")
    for i, k in enumerate(knob):
        o = optuna[i] if optuna else None
        print(f"{k['evaluator']:24} {k['seconds']:9.3f} " +
              (f"{o['seconds']:9.3f} {o['seconds'] / k['seconds']:11.1f}" if o else f"{'-':>9} {'-':>11}"))
    for i, k in enumerate(knob):
        print(f"knob   {k['evaluator']}: {ranking(k['importances'])}")
        if optuna:
            print(f"optuna {optuna[i]['evaluator']}: {ranking(optuna[i]['importances'])}")
        assert abs(sum(k["importances"].values()) - 1) < 1e-9, k


if __name__ == "__main__":
    main()
