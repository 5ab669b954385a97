#!/usr/bin/python3
"""knob -> Optuna: write_study (C++, knob's SqliteStorage) writes two studies and its own JSON
export of them; Optuna (3.1 or 4.9: interop_common.py) opens the file and must read the same studies, trials, numbers,
states, params and distributions, values (+-inf), intermediate values (NaN, +-inf) and
attributes — and must be able to continue both studies.

  /usr/bin/python3 knob_to_optuna.py --write-study build/tests/interop/write_study --tmp DIR
"""

import json
import math
import os
import shutil
import unittest

import interop_common as ic
from interop_common import optuna

FloatD = optuna.distributions.FloatDistribution
IntD = optuna.distributions.IntDistribution
CatD = optuna.distributions.CategoricalDistribution
State = optuna.trial.TrialState

# What write_study.cc suggests, as Optuna spells it.
RICH_SPACE = {
    "f_uniform": FloatD(-1.5, 2.5),
    "f_log": FloatD(1e-5, 1e-1, log=True),
    "f_step": FloatD(0.0, 1.0, step=0.25),
    "i_plain": IntD(-3, 7),
    "i_log": IntD(1, 1024, log=True),
    "i_step": IntD(0, 10, step=2),
    "c_mixed": CatD([None, False, 3, 2.5, "adam"]),
}
ADAM_BETA = FloatD(0.8, 0.999)
RICH_STATES = [State.COMPLETE] * 5 + [State.PRUNED, State.PRUNED, State.FAIL, State.COMPLETE,
                                      State.COMPLETE, State.RUNNING, State.WAITING, State.WAITING]
FIXED_11 = {"f_uniform": 0.5, "f_log": 0.001, "f_step": 0.75, "i_plain": 2, "i_log": 64,
            "i_step": 4, "c_mixed": "adam", "adam_beta": 0.9}
FIXED_12 = {"c_mixed": None, "i_plain": -3}
STUDY_CONFIG = {"layers": [64, 32], "dropout": 0.1,
                "optimizer": {"name": "adam", "betas": [0.9, 0.999]}, "none": None, "ok": True,
                "unicode": "h\u00e9llo \u2713"}


def rich_value(p):
    """The objective of write_study.cc from a trial's params."""
    value = (p["f_uniform"] ** 2 + math.log10(p["f_log"]) + p["f_step"] + p["i_plain"] +
             p["i_step"] + math.log2(p["i_log"]))
    if p["c_mixed"] == "adam":
        value += p["adam_beta"]
    return value


def suggest_rich(trial):
    """The same search space through Optuna's define-by-run API."""
    p = {
        "f_uniform": trial.suggest_float("f_uniform", -1.5, 2.5),
        "f_log": trial.suggest_float("f_log", 1e-5, 1e-1, log=True),
        "f_step": trial.suggest_float("f_step", 0.0, 1.0, step=0.25),
        "i_plain": trial.suggest_int("i_plain", -3, 7),
        "i_log": trial.suggest_int("i_log", 1, 1024, log=True),
        "i_step": trial.suggest_int("i_step", 0, 10, step=2),
        "c_mixed": trial.suggest_categorical("c_mixed", [None, False, 3, 2.5, "adam"]),
    }
    if p["c_mixed"] == "adam":
        p["adam_beta"] = trial.suggest_float("adam_beta", 0.8, 0.999)
    return p


def setUpModule():
    global DB, URL, EXPORT
    DB = os.path.join(ic.WORKDIR, "knob.db")
    export_path = os.path.join(ic.WORKDIR, "knob_export.json")
    # For Optuna 3.1 the file is created at v3.0.0.d (?schema=), for 4.9 at knob's default.
    ic.run([ic.ARGS.write_study, ic.knob_url(ic.storage_url(DB)), export_path])
    with open(export_path) as f:
        EXPORT = {s["study_name"]: s for s in json.load(f)["studies"]}
    URL = ic.storage_url(DB)


def copy_db(name):
    """A copy of the database to continue in, so the read-only tests see what knob wrote."""
    path = os.path.join(ic.WORKDIR, name)
    shutil.copyfile(DB, path)
    return ic.storage_url(path)


class KnobToOptuna(unittest.TestCase):
    def test_file_is_at_the_revision_this_optuna_writes(self):
        self.assertEqual(ic.alembic_revision(DB), ic.REVISION)

    def test_schema_and_summaries(self):
        summaries = {s.study_name: s for s in optuna.get_all_study_summaries(URL)}
        self.assertEqual(sorted(summaries), ["knob-multi", "knob-rich"])
        rich = summaries["knob-rich"]
        self.assertEqual(rich.direction, optuna.study.StudyDirection.MINIMIZE)
        self.assertEqual(rich.n_trials, 13)
        self.assertEqual(rich.best_trial.number, 4)  # its value is -inf
        self.assertEqual(rich.user_attrs, {"dataset": "fashion-mnist", "config": STUDY_CONFIG})
        multi = summaries["knob-multi"]
        self.assertEqual(multi.directions, [optuna.study.StudyDirection.MINIMIZE,
                                            optuna.study.StudyDirection.MAXIMIZE])
        self.assertEqual(multi.n_trials, 8)

    def test_rich_matches_knob_export(self):
        ic.compare_study(self, EXPORT["knob-rich"], optuna.load_study(study_name="knob-rich",
                                                                      storage=URL))

    def test_multi_matches_knob_export(self):
        ic.compare_study(self, EXPORT["knob-multi"], optuna.load_study(study_name="knob-multi",
                                                                       storage=URL))

    def test_rich_trials_as_written(self):
        # Independent of knob's export: what write_study.cc wrote, as Optuna reads it.
        study = optuna.load_study(study_name="knob-rich", storage=URL)
        trials = study.trials
        self.assertEqual([t.number for t in trials], list(range(13)))
        self.assertEqual([t.state for t in trials], RICH_STATES)
        self.assertEqual(len({t._trial_id for t in trials}), 13)
        for t in trials:
            if t.state == State.WAITING:
                self.assertEqual(t.params, {})
                self.assertIsNone(t.datetime_start)
                continue
            self.assertIsNotNone(t.datetime_start, t.number)
            self.assertEqual(t.datetime_complete is None, t.state == State.RUNNING, t.number)
            expected = dict(RICH_SPACE)
            if t.params["c_mixed"] == "adam":
                expected["adam_beta"] = ADAM_BETA
            self.assertEqual(t.distributions, expected, f"trial {t.number}")
            for name, value in t.params.items():
                dist = t.distributions[name]
                self.assertTrue(dist._contains(dist.to_internal_repr(value)),
                                f"trial {t.number} {name}={value!r} outside {dist}")
                if isinstance(dist, IntD):
                    self.assertIs(type(value), int, f"trial {t.number} {name}")
                elif isinstance(dist, FloatD):
                    self.assertIs(type(value), float, f"trial {t.number} {name}")
            if t.number in (0, 1, 2, 8):
                self.assertAlmostEqual(t.value, rich_value(t.params), delta=1e-9)

        by = {t.number: t for t in trials}
        iv = by[1].intermediate_values
        self.assertEqual(sorted(iv), [0, 1, 2, 3, 4])
        self.assertEqual((iv[0], iv[2], iv[3], iv[4]), (0.5, math.inf, -math.inf, 0.25))
        self.assertTrue(math.isnan(iv[1]))
        self.assertEqual(by[3].values, [math.inf])
        self.assertEqual(by[4].values, [-math.inf])
        self.assertEqual(by[5].intermediate_values, {0: 1.0, 10: 0.5, 20: 1 / 3, 30: 0.25})
        self.assertEqual(by[5].values, [0.25])  # PRUNED keeps its last intermediate value
        self.assertEqual(by[6].values, None)  # ... unless that one is NaN
        self.assertEqual(by[7].values, None)
        self.assertEqual(by[7].system_attrs["fail_reason"], "diverged: loss is NaN at step 1")
        self.assertEqual(by[7].intermediate_values, {0: 2.0})
        self.assertEqual(by[8].user_attrs, {
            "history": {"loss": [1.5, 0.75, 0.5],
                        "best": {"epoch": 2, "metrics": {"acc": 0.875, "f1": None}},
                        "tags": ["a", "b"]},
            "note": "h\u00e9llo \u2713", "count": 42, "flag": False})
        self.assertEqual(by[9].value, 1.2345678901234567e+300)
        self.assertEqual(by[10].intermediate_values, {0: 0.125})
        self.assertEqual(by[10].user_attrs, {"worker": "write_study"})
        self.assertEqual(by[11].system_attrs, {"fixed_params": FIXED_11})
        self.assertEqual(by[11].user_attrs, {"source": "enqueue"})
        self.assertEqual(by[12].system_attrs, {"fixed_params": FIXED_12})
        # Not asserted: study.best_trial. Optuna 3.1's RDB get_best_trial orders by the value
        # column, where it stores +-inf as NULL (SQLite sorts NULL first), so it returns the
        # +inf trial 3 here — the same for a study Optuna wrote itself. get_all_study_summaries
        # (min in Python) gets trial 4; see test_schema_and_summaries.

    def test_rich_continued_by_optuna(self):
        url = copy_db("continue_rich.db")
        study = optuna.load_study(study_name="knob-rich", storage=url,
                                  sampler=optuna.samplers.RandomSampler(seed=0))
        seen = {}

        def objective(trial):
            p = suggest_rich(trial)
            seen[trial.number] = p
            return rich_value(p)

        study.optimize(objective, n_trials=4)
        # Optuna runs the two trials knob enqueued first, with their fixed params.
        self.assertEqual(sorted(seen), [11, 12, 13, 14])
        self.assertEqual({k: seen[11][k] for k in FIXED_11}, FIXED_11)
        self.assertEqual({k: seen[12][k] for k in FIXED_12}, FIXED_12)
        trials = study.trials
        self.assertEqual([t.number for t in trials], list(range(15)))
        self.assertEqual([t.state for t in trials],
                         RICH_STATES[:11] + [State.COMPLETE] * 4)
        for t in trials[11:]:
            self.assertEqual(t.params, seen[t.number])
            self.assertAlmostEqual(t.value, rich_value(t.params), delta=1e-9)
        self.assertEqual(trials[11].user_attrs, {"source": "enqueue"})

    def test_multi_trials_as_written(self):
        study = optuna.load_study(study_name="knob-multi", storage=URL)
        trials = study.trials
        self.assertEqual([t.number for t in trials], list(range(8)))
        self.assertEqual([t.state for t in trials],
                         [State.COMPLETE] * 4 + [State.FAIL, State.PRUNED] + [State.COMPLETE] * 2)
        self.assertEqual(trials[4].system_attrs["fail_reason"], "multi: failed on purpose")
        self.assertIsNone(trials[5].values)
        self.assertEqual(trials[6].values, [math.inf, -math.inf])
        for t in trials:
            self.assertEqual(t.distributions, {"x": FloatD(-2.0, 2.0),
                                               "n": IntD(1, 100, log=True)})
            if t.number in (0, 1, 2, 3, 7):
                x, n = t.params["x"], t.params["n"]
                self.assertEqual(t.values, [x * x, n - x])
        # Optuna's Pareto front of what knob wrote.
        complete = [t for t in trials if t.state == State.COMPLETE]

        def dominated(a):
            return any(b.values[0] <= a.values[0] and b.values[1] >= a.values[1] and
                       b.values != a.values for b in complete)
        front = sorted(t.number for t in complete if not dominated(t))
        self.assertEqual(sorted(t.number for t in study.best_trials), front)

    def test_multi_continued_by_optuna(self):
        url = copy_db("continue_multi.db")
        study = optuna.load_study(study_name="knob-multi", storage=url,
                                  sampler=optuna.samplers.RandomSampler(seed=0))

        def objective(trial):
            x = trial.suggest_float("x", -2.0, 2.0)
            n = trial.suggest_int("n", 1, 100, log=True)
            return x * x, n - x

        study.optimize(objective, n_trials=3)
        trials = study.trials
        self.assertEqual([t.number for t in trials], list(range(11)))
        for t in trials[8:]:
            self.assertEqual(t.state, State.COMPLETE)
            self.assertEqual(t.values, [t.params["x"] ** 2, t.params["n"] - t.params["x"]])

    def test_trials_dataframe(self):
        try:
            import pandas  # noqa: F401  (optional: trials_dataframe needs it)
        except ImportError:
            self.skipTest("pandas (python3-pandas) is not installed")
        study = optuna.load_study(study_name="knob-rich", storage=URL)
        df = study.trials_dataframe()
        self.assertEqual(list(df["number"]), list(range(13)))
        self.assertEqual(list(df["state"]), [s.name for s in RICH_STATES])
        self.assertIn("params_c_mixed", df.columns)
        self.assertIn("user_attrs_history", df.columns)


if __name__ == "__main__":
    ic.main(__doc__, write_study="the write_study program (C++, knob)")
