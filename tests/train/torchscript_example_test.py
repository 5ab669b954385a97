#!/usr/bin/python3
"""examples/torchscript end to end, as a user runs it: the Python script writes the CNN
(scripted, batch norm) and Fashion-MNIST as NPY, `knob lr-find` runs the range test on it, a
4-trial `knob tune` of its study file on a slice keeps the best model, and Python loads that kept
model with torch.jit.load and scores the test set: equal to the test accuracy knob reported
for that trial, within 1e-4. Then the regression example (MSE) for 3 trials.

    /usr/bin/python3 tests/train/torchscript_example_test.py --knob build/knob \\
        --examples examples

Needs Debian's python3-torch and python3-numpy and the trainer plugin beside knob.
"""
import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

ARGS = None


def knob(*args, cwd):
    proc = subprocess.run([ARGS.knob, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900)
    if proc.returncode != 0:
        raise AssertionError(f"knob {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n"
                             f"{proc.stderr}")
    return proc.stdout


def best_trial(db, study):
    with sqlite3.connect(db) as c:
        number, trial_id = c.execute(
            "SELECT t.number, t.trial_id FROM trials t JOIN studies s USING (study_id) "
            "JOIN trial_values v ON v.trial_id = t.trial_id WHERE s.study_name = ? AND "
            "t.state = 'COMPLETE' ORDER BY v.value " +
            ("DESC" if study == "cnn" else "ASC") + " LIMIT 1", (study,)).fetchone()
        attrs = {k: json.loads(v) for k, v in c.execute(
            "SELECT key, value_json FROM trial_user_attributes WHERE trial_id = ?", (trial_id,))}
    return number, attrs


class TorchScriptExample(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="knob-ts-example-")
        subprocess.run(["/usr/bin/python3", os.path.join(ARGS.examples, "torchscript",
                                                         "make_model_and_data.py"),
                        "--out", self.dir, "--limit", "6000"], check=True)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_cnn_range_test_tune_and_kept_model_scored_in_python(self):
        config = os.path.join(ARGS.examples, "torchscript", "fmnist_cnn.toml")
        small = ["--set", "data.validation=1000"]
        out = knob("lr-find", config, *small, "--set", "lr_find.steps=30", cwd=self.dir)
        self.assertIn("suggested: --set optimizer.lr=", out)
        out = knob("tune", config, *small, "--storage", "sqlite:///knob.db", "--n-trials", "4",
                   "--quiet", cwd=self.dir)
        number, attrs = best_trial(os.path.join(self.dir, "knob.db"), "cnn")
        model = os.path.join("knob.db.models", "cnn", f"trial-{number}.pt")
        self.assertEqual(attrs["model_path"], model)
        self.assertIn(f"model of the best trial: {model}", out)
        # Python scores the kept model on the test set as knob fed it: uint8 / 255.
        score = subprocess.run(["/usr/bin/python3", "-c", """
import sys, numpy as np, torch
m = torch.jit.load(sys.argv[1]); m.eval()
x = torch.from_numpy(np.load("fmnist_test_x.npy")).float() / 255
y = torch.from_numpy(np.load("fmnist_test_y.npy"))
with torch.no_grad():
    print((m(x).argmax(1) == y).double().mean().item())
""", model], cwd=self.dir, capture_output=True, text=True, check=True)
        self.assertAlmostEqual(float(score.stdout), attrs["test_accuracy"], delta=1e-4)

    def test_regression_with_mse(self):
        config = os.path.join(ARGS.examples, "torchscript", "regression.toml")
        knob("tune", config, "--storage", "sqlite:///knob.db", "--n-trials", "3",
             "--set", "train.epochs=3", "--quiet", cwd=self.dir)
        number, attrs = best_trial(os.path.join(self.dir, "knob.db"), "regressor")
        metrics = attrs["metrics"]
        self.assertLess(metrics["val_rmse"], 1.0)  # the targets' deviation is about 1.3
        self.assertGreater(metrics["val_r2"], 0.4)
        self.assertNotIn("val_accuracy", metrics)
        self.assertTrue(os.path.exists(os.path.join(self.dir, attrs["model_path"])))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--knob", required=True)
    parser.add_argument("--examples", required=True)
    ARGS, rest = parser.parse_known_args()
    ARGS.knob = os.path.abspath(ARGS.knob)
    ARGS.examples = os.path.abspath(ARGS.examples)
    unittest.main(argv=[sys.argv[0], *rest])
