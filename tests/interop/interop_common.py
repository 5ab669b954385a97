"""Helpers shared by the interop tests: argument parsing, a fresh work directory, and the
comparison of knob's JSON export (knob::study_to_json) with what Optuna 3.1 reads.

Run only by Debian's /usr/bin/python3 (python3-optuna); see tests/interop/CMakeLists.txt.
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

try:
    import optuna
except ImportError as e:  # a clear message instead of a traceback deep in a test
    sys.exit(f"interop: cannot import optuna with {sys.executable} ({e}); "
             "install python3-optuna (scripts/setup) and run with /usr/bin/python3")

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
    print(f"work directory: {WORKDIR}", flush=True)
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
