"""knob's PostgreSQL storage against Optuna's (python3-psycopg2, and Optuna 3.1 = Debian's
python3-optuna or 4.9 = the peer source, chosen as tests/interop/interop_common.py says):

  * the schema knob creates equals the one Optuna creates (pg_dump --schema-only of each,
    knob's own *_knob indexes aside): v3.0.0.d with ?schema=v3.0.0.d for Optuna 3.1, knob's
    default v3.2.0.a for Optuna 4.9;
  * each Optuna opens the revision it writes and refuses the other; knob's `storage upgrade`
    and Optuna's own upgrade bring knob's v3.0.0.d to v3.2.0.a, which both then read;
  * Optuna opens a knob-written study and reads the same states, numbers, values, params,
    intermediate values and attributes knob reads, then continues it;
  * knob reads an Optuna-written study as Optuna does and continues it.

Run beside a server: scripts/pg_test_server /usr/bin/python3 schema_and_interop.py --tool
PATH/pg_study_tool (see tests/postgres/CMakeLists.txt). Each test uses a fresh database.
"""

import argparse
import difflib
import json
import math
import os
import re
import subprocess
import sys
import unittest
import uuid
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
import interop_common as ic  # noqa: E402  (chooses and imports the Optuna under test)
from interop_common import optuna  # noqa: E402

try:
    import psycopg2
except ImportError as e:
    sys.exit(f"postgres interop: cannot import psycopg2 with {sys.executable} ({e}); "
             "install python3-psycopg2 and run with /usr/bin/python3")

optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.filterwarnings("ignore")

SERVER = os.environ.get("KNOB_TEST_POSTGRES_URL")
PG_BIN = os.environ.get("KNOB_TEST_POSTGRES_BIN", "/usr/lib/postgresql/15/bin")
TOOL = None


def fresh_database():
    name = "interop_" + uuid.uuid4().hex[:12]
    conn = psycopg2.connect(SERVER)
    conn.autocommit = True
    conn.cursor().execute(f"CREATE DATABASE {name}")
    conn.close()
    return SERVER.rsplit("/", 1)[0] + "/" + name


def tool(*args):
    done = subprocess.run([TOOL, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"pg_study_tool {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def schema(url):
    """pg_dump --schema-only, without comments, settings, owners and knob's own indexes."""
    text = subprocess.run([os.path.join(PG_BIN, "pg_dump"), "--schema-only", "--no-owner", url],
                          capture_output=True, text=True, check=True).stdout
    statements = []
    for statement in text.split(";\n"):
        lines = [l for l in statement.splitlines()
                 if l.strip() and not l.startswith(("--", "SET ", "\\restrict", "\\unrestrict"))
                 and not l.startswith("SELECT pg_catalog.set_config")]
        statement = "\n".join(lines)
        if statement and not re.search(r"CREATE INDEX ix_\w+_knob ", statement):
            statements.append(statement)
    return statements


def alembic_revision(url):
    conn = psycopg2.connect(url)
    try:
        cur = conn.cursor()
        cur.execute("SELECT version_num FROM alembic_version")
        return [r[0] for r in cur.fetchall()]
    finally:
        conn.close()


def trial_indexes(url):
    conn = psycopg2.connect(url)
    try:
        cur = conn.cursor()
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'trials' "
                    "AND indexname NOT LIKE '%pkey' ORDER BY indexname")
        return [r[0] for r in cur.fetchall()]
    finally:
        conn.close()


def number(value):
    """A float as pg_study_tool writes it (nan / inf / -inf as strings)."""
    if value is None:
        return None
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def optuna_view(trial):
    """An Optuna FrozenTrial in pg_study_tool's dump format."""
    params = {}
    for name, value in trial.params.items():
        distribution = trial.distributions[name]
        params[name] = [number(distribution.to_internal_repr(value)),
                        optuna.distributions.distribution_to_json(distribution)]
    return {
        "number": trial.number,
        "state": trial.state.name,
        "values": [number(v) for v in trial.values] if trial.values is not None else [],
        "params": params,
        "intermediate_values": {str(k): number(v) for k, v in trial.intermediate_values.items()},
        "user_attrs": trial.user_attrs,
        "system_attrs": trial.system_attrs,
    }


def canonical(views):
    return json.loads(json.dumps(views, sort_keys=True))


class SchemaTest(unittest.TestCase):
    def test_knob_creates_the_schema_optuna_creates(self):
        optuna_db, knob_db = fresh_database(), fresh_database()
        optuna.create_study(storage=optuna_db, study_name="s")
        tool("write", ic.knob_url(knob_db), "s")
        self.assertEqual(alembic_revision(knob_db), [ic.REVISION])
        self.assertEqual(alembic_revision(optuna_db), [ic.REVISION])
        expected, actual = schema(optuna_db), schema(knob_db)
        self.assertGreater(len(expected), 40)  # types, tables, sequences, keys, ...
        self.assertEqual(actual, expected, "\n".join(difflib.unified_diff(
            expected, actual, "optuna", "knob", lineterm="")))

    def test_each_optuna_opens_its_revision_and_refuses_the_other(self):
        new, old = fresh_database(), fresh_database()
        tool("write", new, "s")  # knob's default
        tool("write", old + "?schema=v3.0.0.d", "s")
        self.assertEqual(alembic_revision(new), ["v3.2.0.a"])
        self.assertEqual(alembic_revision(old), ["v3.0.0.d"])
        self.assertEqual(tool("revision", new).strip(), "v3.2.0.a")
        self.assertEqual(tool("revision", old).strip(), "v3.0.0.d")
        opens, refuses = (old, new) if ic.OPTUNA == "3.1" else (new, old)
        self.assertEqual(optuna.load_study(study_name="s", storage=opens).user_attrs,
                         {"owner": "knob"})
        with self.assertRaisesRegex(RuntimeError, "no longer compatible with the table schema"):
            optuna.load_study(study_name="s", storage=refuses)
        other = "v3.2.0.a" if ic.OPTUNA == "3.1" else "v3.0.0.d"
        self.assertEqual(alembic_revision(refuses), [other])  # Optuna left it alone

    def test_knob_upgrade_brings_v300d_to_what_optuna_4_9_opens(self):
        db = fresh_database()
        tool("write", db + "?schema=v3.0.0.d", "s")
        before = json.loads(tool("dump", db, "s"))
        self.assertIn("upgraded from alembic revision v3.0.0.d to v3.2.0.a", tool("upgrade", db))
        self.assertEqual(alembic_revision(db), ["v3.2.0.a"])
        self.assertIn("trials_study_id_key", trial_indexes(db))
        self.assertIn("already at alembic revision v3.2.0.a", tool("upgrade", db))
        self.assertEqual(json.loads(tool("dump", db, "s")), before)
        if ic.OPTUNA == "4.9":
            study = optuna.load_study(study_name="s", storage=db)
            self.assertEqual(canonical([optuna_view(t) for t in study.get_trials()]),
                             canonical(before))
        else:
            with self.assertRaises(RuntimeError):
                optuna.load_study(study_name="s", storage=db)

    @unittest.skipUnless(ic.OPTUNA == "4.9", "Optuna 3.1 has no revision v3.2.0.a to upgrade to")
    def test_optuna_upgrade_of_knobs_v300d_is_read_by_knob(self):
        db = fresh_database()
        tool("write", db + "?schema=v3.0.0.d", "s")
        before = json.loads(tool("dump", db, "s"))
        optuna.storages.RDBStorage(db, skip_compatibility_check=True).upgrade()
        self.assertEqual(alembic_revision(db), ["v3.2.0.a"])
        indexes = trial_indexes(db)
        self.assertIn("trials_study_id_key", indexes)
        self.assertIn("ix_trials_study_id_knob", indexes)
        self.assertEqual(tool("revision", db).strip(), "v3.2.0.a")
        self.assertEqual(json.loads(tool("dump", db, "s")), before)
        tool("continue", db, "s", "2")
        self.assertEqual(len(optuna.load_study(study_name="s", storage=db).trials),
                         len(before) + 2)

    def test_knob_adds_only_its_two_indexes(self):
        db = fresh_database()
        tool("write", ic.knob_url(db), "s")
        conn = psycopg2.connect(db)
        cur = conn.cursor()
        cur.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%knob%' "
                    "ORDER BY indexname")
        self.assertEqual([r[0] for r in cur.fetchall()],
                         ["ix_trials_study_id_knob", "ix_trials_waiting_knob"])
        conn.close()


class KnobToOptunaTest(unittest.TestCase):
    def test_optuna_reads_what_knob_wrote_and_continues(self):
        db = fresh_database()
        tool("write", ic.knob_url(db), "k")
        knob_trials = json.loads(tool("dump", ic.knob_url(db), "k"))
        study = optuna.load_study(study_name="k", storage=db)
        self.assertEqual(study.user_attrs, {"owner": "knob"})
        self.assertEqual(study._storage.get_study_system_attrs(study._study_id),
                         {"note": [1, 2.5, "x"]})
        self.assertEqual(study.direction, optuna.study.StudyDirection.MINIMIZE)
        optuna_trials = [optuna_view(t) for t in study.get_trials(deepcopy=False)]
        self.assertEqual(canonical(optuna_trials), canonical(knob_trials))
        # Sanity of the fixture itself: every state and the infinities are there.
        states = {t["state"] for t in knob_trials}
        self.assertEqual(states, {"COMPLETE", "PRUNED", "FAIL", "WAITING", "RUNNING"})
        self.assertIn(["inf"], [t["values"] for t in knob_trials])
        self.assertIn("nan", [v for t in knob_trials for v in t["intermediate_values"].values()])
        # (No best_trial check: Optuna 3.1 on PostgreSQL orders by the value column, where
        # -inf is NULL and sorts last — its own studies show the same.)

        # Optuna continues: the WAITING trial first, then new numbers after knob's.
        study.optimize(lambda t: t.suggest_int("layers", 1, 8) * 1.0, n_trials=2)
        trials = study.get_trials(deepcopy=False)
        self.assertEqual([t.number for t in trials], list(range(len(knob_trials) + 1)))
        self.assertEqual(trials[6].state, optuna.trial.TrialState.COMPLETE)
        self.assertEqual(trials[6].params, {"layers": 3})


def optuna_objective(trial):
    x = trial.suggest_float("x", -5, 5)
    n = trial.suggest_int("n", 1, 4, log=True)
    c = trial.suggest_categorical("c", ["a", "b", None])
    trial.set_user_attr("n_twice", 2 * n)
    for step in range(3):
        trial.report(x * step if step != 1 else float("nan"), step)
    if trial.number == 3:
        raise optuna.TrialPruned()
    if trial.number == 4:
        raise ValueError("a failing trial")
    if trial.number == 5:
        return float("-inf")
    return x * x + n + (c == "a")


class OptunaToKnobTest(unittest.TestCase):
    def test_knob_reads_what_optuna_wrote_and_continues(self):
        db = fresh_database()
        study = optuna.create_study(storage=db, study_name="o",
                                    sampler=optuna.samplers.RandomSampler(seed=3))
        study.set_user_attr("by", "optuna")
        study.optimize(optuna_objective, n_trials=7, catch=(ValueError,))
        study.enqueue_trial({"x": 1.5})
        expected = [optuna_view(t) for t in study.get_trials(deepcopy=False)]
        self.assertEqual(canonical(json.loads(tool("dump", db, "o"))), canonical(expected))
        self.assertEqual(tool("revision", db).strip(), ic.REVISION)

        tool("continue", db, "o", "3")
        reloaded = optuna.load_study(study_name="o", storage=db)
        trials = reloaded.get_trials(deepcopy=False)
        self.assertEqual([t.number for t in trials], list(range(len(expected) + 3)))
        added = trials[len(expected):]
        self.assertEqual([t.state for t in added], [optuna.trial.TrialState.COMPLETE] * 3)
        self.assertEqual([t.value for t in added], [100.0, 101.0, 102.0])
        self.assertEqual([t.params for t in added], [{"c": trials[0].params["c"]}] * 3)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tool", required=True, help="path of pg_study_tool")
    args, rest = parser.parse_known_args()
    TOOL = args.tool
    print(f"optuna {optuna.__version__} from {os.path.dirname(optuna.__file__)}", flush=True)
    if not SERVER:
        sys.exit("postgres interop: KNOB_TEST_POSTGRES_URL is not set (run under "
                 "scripts/pg_test_server)")
    program = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
    sys.exit(0 if program.result.wasSuccessful() and program.result.testsRun > 0 else 1)
