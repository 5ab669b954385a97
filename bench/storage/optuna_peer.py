#!/usr/bin/python3
"""Optuna 3.1's side of the storage benchmark: the same work as storage_bench.cc through
Optuna's RDB storage on SQLite — RandomSampler, 4 params (float uniform, float log, int,
categorical), 10 trial.report calls a trial, NopPruner, no should_prune; logging at WARNING
(knob prints nothing per trial either).

  /usr/bin/python3 optuna_peer.py [--trials N] [--dir DIR] [--seed S] [--sqlite-like-knob]
  /usr/bin/python3 optuna_peer.py --storage URL [--study NAME] [--start-at EPOCH] [--trials N]

By default Optuna runs as `storage="sqlite:///..."` gives it: a new connection per session
(SQLAlchemy's NullPool), rollback journal, synchronous=FULL — several fsyncs per commit.
--sqlite-like-knob gives it what knob's SqliteStorage has instead: one connection kept open
(SingletonThreadPool), journal_mode=WAL, synchronous=NORMAL. That separates the cost of
those settings from the cost of the storage code itself.

--storage URL (e.g. postgresql://...) makes it one of several worker processes on study NAME
("bench"), created if missing: Optuna's RDBStorage as `storage=URL` gives it (SQLAlchemy's
default pool, psycopg2); --start-at waits until that time so all workers start together;
--trials 0 only creates the study (and the schema).

Prints one JSON line: {"impl": "optuna", "trials": N, "seconds": ..., "trials_per_s": ...,
"start": ..., "end": ...} (start/end: seconds since the epoch).
"""

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time

import optuna


def objective(trial):
    x = trial.suggest_float("x", -10.0, 10.0)
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    units = trial.suggest_int("units", 1, 128)
    optimizer = trial.suggest_categorical("optimizer", ["sgd", "adam", "rmsprop"])
    base = x * x + abs(math.log10(lr) + 3.0) + 1.0 / units + (0.0 if optimizer == "adam" else 0.5)
    value = base
    for step in range(10):
        value = base + 1.0 / (step + 1)
        trial.report(value, step)
    return value


def run_worker(args):
    study = optuna.create_study(study_name=args.study, storage=args.storage, load_if_exists=True,
                                sampler=optuna.samplers.RandomSampler(seed=args.seed),
                                pruner=optuna.pruners.NopPruner())
    if args.trials == 0:
        return
    complete = (optuna.trial.TrialState.COMPLETE,)
    before = len(study.get_trials(deepcopy=False, states=complete))
    time.sleep(max(0.0, args.start_at - time.time()))
    start, clock = time.time(), time.perf_counter()
    study.optimize(objective, n_trials=args.trials)
    seconds, end = time.perf_counter() - clock, time.time()
    done = len(study.get_trials(deepcopy=False, states=complete)) - before
    if done < args.trials:
        sys.exit(f"optuna_peer: {done} new COMPLETE trials, expected at least {args.trials}")
    print(json.dumps({"impl": "optuna", "trials": args.trials, "seconds": seconds,
                      "trials_per_s": args.trials / seconds, "start": start, "end": end}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--storage", default=None, help="join study --study at this URL")
    parser.add_argument("--study", default="bench")
    parser.add_argument("--start-at", type=float, default=0.0)
    parser.add_argument("--dir", default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sqlite-like-knob", action="store_true",
                        help="one persistent connection, journal_mode=WAL, synchronous=NORMAL")
    args = parser.parse_args()
    if args.trials < 0 or (args.trials == 0 and not args.storage):
        parser.error("--trials must be >= 1 (or 0 with --storage)")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if args.storage:
        return run_worker(args)
    own_dir = args.dir is None
    directory = tempfile.mkdtemp(prefix="optuna-storage-bench-") if own_dir else args.dir
    db = os.path.join(directory, f"optuna-bench-{os.getpid()}.db")
    try:
        if args.sqlite_like_knob:
            import sqlalchemy

            storage = optuna.storages.RDBStorage(
                "sqlite:///" + db,
                engine_kwargs={"poolclass": sqlalchemy.pool.SingletonThreadPool})

            def knob_pragmas(connection, _record):
                cursor = connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.close()
            sqlalchemy.event.listen(storage.engine, "connect", knob_pragmas)
            storage.engine.dispose()  # the connection opened from now on gets the pragmas
        else:
            storage = "sqlite:///" + db
        study = optuna.create_study(study_name="bench", storage=storage,
                                    sampler=optuna.samplers.RandomSampler(seed=args.seed),
                                    pruner=optuna.pruners.NopPruner())
        start = time.perf_counter()
        study.optimize(objective, n_trials=args.trials)
        seconds = time.perf_counter() - start
        complete = len(study.get_trials(deepcopy=False,
                                        states=(optuna.trial.TrialState.COMPLETE,)))
    finally:
        for suffix in ("", "-journal", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        if own_dir:
            shutil.rmtree(directory, ignore_errors=True)
    if complete != args.trials:
        sys.exit(f"optuna_peer: {complete} COMPLETE trials, expected {args.trials}")
    impl = "optuna-wal" if args.sqlite_like_knob else "optuna"
    print(json.dumps({"impl": impl, "trials": args.trials, "seconds": seconds,
                      "trials_per_s": args.trials / seconds}))


if __name__ == "__main__":
    main()
