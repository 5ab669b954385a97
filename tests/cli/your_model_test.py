#!/usr/bin/python3
"""Issue 17 end to end against the `knob` binary: a user's TorchScript model tuned by
`knob tune`, its trained models kept beside the database ([study] keep_models), a trial
re-run after kill -9 and --resume continuing from its checkpoint, `knob train` saving the
model (output.model), and a study whose direction contradicts its task refused.

    /usr/bin/python3 tests/cli/your_model_test.py --knob build/knob [-v]

Needs libknob_trainer.so ($KNOB_TRAINER_PLUGIN or beside the binary); skipped, saying so,
without it. The model files come from scripts/gen_torchscript_models.py (tests/data).
Standard library only.
"""
import glob
import json
import os
import signal
import sqlite3
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_test  # noqa: E402  (takes --knob from the arguments)
from run_hardening_test import Case, trainer_plugin, wait_for  # noqa: E402

KNOB = cli_test.KNOB
MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "torchscript")

STUDY = """
[study]
name = "cnn"
sampler = "random"
seed = 3
pruner = "none"
{extra}
[search]
"optimizer.lr" = {{ low = 1e-3, high = 1e-2, log = true }}
[model]
kind = "torchscript"
path = "{model}"
[data]
limit = {limit}
validation = 500
[train]
epochs = {epochs}
[output]
test = false
"""


def user_attrs(db, study="cnn"):
    """trial number -> {key: value} of the study's user attributes."""
    with sqlite3.connect(db) as c:
        rows = c.execute(
            "SELECT t.number, a.key, a.value_json FROM trial_user_attributes a "
            "JOIN trials t ON t.trial_id = a.trial_id JOIN studies s ON s.study_id = t.study_id "
            "WHERE s.study_name = ?", (study,)).fetchall()
    out = {}
    for number, key, value in rows:
        out.setdefault(number, {})[key] = json.loads(value)
    return out


def intermediate_count(db):
    with sqlite3.connect(db) as c:
        try:
            return c.execute("SELECT COUNT(*) FROM trial_intermediate_values").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


@unittest.skipIf(trainer_plugin() is None,
                 "libknob_trainer.so not found beside knob (a build without libtorch)")
class YourModel(Case):
    def study(self, name, extra="", limit=1500, epochs=2):
        return self.write(name, STUDY.format(extra=extra, model=os.path.join(MODELS, "tiny_cnn.pt"),
                                             limit=limit, epochs=epochs))

    def test_keeps_the_best_model_beside_the_database(self):
        config = self.study("best.toml", "n_trials = 3")
        out = self.knob("tune", config, "--storage", "sqlite:///runs.db", "--quiet").stdout
        folder = self.path("runs.db.models/cnn")
        kept = sorted(os.listdir(folder))
        self.assertEqual(len(kept), 1, kept)  # the best one; no checkpoint left
        attrs = user_attrs(self.path("runs.db"))
        with sqlite3.connect(self.path("runs.db")) as c:
            best = c.execute("SELECT t.number FROM trials t JOIN trial_values v ON "
                             "v.trial_id = t.trial_id ORDER BY v.value DESC LIMIT 1").fetchone()[0]
        self.assertEqual(kept, [f"trial-{best}.pt"])
        self.assertEqual(attrs[best]["model_path"], os.path.join("runs.db.models", "cnn",
                                                                 f"trial-{best}.pt"))
        self.assertIn(f"model of the best trial: runs.db.models/cnn/trial-{best}.pt", out)

    def test_keeps_every_model_or_none(self):
        self.knob("tune", self.study("all.toml", 'n_trials = 2\nkeep_models = "all"'),
                  "--storage", "sqlite:///all.db", "--quiet")
        self.assertEqual(sorted(os.listdir(self.path("all.db.models/cnn"))),
                         ["trial-0.pt", "trial-1.pt"])
        out = self.knob("tune", self.study("none.toml", 'n_trials = 1\nkeep_models = "none"'),
                        "--storage", "sqlite:///none.db", "--quiet").stdout
        self.assertEqual(os.listdir(self.path("none.db.models/cnn")), [])
        self.assertNotIn("model of the best trial", out)

    def test_a_trial_run_again_after_kill_9_continues_from_its_checkpoint(self):
        config = self.study("k.toml", "n_trials = 1", limit=3000, epochs=40)
        db = self.path("k.db")
        proc = subprocess.Popen([KNOB, "tune", config, "--storage", "sqlite:///k.db", "--quiet"],
                                cwd=self.dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self.assertTrue(wait_for(lambda: intermediate_count(db) >= 2, 120))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        done = intermediate_count(db)
        self.assertTrue(glob.glob(self.path("k.db.models/cnn/trial-0.ckpt")))
        self.knob("tune", config, "--storage", "sqlite:///k.db", "--resume", "--quiet",
                  "--set", "train.epochs=" + str(done + 1), timeout=300)
        attrs = user_attrs(db)
        # Trial 1 re-ran trial 0: from its checkpoint (at least the epochs it had reported
        # before the kill, minus one being saved), not from epoch 0.
        self.assertGreaterEqual(attrs[1].get("resumed_epochs", 0), done - 1, attrs)
        self.assertEqual(glob.glob(self.path("k.db.models/cnn/*.ckpt")), [])

    def test_train_saves_the_model(self):
        config = self.study("t.toml", limit=1200, epochs=1)
        out = self.knob("train", config, "--set", 'output.model="trained.pt"').stdout
        self.assertIn("model saved to trained.pt", out)
        with open(self.path("trained.pt"), "rb") as f:
            self.assertEqual(f.read(2), b"PK")  # TorchScript is a zip archive

    def test_finders_and_isolated_trials_train_it_too(self):
        config = self.study("f.toml", "n_trials = 2\nisolate = true", limit=1200, epochs=1)
        out = self.knob("lr-find", config, "--set", "lr_find.steps=20", "--set",
                        "lr_find.end=1.0").stdout
        self.assertIn("suggested: --set optimizer.lr=", out)
        self.assertTrue(os.path.exists(self.path("lr_find.csv")))
        self.knob("batch-find", config, "--set", "batch_find.max_size=64", "--set",
                  "batch_find.noise_warmup=5", "--set", "batch_find.noise_batches=2")
        # Isolated trials (a child `knob train --protocol` each) keep their models too.
        self.knob("tune", config, "--storage", "sqlite:///iso.db", "--quiet")
        attrs = user_attrs(self.path("iso.db"))
        kept = [a["model_path"] for a in attrs.values() if "model_path" in a]
        self.assertTrue(kept, attrs)
        self.assertEqual(len(os.listdir(self.path("iso.db.models/cnn"))), 1)

    def test_pbt_tensorboard_and_the_range_test_in_train(self):
        config = self.study("p.toml", "n_trials = 1", limit=1200, epochs=2)
        self.knob("pbt", config, "--population", "2", "--out", "pbt")
        with open(self.path("pbt.csv")) as f:
            self.assertEqual(len(f.read().splitlines()), 1 + 2 * 2)  # header, 2 members x 2
        self.knob("tune", config, "--storage", "sqlite:///tb.db", "--tensorboard", "tb",
                  "--quiet")
        self.assertTrue(glob.glob(self.path("tb/trial-0/events.out.tfevents.*")))
        out = self.knob("train", config, "--set", 'optimizer.lr="find"', "--set",
                        "lr_find.steps=20", "--set", "lr_find.end=1.0").stdout
        self.assertIn("lr-find:", out)

    def test_a_direction_that_contradicts_the_task_is_refused(self):
        config = self.study("dir.toml", 'direction = "minimize"')
        proc = self.knob("tune", config, "--storage", "sqlite:///d.db", expect=2)
        self.assertIn('study.direction = "minimize"', proc.stderr)
        self.assertIn('train.objective = "val_accuracy"', proc.stderr)
        self.assertFalse(os.path.exists(self.path("d.db")))
        cuda = self.study("cuda.toml")
        proc = self.knob("tune", cuda, "--storage", "sqlite:///d.db", "--set",
                         'train.device="cuda"', expect=2)
        self.assertIn('train.device = "cuda"', proc.stderr)
        self.assertIn("no CUDA", proc.stderr)
        self.assertFalse(os.path.exists(self.path("d.db")))


if __name__ == "__main__":
    unittest.main()
