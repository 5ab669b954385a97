#!/usr/bin/python3
"""End-to-end tests of `knob train` and `knob tune CONFIG.toml` on real Fashion-MNIST (small
slices via --set data.limit), read back with Debian's Optuna. Run by CTest:

    /usr/bin/python3 tests/train/train_cli_test.py --knob build/knob --examples examples
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import unittest

import optuna

ARGS = None
SMALL = ["--set", "data.limit=3000", "--set", "data.validation=1000"]


def knob(*args, expect=0, cwd=None):
    proc = subprocess.run([ARGS.knob, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)
    if expect is not None and proc.returncode != expect:
        raise AssertionError(f"knob {' '.join(args)} exited {proc.returncode}, expected {expect}\n"
                             f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc


def example(name):
    return os.path.join(ARGS.examples, name)


class TrainTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="knob_train_cli_")

    def test_train_prints_epochs_metrics_and_test_accuracy(self):
        metrics = os.path.join(self.dir, "m.jsonl")
        proc = knob("train", example("fashion_mnist_mlp.toml"), *SMALL, "--set", "train.epochs=2",
                    "--metrics", metrics, "--quiet")
        self.assertIn("epoch   2", proc.stdout)
        self.assertIn("test_accuracy", proc.stdout)
        lines = [json.loads(line) for line in open(metrics)]
        self.assertEqual([m["epoch"] for m in lines], [0, 1])
        self.assertGreater(lines[-1]["val_accuracy"], 0.6)
        self.assertEqual(lines[0]["batch_size"], 32)

    def test_every_example_config_trains(self):
        for name in sorted(os.listdir(ARGS.examples)):
            if name.endswith(".toml"):
                with self.subTest(example=name):
                    knob("train", example(name), *SMALL, "--set", "train.epochs=1", "--quiet")

    def test_divergence_exits_1_with_the_step(self):
        proc = knob("train", example("fashion_mnist_mlp.toml"), *SMALL, "--set", "optimizer.kind=sgd",
                    "--set", "optimizer.lr=10000", "--quiet", expect=1)
        self.assertIn("diverged", proc.stdout + proc.stderr)
        self.assertIn("at step", proc.stderr)


class TuneConfigTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="knob_tune_cli_")
        self.url = "sqlite:///" + os.path.join(self.dir, "k.db")

    def test_tune_config_writes_a_study_optuna_reads(self):
        proc = knob("tune", example("fashion_mnist_tune.toml"), *SMALL, "--storage", self.url,
                    "--n-trials", "4", "--quiet")
        self.assertIn("best value", proc.stdout)
        study = optuna.load_study(study_name="fashion-mnist", storage=self.url)
        trials = study.trials
        self.assertEqual(len(trials), 4)
        names = {"optimizer.lr", "batch.size", "train.epochs", "optimizer.kind", "model.dropout"}
        for t in trials:
            self.assertEqual(set(t.params), names)
            self.assertIn(t.state, (optuna.trial.TrialState.COMPLETE,
                                    optuna.trial.TrialState.PRUNED))
            history = t.user_attrs["history"]["val_accuracy"]
            self.assertEqual(len(history), len(t.intermediate_values))
            if t.state == optuna.trial.TrialState.COMPLETE:
                self.assertEqual(len(history), t.params["train.epochs"])
                self.assertAlmostEqual(t.value, history[-1])
                self.assertGreater(t.value, 0.1)
                self.assertIn("test_accuracy", t.user_attrs)
        self.assertEqual(study.direction, optuna.study.StudyDirection.MAXIMIZE)

    def test_malformed_configs_exit_2_and_write_nothing(self):
        def write(name, text):
            path = os.path.join(self.dir, name)
            with open(path, "w") as f:
                f.write(text)
            return path

        truncated = os.path.join(self.dir, "truncated-images.idx")
        with open(truncated, "wb") as f:
            f.write(bytes([0, 0, 8, 3, 0, 0, 0, 10, 0, 0, 0, 28, 0, 0, 0, 28]) + b"\0" * 50)
        cases = [
            ("unknown trainer key", write("a.toml", "[optimizer]\nlearning_rate = 0.1\n"),
             ["optimizer.learning_rate", "a.toml"]),
            ("unknown search key",
             write("b.toml", '[search]\n"optimizer.learning_rate" = { low = 0.1, high = 1.0 }\n'),
             ["optimizer.learning_rate", "[search]"]),
            ("bad search range", write("c.toml", '[search]\n"optimizer.lr" = { low = 1.0, high = 0.1 }\n'),
             ["search.optimizer.lr", "low"]),
            ("lr zero", write("d.toml", "[optimizer]\nlr = 0.0\n"), ["optimizer.lr"]),
            ("warmup longer than training",
             write("e.toml", '[schedule]\nkind = "cosine"\nwarmup = 20\n[train]\nepochs = 5\n'),
             ["schedule.warmup = 20", "shorter than training"]),
            ("truncated data",
             write("f.toml", f'[data]\nsource = "idx"\ntrain_images = "{truncated}"\n'
                             f'train_labels = "{truncated}"\n'),
             ["truncated", "truncated-images.idx"]),
            ("batch larger than data", write("g.toml", "[batch]\nsize = 100000\n"),
             ["batch.size = 100000"]),
        ]
        search_only = ("unknown search key", "bad search range")  # `knob train` reads no [search]
        for name, path, fragments in cases:
            with self.subTest(case=name):
                db = os.path.join(self.dir, name.replace(" ", "_") + ".db")
                verbs = [["tune", path, "--storage", "sqlite:///" + db, "--quiet", "--n-trials", "1"]]
                if name not in search_only:
                    verbs.append(["train", path, "--quiet"])
                for verb in verbs:
                    proc = knob(*verb, expect=None)
                    if verb[0] == "tune" and name in ("truncated data", "batch larger than data"):
                        # Found when the first trial loads the data: that trial FAILs with the
                        # reason and the study reports that none completed.
                        self.assertEqual(proc.returncode, 2, proc.stderr)
                        self.assertIn("failed", proc.stderr)
                    else:
                        self.assertEqual(proc.returncode, 2, f"{verb}: {proc.stderr}")
                        self.assertFalse(os.path.exists(db) and verb[0] == "tune"
                                         and os.path.getsize(db) > 0 and
                                         optuna.get_all_study_summaries("sqlite:///" + db),
                                         "a bad config must not create a study")
                    for fragment in fragments:
                        self.assertIn(fragment, proc.stderr, f"{verb}: {proc.stderr}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--knob", required=True)
    parser.add_argument("--examples", required=True)
    ARGS, rest = parser.parse_known_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)
