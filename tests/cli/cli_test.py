#!/usr/bin/python3
"""End-to-end tests of the `knob` executable, run as a user runs it, on real SQLite files.

Run by CTest with Debian's python3 (tests/cli/CMakeLists.txt):
    /usr/bin/python3 tests/cli/cli_test.py --knob build/knob [-v] [unittest args]
or with the binary in $KNOB_BIN. Only the standard library is used.

Two parts: the verbs working together (tune with every sampler/pruner and 1 or 2 jobs,
then list/show/export agreeing with each other), and a table of malformed inputs, each of
which must exit with code 2, name the bad field and value on stderr, and leave every file
in the directory byte-identical.
"""
import concurrent.futures
import csv
import hashlib
import io
import json
import math
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest


def _take_knob_argument():
    for i, arg in enumerate(sys.argv[1:], start=1):
        if arg == "--knob" and i + 1 < len(sys.argv):
            path = sys.argv[i + 1]
            del sys.argv[i:i + 2]
            return path
        if arg.startswith("--knob="):
            del sys.argv[i]
            return arg.split("=", 1)[1]
    return os.environ.get("KNOB_BIN", "")


KNOB = os.path.abspath(_take_knob_argument() or "knob")
# Independent invocations run side by side: a knob built with libtorch spends most of a short
# command loading shared libraries.
WORKERS = max(2, os.cpu_count() or 2)


def run_knob(args, cwd):
    return subprocess.run([KNOB, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


class KnobTestCase(unittest.TestCase):
    """Each test runs in its own temporary directory (relative sqlite:/// URLs land there)."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="knob-cli-test-")
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def check_exit(self, args, proc, expect):
        self.assertEqual(
            proc.returncode, expect,
            f"knob {' '.join(args)} exited {proc.returncode}, expected {expect}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")

    def knob(self, *args, expect=0):
        """Runs knob in the test directory; checks the exit code unless expect is None."""
        proc = run_knob(args, self.dir)
        if expect is not None:
            self.check_exit(args, proc, expect)
        return proc

    def knob_many(self, commands, expect=0):
        """Runs independent commands at once; returns their results in order."""
        with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
            procs = list(pool.map(lambda args: run_knob(args, self.dir), commands))
        if expect is not None:
            for args, proc in zip(commands, procs):
                self.check_exit(args, proc, expect)
        return procs

    def path(self, name):
        return os.path.join(self.dir, name)

    def show_json(self, storage, study):
        return json.loads(self.knob("study", "show", "--storage", storage, "--study", study,
                                    "-f", "json").stdout)


class VersionAndHelp(KnobTestCase):
    VERBS = [["study"], ["study", "create"], ["study", "list"], ["study", "show"],
             ["study", "delete"], ["study", "export"], ["tune"]]

    def test_version(self):
        proc = self.knob("--version")
        self.assertRegex(proc.stdout.strip(), r"^knob \d+\.\d+\.\d+$")

    def test_help_on_every_verb(self):
        top = self.knob("--help").stdout
        self.assertIn("Usage", top)
        listed = re.findall(r"^  (\w+) ", top.split("Subcommands:")[1], re.M)
        self.assertTrue({"study", "tune"} <= set(listed), top)
        verbs = self.VERBS + [[v] for v in listed if [v] not in self.VERBS]  # e.g. train
        for verb, proc in zip(verbs, self.knob_many([[*v, "--help"] for v in verbs])):
            with self.subTest(verb=" ".join(verb)):
                self.assertIn("Usage", proc.stdout)
                self.assertEqual(proc.stderr, "")
        self.assertEqual(os.listdir(self.dir), [])  # --help touches no storage


def branin(x, y):
    b, c = 5.1 / (4 * math.pi ** 2), 5 / math.pi
    return (y - b * x * x + c * x - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x) + 10


class TuneListShowExport(KnobTestCase):
    """tune with each sampler, pruner and job count; then every read verb tells one story."""

    STORAGE = "sqlite:///studies.db"
    CURVE_GRID = ["--grid", "lr=0.001,0.01,0.1", "--grid", "width=8,64,256"]
    READ_ALL = ("random-median-j2", "random-none-j1", "grid-median-j1", "grid-none-j2")

    def run_matrix(self):
        """Eight tune processes at once on one SQLite file, one study each."""
        runs, commands = {}, []
        for sampler in ("random", "grid"):
            for pruner in ("median", "none"):
                for jobs in ("1", "2"):
                    name = f"{sampler}-{pruner}-j{jobs}"
                    args = ["tune", "--storage", self.STORAGE, "--study", name, "--objective",
                            "curve", "--sampler", sampler, "--pruner", pruner, "--jobs", jobs,
                            "--quiet"]
                    args += self.CURVE_GRID if sampler == "grid" else ["--n-trials", "12",
                                                                       "--seed", "3"]
                    runs[name] = (sampler, pruner)
                    commands.append(args)
        # The file exists first: processes racing to create a new SQLite file are the storage
        # tests' concern (a rare "PRAGMA journal_mode = WAL failed: database is locked").
        # (`study list` no longer makes it: read-only verbs create nothing.)
        self.knob("study", "create", "--storage", self.STORAGE, "--study", "setup")
        self.knob("study", "delete", "--storage", self.STORAGE, "--study", "setup")
        for name, proc in zip(runs, self.knob_many(commands)):
            runs[name] += (proc.stdout,)
        return runs

    def test_verbs_agree(self):
        runs = self.run_matrix()
        reads = [["study", "list", "--storage", self.STORAGE, "-f", "json"],
                 ["study", "list", "--storage", self.STORAGE]]
        # Every study is read as JSON; a few, picked to cover both samplers, pruners and job
        # counts, through every other read verb too (each knob start costs ~0.7 s with libtorch).
        for name in runs:
            study = ["--storage", self.STORAGE, "--study", name]
            reads.append(["study", "show", *study, "-f", "json"])
            if name in self.READ_ALL:
                reads += [["study", "show", *study],
                          ["study", "export", *study, "--format", "json"],
                          ["study", "export", *study, "--format", "csv"]]
        reads.append(["study", "export", "--storage", self.STORAGE, "--study", "grid-none-j2",
                      "--format", "csv", "-o", "out.csv"])
        out = iter([proc.stdout for proc in self.knob_many(reads)])

        listed = json.loads(next(out))
        self.assertEqual(sorted(s["study_name"] for s in listed), sorted(runs))
        listed = {s["study_name"]: s for s in listed}
        table = next(out).splitlines()
        self.assertEqual(len(table), 2 + len(runs))  # header, rule, one row a study

        csv_text = {}
        for name, (sampler, pruner, tune_out) in runs.items():
            shown = json.loads(next(out))
            if name in self.READ_ALL:
                show_table, exported, csv_text[name] = (next(out) for _ in range(3))
            with self.subTest(study=name):
                trials = shown["trials"]
                self.assertEqual(shown["study_name"], name)
                self.assertEqual(shown["directions"], ["MINIMIZE"])
                self.assertEqual(len(trials), 9 if sampler == "grid" else 12)
                self.assertEqual(sorted(t["number"] for t in trials), list(range(len(trials))))
                states = [t["state"] for t in trials]
                self.assertTrue(set(states) <= {"COMPLETE", "PRUNED"}, states)
                if pruner == "none":
                    self.assertNotIn("PRUNED", states)
                if name == "random-median-j1":  # seeded, one job: the same trials every run
                    self.assertGreater(states.count("PRUNED"), 0)
                for t in trials:
                    self.assertEqual(sorted(t["params"]), ["lr", "width"])
                    self.assertEqual(len(t["values"]), 1)  # PRUNED keeps its last value
                    if t["state"] == "PRUNED":
                        last = max(t["intermediate_values"], key=int)
                        self.assertEqual(t["values"][0], t["intermediate_values"][last])
                    else:
                        self.assertEqual(len(t["intermediate_values"]), 10)
                if sampler == "grid":
                    points = {(t["params"]["lr"], t["params"]["width"]) for t in trials}
                    self.assertEqual(points, {(lr, w) for lr in (0.001, 0.01, 0.1)
                                              for w in (8, 64, 256)})

                complete = [t for t in trials if t["state"] == "COMPLETE"]
                best = min(complete, key=lambda t: t["values"][0])
                # tune's own summary
                match = re.match(r"best value (\S+) \(trial (\d+)\)", tune_out)
                self.assertIsNotNone(match, tune_out)
                self.assertEqual(float(match.group(1)), best["values"][0])
                self.assertEqual(int(match.group(2)), best["number"])
                # study list (json)
                summary = listed[name]
                self.assertEqual(summary["n_trials"], len(trials))
                self.assertEqual(summary["best_value"], best["values"][0])
                for state in ("COMPLETE", "PRUNED"):
                    self.assertEqual(summary["trial_counts"].get(state, 0), states.count(state))
                if name not in self.READ_ALL:
                    continue
                # study show (table)
                lines = show_table.splitlines()
                self.assertIn(f"{len(trials)} trials", lines[0])
                self.assertIn(f"best: trial {best['number']} with value {match.group(1)}",
                              lines[0])
                rows = lines[4:]
                self.assertEqual(len(rows), len(trials))
                for row, t in zip(rows, trials):
                    self.assertEqual(row.split()[:2], [str(t["number"]), t["state"]])
                # export json = show json
                self.assertEqual(json.loads(exported), shown)
                # export csv
                reader = list(csv.DictReader(io.StringIO(csv_text[name])))
                self.assertEqual(len(reader), len(trials))
                for row, t in zip(reader, trials):
                    self.assertEqual(int(row["number"]), t["number"])
                    self.assertEqual(row["state"], t["state"])
                    self.assertEqual(float(row["value"]), t["values"][0])
                    self.assertEqual(float(row["params_lr"]), t["params"]["lr"])
                    self.assertEqual(int(row["params_width"]), t["params"]["width"])
        with open(self.path("out.csv"), newline="") as f:  # -o writes what stdout shows
            self.assertEqual(f.read(), csv_text["grid-none-j2"])

        # The file is an Optuna database, as Python's sqlite3 sees it.
        db = sqlite3.connect(self.path("studies.db"))
        try:
            tables = {r[0] for r in
                      db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            self.assertTrue({"studies", "trials", "trial_params", "trial_values",
                             "trial_intermediate_values", "version_info",
                             "alembic_version"} <= tables, tables)
            self.assertEqual(db.execute("SELECT COUNT(*) FROM trials").fetchone()[0],
                             4 * 12 + 4 * 9)
            self.assertEqual(db.execute("SELECT COUNT(*) FROM studies").fetchone()[0], 8)
        finally:
            db.close()

    def test_create_delete_and_absolute_paths(self):
        storage = "sqlite:///" + self.path("abs.db")  # sqlite:////tmp/...: an absolute path
        self.assertTrue(storage.startswith("sqlite:////"))
        self.assertEqual(self.knob("study", "create", "--storage", storage, "--study", "mo",
                                   "--direction", "minimize", "maximize").stdout, "mo\n")
        self.knob("study", "create", "--storage", storage, "--study", "mo", "--skip-if-exists")
        self.assertEqual(self.show_json(storage, "mo")["directions"], ["MINIMIZE", "MAXIMIZE"])
        listed = json.loads(self.knob("study", "list", "--storage", storage, "-f", "json").stdout)
        self.assertEqual([s["study_name"] for s in listed], ["mo"])
        self.assertEqual(listed[0]["n_trials"], 0)
        self.knob("study", "delete", "--storage", storage, "--study", "mo")
        listed = json.loads(self.knob("study", "list", "--storage", storage, "-f", "json").stdout)
        self.assertEqual(listed, [])


class ModelBasedSamplersAndPruners(KnobTestCase):
    """Each sampler and pruner named on the command line runs, repeatably under a seed."""

    STORAGE = "sqlite:///models.db"

    def params(self, study):
        return [t["params"] for t in self.show_json(self.STORAGE, study)["trials"]]

    def test_samplers_are_repeatable_under_a_seed(self):
        for sampler in ("qmc", "gp", "cmaes"):
            with self.subTest(sampler=sampler):
                for run in ("a", "b"):
                    self.knob("tune", "--storage", self.STORAGE, "--study", sampler + run,
                              "--objective", "branin", "--sampler", sampler, "--n-trials", "15",
                              "--seed", "5", "--quiet")
                first, second = self.params(sampler + "a"), self.params(sampler + "b")
                self.assertEqual(len(first), 15)
                self.assertEqual(first, second)
                for p in first:
                    self.assertTrue(-5 <= p["x"] <= 10 and 0 <= p["y"] <= 15, p)

    def test_pruners_prune_and_asha_stores_its_rungs(self):
        for pruner in ("asha", "hyperband", "curve"):
            with self.subTest(pruner=pruner):
                self.knob("tune", "--storage", self.STORAGE, "--study", pruner, "--objective",
                          "curve", "--pruner", pruner, "--n-trials", "30", "--seed", "2",
                          "--quiet")
                states = [t["state"] for t in self.show_json(self.STORAGE, pruner)["trials"]]
                self.assertEqual(len(states), 30)
                self.assertGreater(states.count("PRUNED"), 0, states)
                self.assertGreater(states.count("COMPLETE"), 0, states)
        with sqlite3.connect(os.path.join(self.dir, "models.db")) as db:
            keys = {k for (k,) in db.execute(
                "SELECT a.key FROM trial_system_attributes a JOIN trials t USING (trial_id) "
                "JOIN studies s USING (study_id) WHERE s.study_name = 'asha'")}
        self.assertIn("completed_rung_0", keys)


class MultiObjectiveStudy(KnobTestCase):
    """A study file with two directions: knob tune prints the Pareto front and exits 0."""

    def test_pareto_front_is_printed(self):
        config = self.path("two.toml")
        with open(config, "w") as f:
            f.write('[study]\nstorage = "sqlite:///two.db"\nname = "two"\n'
                    'directions = ["minimize", "minimize"]\nn_trials = 12\nseed = 3\n'
                    'pruner = "none"\n[search]\nx = { low = 0.0, high = 1.0 }\n'
                    '[objective]\ncommand = "echo knob:value {x} -{x}"\n')
        out = self.knob("tune", config, "--quiet").stdout
        front = [line for line in out.splitlines() if line.startswith("trial ")]
        # x and -x never dominate each other: every complete trial is on the front.
        self.assertIn("12 trials on the Pareto front", out)
        self.assertEqual(len(front), 12, out)


class GridOverThreeByThree(KnobTestCase):
    GRID = ["--sampler", "grid", "--grid", "x=-5,0,5", "--grid", "y=0,5,10"]

    def check(self, jobs):
        storage = "sqlite:///grid.db"
        out = self.knob("tune", "--storage", storage, "--study", "g", "--objective", "branin",
                        "--jobs", jobs, "--quiet", *self.GRID).stdout
        trials = self.show_json(storage, "g")["trials"]
        self.assertEqual(len(trials), 9)
        self.assertEqual({t["state"] for t in trials}, {"COMPLETE"})
        points = {(t["params"]["x"], t["params"]["y"]) for t in trials}
        self.assertEqual(points, {(x, y) for x in (-5.0, 0.0, 5.0) for y in (0.0, 5.0, 10.0)})
        for t in trials:
            self.assertAlmostEqual(t["values"][0], branin(t["params"]["x"], t["params"]["y"]),
                                   places=9)
        best = min(branin(x, y) for x, y in points)
        self.assertAlmostEqual(float(re.match(r"best value (\S+)", out).group(1)), best, places=9)
        if jobs != "1":
            return
        # The grid is used up: running again adds nothing.
        self.knob("tune", "--storage", storage, "--study", "g", "--objective", "branin",
                  "--jobs", jobs, "--quiet", *self.GRID)
        self.assertEqual(len(self.show_json(storage, "g")["trials"]), 9)

    def test_one_job(self):
        self.check("1")

    def test_two_jobs(self):
        self.check("2")

    def test_auto_jobs(self):  # one per core
        self.check("auto")

    def test_grid_missing_a_parameter_is_refused_before_any_trial(self):
        proc = self.knob("tune", "--storage", "sqlite:///grid.db", "--study", "g", "--objective",
                         "branin", "--quiet", "--sampler", "grid", "--grid", "x=0,1", expect=2)
        self.assertIn('"y" is missing', proc.stderr)  # the parameter the grid lacks
        self.assertFalse(os.path.exists(self.path("grid.db")))


def _write_corrupt(path):
    with open(path, "wb") as f:
        f.write(random.Random(1).randbytes(8192))


def _write_foreign(path):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    db.execute("INSERT INTO notes (body) VALUES ('not a study')")
    db.commit()
    db.close()


# name, argv, what stderr must contain (the bad field and value, and what is allowed).
class Importance(KnobTestCase):
    """knob importance: a table and JSON of every parameter, largest first, summing to 1."""

    def test_table_and_json_agree(self):
        storage = "sqlite:///imp.db"
        self.knob("tune", "--storage", storage, "--study", "b", "--objective", "branin",
                  "--n-trials", "30", "--seed", "4", "--quiet")
        args = ["importance", "--storage", storage, "--study", "b"]
        table, as_json, again, mdi = self.knob_many(
            [args, args + ["--json"], args + ["--json"],
             args + ["--json", "--evaluator", "mean_decrease_impurity"]])
        out = json.loads(as_json.stdout)
        self.assertEqual(as_json.stdout, again.stdout)  # seeded: the same forest
        self.assertEqual(out["evaluator"], "fanova")
        self.assertEqual(json.loads(mdi.stdout)["evaluator"], "mean_decrease_impurity")
        for result in (out, json.loads(mdi.stdout)):
            rows = result["importances"]
            self.assertEqual(sorted(r["name"] for r in rows), ["x", "y"])
            values = [r["importance"] for r in rows]
            self.assertEqual(values, sorted(values, reverse=True))
            self.assertAlmostEqual(sum(values), 1.0, places=9)
        lines = table.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["param", "importance"])
        self.assertEqual([line.split()[0] for line in lines[1:] if line.strip("- ")],
                         [r["name"] for r in out["importances"]])


# Every case exits with code 2 and leaves the directory's files byte-identical.
GOOD = "sqlite:///good.db"
MALFORMED = [
    ("unknown storage scheme", ["study", "list", "--storage", "mysql://localhost/db"],
     ["storage", "mysql://localhost/db", "sqlite:///PATH"]),
    ("malformed postgresql URL",
     ["study", "list", "--storage", "postgresql+://knob@localhost/knob"],
     ["storage", "postgresql+://knob@localhost/knob", "postgresql://USER"]),
    ("missing sqlite path", ["study", "list", "--storage", "sqlite:///"],
     ["storage", '"sqlite:///"', "path is missing"]),
    ("sqlite path in a missing directory",
     ["study", "show", "--storage", "sqlite:///no/such/dir/k.db", "--study", "s1"],
     ["no/such/dir/k.db"]),
    ("corrupt db: list", ["study", "list", "--storage", "sqlite:///corrupt.db"],
     ["corrupt.db", "not an SQLite database"]),
    ("corrupt db: tune", ["tune", "--storage", "sqlite:///corrupt.db", "--n-trials", "1"],
     ["corrupt.db", "not an SQLite database"]),
    ("foreign db: show", ["study", "show", "--storage", "sqlite:///foreign.db", "--study", "s1"],
     ["foreign.db", "not an Optuna/knob study database"]),
    ("unknown study: show", ["study", "show", "--storage", GOOD, "--study", "nope"],
     ["--study-name", '"nope"', "s1"]),
    ("unknown study: delete", ["study", "delete", "--storage", GOOD, "--study", "nope"],
     ["--study-name", '"nope"', "s1"]),
    ("unknown study: export",
     ["study", "export", "--storage", GOOD, "--study", "nope", "--format", "csv"],
     ["--study-name", '"nope"', "s1"]),
    ("duplicate create", ["study", "create", "--storage", GOOD, "--study", "s1"],
     ["'s1'", "already exists", "--skip-if-exists"]),
    ("bad --direction",
     ["study", "create", "--storage", GOOD, "--study", "s2", "--direction", "upward"],
     ["--direction", '"upward"', "minimize or maximize"]),
    ("bad --direction, new file",
     ["study", "create", "--storage", "sqlite:///new.db", "--study", "s", "--direction", "up"],
     ["--direction", '"up"', "minimize or maximize"]),
    ("bad --grid: no =", ["tune", "--storage", GOOD, "--sampler", "grid", "--grid", "x:1,2"],
     ["--grid", '"x:1,2"', "NAME=V1,V2"]),
    ("bad --grid: empty value",
     ["tune", "--storage", GOOD, "--sampler", "grid", "--grid", "x=1,,2"],
     ["--grid", "x=1,,2", "empty"]),
    ("grid sampler without --grid", ["tune", "--storage", GOOD, "--sampler", "grid"],
     ["--grid", "--sampler is grid"]),
    ("--grid without grid sampler", ["tune", "--storage", GOOD, "--grid", "x=1,2"],
     ["--grid", '"x=1,2"', "--sampler grid"]),
    ("unknown --objective", ["tune", "--storage", GOOD, "--objective", "resnet"],
     ["--objective", '"resnet"', "branin, curve, rosenbrock"]),
    ("unknown --sampler", ["tune", "--storage", GOOD, "--sampler", "annealing"],
     ["--sampler", "annealing", "random", "grid", "tpe", "qmc", "gp", "cmaes"]),
    ("unknown --pruner", ["tune", "--storage", GOOD, "--pruner", "sha"],
     ["--pruner", "sha", "median", "asha", "hyperband", "curve", "none"]),
    ("--pruner without its table", ["tune", "--storage", GOOD, "--pruner", "percentile"],
     ["--pruner", "percentile", "config"]),
    ("--jobs 0", ["tune", "--storage", GOOD, "--study", "s1", "--jobs", "0"],
     ["--jobs", "0", ">= 1"]),
    ("--jobs abc", ["tune", "--storage", GOOD, "--study", "s1", "--jobs", "abc"],
     ["--jobs", "abc"]),
    ("--n-trials -1", ["tune", "--storage", GOOD, "--study", "s1", "--n-trials", "-1"],
     ["--n-trials", "-1", ">= 0"]),
    ("--n-trials 2.5", ["tune", "--storage", GOOD, "--study", "s1", "--n-trials", "2.5"],
     ["--n-trials", "2.5"]),
    ("--timeout -5", ["tune", "--storage", GOOD, "--study", "s1", "--timeout", "-5"],
     ["--timeout", "-5", ">= 0"]),
    ("--seed -1", ["tune", "--storage", GOOD, "--study", "s1", "--seed", "-1"],
     ["--seed", "-1", ">= 0"]),
    ("export --format xml",
     ["study", "export", "--storage", GOOD, "--study", "s1", "--format", "xml"],
     ["--format", "xml", "csv", "json"]),
    ("show -f yaml", ["study", "show", "--storage", GOOD, "--study", "s1", "-f", "yaml"],
     ["--format", "yaml", "table", "json"]),
    ("--isolate without a config", ["tune", "--storage", GOOD, "--isolate"],
     ["--isolate", "needs a study config"]),
    ("isolate not a bool in a study config",
     ["tune", "isolate.toml", "--storage", GOOD, "--n-trials", "1"],
     ["study.isolate", '"yes"', "true or false", "isolate.toml"]),
    ("pbt population of one",
     ["tune", "pbt.toml", "--storage", GOOD],
     ["study.pbt.population = 1", ">= 2", "pbt.toml"]),
    ("pbt --knob choices the key refuses",
     ["pbt", "pbt.toml", "--knob", "batch.size=16|big"],
     ["population.knobs[0] (batch.size)", '"big"', "integer"]),
    ("pbt --knob on a key a checkpoint fixes",
     ["pbt", "pbt.toml", "--knob", "optimizer.kind=sgd|adam"],
     ["population.knobs[0] (optimizer.kind)", "cannot be mutated"]),
    ("pbt --knob integer range with fractions",
     ["pbt", "pbt.toml", "--knob", "batch.size=16.5:256"],
     ["population.knobs[0] (batch.size)", "[16.5, 256]", "integer bounds"]),
    ("piecewise schedule without lrs",
     ["train", "pbt.toml", "--set", "schedule.kind=piecewise"],
     ["schedule.lrs = []", "at least one learning rate"]),
    ("piecewise lr of zero",
     ["train", "pbt.toml", "--set", "schedule.kind=piecewise", "--set", "schedule.lrs=[0.1, 0]"],
     ["schedule.lrs = [0.1, 0.0]", "finite learning rates > 0"]),
    ("export to an unwritable path",
     ["study", "export", "--storage", GOOD, "--study", "s1", "--format", "csv", "-o",
      "no/such/dir/out.csv"],
     ["--output", "no/such/dir/out.csv"]),
    ("importance: unknown study", ["importance", "--storage", GOOD, "--study", "nope"],
     ["--study-name", '"nope"', "no such study"]),
    ("importance: missing storage file",
     ["importance", "--storage", "sqlite:///missing.db", "--study", "s1"],
     ["--storage", "missing.db", "no such file"]),
    ("importance: unknown --evaluator",
     ["importance", "--storage", GOOD, "--study", "s1", "--evaluator", "shap"],
     ["--evaluator", '"shap"', "fanova or mean_decrease_impurity"]),
    ("importance: unknown --params",
     ["importance", "--storage", GOOD, "--study", "s1", "--params", "nope"],
     ["params", '"nope"', "not a parameter", "s1"]),
    ("importance: --objective out of range",
     ["importance", "--storage", GOOD, "--study", "s1", "--objective", "1"],
     ["objective = 1", "0 to 0"]),
    ("importance: --seed -1",
     ["importance", "--storage", GOOD, "--study", "s1", "--seed", "-1"],
     ["--seed", "-1", ">= 0"]),
]


def _snapshot(directory):
    files = {}
    for root, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, directory)] = hashlib.sha256(f.read()).hexdigest()
    return files


class MalformedInput(KnobTestCase):
    FILES = ["corrupt.db", "foreign.db", "good.db", "isolate.toml", "pbt.toml"]

    def setUp(self):
        super().setUp()
        self.knob("tune", "--storage", GOOD, "--study", "s1", "--n-trials", "4", "--quiet")
        _write_corrupt(self.path("corrupt.db"))
        _write_foreign(self.path("foreign.db"))
        with open(self.path("isolate.toml"), "w") as f:
            f.write('[study]\nisolate = "yes"\n[search]\n"optimizer.lr" = { low = 0.001, high = 0.1 }\n')
        with open(self.path("pbt.toml"), "w") as f:
            f.write('[study]\npbt = { population = 1 }\n[search]\n'
                    '"optimizer.lr" = { low = 0.001, high = 0.1 }\n')

    def run_case(self, index):
        """Runs one case in its own copy of the files; returns (proc, before, after)."""
        case_dir = self.path(f"case{index}")
        os.mkdir(case_dir)
        for name in self.FILES:
            shutil.copyfile(self.path(name), os.path.join(case_dir, name))
        before = _snapshot(case_dir)
        proc = run_knob(MALFORMED[index][1], case_dir)
        return proc, before, _snapshot(case_dir)

    def test_table(self):
        self.assertEqual(len({name for name, _, _ in MALFORMED}), len(MALFORMED))
        with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
            results = list(pool.map(self.run_case, range(len(MALFORMED))))
        for (name, argv, expected), (proc, before, after) in zip(MALFORMED, results):
            with self.subTest(case=name):
                self.assertEqual(sorted(before), self.FILES)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertEqual(after, before, "files changed or appeared")
                self.assertNotEqual(proc.stderr.strip(), "", "no message on stderr")
                for part in expected:
                    self.assertIn(part, proc.stderr)
                # One readable message: no crash text, no 300-digit numbers.
                for bad in ("terminate called", "Traceback", "Assertion", "Sanitizer"):
                    self.assertNotIn(bad, proc.stderr)
                self.assertIsNone(re.search(r"\d{30}", proc.stderr), proc.stderr)
        # The good study is still whole.
        self.assertEqual(len(self.show_json(GOOD, "s1")["trials"]), 4)


if __name__ == "__main__":
    if not os.access(KNOB, os.X_OK):
        sys.exit(f"knob binary not found at {KNOB}: pass --knob PATH or set KNOB_BIN")
    unittest.main()
