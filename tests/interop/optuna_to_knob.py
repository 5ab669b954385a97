#!/usr/bin/python3
"""Optuna -> knob: Optuna (3.1 or 4.9: interop_common.py) writes studies to an SQLite file; the knob CLI must list, show
and export them as Optuna holds them (`knob study list|show -f json`, `knob study export
--format json|csv`), and `knob tune` must continue an Optuna study so that Optuna then sees
the new trials with the right params and values.

  /usr/bin/python3 optuna_to_knob.py --knob build/knob --tmp DIR
"""

import csv
import io
import json
import math
import os
import re
import sqlite3
import unittest

import interop_common as ic
from interop_common import optuna

D = optuna.distributions
State = optuna.trial.TrialState


def rich_objective(trial):
    p = {
        "f_uniform": trial.suggest_float("f_uniform", -1.5, 2.5),
        "f_log": trial.suggest_float("f_log", 1e-5, 1e-1, log=True),
        "f_step": trial.suggest_float("f_step", 0.0, 1.0, step=0.25),
        "i_plain": trial.suggest_int("i_plain", -3, 7),
        "i_log": trial.suggest_int("i_log", 1, 1024, log=True),
        "i_step": trial.suggest_int("i_step", 0, 10, step=2),
        "c_mixed": trial.suggest_categorical("c_mixed", [None, True, 3, 2.5, "sgd"]),
    }
    value = p["f_uniform"] ** 2 + math.log10(p["f_log"]) + p["i_plain"] + p["i_step"]
    n = trial.number
    if n == 1:
        for step, v in enumerate([0.5, math.nan, math.inf, -math.inf, 0.25]):
            trial.report(v, step)
    elif n == 3:
        return math.inf
    elif n == 4:
        trial.report(1.0, 0)
        trial.report(0.5, 5)
        raise optuna.TrialPruned()
    elif n == 5:
        raise ValueError("optuna side: failed on purpose")
    elif n == 6:
        trial.set_user_attr("history", {"loss": [1.5, 0.75], "best": {"epoch": 1, "f1": None},
                                        "ok": True})
        trial.set_user_attr("note", "h\u00e9llo, \"quoted\"\nline")
        trial.set_user_attr("count", 7)
    elif n == 7:
        return -1e-300
    return value


LEGACY_JSON = {
    "u": '{"name": "UniformDistribution", "attributes": {"low": 0.0, "high": 1.0}}',
    "lu": '{"name": "LogUniformDistribution", "attributes": {"low": 0.001, "high": 1.0}}',
    "du": '{"name": "DiscreteUniformDistribution", '
          '"attributes": {"low": 0.0, "high": 1.0, "q": 0.2}}',
    "iu": '{"name": "IntUniformDistribution", "attributes": {"low": 0, "high": 10, "step": 2}}',
    "ilu": '{"name": "IntLogUniformDistribution", "attributes": {"low": 1, "high": 64, '
           '"step": 1}}',
}


def make_optuna_studies(url):
    rich = optuna.create_study(study_name="opt-rich", storage=url,
                               sampler=optuna.samplers.RandomSampler(seed=3))
    rich.set_user_attr("dataset", "fashion-mnist")
    rich.set_user_attr("nested", {"a": [1, 2.5, None, True, "x"], "b": {"c": {}}})
    rich.optimize(rich_objective, n_trials=9, catch=(ValueError,))
    rich.enqueue_trial({"f_uniform": 0.5, "c_mixed": "sgd"}, user_attrs={"source": "enqueue"})
    running = rich.ask()  # claims the enqueued trial: RUNNING, with its fixed params
    rich_objective(running)
    rich.enqueue_trial({"i_plain": 7})  # stays WAITING

    multi = optuna.create_study(study_name="opt-multi", storage=url,
                                directions=["minimize", "maximize"],
                                sampler=optuna.samplers.RandomSampler(seed=4))

    def multi_objective(trial):
        x = trial.suggest_float("x", -2.0, 2.0)
        k = trial.suggest_categorical("k", ["a", "b"])
        if trial.number == 2:
            raise ValueError("multi failed")
        return x * x, (1.0 if k == "a" else 2.0) - x
    multi.optimize(multi_objective, n_trials=5, catch=(ValueError,))

    # Distributions under their pre-3.0 names, as old Optuna databases hold them. Optuna 3.1
    # converts them when it writes, so the old JSON is put into the file directly.
    legacy = optuna.create_study(study_name="opt-legacy", storage=url)
    legacy.add_trial(optuna.trial.create_trial(
        params={"u": 0.5, "lu": 0.01, "du": 0.4, "iu": 4, "ilu": 8},
        distributions={"u": D.FloatDistribution(0.0, 1.0),
                       "lu": D.FloatDistribution(1e-3, 1.0, log=True),
                       "du": D.FloatDistribution(0.0, 1.0, step=0.2),
                       "iu": D.IntDistribution(0, 10, step=2),
                       "ilu": D.IntDistribution(1, 64, log=True)},
        value=2.0))
    with sqlite3.connect(url[len("sqlite:///"):]) as db:
        for name, text in LEGACY_JSON.items():
            db.execute("UPDATE trial_params SET distribution_json = ? WHERE param_name = ? AND "
                       "trial_id IN (SELECT trial_id FROM trials t JOIN studies s "
                       "ON s.study_id = t.study_id WHERE s.study_name = 'opt-legacy')",
                       (text, name))
    db.close()

    branin = optuna.create_study(study_name="opt-branin", storage=url,
                                 sampler=optuna.samplers.RandomSampler(seed=5))
    branin.optimize(lambda t: ic.branin(t.suggest_float("x", -5.0, 10.0),
                                        t.suggest_float("y", 0.0, 15.0)), n_trials=6)
    branin.enqueue_trial({"x": 1.0, "y": 2.0})


def setUpModule():
    global URL
    URL = ic.storage_url(os.path.join(ic.WORKDIR, "optuna.db"))
    make_optuna_studies(URL)


def knob(*args, check=True):
    return ic.run([ic.ARGS.knob, *args], check=check)


def load(name):
    return optuna.load_study(study_name=name, storage=URL)


STUDIES = ["opt-rich", "opt-multi", "opt-legacy", "opt-branin"]


class OptunaToKnob(unittest.TestCase):
    def test_fixture_is_what_we_meant(self):
        # Guards the fixture itself: every state and the odd values are really there.
        trials = load("opt-rich").trials
        self.assertEqual([t.state for t in trials],
                         [State.COMPLETE] * 4 + [State.PRUNED, State.FAIL] +
                         [State.COMPLETE] * 3 + [State.RUNNING, State.WAITING])
        self.assertEqual(trials[3].values, [math.inf])
        self.assertTrue(math.isnan(trials[1].intermediate_values[1]))
        self.assertEqual(trials[4].values, [0.5])
        self.assertEqual(trials[9].params["f_uniform"], 0.5)
        with sqlite3.connect(URL[len("sqlite:///"):]) as db:
            stored = dict(db.execute("SELECT param_name, distribution_json FROM trial_params "
                                     "WHERE distribution_json LIKE '%Uniform%'").fetchall())
        db.close()
        self.assertEqual(stored, LEGACY_JSON)

    def test_study_list_json(self):
        listed = json.loads(knob("study", "list", "--storage", URL, "-f", "json").stdout)
        self.assertEqual([s["study_name"] for s in listed], STUDIES)
        for item in listed:
            study = load(item["study_name"])
            trials = study.trials
            with self.subTest(study=study.study_name):
                self.assertEqual(item["directions"], ",".join(d.name for d in study.directions))
                self.assertEqual(item["n_trials"], len(trials))
                counts = {}
                for t in trials:
                    counts[t.state.name] = counts.get(t.state.name, 0) + 1
                self.assertEqual({k: v for k, v in item["trial_counts"].items() if v}, counts)
                complete = [t.values[0] for t in trials if t.state == State.COMPLETE]
                if len(study.directions) == 1 and complete:
                    best = (min if study.direction.name == "MINIMIZE" else max)(complete)
                    self.assertEqual(item["best_value"], best)
                else:
                    self.assertIsNone(item["best_value"])
                start = min(t.datetime_start for t in trials if t.datetime_start)
                self.assertEqual(ic.parse_time(item["datetime_start"]), start)

    def test_study_show_json(self):
        for name in STUDIES:
            with self.subTest(study=name):
                shown = json.loads(knob("study", "show", "--storage", URL, "--study-name", name,
                                        "-f", "json").stdout)
                ic.compare_study(self, shown, load(name))

    def test_study_export_json(self):
        for name in STUDIES:
            with self.subTest(study=name):
                exported = json.loads(knob("study", "export", "--storage", URL, "--study-name",
                                           name, "--format", "json").stdout)
                ic.compare_study(self, exported, load(name))
        path = os.path.join(ic.WORKDIR, "rich.json")
        knob("study", "export", "--storage", URL, "--study", "opt-rich", "--format", "json",
             "-o", path)
        with open(path) as f:
            ic.compare_study(self, json.load(f), load("opt-rich"))

    def test_legacy_distributions(self):
        exported = json.loads(knob("study", "export", "--storage", URL, "--study-name",
                                   "opt-legacy", "--format", "json").stdout)
        self.assertEqual(exported["trials"][0]["distributions"], {
            "u": {"name": "FloatDistribution",
                  "attributes": {"step": None, "low": 0.0, "high": 1.0, "log": False}},
            "lu": {"name": "FloatDistribution",
                   "attributes": {"step": None, "low": 0.001, "high": 1.0, "log": True}},
            "du": {"name": "FloatDistribution",
                   "attributes": {"step": 0.2, "low": 0.0, "high": 1.0, "log": False}},
            "iu": {"name": "IntDistribution",
                   "attributes": {"log": False, "step": 2, "low": 0, "high": 10}},
            "ilu": {"name": "IntDistribution",
                    "attributes": {"log": True, "step": 1, "low": 1, "high": 64}}})
        self.assertEqual(exported["trials"][0]["params"],
                         {"u": 0.5, "lu": 0.01, "du": 0.4, "iu": 4, "ilu": 8})

    def test_study_export_csv(self):
        for name in STUDIES:
            with self.subTest(study=name):
                self.check_csv(name, knob("study", "export", "--storage", URL, "--study-name",
                                          name, "--format", "csv").stdout)

    def check_csv(self, name, text):
        study = load(name)
        trials = study.trials
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        n_obj = len(study.directions)
        value_cols = ["value"] if n_obj == 1 else [f"values_{i}" for i in range(n_obj)]
        params = sorted({p for t in trials for p in t.params})
        attrs = sorted({a for t in trials for a in t.user_attrs})
        self.assertEqual(list(rows[0].keys()) if rows else [],
                         ["number"] + value_cols + ["datetime_start", "datetime_complete",
                                                    "duration"] +
                         [f"params_{p}" for p in params] + [f"user_attrs_{a}" for a in attrs] +
                         ["state"])
        self.assertEqual(len(rows), len(trials))
        for row, t in zip(rows, trials):
            w = f"{name} trial {t.number}"
            self.assertEqual(int(row["number"]), t.number, w)
            self.assertEqual(row["state"], t.state.name, w)
            for i, col in enumerate(value_cols):
                if t.values is None:
                    self.assertEqual(row[col], "", w)
                else:
                    self.assertEqual(float(row[col]), t.values[i], f"{w} {col}")
            for col, when in (("datetime_start", t.datetime_start),
                              ("datetime_complete", t.datetime_complete)):
                self.assertEqual(ic.parse_time(row[col] or None), when, f"{w} {col}")
            if t.datetime_start and t.datetime_complete:
                self.assertAlmostEqual(float(row["duration"]),
                                       (t.datetime_complete - t.datetime_start).total_seconds(),
                                       delta=2e-6)
            else:
                self.assertEqual(row["duration"], "", w)
            for p in params:
                # As Python's str() prints the value (None, True, 0.5, 1e-05, adam).
                expected = str(t.params[p]) if p in t.params else ""
                self.assertEqual(row[f"params_{p}"], expected, f"{w} params_{p}")
            for a in attrs:
                cell = row[f"user_attrs_{a}"]
                if a not in t.user_attrs:
                    self.assertEqual(cell, "", w)
                elif isinstance(t.user_attrs[a], str):
                    self.assertEqual(cell, t.user_attrs[a], f"{w} user_attrs_{a}")
                else:
                    self.assertEqual(json.loads(cell), t.user_attrs[a], f"{w} user_attrs_{a}")

    def test_export_csv_columns_are_trials_dataframe_columns(self):
        try:
            import pandas  # noqa: F401  (trials_dataframe needs it)
        except ImportError:
            self.skipTest("pandas (python3-pandas) is not installed")
        for name in STUDIES:
            with self.subTest(study=name):
                df = load(name).trials_dataframe(attrs=(
                    "number", "value", "datetime_start", "datetime_complete", "duration",
                    "params", "user_attrs", "state"))
                rows = list(csv.DictReader(io.StringIO(knob(
                    "study", "export", "--storage", URL, "--study-name", name, "--format",
                    "csv").stdout, newline="")))
                self.assertEqual(list(rows[0].keys()), list(df.columns))
                self.assertEqual([int(r["number"]) for r in rows], list(df["number"]))
                self.assertEqual([r["state"] for r in rows], list(df["state"]))
                for col in df.columns:
                    if col.startswith("value"):
                        self.assertEqual([float(r[col]) if r[col] else None for r in rows],
                                         [None if math.isnan(v) else v for v in df[col]], col)

    def test_tune_continues_optuna_study(self):
        before = load("opt-branin").trials
        self.assertEqual([t.state for t in before], [State.COMPLETE] * 6 + [State.WAITING])
        proc = knob("tune", "--storage", URL, "--study-name", "opt-branin", "--objective",
                    "branin", "--n-trials", "5", "--seed", "1", "--quiet")
        study = load("opt-branin")
        after = study.trials
        # knob runs the trial Optuna enqueued (number 6) first, then creates 7..10.
        self.assertEqual([t.number for t in after], list(range(11)))
        self.assertEqual([t.state for t in after], [State.COMPLETE] * 11)
        self.assertEqual(len({t._trial_id for t in after}), 11)
        self.assertEqual(after[6].params, {"x": 1.0, "y": 2.0})
        for old, new in zip(before[:6], after[:6]):
            self.assertEqual((old.params, old.values, old.datetime_complete),
                             (new.params, new.values, new.datetime_complete))
        space = {"x": D.FloatDistribution(-5.0, 10.0), "y": D.FloatDistribution(0.0, 15.0)}
        for t in after[6:]:
            self.assertEqual(t.distributions, space, t.number)
            self.assertTrue(-5.0 <= t.params["x"] <= 10.0 and 0.0 <= t.params["y"] <= 15.0)
            self.assertAlmostEqual(t.value, ic.branin(t.params["x"], t.params["y"]),
                                   delta=1e-12 * max(1.0, abs(t.value)))
            self.assertLessEqual(t.datetime_start, t.datetime_complete)
        self.assertEqual(len({(t.params["x"], t.params["y"]) for t in after}), 11)
        # knob's report of the best trial is Optuna's best.
        best = min(after, key=lambda t: t.value)
        m = re.search(r"best value (\S+) \(trial (\d+)", proc.stdout)
        self.assertIsNotNone(m, proc.stdout)
        self.assertEqual((float(m.group(1)), int(m.group(2))), (best.value, best.number))
        # And Optuna goes on after knob.
        study.optimize(lambda t: ic.branin(t.suggest_float("x", -5.0, 10.0),
                                           t.suggest_float("y", 0.0, 15.0)), n_trials=2)
        self.assertEqual([t.number for t in study.trials], list(range(13)))
        # knob wrote to the file and left its revision as Optuna made it.
        self.assertEqual(ic.alembic_revision(URL[len("sqlite:///"):]), ic.REVISION)

    def test_missing_study_is_an_error(self):
        proc = knob("study", "show", "--storage", URL, "--study-name", "no-such-study",
                    check=False)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("no-such-study", proc.stderr)


if __name__ == "__main__":
    ic.main(__doc__, knob="the knob executable")
