"""Helpers shared by the interop tests: the Optuna under test, argument parsing, a fresh work
directory, and the comparison of knob's JSON export (knob::study_to_json) with what Optuna reads.

Run only by Debian's /usr/bin/python3; see tests/interop/CMakeLists.txt. The Optuna is chosen by
the environment: KNOB_OPTUNA=3.1 (default) imports Debian's python3-optuna; KNOB_OPTUNA=4.9
imports the peer source KNOB_OPTUNA_PEER (../shared/peers/optuna-4.9.0 beside the source tree)
and exits with SKIP_CODE, saying so, where it is absent.
"""

import argparse
import datetime
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import warnings

# ctest's SKIP_RETURN_CODE for the tests of an Optuna that is not there.
SKIP_CODE = 77

OPTUNA = os.environ.get("KNOB_OPTUNA", "3.1")
if OPTUNA not in ("3.1", "4.9"):
    sys.exit(f"interop: KNOB_OPTUNA={OPTUNA!r}; must be 3.1 or 4.9")
if OPTUNA == "4.9":
    _peer = os.environ.get("KNOB_OPTUNA_PEER", "")
    if not os.path.isdir(os.path.join(_peer, "optuna")):
        print(f"SKIP: Optuna 4.9.0's source is not at {_peer or '(KNOB_OPTUNA_PEER unset)'} "
              "(../shared/peers/optuna-4.9.0 beside the source tree); the 4.9 interop tests "
              "need it", flush=True)
        sys.exit(SKIP_CODE)
    sys.path.insert(0, _peer)

try:
    import optuna
except ImportError as e:  # a clear message instead of a traceback deep in a test
    sys.exit(f"interop: cannot import optuna with {sys.executable} ({e}); "
             "install python3-optuna (scripts/setup) and run with /usr/bin/python3")

if not optuna.__version__.startswith(OPTUNA + "."):
    sys.exit(f"interop: KNOB_OPTUNA={OPTUNA} but imported optuna {optuna.__version__} from "
             f"{optuna.__file__}")

# The alembic revision the Optuna under test writes, and the ?schema= option that makes knob
# create databases it opens (Optuna 3.1 refuses v3.2.0.a, knob's default).
REVISION = "v3.0.0.d" if OPTUNA == "3.1" else "v3.2.0.a"
KNOB_SCHEMA = "?schema=v3.0.0.d" if OPTUNA == "3.1" else ""

# Quiet: the fixtures fail trials on purpose (WARNING logs) and read pre-3.0 distributions
# (FutureWarning); the assertions say what matters.
optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.filterwarnings("ignore", category=FutureWarning)

ARGS = None
WORKDIR = None


def main(description, **arg_specs):
    """Parses --tmp and the given options, makes WORKDIR, runs the unittest cases of the
    calling module; removes WORKDIR when all passed. arg_specs: name -> help text."""
    global ARGS, WORKDIR
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--tmp", required=True, help="directory for the work directory")
    for name, help_text in arg_specs.items():
        parser.add_argument("--" + name.replace("_", "-"), dest=name, required=True,
                            help=help_text)
    ARGS, rest = parser.parse_known_args()
    os.makedirs(ARGS.tmp, exist_ok=True)
    WORKDIR = tempfile.mkdtemp(prefix=os.path.basename(sys.argv[0]).split(".")[0] + "-",
                               dir=ARGS.tmp)
    print(f"work directory: {WORKDIR}; optuna {optuna.__version__} from "
          f"{os.path.dirname(optuna.__file__)}", flush=True)
    # warnings=False: keep the filters above (unittest would reset them to "default").
    program = unittest.main(module="__main__", argv=[sys.argv[0]] + rest, exit=False,
                            verbosity=2, warnings=False)
    ok = program.result.wasSuccessful() and program.result.testsRun > 0
    if ok:
        shutil.rmtree(WORKDIR, ignore_errors=True)
    else:
        print(f"kept {WORKDIR} for a look", flush=True)
    sys.exit(0 if ok else 1)


def storage_url(path):
    return "sqlite:///" + os.path.abspath(path)


def knob_url(url):
    """The URL for knob to use: with ?schema=v3.0.0.d when the Optuna under test is 3.1 (it
    applies when knob creates the database; an existing one must be at that revision)."""
    return url + KNOB_SCHEMA


def fresh_postgres_database(prefix):
    """A new database on the server KNOB_TEST_POSTGRES_URL names (scripts/pg_test_server), as
    a URL (needs python3-psycopg2)."""
    import uuid
    import psycopg2
    server = os.environ["KNOB_TEST_POSTGRES_URL"]
    name = prefix + "_" + uuid.uuid4().hex[:12]
    conn = psycopg2.connect(server)
    conn.autocommit = True
    conn.cursor().execute(f"CREATE DATABASE {name}")
    conn.close()
    return server.rsplit("/", 1)[0] + "/" + name


def alembic_revision(path):
    """The alembic revision of an SQLite file."""
    import sqlite3
    with sqlite3.connect(path) as db:
        return db.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def run(cmd, check=True, timeout=60):
    """Runs a command, returns the CompletedProcess; on failure the message has its output."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}\n"
                             f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def same_float(a, b):
    """Equal, with NaN equal to NaN (and +-inf compared as numbers)."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def assert_same_value(test, expected, actual, what):
    """Same value and same Python type (True is not 1, 1 is not 1.0)."""
    test.assertIs(type(actual), type(expected),
                  f"{what}: {actual!r} ({type(actual).__name__}) vs expected {expected!r} "
                  f"({type(expected).__name__})")
    test.assertTrue(same_float(expected, actual) if isinstance(expected, float)
                    else expected == actual, f"{what}: {actual!r} != expected {expected!r}")


def new_distribution(dist):
    """Optuna's pre-3.0 distribution classes as their 3.x equivalents (what knob exports)."""
    return optuna.distributions._convert_old_distribution_to_new_distribution(dist)


def parse_time(text):
    return None if text is None else datetime.datetime.fromisoformat(text)


def compare_trial(test, exported, frozen, where):
    """One trial of knob's JSON export against Optuna's FrozenTrial of the same trial."""
    w = f"{where} trial {frozen.number}"
    test.assertEqual(exported["number"], frozen.number, w)
    test.assertEqual(exported["state"], frozen.state.name, f"{w} state")
    if frozen.values is None:
        test.assertIsNone(exported["values"], f"{w} values")
    else:
        test.assertIsNotNone(exported["values"], f"{w} values")
        test.assertEqual(len(exported["values"]), len(frozen.values), f"{w} values")
        for i, (e, a) in enumerate(zip(exported["values"], frozen.values)):
            test.assertTrue(same_float(float(e), a), f"{w} values[{i}]: {e!r} vs optuna {a!r}")
    test.assertEqual(sorted(exported["params"]), sorted(frozen.params), f"{w} param names")
    for name, value in frozen.params.items():
        assert_same_value(test, value, exported["params"][name], f"{w} param {name}")
    test.assertEqual(sorted(exported["distributions"]), sorted(frozen.distributions),
                     f"{w} distribution names")
    for name, dist in frozen.distributions.items():
        knob_dist = optuna.distributions.json_to_distribution(
            json.dumps(exported["distributions"][name]))
        test.assertEqual(knob_dist, new_distribution(dist), f"{w} distribution {name}")
    intermediate = {int(step): value for step, value in exported["intermediate_values"].items()}
    test.assertEqual(sorted(intermediate), sorted(frozen.intermediate_values),
                     f"{w} intermediate steps")
    for step, value in frozen.intermediate_values.items():
        test.assertTrue(same_float(float(intermediate[step]), value),
                        f"{w} intermediate[{step}]: {intermediate[step]!r} vs optuna {value!r}")
    test.assertEqual(exported["user_attrs"], frozen.user_attrs, f"{w} user_attrs")
    test.assertEqual(exported["system_attrs"], frozen.system_attrs, f"{w} system_attrs")
    test.assertEqual(parse_time(exported["datetime_start"]), frozen.datetime_start,
                     f"{w} datetime_start")
    test.assertEqual(parse_time(exported["datetime_complete"]), frozen.datetime_complete,
                     f"{w} datetime_complete")
    if frozen.datetime_start and frozen.datetime_complete:
        seconds = (frozen.datetime_complete - frozen.datetime_start).total_seconds()
        test.assertAlmostEqual(exported["duration"], seconds, delta=2e-6, msg=f"{w} duration")
    else:
        test.assertIsNone(exported["duration"], f"{w} duration")


def compare_study(test, exported, study):
    """knob's JSON export of a whole study against optuna.load_study of it."""
    test.assertEqual(exported["study_name"], study.study_name)
    test.assertEqual(exported["directions"], [d.name for d in study.directions])
    test.assertEqual(exported["user_attrs"], study.user_attrs, "study user_attrs")
    trials = study.get_trials(deepcopy=False)
    test.assertEqual([t["number"] for t in exported["trials"]], [t.number for t in trials],
                     "trial numbers")
    for e, t in zip(exported["trials"], trials):
        compare_trial(test, e, t, study.study_name)


def branin(x, y):
    b, c, s, r, u = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 10, 6, 1 / (8 * math.pi)
    return (y - b * x * x + c * x - r) ** 2 + s * (1 - u) * math.cos(x) + s
