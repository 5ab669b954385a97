#!/usr/bin/python3
"""End to end: the wall time until a well-tuned model. knob tunes the seed MLP on
Fashion-MNIST (knob_study.toml), then Optuna 3.1 with PyTorch does the same
(optuna_peer.py: TPE + MedianPruner), one after the other in the same run, each for the same
wall budget from its process start (imports and data loading included), each on a fresh SQLite
file. Same search space (lr log 1e-4..1e-1, batch size log 16..512, epochs 1..20, optimizer
sgd(momentum 0.9) / adam / rmsprop, dropout 0..0.5), data, split (validation = the last 10,000
training images) and model.

Sides (--sides, run in the order given; the first is the one the others are compared with):
  knob           knob_study.toml as it is (knob's recommended setup)
  knob:VARIANT   the same with one thing changed, for an ablation (VARIANTS below: the pruner,
                 the learning rate searched relative to the range test)
  optuna         the peer, optuna_peer.py
  grid           the seed article's 27-point grid (grid_study.toml: Adam, lr x batch size x
                 epochs), run by knob until it ends or the budget does
--model cnn trains knob's small CNN (model.kind = "cnn": 3x3 convolutions of 32 and 64
channels, each with ReLU and 2x2 max pooling, then a linear layer) on every side instead of
the MLP. --seeds 1,2,3 repeats the whole run per seed and ends with the medians.

run.py watches each study's SQLite file every --poll seconds: a trial's epoch counts from the
moment its validation accuracy is stored. At the end of the budget the process gets SIGINT
(every side stops its running trials). Printed per seed, each side beside the first and the
ratio: the time to reach each --thresholds validation accuracy (and, with a grid side, the
grid's own best), the best complete trial and the best epoch seen, trials complete / pruned /
failed, the seconds the side ran, the best trial's configuration retrained by its own side and
scored on the 10,000 test images, and the peak RSS of the tuning process; then, with several
seeds, the median of each row over the seeds (a threshold never reached counts as never).

    /usr/bin/python3 bench/e2e_fashion_mnist/run.py --knob build/knob [--budget 600]
        [--seeds 1,2,3] [--thresholds 0.885,0.89] [--no-retrain] [--model mlp|cnn]
        [--sides knob,optuna,grid,knob:curve,...] [--keep DIR]
"""
import argparse
import json
import math
import os
import resource
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def read_params(con, trial_id):
    params = {}
    for name, value, distribution in con.execute(
            "SELECT param_name, param_value, distribution_json FROM trial_params "
            "WHERE trial_id = ?", (trial_id,)):
        d = json.loads(distribution)
        if d["name"] == "CategoricalDistribution":
            value = d["attributes"]["choices"][int(value)]
        elif d["name"] == "IntDistribution":
            value = int(value)
        params[name] = value
    return params


def watch(command, db, budget, poll):
    """Runs `command` for `budget` seconds; returns the epochs' (seconds, accuracy) in the
    order they were stored and the process's peak RSS in MiB."""
    seen, events = set(), []
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    interrupted = False
    while True:
        now = time.perf_counter() - start
        if os.path.exists(db):
            try:
                with sqlite3.connect(db, timeout=5) as con:
                    rows = con.execute(
                        "SELECT trial_id, step, intermediate_value FROM trial_intermediate_values"
                    ).fetchall()
            except sqlite3.OperationalError:  # tables not created yet
                rows = []
            for trial_id, step, value in rows:
                if (trial_id, step) not in seen and now <= budget:
                    seen.add((trial_id, step))
                    events.append((now, value))
        if proc.poll() is not None:
            break
        if now > budget and not interrupted:
            proc.send_signal(signal.SIGINT)
            interrupted = True
        if now > budget + 120:
            proc.kill()
        time.sleep(poll)
    return events, proc


def summarize(db, events, thresholds):
    states, best, params = {}, None, {}
    if os.path.exists(db):  # a side stopped before it made its study has no tables
        with sqlite3.connect(db) as con:
            try:
                states = dict(con.execute(
                    "SELECT state, count(*) FROM trials GROUP BY state").fetchall())
                best = con.execute(
                    "SELECT t.trial_id, v.value FROM trials t JOIN trial_values v "
                    "USING (trial_id) WHERE t.state = 'COMPLETE' ORDER BY v.value DESC "
                    "LIMIT 1").fetchone()
            except sqlite3.OperationalError:
                pass
            params = read_params(con, best[0]) if best else {}
    return {
        "reach": {thr: reach(events, thr) for thr in thresholds},
        "events": events,
        "best_complete": best[1] if best else None,
        "best_epoch": max((v for _, v in events if v is not None), default=None),
        "states": states,
        "params": params,
    }


def reach(events, threshold):
    """Seconds until an epoch reached `threshold`; None if none did."""
    return next((t for t, v in events if v is not None and v >= threshold), None)


# knob:VARIANT sides: each maps the recommended setup's TOML text to (TOML text, extra `knob
# tune` flags), one change each, so an ablation table says what each is worth.
def relative_lr(text):
    """The learning rate searched relative to the range test (docs/lr_prior.md)."""
    absolute = '"optimizer.lr" = { low = 1e-4, high = 1e-1, log = true }'
    if absolute not in text:
        sys.exit("run.py: knob_study.toml's lr range changed; update relative_lr()")
    text = text.replace(absolute, '"lr_find.factor" = { low = 0.3, high = 30.0, log = true }')
    return text + '\n[optimizer]\nlr = "find"\n'


VARIANTS = {
    "median": lambda text: (text, ["--pruner", "median"]),
    "curve": lambda text: (text, ["--pruner", "curve"]),
    "nopruner": lambda text: (text, ["--pruner", "none"]),
    "prior": lambda text: (relative_lr(text), []),
    "prior+curve": lambda text: (relative_lr(text), ["--pruner", "curve"]),
}


def side_setup(side, work, model):
    """The TOML file a knob side tunes (written into `work`) and its extra flags."""
    if side == "grid":
        text, flags = open(os.path.join(HERE, "grid_study.toml")).read(), []
    else:
        text, flags = open(os.path.join(HERE, "knob_study.toml")).read(), []
        if ":" in side:
            text, flags = VARIANTS[side.split(":", 1)[1]](text)
    path = os.path.join(work, side.replace(":", "_") + ".toml")
    with open(path, "w") as f:
        f.write(text)
    if model == "cnn":
        flags = flags + ["--set", "model.kind=cnn"]
    return path, flags


def knob_retrain(knob, config, flags, params):
    sets = [a for i, a in enumerate(flags) if a == "--set" or (i and flags[i - 1] == "--set")]
    for name, value in params.items():
        sets += ["--set", f"{name}={value}"]
    out = subprocess.run([knob, "train", config, *sets, "--quiet"],
                         capture_output=True, text=True, check=True).stdout
    return float(out.split("test_accuracy")[1].split()[0])


def optuna_retrain(params, model):
    out = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "optuna_peer.py"), "--retrain",
                          json.dumps(params), "--model", model],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["test_accuracy"]


def run_side(side, work, seed, args):
    """Runs one side for the budget; returns its summary and whether it ran and stored
    epochs."""
    db = os.path.join(work, f"{side.replace(':', '_')}-seed{seed}.db")
    if os.path.exists(db):
        os.remove(db)
    url = "sqlite:///" + db
    if side == "optuna":
        command = ["/usr/bin/python3", os.path.join(HERE, "optuna_peer.py"), "--storage", url,
                   "--budget", str(args.budget), "--seed", str(seed), "--model", args.model]
        if args.smoke:
            command += ["--limit", "6000", "--validation", "1000"]
    else:
        config, flags = side_setup(side, work, args.model)
        command = [os.path.abspath(args.knob), "tune", config, "--storage", url, "--seed",
                   str(seed), "--quiet", *flags]
        if args.smoke:
            command += ["--set", "data.limit=6000", "--set", "data.validation=1000"]
    # Each side runs in a child of its own, so RUSAGE_CHILDREN of that child alone is its
    # peak RSS.
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reader)
        start = time.perf_counter()
        events, proc = watch(command, db, args.budget, args.poll)
        seconds = time.perf_counter() - start
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        stderr = proc.stderr.read().decode(errors="replace")[-2000:]
        with os.fdopen(writer, "w") as w:
            json.dump({"events": events, "rss": rss, "code": proc.returncode,
                       "stderr": stderr, "seconds": seconds}, w)
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as r:
        run = json.load(r)
    os.waitpid(pid, 0)
    print(f"[{side}, seed {seed}] exit {run['code']}, {len(run['events'])} epochs stored, "
          f"load average {os.getloadavg()[1]:.1f} (5 min)", file=sys.stderr)
    exited_well = run["code"] in (0, 130, -signal.SIGINT)
    if not exited_well:
        print(run["stderr"], file=sys.stderr)
    summary = summarize(db, run["events"], args.thresholds)
    summary["rss"] = run["rss"]
    summary["seconds"] = min(run["seconds"], args.budget)
    if not args.no_retrain and summary["params"]:
        if side == "optuna":
            summary["test"] = optuna_retrain(summary["params"], args.model)
        else:
            summary["test"] = knob_retrain(args.knob, config, flags, summary["params"])
    return summary, exited_well and bool(run["events"])


def add_grid_reach(results):
    """With a grid side: each side's seconds to the grid's best complete trial."""
    grid_best = results["grid"]["best_complete"] if "grid" in results else None
    for r in results.values():
        r["reach_grid"] = None if grid_best is None else reach(r["events"], grid_best)


def median_of(values, never_is_infinite=False):
    """The median of the values given; None (a threshold never reached) counts as infinity
    when `never_is_infinite` (so the median itself can be None: never), else is left out."""
    if never_is_infinite:
        values = [math.inf if v is None else v for v in values]
    values = [v for v in values if v is not None]
    if not values:
        return None
    m = statistics.median(values)
    return None if m == math.inf else m


def medians(per_seed, sides, thresholds):
    out = {}
    for side in sides:
        runs = [results[side] for results in per_seed]
        out[side] = {
            "reach": {thr: median_of([r["reach"][thr] for r in runs], True) for thr in thresholds},
            "reach_grid": median_of([r["reach_grid"] for r in runs], True)
            if "grid" in sides else None,
            "best_complete": median_of([r["best_complete"] for r in runs]),
            "best_epoch": median_of([r["best_epoch"] for r in runs]),
            "states": {state: median_of([r["states"].get(state, 0) for r in runs])
                       for state in ("COMPLETE", "PRUNED", "FAIL")},
            "seconds": median_of([r["seconds"] for r in runs]),
            "test": median_of([r.get("test") for r in runs]),
            "rss": median_of([r["rss"] for r in runs]),
            "params": None,
        }
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--knob", required=True)
    ap.add_argument("--budget", type=float, default=600)
    ap.add_argument("--seed", type=int, default=1, help="one seed (--seeds: several)")
    ap.add_argument("--seeds", help="comma-separated: the whole run per seed, then the medians")
    ap.add_argument("--thresholds", default="0.885,0.89")
    ap.add_argument("--poll", type=float, default=0.2)
    ap.add_argument("--sides", default="knob,optuna")
    ap.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    ap.add_argument("--no-retrain", action="store_true")
    ap.add_argument("--smoke", action="store_true",
                    help="6,000 training images, 1,000 of them for validation (the CI smoke)")
    ap.add_argument("--keep", metavar="DIR", help="write the studies' SQLite files here")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 unless every side ran and stored epochs (the CI smoke)")
    args = ap.parse_args()
    args.thresholds = [float(t) for t in args.thresholds.split(",")]
    seeds = [int(x) for x in args.seeds.split(",")] if args.seeds else [args.seed]
    sides = args.sides.split(",")
    known = ["knob", "optuna", "grid"] + ["knob:" + v for v in VARIANTS]
    for side in sides:
        if side not in known:
            ap.error(f"--sides: unknown side {side!r}; the sides are " + ", ".join(known))
    per_seed, failed = [], False
    with tempfile.TemporaryDirectory() as scratch:
        work = args.keep or scratch
        os.makedirs(work, exist_ok=True)
        for seed in seeds:
            results = {}
            for side in sides:
                results[side], ok = run_side(side, work, seed, args)
                failed = failed or not ok
            add_grid_reach(results)
            print_table(results, f"seed {seed}", args)
            per_seed.append(results)
    if len(seeds) > 1:
        print_table(medians(per_seed, sides, args.thresholds),
                    "median of seeds " + ",".join(map(str, seeds)), args)
    if args.check and failed:
        sys.exit("run.py --check: a side failed or stored no epoch")


def print_table(results, title, args):
    sides = list(results)
    fmt = lambda v, spec: "-" if v is None else format(v, spec)  # noqa: E731

    def row(label, value, spec, ratio=None):
        values = [value(results[s]) for s in sides]
        line = f"{label:<38}" + "".join(f"{fmt(v, spec):>14}" for v in values)
        if ratio:  # each other side against the first
            for v in values[1:]:
                shown = None not in (values[0], v) and values[0]
                line += f"{ratio(values[0], v):>15.2f}x" if shown else f"{'-':>16}"
        print(line)

    model = "small CNN" if args.model == "cnn" else "seed MLP"
    print(f"\nFashion-MNIST {model}, {args.budget:.0f} s budget each, {title}")
    print(f"{'':<38}" + "".join(f"{s:>14}" for s in sides)
          + "".join(f"{s + ' ÷ ' + sides[0]:>16}" for s in sides[1:]))
    sooner = lambda first, other: other / first  # noqa: E731  (how many times sooner/less)
    for thr in args.thresholds:
        row(f"seconds to val accuracy {thr:.3f}", lambda r: r["reach"][thr], ".1f", sooner)
    if "grid" in sides:
        row("seconds to the grid's best", lambda r: r["reach_grid"], ".1f", sooner)
    row("best complete trial (val acc)", lambda r: r["best_complete"], ".4f")
    row("best epoch seen (val acc)", lambda r: r["best_epoch"], ".4f")
    for state in ("COMPLETE", "PRUNED", "FAIL"):
        row(f"trials {state.lower()}", lambda r: r["states"].get(state, 0), ".0f")
    row("seconds run (study end or budget)", lambda r: r["seconds"], ".1f")
    if not args.no_retrain:
        row("best config retrained: test acc", lambda r: r.get("test"), ".4f")
    row("peak RSS of the tuning process (MiB)", lambda r: r["rss"], ".0f", sooner)
    for s in sides:
        if results[s].get("params"):
            print(f"{s} best: {json.dumps(results[s]['params'])}")


if __name__ == "__main__":
    main()
