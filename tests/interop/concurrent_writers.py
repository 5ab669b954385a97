#!/usr/bin/python3
"""knob and Optuna writing one study in one SQLite file at the same time: a `knob tune`
process (two threads) and an Optuna optimize() in this process run side by side for a few
seconds. Afterwards no trial number may be taken twice or skipped, every trial must be
COMPLETE with the value of its params, and both writers must have made trials interleaved.

  /usr/bin/python3 concurrent_writers.py --knob build/knob --tmp DIR
"""

import json
import os
import sqlite3
import subprocess
import time
import unittest

import interop_common as ic
from interop_common import optuna

SECONDS = 3.0
SPACE = {"x": optuna.distributions.FloatDistribution(-5.0, 10.0),
         "y": optuna.distributions.FloatDistribution(0.0, 15.0)}


def count_trials(path):
    with sqlite3.connect(path, timeout=30) as db:
        n = db.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    db.close()
    return n


class ConcurrentWriters(unittest.TestCase):
    def test_knob_and_optuna_on_one_study(self):
        path = os.path.join(ic.WORKDIR, "shared.db")
        url = ic.storage_url(path)
        study = optuna.create_study(study_name="shared", storage=url,
                                    sampler=optuna.samplers.RandomSampler(seed=9))
        knob = subprocess.Popen(
            [ic.ARGS.knob, "tune", "--storage", url, "--study-name", "shared", "--objective",
             "branin", "--timeout", str(SECONDS), "--jobs", "2", "--seed", "2", "--pruner",
             "none", "--quiet"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # Start Optuna once knob is writing, so that the two really overlap.
            deadline = time.monotonic() + 20
            while count_trials(path) == 0 and knob.poll() is None:
                self.assertLess(time.monotonic(), deadline, "knob wrote no trial in 20 s")
                time.sleep(0.005)
            optuna_numbers = []

            def objective(trial):
                trial.set_user_attr("writer", "optuna")
                return ic.branin(trial.suggest_float("x", -5.0, 10.0),
                                 trial.suggest_float("y", 0.0, 15.0))

            study.optimize(objective, timeout=SECONDS,
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
        self.assertGreaterEqual(len(by_optuna), 5)
        self.assertGreaterEqual(len(by_knob), 5)
        # Interleaved: knob wrote trials while Optuna did, not all before or after.
        during = [n for n in by_knob if by_optuna[0] < n < by_optuna[-1]]
        self.assertGreater(len(during), 0, "the two writers did not overlap")

        # And knob reads back what both wrote.
        listed = json.loads(ic.run([ic.ARGS.knob, "study", "list", "--storage", url,
                                    "-f", "json"]).stdout)
        self.assertEqual(len(listed), 1)
        self.assertEqual(listed[0]["n_trials"], len(trials))
        self.assertEqual(listed[0]["trial_counts"], {"COMPLETE": len(trials)})
        self.assertEqual(listed[0]["best_value"], min(t.value for t in trials))


if __name__ == "__main__":
    ic.main(__doc__, knob="the knob executable")
