#!/usr/bin/python3
"""knob and Optuna (3.1 or 4.9: interop_common.py) writing one study at the same time — a
mixed fleet: a `knob tune` process (two threads, for KNOB_SECONDS) and an Optuna optimize() of
OPTUNA_TRIALS trials in this process, started once knob has written. Afterwards no trial number
may be taken twice or skipped, every trial must be COMPLETE with the value of its params, and
both writers must have made trials interleaved. On an SQLite file, and on PostgreSQL
(python3-psycopg2) when KNOB_TEST_POSTGRES_URL names a server (scripts/pg_test_server; CTest
postgres.fleet*).

knob's objective is Branin computed by a command (awk), as a real objective costs time. With
the built-in branin (no cost at all) knob's two threads held SQLite's write lock nearly all
the time, and Optuna, whose busy handler sleeps up to 100 ms between tries, got 2 trials in
3 s on a loaded machine (or 10 in more than 120 s): SQLite's locking is not fair to a writer
that polls.

  /usr/bin/python3 concurrent_writers.py --knob build/knob --tmp DIR [PostgresConcurrentWriters]
"""

import json
import os
import sqlite3
import subprocess
import time
import unittest

import interop_common as ic
from interop_common import optuna

KNOB_SECONDS = 10
OPTUNA_TRIALS = 10
# Branin-Hoo as interop_common.branin writes it, printed with every digit.
STUDY = """
[study]
name = "shared"
direction = "minimize"
sampler = "random"
pruner = "none"
seed = 2
[search]
x = { low = -5.0, high = 10.0 }
y = { low = 0.0, high = 15.0 }
[objective]
command = "awk 'BEGIN {{ x = {x}; y = {y}; pi = atan2(0, -1); b = 5.1 / (4 * pi ^ 2); c = 5 / pi; u = 1 / (8 * pi); printf \\"knob:value %.17g\\\\n\\", (y - b * x * x + c * x - 6) ^ 2 + 10 * (1 - u) * cos(x) + 10 }}'"
"""
SPACE = {"x": optuna.distributions.FloatDistribution(-5.0, 10.0),
         "y": optuna.distributions.FloatDistribution(0.0, 15.0)}


SERVER = os.environ.get("KNOB_TEST_POSTGRES_URL")


def count_trials(url):
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url[len("sqlite:///"):], timeout=30) as db:
            n = db.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
        db.close()
        return n
    import psycopg2
    conn = psycopg2.connect(url)
    try:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM trials")
        return cur.fetchone()[0]
    finally:
        conn.close()


class ConcurrentWriters(unittest.TestCase):
    def setUp(self):
        self.url = ic.storage_url(os.path.join(ic.WORKDIR, "shared.db"))

    def test_knob_and_optuna_on_one_study(self):
        url = self.url
        study = optuna.create_study(study_name="shared", storage=url,
                                    sampler=optuna.samplers.RandomSampler(seed=9))
        config = os.path.join(ic.WORKDIR, "shared.toml")
        with open(config, "w") as f:
            f.write(STUDY)
        knob = subprocess.Popen(
            [ic.ARGS.knob, "tune", config, "--storage", ic.knob_url(url), "--timeout",
             str(KNOB_SECONDS), "--jobs", "2", "--quiet"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # Start Optuna once knob is writing, so that the two really overlap.
            deadline = time.monotonic() + 20
            while count_trials(url) == 0 and knob.poll() is None:
                self.assertLess(time.monotonic(), deadline, "knob wrote no trial in 20 s")
                time.sleep(0.005)
            optuna_numbers = []

            def objective(trial):
                trial.set_user_attr("writer", "optuna")
                return ic.branin(trial.suggest_float("x", -5.0, 10.0),
                                 trial.suggest_float("y", 0.0, 15.0))

            study.optimize(objective, n_trials=OPTUNA_TRIALS,
                           callbacks=[lambda s, t: optuna_numbers.append(t.number)])
            out, err = knob.communicate(timeout=60)
        finally:
            if knob.poll() is None:
                knob.kill()
                knob.wait()
        self.assertEqual(knob.returncode, 0, f"knob tune failed:\n{out}\n{err}")

        trials = optuna.load_study(study_name="shared", storage=url).trials
        numbers = [t.number for t in trials]
        self.assertEqual(numbers, list(range(len(trials))), "trial numbers collide or skip")
        self.assertEqual(len({t._trial_id for t in trials}), len(trials))
        not_complete = [(t.number, t.state.name) for t in trials
                        if t.state != optuna.trial.TrialState.COMPLETE]
        self.assertEqual(not_complete, [], "every trial must be finished")
        for t in trials:
            self.assertEqual(t.distributions, SPACE, t.number)
            self.assertAlmostEqual(t.value, ic.branin(t.params["x"], t.params["y"]),
                                   delta=1e-12 * max(1.0, abs(t.value)))
            self.assertLessEqual(t.datetime_start, t.datetime_complete)

        by_optuna = sorted(t.number for t in trials if t.user_attrs.get("writer") == "optuna")
        by_knob = sorted(t.number for t in trials if "writer" not in t.user_attrs)
        self.assertEqual(by_optuna, sorted(optuna_numbers))
        print(f"\n{len(by_knob)} trials by knob, {len(by_optuna)} by Optuna", flush=True)
        self.assertEqual(len(by_optuna), OPTUNA_TRIALS)
        self.assertGreaterEqual(len(by_knob), 5)
        # Interleaved: knob wrote trials while Optuna did, not all before or after.
        during = [n for n in by_knob if by_optuna[0] < n < by_optuna[-1]]
        self.assertGreater(len(during), 0, "the two writers did not overlap")

        # And knob reads back what both wrote.
        listed = json.loads(ic.run([ic.ARGS.knob, "study", "list", "--storage",
                                    ic.knob_url(url), "-f", "json"]).stdout)
        self.assertEqual(len(listed), 1)
        self.assertEqual(listed[0]["n_trials"], len(trials))
        self.assertEqual(listed[0]["trial_counts"], {"COMPLETE": len(trials)})
        self.assertEqual(listed[0]["best_value"], min(t.value for t in trials))


@unittest.skipUnless(SERVER, "KNOB_TEST_POSTGRES_URL is not set")
class PostgresConcurrentWriters(ConcurrentWriters):
    def setUp(self):
        self.url = ic.fresh_postgres_database("fleet")


if __name__ == "__main__":
    ic.main(__doc__, knob="the knob executable")
