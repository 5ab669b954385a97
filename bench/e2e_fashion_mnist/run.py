#!/usr/bin/python3
"""End to end: the wall time until a well-tuned model. knob tunes the seed MLP on
Fashion-MNIST (knob_study.toml), then Optuna 3.1 with PyTorch does the same
(optuna_peer.py: TPE + MedianPruner), one after the other in the same run, each for the same
wall budget from its process start (imports and data loading included), each on a fresh SQLite
file. Same search space (lr log 1e-4..1e-1, batch size log 16..512, epochs 1..20, optimizer
sgd(momentum 0.9) / adam / rmsprop, dropout 0..0.5), data, split (validation = the last 10,000
training images) and model.

run.py watches each study's SQLite file every --poll seconds: a trial's epoch counts from the
moment its validation accuracy is stored. At the end of the budget the process gets SIGINT
(both stop their running trials). Printed, knob beside its peer and their ratio: the time to
reach each --thresholds validation accuracy, the best complete trial and the best epoch seen,
trials complete / pruned / failed, the best trial's configuration retrained by its own side
and scored on the 10,000 test images, and the peak RSS of the tuning process.

    /usr/bin/python3 bench/e2e_fashion_mnist/run.py --knob build/knob [--budget 600]
        [--seed 1] [--thresholds 0.885,0.89] [--no-retrain] [--sides knob,optuna] [--keep DIR]
"""
import argparse
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KNOB_NAMES = {"optimizer.lr": "lr", "batch.size": "batch_size", "train.epochs": "epochs",
              "optimizer.kind": "optimizer", "model.dropout": "dropout"}


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
    with sqlite3.connect(db) as con:
        states = dict(con.execute("SELECT state, count(*) FROM trials GROUP BY state").fetchall())
        best = con.execute(
            "SELECT t.trial_id, v.value FROM trials t JOIN trial_values v USING (trial_id) "
            "WHERE t.state = 'COMPLETE' ORDER BY v.value DESC LIMIT 1").fetchone()
        params = read_params(con, best[0]) if best else {}
    return {
        "reach": {thr: next((t for t, v in events if v is not None and v >= thr), None)
                  for thr in thresholds},
        "best_complete": best[1] if best else None,
        "best_epoch": max((v for _, v in events if v is not None), default=None),
        "states": states,
        "params": params,
    }


def knob_retrain(knob, params):
    sets = []
    for name, value in params.items():
        sets += ["--set", f"{name}={value}"]
    out = subprocess.run([knob, "train", os.path.join(HERE, "knob_study.toml"), *sets, "--quiet"],
                         capture_output=True, text=True, check=True).stdout
    return float(out.split("test_accuracy")[1].split()[0])


def optuna_retrain(params):
    out = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "optuna_peer.py"), "--retrain",
                          json.dumps(params)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)["test_accuracy"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--knob", required=True)
    ap.add_argument("--budget", type=float, default=600)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--thresholds", default="0.885,0.89")
    ap.add_argument("--poll", type=float, default=0.2)
    ap.add_argument("--sides", default="knob,optuna")
    ap.add_argument("--no-retrain", action="store_true")
    ap.add_argument("--smoke", action="store_true",
                    help="6,000 training images, 1,000 of them for validation (the CI smoke)")
    ap.add_argument("--keep", metavar="DIR", help="write the two studies' SQLite files here")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 unless both sides ran and stored epochs (the CI smoke)")
    args = ap.parse_args()
    thresholds = [float(t) for t in args.thresholds.split(",")]
    results, failed = {}, False
    with tempfile.TemporaryDirectory() as scratch:
        work = args.keep or scratch
        os.makedirs(work, exist_ok=True)
        for side in args.sides.split(","):
            db = os.path.join(work, side + ".db")
            if os.path.exists(db):
                os.remove(db)
            url = "sqlite:///" + db
            if side == "knob":
                command = [os.path.abspath(args.knob), "tune", os.path.join(HERE, "knob_study.toml"),
                           "--storage", url, "--seed", str(args.seed), "--quiet"]
                if args.smoke:
                    command += ["--set", "data.limit=6000", "--set", "data.validation=1000"]
            else:
                command = ["/usr/bin/python3", os.path.join(HERE, "optuna_peer.py"), "--storage",
                           url, "--budget", str(args.budget), "--seed", str(args.seed)]
                if args.smoke:
                    command += ["--limit", "6000", "--validation", "1000"]
            # Each side runs in a child of its own, so RUSAGE_CHILDREN of that child alone is
            # its peak RSS.
            reader, writer = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(reader)
                events, proc = watch(command, db, args.budget, args.poll)
                rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
                stderr = proc.stderr.read().decode(errors="replace")[-2000:]
                with os.fdopen(writer, "w") as w:
                    json.dump({"events": events, "rss": rss, "code": proc.returncode,
                               "stderr": stderr}, w)
                os._exit(0)
            os.close(writer)
            with os.fdopen(reader) as r:
                run = json.load(r)
            os.waitpid(pid, 0)
            print(f"[{side}] exit {run['code']}, {len(run['events'])} epochs stored, load average "
                  f"{os.getloadavg()[1]:.1f} (5 min)", file=sys.stderr)
            if run["code"] not in (0, 130, -signal.SIGINT):
                print(run["stderr"], file=sys.stderr)
                failed = True
            if not run["events"]:
                failed = True
            summary = summarize(db, run["events"], thresholds)
            summary["rss"] = run["rss"]
            if not args.no_retrain and summary["params"]:
                if side == "knob":
                    summary["test"] = knob_retrain(args.knob, summary["params"])
                else:
                    summary["test"] = optuna_retrain(summary["params"])
            results[side] = summary
    print_table(results, thresholds, args)
    if args.check and failed:
        sys.exit("run.py --check: a side failed or stored no epoch")


def print_table(results, thresholds, args):
    sides = list(results)
    fmt = lambda v, spec: "-" if v is None else format(v, spec)  # noqa: E731

    def row(label, values, spec, ratio=None):
        cells = [fmt(v, spec) for v in values]
        line = f"{label:<34}" + "".join(f"{c:>16}" for c in cells)
        if ratio and len(values) == 2 and None not in values and values[0]:
            line += f"{ratio(values[0], values[1]):>10.2f}x"
        print(line)

    print(f"\nFashion-MNIST seed MLP, {args.budget:.0f} s budget each, seed {args.seed}")
    print(f"{'':<34}" + "".join(f"{s:>16}" for s in sides) + ("     ratio" if len(sides) == 2
                                                                  else ""))
    for thr in thresholds:
        row(f"seconds to val accuracy {thr:.3f}", [results[s]["reach"][thr] for s in sides],
            ".1f", lambda k, o: o / k)
    row("best complete trial (val acc)", [results[s]["best_complete"] for s in sides], ".4f")
    row("best epoch seen (val acc)", [results[s]["best_epoch"] for s in sides], ".4f")
    for state in ("COMPLETE", "PRUNED", "FAIL"):
        row(f"trials {state.lower()}", [results[s]["states"].get(state, 0) for s in sides], "d")
    if not args.no_retrain:
        row("best config retrained: test acc", [results[s].get("test") for s in sides], ".4f")
    row("peak RSS of the tuning process (MiB)", [results[s]["rss"] for s in sides], ".0f",
        lambda k, o: o / k)
    for s in sides:
        print(f"{s} best: {json.dumps(results[s]['params'])}")


if __name__ == "__main__":
    main()
