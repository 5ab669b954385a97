#!/usr/bin/python3
"""Optuna's schema revisions between knob and Optuna (3.1 or 4.9: interop_common.py), on SQLite
files through the knob CLI:

  * knob creates v3.2.0.a by default and v3.0.0.d with ?schema=v3.0.0.d; Optuna 4.9 opens the
    first, Optuna 3.1 the second, and each refuses the other (Optuna's own behaviour);
  * `knob storage upgrade` brings a v3.0.0.d file to v3.2.0.a keeping its studies (a second
    run says it is current and changes no byte); `optuna storage upgrade` (4.9) on a knob
    v3.0.0.d file succeeds beside knob's own indexes and knob reads and continues the result;
  * bad input: `knob storage upgrade` and `knob study list` on a future revision, a non-Optuna
    SQLite database, a file that is no database: exit 2 naming the file and revision, the file
    byte-identical;
  * Optuna 4.9's TPESampler (and GPSampler, where Debian's torch/scipy run it) continues a knob
    study.

  /usr/bin/python3 schema_revisions.py --knob build/knob --tmp DIR
"""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import unittest

import interop_common as ic
from interop_common import optuna

State = optuna.trial.TrialState
SPACE = {"x": optuna.distributions.FloatDistribution(-5.0, 10.0),
         "y": optuna.distributions.FloatDistribution(0.0, 15.0)}
OTHER = "v3.2.0.a" if ic.OPTUNA == "3.1" else "v3.0.0.d"  # the revision it refuses


def knob(*args, check=True):
    return ic.run([ic.ARGS.knob, *args], check=check)


def path_of(name):
    return os.path.join(ic.WORKDIR, name)


def tune(url, study, n):
    knob("tune", "--storage", url, "--study-name", study, "--objective", "branin", "--n-trials",
         str(n), "--seed", "3", "--quiet")


def indexes(path):
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND "
                          "tbl_name = 'trials' AND sql IS NOT NULL ORDER BY name").fetchall()
    db.close()
    return [r[0] for r in rows]


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def branin(trial):
    return ic.branin(trial.suggest_float("x", -5.0, 10.0), trial.suggest_float("y", 0.0, 15.0))


class Revisions(unittest.TestCase):
    def check_branin_trials(self, trials, n):
        self.assertEqual([t.number for t in trials], list(range(n)))
        self.assertEqual([t.state for t in trials], [State.COMPLETE] * n)
        for t in trials:
            self.assertEqual(t.distributions, SPACE, t.number)
            self.assertAlmostEqual(t.value, ic.branin(t.params["x"], t.params["y"]),
                                   delta=1e-12 * max(1.0, abs(t.value)))

    def test_each_optuna_opens_the_revision_it_writes_and_refuses_the_other(self):
        files = {"v3.2.0.a": path_of("default.db"), "v3.0.0.d": path_of("old.db")}
        tune(ic.storage_url(files["v3.2.0.a"]), "s", 3)
        tune(ic.storage_url(files["v3.0.0.d"]) + "?schema=v3.0.0.d", "s", 3)
        for revision, path in files.items():
            self.assertEqual(ic.alembic_revision(path), revision)
        study = optuna.load_study(study_name="s", storage=ic.storage_url(files[ic.REVISION]))
        self.check_branin_trials(study.trials, 3)
        refused = files[OTHER]
        before = read_bytes(refused)
        with self.assertRaisesRegex(RuntimeError, "no longer compatible with the table schema"):
            optuna.load_study(study_name="s", storage=ic.storage_url(refused))
        self.assertEqual(ic.alembic_revision(refused), OTHER)
        # knob keeps each file at its revision while it goes on writing.
        for revision, path in files.items():
            tune(ic.storage_url(path), "s", 1)
            self.assertEqual(ic.alembic_revision(path), revision)

    def test_knob_storage_upgrade(self):
        path = path_of("upgrade.db")
        url = ic.storage_url(path)
        tune(url + "?schema=v3.0.0.d", "s", 4)
        proc = knob("storage", "upgrade", "--storage", url)
        self.assertIn(f"{url} upgraded from alembic revision v3.0.0.d to v3.2.0.a", proc.stdout)
        self.assertEqual(ic.alembic_revision(path), "v3.2.0.a")
        self.assertIn("trials_study_id_key", indexes(path))
        before = read_bytes(path)
        proc = knob("storage", "upgrade", "--storage", url)
        self.assertIn("already at alembic revision v3.2.0.a", proc.stdout)
        self.assertEqual(read_bytes(path), before, "an upgrade of a current file wrote to it")
        listed = json.loads(knob("study", "list", "--storage", url, "-f", "json").stdout)
        self.assertEqual(listed[0]["n_trials"], 4)
        if ic.OPTUNA == "4.9":
            study = optuna.load_study(study_name="s", storage=url)
            self.check_branin_trials(study.trials, 4)
            study.optimize(branin, n_trials=2)
            self.check_branin_trials(study.trials, 6)
        else:
            with self.assertRaisesRegex(RuntimeError, "no longer compatible"):
                optuna.load_study(study_name="s", storage=url)

    @unittest.skipUnless(ic.OPTUNA == "4.9", "Optuna 3.1 cannot upgrade to v3.2.0.a")
    def test_optuna_storage_upgrade_of_a_knob_file(self):
        path = path_of("optuna-upgrade.db")
        url = ic.storage_url(path)
        tune(url + "?schema=v3.0.0.d", "s", 3)
        env = dict(os.environ, PYTHONPATH=os.environ["KNOB_OPTUNA_PEER"])
        proc = subprocess.run(
            [sys.executable, "-c", "import sys, optuna.cli; sys.exit(optuna.cli.main())",
             "storage", "upgrade", "--storage", url],
            capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(ic.alembic_revision(path), "v3.2.0.a")
        self.assertEqual(indexes(path), ["ix_trials_study_id_knob", "ix_trials_waiting_knob",
                                         "trials_study_id_key"])
        tune(url, "s", 2)  # knob reads and continues it
        self.check_branin_trials(optuna.load_study(study_name="s", storage=url).trials, 5)
        self.assertEqual(ic.alembic_revision(path), "v3.2.0.a")

    @unittest.skipUnless(ic.OPTUNA == "4.9", "Optuna 3.1's samplers are covered by "
                         "optuna_to_knob/knob_to_optuna")
    def test_optuna_4_9_samplers_continue_a_knob_study(self):
        url = ic.storage_url(path_of("samplers.db"))
        tune(url, "s", 10)
        study = optuna.load_study(study_name="s", storage=url,
                                  sampler=optuna.samplers.TPESampler(seed=1, n_startup_trials=5))
        study.optimize(branin, n_trials=10)
        self.check_branin_trials(study.trials, 20)
        # And knob goes on after Optuna's sampler.
        tune(url, "s", 2)
        self.check_branin_trials(optuna.load_study(study_name="s", storage=url).trials, 22)

        # GPSampler, on a copy (a sampler that fails in ask() leaves a RUNNING trial behind).
        gp_path = path_of("samplers-gp.db")
        shutil.copyfile(path_of("samplers.db"), gp_path)
        gp_url = ic.storage_url(gp_path)
        try:
            study = optuna.load_study(study_name="s", storage=gp_url,
                                      sampler=optuna.samplers.GPSampler(seed=1))
            study.optimize(branin, n_trials=3)
        except Exception as e:  # noqa: BLE001  (what Debian's torch/scipy lack, said below)
            print(f"\nGPSampler does not run on Debian's torch {torch_version()}: "
                  f"{type(e).__name__}: {e}", flush=True)
        else:
            print("\nGPSampler (Debian's torch/scipy) continued the knob study", flush=True)
            self.check_branin_trials(study.trials, 25)


def torch_version():
    try:
        import torch
        return torch.__version__
    except ImportError:
        return "(not installed)"


OPTUNA_TABLES = (
    "CREATE TABLE version_info (version_info_id INTEGER NOT NULL PRIMARY KEY, "
    "schema_version INTEGER, library_version VARCHAR(256));"
    "CREATE TABLE trials (trial_id INTEGER NOT NULL PRIMARY KEY, number INTEGER, "
    "study_id INTEGER, state VARCHAR(8) NOT NULL, datetime_start DATETIME, "
    "datetime_complete DATETIME);"
    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY);")

# name -> (SQL to make the file, or bytes; what the error names besides the file)
BAD_FILES = {
    "future-revision": (OPTUNA_TABLES + "INSERT INTO version_info VALUES (1, 12, '5.1.0');"
                        "INSERT INTO alembic_version VALUES ('v5.1.0.a');",
                        "alembic revision v5.1.0.a is not one knob knows"),
    "future-schema": (OPTUNA_TABLES + "INSERT INTO version_info VALUES (1, 13, '6.0.0');"
                      "INSERT INTO alembic_version VALUES ('v6.0.0.a');",
                      "schema version 13, alembic revision v6.0.0.a"),
    "non-optuna": ("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);"
                   "INSERT INTO users (name) VALUES ('ada');",
                   "not an Optuna/knob study database"),
    "not-a-database": (b"hello, this is not a database\n", "not a database"),
}


class BadInput(unittest.TestCase):
    def test_bad_files_exit_2_untouched(self):
        for name, (content, names) in BAD_FILES.items():
            path = path_of(name + ".db")
            if isinstance(content, bytes):
                with open(path, "wb") as f:
                    f.write(content)
            else:
                with sqlite3.connect(path) as db:
                    db.executescript(content)
                db.close()
            before = read_bytes(path)
            url = ic.storage_url(path)
            for args in (["storage", "upgrade", "--storage", url],
                         ["study", "list", "--storage", url]):
                with self.subTest(file=name, verb=args[:2]):
                    proc = knob(*args, check=False)
                    self.assertEqual(proc.returncode, 2, proc.stderr)
                    self.assertIn(path, proc.stderr)
                    self.assertIn(names, proc.stderr)
                    self.assertEqual(read_bytes(path), before)
                    self.assertEqual(sorted(os.listdir(ic.WORKDIR)).count(name + ".db-wal"), 0)

    def test_bad_urls_exit_2(self):
        missing = path_of("missing.db")
        cases = [
            (["storage", "upgrade", "--storage", ic.storage_url(missing)],
             f"{missing}: no such SQLite file"),
            (["storage", "upgrade", "--storage", ":memory:"], "in-memory storage has no schema"),
            (["study", "list", "--storage", ic.storage_url(missing) + "?schema=v3.1.0.a"],
             "?schema= must name a revision knob writes"),
            (["storage", "upgrade"], "--storage"),
        ]
        for args, names in cases:
            with self.subTest(args=args):
                proc = knob(*args, check=False)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn(names, proc.stderr)
                self.assertFalse(os.path.exists(missing))


if __name__ == "__main__":
    ic.main(__doc__, knob="the knob executable")
