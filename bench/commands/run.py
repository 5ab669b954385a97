#!/usr/bin/python3
"""The command path's cost per trial: knob tune running a command objective that does
nothing (/bin/echo printing its value), against Optuna 3.1 running the same program through
subprocess.run in its objective, both on a fresh SQLite file, in the same run. A trial's
time here is all overhead: spawn, read the protocol, store. Median of --reps runs.

    /usr/bin/python3 bench/commands/run.py --knob build/knob [--trials 200] [--reps 3]
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time

import optuna

CONFIG = """[study]
storage = "{url}"
name = "commands"
direction = "minimize"
sampler = "random"
pruner = "none"
seed = 1
n_trials = {trials}
[search]
x = {{ low = 0.0, high = 1.0 }}
[objective]
command = ["/bin/echo", "knob:value", "{{x}}"]
"""


def knob_ms(knob, trials, workdir):
    db = os.path.join(workdir, "knob.db")
    config = os.path.join(workdir, "commands.toml")
    with open(config, "w") as f:
        f.write(CONFIG.format(url="sqlite:///" + db, trials=trials))
    start = time.perf_counter()
    subprocess.run([knob, "tune", config, "--quiet"], check=True, capture_output=True)
    ms = (time.perf_counter() - start) * 1000 / trials
    os.remove(db)
    return ms


def optuna_ms(trials, workdir):
    db = os.path.join(workdir, "optuna.db")
    study = optuna.create_study(storage="sqlite:///" + db, study_name="commands",
                                sampler=optuna.samplers.RandomSampler(seed=1))

    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        out = subprocess.run(["/bin/echo", "knob:value", repr(x)], check=True,
                             capture_output=True, text=True).stdout
        return float(out.split()[1])

    start = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    ms = (time.perf_counter() - start) * 1000 / trials
    os.remove(db)
    return ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--knob", required=True)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    k, o = [], []
    with tempfile.TemporaryDirectory() as workdir:
        for _ in range(args.reps):
            k.append(knob_ms(args.knob, args.trials, workdir))
            o.append(optuna_ms(args.trials, workdir))
    km, om = statistics.median(k), statistics.median(o)
    print(f"ms per trial of a do-nothing command ({args.trials} trials, SQLite, "
          f"median of {args.reps})\n")
    print("| | ms per trial | runs |")
    print("|---|---:|---|")
    print(f"| knob tune ([objective] command) | {km:.2f} | {', '.join(f'{x:.2f}' for x in k)} |")
    print(f"| Optuna 3.1 + subprocess.run | {om:.2f} | {', '.join(f'{x:.2f}' for x in o)} |")
    print(f"\nknob is {om / km:.1f}x faster per trial; goal: knob under 5 ms a trial")


if __name__ == "__main__":
    main()
