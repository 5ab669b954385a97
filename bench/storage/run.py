#!/usr/bin/python3
"""Storage benchmark driver: knob's SQLite storage (storage_bench, C++) beside Optuna 3.1's
(optuna_peer.py) on the same work — N trials, RandomSampler, 4 params, 10 reports a trial —
each in a fresh SQLite file in one temporary directory, alternating, several repetitions;
prints the medians and their ratio.

  bench/storage/run.py [--build DIR] [--trials N] [--reps R] [--no-optuna-like-knob]
  scripts/pg_test_server bench/storage/run.py --postgres [--build DIR] [--trials N]
      [--workers 1,4,16] [--reps R] [--latency-trials N]

--postgres: on the PostgreSQL server scripts/pg_test_server started (KNOB_TEST_POSTGRES_URL),
for each worker count W, W processes of knob and then W of Optuna 3.1 (RDBStorage, psycopg2)
share one study in a fresh database, N trials in all (N/W each), started together; trials/s
is all their trials over the time from the first start to the last end. Then the cost of a
TPE ask at --latency-trials finished trials while another worker adds trials (knob only:
storage_bench --ask-latency).

Columns: "optuna" is Optuna as `storage="sqlite:///..."` runs it (new connection per
session, rollback journal, synchronous=FULL); "optuna like knob" is Optuna given knob's
SQLite settings (one connection, WAL, synchronous=NORMAL) — the code against the code.
Must run with Debian's /usr/bin/python3 (python3-optuna).
"""

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run_one(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{shlex.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])["trials_per_s"]


def fresh_database(server_url, name):
    """A new empty database on the server; returns its URL."""
    import psycopg2  # python3-psycopg2, only needed here

    connection = psycopg2.connect(server_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    return server_url.rsplit("/", 1)[0] + "/" + name


def run_workers(cmd, n_workers, trials, start_delay):
    """n_workers processes of `cmd` on one study, started together; returns all trials/s."""
    setup = [*cmd, "--trials", "0"]  # the schema and the study, before the crowd arrives
    if subprocess.run(setup).returncode != 0:
        sys.exit(f"{shlex.join(setup)} failed")
    start_at = time.time() + start_delay
    each = [*cmd, "--trials", str(trials // n_workers), "--start-at", f"{start_at:.3f}"]
    procs = [subprocess.Popen(each, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(n_workers)]
    reports = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            sys.exit(f"{shlex.join(each)} failed ({proc.returncode}):\n{out}{err}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    late = max(r["start"] for r in reports) - start_at
    if late > 0.5:
        print(f"  (a worker of {cmd[0]} started {late:.1f} s late)", flush=True)
    total = sum(r["trials"] for r in reports)
    return total / (max(r["end"] for r in reports) - min(r["start"] for r in reports))


def run_postgres(args, bench, peer):
    server = os.environ.get("KNOB_TEST_POSTGRES_URL")
    if not server:
        sys.exit("--postgres needs a server: scripts/pg_test_server bench/storage/run.py --postgres")
    workers = [int(w) for w in args.workers.split(",")]
    sides = {"knob": ([bench], lambda w: 1.0 + 0.1 * w),
             "optuna": (peer, lambda w: 3.0 + 1.0 * w)}  # Python imports take ~1 s a process
    results = {(side, w): [] for side in sides for w in workers}
    for rep in range(args.reps):
        for w in workers:
            for side, (cmd, delay) in sides.items():
                url = fresh_database(server, f"bench_{side}_{w}_{rep}")
                results[side, w].append(
                    run_workers([*cmd, "--storage", url, "--seed", str(args.seed)], w,
                                args.trials, delay(w)))
            print(f"rep {rep + 1}/{args.reps}, {w} workers: knob {results['knob', w][-1]:.1f}, "
                  f"optuna {results['optuna', w][-1]:.1f} trials/s", flush=True)
    print(f"\nstorage: PostgreSQL {args.trials} trials/run in all, 4 params, 10 reports/trial, "
          f"RandomSampler, one study per run; median of {args.reps}")
    print("| workers | knob trials/s | optuna trials/s | ratio |")
    print("|---|---|---|---|")
    for w in workers:
        k, o = (statistics.median(results[side, w]) for side in ("knob", "optuna"))
        print(f"| {w} | {k:.1f} | {o:.1f} | {k / o:.1f}x |")
    if args.latency_trials > 0:
        url = fresh_database(server, "bench_latency")
        cmd = [bench, "--ask-latency", "--trials", str(args.latency_trials), "--storage", url]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"{shlex.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"\nTPE ask at {r['finished_trials']} finished trials, another worker adding "
              f"trials (median of {r['rounds']}): ask + 4 suggests {r['tpe_ask_ms']:.2f} ms; "
              f"reading the finished trials: all from PostgreSQL {r['full_read_ms']:.2f} ms "
              f"(each such ask before the cache), through the cache {r['cached_read_ms']:.3f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(HERE, "..", "..", "build"),
                        help="CMake build directory holding bench/storage/storage_bench")
    parser.add_argument("--trials", type=int, default=100, help="trials per run (both sides)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (median reported)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-optuna-like-knob", dest="like_knob", action="store_false",
                        help="skip the run of Optuna with knob's SQLite settings")
    parser.add_argument("--postgres", action="store_true",
                        help="workers on PostgreSQL (run under scripts/pg_test_server)")
    parser.add_argument("--workers", default="1,4,16", help="--postgres: worker counts")
    parser.add_argument("--latency-trials", type=int, default=2000,
                        help="--postgres: finished trials for the TPE ask latency (0: skip)")
    args = parser.parse_args()
    bench = os.path.join(args.build, "bench", "storage", "storage_bench")
    if not os.access(bench, os.X_OK):
        sys.exit(f"{bench} not found: build it (ninja -C {args.build} storage_bench)")
    python = "/usr/bin/python3"  # Debian's, with python3-optuna
    peer = os.path.join(HERE, "optuna_peer.py")
    print("command: " + shlex.join([sys.executable, *sys.argv]), flush=True)
    if args.postgres:
        return run_postgres(args, bench, [python, peer])

    workdir = tempfile.mkdtemp(prefix="knob-storage-bench-")
    common = ["--trials", str(args.trials), "--dir", workdir, "--seed", str(args.seed)]
    runs = {"knob": [bench, *common], "optuna": [python, peer, *common]}
    if args.like_knob:
        runs["optuna like knob"] = [python, peer, *common, "--sqlite-like-knob"]
    results = {name: [] for name in runs}
    try:
        for rep in range(args.reps):
            for name, cmd in runs.items():
                results[name].append(run_one(cmd))
            print(f"rep {rep + 1}/{args.reps}: " +
                  ", ".join(f"{n} {results[n][-1]:.1f}" for n in runs) + " trials/s", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for name, cmd in runs.items():
        print(f"  {name}: {shlex.join(cmd).replace(workdir, '$TMPDIR_RUN')}")

    med = {name: statistics.median(v) for name, v in results.items()}
    print(f"\nstorage: {args.trials} trials/run, 4 params, 10 reports/trial, RandomSampler, "
          f"SQLite; median of {args.reps}")
    header = ["knob trials/s", "optuna trials/s", "ratio"]
    row = [f"{med['knob']:.1f}", f"{med['optuna']:.2f}", f"{med['knob'] / med['optuna']:.0f}x"]
    if args.like_knob:
        header += ["optuna like knob trials/s", "ratio"]
        row += [f"{med['optuna like knob']:.2f}",
                f"{med['knob'] / med['optuna like knob']:.0f}x"]
    widths = [max(len(h), len(r)) for h, r in zip(header, row)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print("| " + " | ".join(r.ljust(w) for r, w in zip(row, widths)) + " |")
    for name in [n for n in runs if n != "knob"]:
        verdict = "met" if med["knob"] >= 100 * med[name] else "NOT met"
        print(f"goal knob >= 100x {name}: {verdict} ({med['knob'] / med[name]:.0f}x)")


if __name__ == "__main__":
    main()
