#!/usr/bin/python3
"""End-to-end tests of `knob train` and `knob tune CONFIG.toml` on real Fashion-MNIST (small
slices via --set data.limit), read back with Debian's Optuna. Run by CTest:

    /usr/bin/python3 tests/train/train_cli_test.py --knob build/knob --examples examples
"""
import argparse
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import warnings

import optuna

ARGS = None
SMALL = ["--set", "data.limit=3000", "--set", "data.validation=1000"]
# A study small enough to run in seconds, in-process or isolated.
TINY_STUDY = """
[study]
name = "tiny"
direction = "maximize"
seed = 3
pruner = "median"
n_startup_trials = 1
[search]
"optimizer.lr" = { low = 1e-4, high = 1e-1, log = true }
"optimizer.kind" = { choices = ["sgd", "adam"] }
"batch.size" = { low = 32, high = 128 }
"model.dropout" = { low = 0.0, high = 0.5 }
[data]
limit = 2000
validation = 500
[train]
epochs = 3
threads = 1
"""


# The example studies run with a fixed seed on one job, so their trials are the same every run
# (two jobs draw from one sampler in either order). One epoch of SMALL is 16 steps at batch 128:
# where an example's space assumes full training, these settings make its points trainable.
EXAMPLE_STUDY_OVERRIDES = {
    # Warm-ups of up to 1000 steps need a longer epoch: 19,000 images at batch 16.
    "schedule_search.toml": ["--set", "data.limit=20000", "--set", "batch.size=16"],
}


GRID_THAT_DIVERGES = """
[study]
name = "tiny"
direction = "maximize"
sampler = "grid"
pruner = "none"
[search]
"batch.size" = { choices = [32, 64, 128] }
[optimizer]
kind = "sgd"
lr = 10000.0
[data]
limit = 2000
validation = 500
[train]
epochs = 1
threads = 1
"""


def for_optuna_31(args):
    """knob creates databases at schema revision v3.2.0.a, which Debian's Optuna 3.1 (that these
    tests read them with) refuses: an SQLite --storage asks for v3.0.0.d (docs/storage.md)."""
    args = list(args)
    for i in range(1, len(args)):
        if (args[i - 1] == "--storage" and args[i].startswith("sqlite:///")
                and "?" not in args[i]):
            args[i] += "?schema=v3.0.0.d"
    return args


def knob(*args, expect=0, cwd=None):
    proc = subprocess.run([ARGS.knob, *for_optuna_31(args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600)
    if expect is not None and proc.returncode != expect:
        raise AssertionError(f"knob {' '.join(args)} exited {proc.returncode}, expected {expect}\n"
                             f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc


def example(name):
    return os.path.join(ARGS.examples, name)


def system_attrs(trial):
    with warnings.catch_warnings():  # deprecated in Optuna 3.1, still the way to read them
        warnings.simplefilter("ignore")
        return trial.system_attrs


def process_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def find_trial_process(parent, trial_number):
    """The child of `parent` running trial `trial_number` (from its KNOB_TRIAL_NUMBER)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                ppid = next(int(line.split()[1]) for line in f if line.startswith("PPid:"))
            if ppid != parent:
                continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except (OSError, StopIteration):
            continue
        if f"KNOB_TRIAL_NUMBER={trial_number}".encode() in env:
            return int(entry)
    return None


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

    def test_every_example_study_config_tunes(self):
        configs = os.path.join(ARGS.examples, "configs")
        for name in sorted(os.listdir(configs)):
            path = os.path.join(configs, name)
            with open(path) as f:
                text = f.read()
                if not name.endswith(".toml") or "[objective]" in text or "[search]" not in text:
                    continue  # command studies have tests of their own; pbt configs are no studies
            with self.subTest(example=name):
                url = "sqlite:///" + os.path.join(self.dir, name + ".db")
                proc = knob("tune", path, "--storage", url, *SMALL, "--set", "train.epochs=1",
                            "--n-trials", "2", "--seed", "1", "--jobs", "1", "--quiet",
                            *EXAMPLE_STUDY_OVERRIDES.get(name, []))
                self.assertTrue("best value" in proc.stdout or "on the Pareto front" in proc.stdout
                                or "best member" in proc.stdout,  # [study] pbt
                                proc.stdout)

    def test_conditional_parameters_are_searched_only_when_their_condition_holds(self):
        # tpe_asha.toml searches optimizer.momentum only for sgd and rmsprop.
        db = os.path.join(self.dir, "conditional.db")
        knob("tune", os.path.join(ARGS.examples, "configs", "tpe_asha.toml"), "--storage",
             "sqlite:///" + db, *SMALL, "--set", "train.epochs=1", "--set", "data.limit=1500",
             "--sampler", "random", "--n-trials", "8", "--quiet")
        with sqlite3.connect(db) as con:
            rows = con.execute("SELECT trial_id, param_name, param_value, distribution_json "
                               "FROM trial_params").fetchall()
        params = {}
        for trial_id, name, value, distribution in rows:
            if name == "optimizer.kind":
                value = json.loads(distribution)["attributes"]["choices"][int(value)]
            params.setdefault(trial_id, {})[name] = value
        self.assertEqual(len(params), 8)
        kinds = set()
        for trial in params.values():
            kinds.add(trial["optimizer.kind"])
            self.assertEqual("optimizer.momentum" in trial,
                             trial["optimizer.kind"] in ("sgd", "rmsprop"), trial)
        self.assertGreater(len(kinds), 1)

    def test_divergence_exits_1_with_the_step(self):
        proc = knob("train", example("fashion_mnist_mlp.toml"), *SMALL, "--set", "optimizer.kind=sgd",
                    "--set", "optimizer.lr=10000", "--quiet", expect=1)
        self.assertIn("diverged", proc.stdout + proc.stderr)
        self.assertIn("at step", proc.stderr)

    def test_resume_continues_with_the_numbers_of_an_uninterrupted_run(self):
        def epoch_lines(stdout):  # the epoch table without its wall-time columns
            return [line.split("  ")[:7] for line in stdout.splitlines()
                    if line.startswith("epoch")]

        whole = knob("train", example("fashion_mnist_mlp.toml"), *SMALL, "--set",
                     "train.epochs=3", "--quiet")
        checkpoint = os.path.join(self.dir, "run.ckpt")
        knob("train", example("fashion_mnist_mlp.toml"), *SMALL, "--set", "train.epochs=2",
             "--checkpoint", checkpoint, "--quiet")
        resumed = knob("train", example("fashion_mnist_mlp.toml"), *SMALL, "--set",
                       "train.epochs=3", "--checkpoint", checkpoint, "--resume", "--quiet")
        self.assertIn("resumed from " + checkpoint + " after epoch 2", resumed.stdout)
        self.assertIn("train.epochs 2 -> 3", resumed.stderr)  # the change is named
        self.assertEqual(len(epoch_lines(resumed.stdout)), 1)  # only epoch 3 was trained
        self.assertEqual(epoch_lines(resumed.stdout)[0], epoch_lines(whole.stdout)[2])
        # A checkpoint of another model is refused by name and kept as it was.
        before = open(checkpoint, "rb").read()
        proc = knob("train", example("fashion_mnist_mlp.toml"), *SMALL, "--set",
                    "model.hidden=[64]", "--checkpoint", checkpoint, "--resume", expect=2)
        self.assertIn("model.hidden = [128]", proc.stderr)
        self.assertEqual(open(checkpoint, "rb").read(), before)

    def test_lr_find_writes_the_curve_and_plot_and_train_uses_its_suggestion(self):
        out = os.path.join(self.dir, "lr")
        proc = knob("lr-find", example("fashion_mnist_mlp.toml"), *SMALL, "--out", out)
        suggested = [line for line in proc.stdout.splitlines() if line.startswith("suggested:")]
        self.assertEqual(len(suggested), 1, proc.stdout)
        lr = float(suggested[0].rsplit("=", 1)[1])
        self.assertTrue(1e-6 < lr < 1, lr)
        with open(out + ".csv") as f:
            rows = f.read().splitlines()
        self.assertEqual(rows[0], "step,lr,loss,smoothed_loss")
        self.assertGreater(len(rows), 20)
        self.assertEqual(float(rows[1].split(",")[1]), 1e-7)
        with open(out + ".svg") as f:
            svg = f.read()
        self.assertIn("valley", svg)
        self.assertIn("(chosen)", svg)
        with open(out + ".png", "rb") as f:
            png = f.read()
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        self.assertEqual((width, height), (1600, 1000))  # the chart's 800x500, rendered at 2x
        self.assertGreater(len(png), 20000)  # curves and text, not a blank canvas
        # The same seed gives the same suggestion, and optimizer.lr = "find" trains at it.
        again = knob("lr-find", example("fashion_mnist_mlp.toml"), *SMALL, "--out", out)
        self.assertIn(suggested[0], again.stdout)
        train = knob("train", example("fashion_mnist_mlp.toml"), *SMALL, "--set",
                     "optimizer.lr=find", "--set", "train.epochs=1", "--quiet")
        self.assertIn(f"valley suggestion {lr:.3g}", train.stdout)
        self.assertIn(f"lr {lr:.3g}", train.stdout)

    def test_lr_find_and_batch_find_record_their_runs_for_optuna_and_the_dashboard(self):
        url = "sqlite:///" + os.path.join(self.dir, "finders.db")
        out = os.path.join(self.dir, "rec")
        proc = knob("lr-find", example("fashion_mnist_mlp.toml"), *SMALL, "--out", out + "_lr",
                    "--storage", url, "--study", "mlp")
        self.assertIn(f"recorded: study 'mlp', user attribute knob:lr_find:0 in {url}",
                      proc.stdout)
        lr = float(next(line for line in proc.stdout.splitlines()
                        if line.startswith("suggested:")).rsplit("=", 1)[1])
        knob("batch-find", example("fashion_mnist_mlp.toml"), *SMALL, "--set",
             "batch_find.max_size=256", "--set", "batch_find.noise_batches=5", "--set",
             "batch_find.noise_warmup=20", "--set", "batch_find.steps=1", "--out", out + "_bf",
             "--storage", url, "--study", "mlp")
        again = knob("lr-find", example("fashion_mnist_mlp.toml"), *SMALL, "--out", out + "_2",
                     "--storage", url)  # the study defaults to the config's name
        self.assertIn("study 'fashion_mnist_mlp', user attribute knob:lr_find:0", again.stdout)
        # Optuna opens the study: the runs are plain JSON user attributes.
        attrs = optuna.load_study(study_name="mlp", storage=url).user_attrs
        self.assertEqual(sorted(attrs), ["knob:batch_find:0", "knob:lr_find:0"])
        run = attrs["knob:lr_find:0"]
        self.assertEqual(f"{run['suggested_lr']:.3g}", f"{lr:.3g}")
        with open(out + "_lr.csv") as f:  # the curve of the CSV, step for step
            self.assertEqual(len(f.read().splitlines()) - 1, len(run["lr"]))
        self.assertGreater(len(run["lr"]), 20)
        self.assertEqual(len(run["smoothed"]), len(run["lr"]))
        self.assertEqual(run["settings"]["suggestion"], "valley")
        finder = attrs["knob:batch_find:0"]
        self.assertIn(finder["recommended"], [t["size"] for t in finder["trials"] if t["fits"]])
        # --study without --storage, and a bad storage URL, are refused before the sweep.
        for args, fragment in [(["--study", "x"], "--study"),
                               (["--storage", "mysql://x"], "mysql://x")]:
            proc = knob("lr-find", example("fashion_mnist_mlp.toml"), "--out", out, *args,
                        expect=2)
            self.assertIn(fragment, proc.stderr)
            self.assertNotIn("lr-find: adam", proc.stderr)

    def test_lr_find_bad_input_exits_2_naming_the_key(self):
        cases = [
            (["lr_find.end=1e-9"], ["lr_find.end = 1e-09", "lr_find.start"]),
            (["lr_find.start=0"], ["lr_find.start = 0", "> 0"]),
            (["lr_find.steps=5"], ["lr_find.steps = 5", ">= 10"]),
            (["optimizer.lr=fastest"], ["optimizer.lr", "\"find\""]),
        ]
        for sets, fragments in cases:
            with self.subTest(sets=sets):
                args = [a for kv in sets for a in ("--set", kv)]
                proc = knob("lr-find", example("fashion_mnist_mlp.toml"), *SMALL, *args,
                            "--out", os.path.join(self.dir, "bad"), expect=2)
                for fragment in fragments:
                    self.assertIn(fragment, proc.stderr)
                self.assertFalse(os.path.exists(os.path.join(self.dir, "bad.csv")))
        # An --out nobody can write to is refused before the sweep runs.
        proc = knob("lr-find", example("fashion_mnist_mlp.toml"), "--out",
                    "/nonexistent-dir/lr", expect=2)
        self.assertIn('--out = "/nonexistent-dir/lr"', proc.stderr)
        self.assertNotIn("lr-find: adam", proc.stderr)


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

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_isolate_stores_the_same_trials_as_in_process(self):
        # Seeded sampler, one job, one libtorch thread: both modes train the same models, so
        # the stored trials must agree — params, values, reports, states (the median pruner
        # may prune) and user attributes (but the wall times in history["seconds"]).
        config = self.write("tiny.toml", TINY_STUDY)
        urls = {}
        for mode in ("in-process", "isolate"):
            urls[mode] = "sqlite:///" + os.path.join(self.dir, mode + ".db")
            extra = ["--isolate"] if mode == "isolate" else []
            knob("tune", config, "--storage", urls[mode], "--n-trials", "4", "--quiet", *extra)
        studies = {mode: optuna.load_study(study_name="tiny", storage=url)
                   for mode, url in urls.items()}
        inproc, isolated = studies["in-process"].trials, studies["isolate"].trials
        self.assertEqual(len(isolated), 4)
        for a, b in zip(inproc, isolated):
            with self.subTest(trial=a.number):
                self.assertIn(b.state, (optuna.trial.TrialState.COMPLETE,
                                        optuna.trial.TrialState.PRUNED))
                self.assertEqual(b.state, a.state)
                self.assertEqual(b.params, a.params)  # floats round-trip through --set exactly
                self.assertEqual(b.values, a.values)
                self.assertEqual(b.intermediate_values, a.intermediate_values)
                self.assertEqual(set(b.user_attrs), set(a.user_attrs))
                for attrs in (a.user_attrs, b.user_attrs):
                    if b.state == optuna.trial.TrialState.COMPLETE:  # kept beside its database
                        self.assertTrue(attrs.pop("model_path").endswith(
                            f".db.models/tiny/trial-{b.number}.pt"))
                    self.assertEqual(len(attrs["history"].pop("seconds")),
                                     len(attrs["history"]["val_accuracy"]))
                    if "metrics" in attrs:  # wall times differ between the runs
                        self.assertGreater(attrs["metrics"].pop("train_seconds"), 0)
                        self.assertGreater(attrs["metrics"].pop("latency_ms"), 0)
                self.assertEqual(b.user_attrs, a.user_attrs)
                history = b.user_attrs["history"]["val_accuracy"]
                self.assertEqual(len(history), len(b.intermediate_values))
                if b.state == optuna.trial.TrialState.COMPLETE:
                    self.assertEqual(b.value, history[-1])
                    self.assertEqual(b.user_attrs["stop_reason"], "completed")
                    self.assertGreater(b.user_attrs["test_accuracy"], 0.1)

    def test_isolated_trial_killed_by_sigkill_fails_and_the_study_goes_on(self):
        # No test hook: the trial's process is found and killed from outside, as the kernel's
        # out-of-memory killer would.
        config = self.write("kill.toml", TINY_STUDY.replace("pruner = \"median\"",
                                                            "pruner = \"none\"\nisolate = true"))
        url = "sqlite:///" + os.path.join(self.dir, "kill.db")
        tune = subprocess.Popen(for_optuna_31([ARGS.knob, "tune", config, "--storage", url,
                                               "--n-trials", "3", "--quiet"]),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            victim = None
            deadline = time.time() + 120
            while victim is None and time.time() < deadline and tune.poll() is None:
                victim = find_trial_process(tune.pid, trial_number=0)
                time.sleep(0.02)
            self.assertIsNotNone(victim, "trial 0's process never appeared")
            time.sleep(0.5)  # let it start training
            os.kill(victim, signal.SIGKILL)
            out, err = tune.communicate(timeout=600)
        finally:
            if tune.poll() is None:
                tune.kill()
                tune.wait()
        self.assertEqual(tune.returncode, 0, err)
        self.assertIn("best value", out)
        trials = optuna.load_study(study_name="tiny", storage=url).trials
        self.assertEqual([t.state for t in trials],
                         [optuna.trial.TrialState.FAIL] + [optuna.trial.TrialState.COMPLETE] * 2)
        reason = system_attrs(trials[0])["fail_reason"]
        self.assertIn("signal 9 (SIGKILL, possibly out of memory)", reason)
        for t in trials[1:]:
            self.assertEqual(t.value, t.user_attrs["history"]["val_accuracy"][-1])
        self.assertFalse(os.path.exists(f"/proc/{victim}") and process_state(victim) != "Z")

    def test_ctrl_c_fails_running_trials_and_resume_finishes_the_budget(self):
        # 20 epochs make a trial last a second or more, so Ctrl-C soon after trial 1 starts lands
        # in its middle: a trial stops at its next report. (A 1 s wait once let trial 1's 20
        # epochs end first on an idle machine; its reports are stored in batches, so they can't
        # tell that it is training.)
        config = self.write("stop.toml", TINY_STUDY.replace('pruner = "median"', 'pruner = "none"')
                            .replace("epochs = 3", "epochs = 20"))
        for mode in ("in-process", "isolate"):
            with self.subTest(mode=mode):
                db = os.path.join(self.dir, mode + "-stop.db")
                url = "sqlite:///" + db
                extra = ["--isolate"] if mode == "isolate" else []
                tune = subprocess.Popen(for_optuna_31([ARGS.knob, "tune", config, "--storage", url,
                                                       "--n-trials", "4", "--quiet", *extra]),
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                try:
                    deadline = time.time() + 300
                    while time.time() < deadline and tune.poll() is None:
                        if os.path.exists(db):
                            with sqlite3.connect(db) as con:
                                try:
                                    started = con.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
                                except sqlite3.OperationalError:  # tables not created yet
                                    started = 0
                            if started >= 2:
                                break
                        time.sleep(0.05)
                    time.sleep(0.2)  # trial 1 is training
                    os.kill(tune.pid, signal.SIGINT)
                    out, err = tune.communicate(timeout=120)
                finally:
                    if tune.poll() is None:
                        tune.kill()
                        tune.wait()
                self.assertEqual(tune.returncode, 130, err)
                self.assertIn("interrupted", err)
                self.assertIn("--resume", err)
                trials = optuna.load_study(study_name="tiny", storage=url).trials
                self.assertEqual([t.state for t in trials],
                                 [optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL])
                self.assertIn("interrupted", system_attrs(trials[1])["fail_reason"])
                self.assertLess(len(trials[1].intermediate_values), 20)

                proc = knob("tune", config, "--storage", url, "--n-trials", "4", "--quiet",
                            "--resume", *extra)
                self.assertIn("1 interrupted ones run again first, 3 to go", proc.stderr)
                trials = optuna.load_study(study_name="tiny", storage=url).trials
                self.assertEqual([t.state for t in trials],
                                 [optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL] +
                                 [optuna.trial.TrialState.COMPLETE] * 3)
                self.assertEqual(system_attrs(trials[2])["knob:retry_of"], 1)
                self.assertEqual(trials[2].params, trials[1].params)
                # Resuming a finished study runs nothing more.
                proc = knob("tune", config, "--storage", url, "--n-trials", "4", "--quiet",
                            "--resume", *extra)
                self.assertIn("0 to go", proc.stderr)
                self.assertEqual(len(optuna.load_study(study_name="tiny", storage=url).trials), 5)

    def test_python_example_tuned_through_the_command_protocol_with_pruning(self):
        # examples/configs/python_command.toml on 3,000 images, one trial at a time (so the
        # seeded run repeats), the median pruner active from the second trial on.
        with open(os.path.join(ARGS.examples, "configs", "python_command.toml")) as f:
            text = f.read()
        text = text.replace('"--optimizer={optimizer}"]', '"--optimizer={optimizer}", "--limit=3000"]')
        text = text.replace("median = { n_startup_trials = 3, n_warmup_steps = 1 }",
                            "median = { n_startup_trials = 1 }")
        text = text.replace("epochs = { low = 1, high = 5 }", "epochs = { low = 4, high = 6 }")
        text = text.replace('"examples/python/', '"' + os.path.join(ARGS.examples, "python") + "/")
        config = self.write("python.toml", text)
        url = "sqlite:///" + os.path.join(self.dir, "python.db")
        knob("tune", config, "--storage", url, "--n-trials", "8", "--jobs", "1", "--quiet")
        trials = optuna.load_study(study_name="python-fmnist", storage=url).trials
        states = [t.state for t in trials]
        self.assertEqual(len(trials), 8)
        self.assertGreater(states.count(optuna.trial.TrialState.PRUNED), 0, states)
        self.assertGreater(states.count(optuna.trial.TrialState.COMPLETE), 0, states)
        for t in trials:
            epochs = t.params["epochs"]
            if t.state == optuna.trial.TrialState.COMPLETE:
                self.assertEqual(len(t.intermediate_values), epochs)
                self.assertEqual(t.value, t.intermediate_values[epochs - 1])
                self.assertGreater(t.value, 0.1)
            else:  # stopped before its last epoch: the process was ended, not waited for
                self.assertEqual(t.state, optuna.trial.TrialState.PRUNED)
                self.assertLess(len(t.intermediate_values), epochs)

    def test_command_naming_an_unknown_parameter_exits_2_before_any_trial(self):
        config = self.write("bad.toml", '[study]\nname = "bad"\n[search]\nlr = { low = 0.1, high = 1.0 }\n'
                            '[objective]\ncommand = "echo knob:value {learning_rate}"\n')
        url = "sqlite:///" + os.path.join(self.dir, "bad.db")
        proc = knob("tune", config, "--storage", url, expect=2)
        self.assertIn("[objective]", proc.stderr)
        self.assertIn("learning_rate", proc.stderr)
        self.assertEqual(optuna.get_all_study_summaries(storage=url), [])  # nothing created

    def test_resume_of_a_study_that_does_not_exist_exits_2(self):
        config = self.write("none.toml", TINY_STUDY)
        url = "sqlite:///" + os.path.join(self.dir, "none.db")
        proc = knob("tune", config, "--storage", url, "--resume", expect=2)
        self.assertIn("--resume: nothing to resume", proc.stderr)
        self.assertIn("tiny", proc.stderr)

    def test_grid_whose_trials_all_diverge_names_the_last_that_ran(self):
        # The grid enqueues its 3 points as WAITING trials; 2 run and diverge (SGD at lr 10000).
        # A diverged trial ends PRUNED (samplers learn from it; they leave FAIL trials out).
        config = self.write("grid.toml", GRID_THAT_DIVERGES)
        url = "sqlite:///" + os.path.join(self.dir, "grid.db")
        proc = knob("tune", config, "--storage", url, "--n-trials", "2", "--quiet", expect=2)
        self.assertIn("no trial of study 'tiny' completed; the last, trial 1, was pruned: "
                      "training diverged: ", proc.stderr)
        trials = optuna.load_study(study_name="tiny", storage=url).trials
        self.assertEqual([t.state for t in trials], [optuna.trial.TrialState.PRUNED] * 2 +
                         [optuna.trial.TrialState.WAITING])
        for t in trials[:2]:
            self.assertIn("at step", system_attrs(t)["knob:prune_reason"])
            self.assertEqual(t.user_attrs["stop_reason"], "diverged")

    def test_isolated_divergence_is_pruned_with_the_reason(self):
        # SGD at lr 10000 diverges whatever the searched batch size and dropout.
        config = self.write("div.toml", TINY_STUDY.replace('"optimizer.lr"', "# ").replace(
            '"optimizer.kind"', "# ") + '[optimizer]\nkind = "sgd"\nlr = 10000.0\n')
        url = "sqlite:///" + os.path.join(self.dir, "div.db")
        proc = knob("tune", config, "--storage", url, "--n-trials", "2", "--quiet", "--isolate",
                    expect=2)
        self.assertIn("no trial of study 'tiny' completed", proc.stderr)
        trials = optuna.load_study(study_name="tiny", storage=url).trials
        self.assertEqual(len(trials), 2)
        for t in trials:  # as in process: PRUNED, the reason where knob:prune puts it
            self.assertEqual(t.state, optuna.trial.TrialState.PRUNED)
            self.assertNotIn("fail_reason", system_attrs(t))
            reason = system_attrs(t)["knob:prune_reason"]
            self.assertIn("training diverged", reason)
            self.assertIn("at step", reason)
            self.assertEqual(t.user_attrs["stop_reason"], "diverged")

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
            ("isolate as a string", write("h.toml", '[study]\nisolate = "yes"\n'),
             ["study.isolate", '"yes"', "true or false", "h.toml"]),
        ]
        # `knob train` reads no [search] nor [study].
        search_only = ("unknown search key", "bad search range", "isolate as a string")
        # Found by loading one batch before the first trial (the data are the same for every
        # trial), so the child process of --isolate is never started for them either.
        data_checks = ("truncated data", "batch larger than data")
        for name, path, fragments in cases:
            with self.subTest(case=name):
                db = os.path.join(self.dir, name.replace(" ", "_") + ".db")
                verbs = [["tune", path, "--storage", "sqlite:///" + db, "--quiet", "--n-trials", "1"]]
                if name in data_checks:
                    verbs.append(verbs[0] + ["--isolate"])
                if name not in search_only:
                    verbs.append(["train", path, "--quiet"])
                for verb in verbs:
                    proc = knob(*verb, expect=None)
                    self.assertEqual(proc.returncode, 2, f"{verb}: {proc.stderr}")
                    self.assertFalse(os.path.exists(db) and verb[0] == "tune"
                                     and os.path.getsize(db) > 0 and
                                     optuna.get_all_study_summaries("sqlite:///" + db),
                                     "a bad config must not create a study")
                    for fragment in fragments:
                        self.assertIn(fragment, proc.stderr, f"{verb}: {proc.stderr}")


MULTI_OBJECTIVE_STUDY = TINY_STUDY.replace(
    'direction = "maximize"',
    'directions = ["maximize", "minimize"]\n'
    'objectives = ["val_accuracy", "train_seconds"]\n'
    'constraints = ["train_seconds <= 1000", "val_accuracy >= 0.5"]')


class MultiObjectiveTuneTest(unittest.TestCase):
    """Trainer metrics as objectives and constraints (docs/config.md), read back by Optuna."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="knob_multiobj_cli_")

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_accuracy_and_seconds_with_constraints_in_process_and_isolated(self):
        config = self.write("mo.toml", MULTI_OBJECTIVE_STUDY)
        for mode in ("in-process", "isolate"):
            with self.subTest(mode=mode):
                url = "sqlite:///" + os.path.join(self.dir, mode + ".db")
                extra = ["--isolate"] if mode == "isolate" else []
                proc = knob("tune", config, "--storage", url, "--n-trials", "3", "--quiet", *extra)
                self.assertIn("on the Pareto front", proc.stdout)
                study = optuna.load_study(study_name="tiny", storage=url)
                self.assertEqual(len(study.directions), 2)
                for t in study.trials:
                    self.assertEqual(t.state, optuna.trial.TrialState.COMPLETE)
                    metrics = t.user_attrs["metrics"]
                    self.assertEqual(t.values, [metrics["val_accuracy"], metrics["train_seconds"]])
                    self.assertEqual(t.values[0], t.user_attrs["history"]["val_accuracy"][-1])
                    self.assertGreater(t.values[1], sum(t.user_attrs["history"]["seconds"]) * 0.99)
                    # Optuna refuses reports in multi-objective studies: none stored, none pruned.
                    self.assertEqual(t.intermediate_values, {})
                    self.assertEqual(system_attrs(t)["constraints"],
                                     [metrics["train_seconds"] - 1000, 0.5 - metrics["val_accuracy"]])
                    self.assertGreater(metrics["params"], 100000)  # the 784-128-10 MLP
                    self.assertGreater(metrics["latency_ms"], 0)
                    self.assertGreater(metrics["val_loss"], 0)

    def test_other_metrics_as_objectives(self):
        config = self.write("loss.toml", TINY_STUDY.replace(
            'direction = "maximize"',
            'directions = ["minimize", "minimize", "minimize"]\n'
            'objectives = ["val_loss", "params", "latency_ms"]'))
        url = "sqlite:///" + os.path.join(self.dir, "loss.db")
        knob("tune", config, "--storage", url, "--n-trials", "2", "--quiet")
        for t in optuna.load_study(study_name="tiny", storage=url).trials:
            metrics = t.user_attrs["metrics"]
            self.assertEqual(t.values, [metrics["val_loss"], metrics["params"],
                                        metrics["latency_ms"]])
        # One per-epoch objective: reported every epoch, so the pruner can act.
        config = self.write("single.toml", TINY_STUDY.replace(
            'direction = "maximize"', 'direction = "minimize"\nobjectives = ["val_loss"]'))
        url = "sqlite:///" + os.path.join(self.dir, "single.db")
        knob("tune", config, "--storage", url, "--n-trials", "2", "--quiet")
        for t in optuna.load_study(study_name="tiny", storage=url).trials:
            self.assertEqual(list(t.intermediate_values.values()),
                             t.user_attrs["history"]["val_loss"])

    def test_objectives_that_contradict_the_directions_exit_2_before_any_trial(self):
        cases = [
            ("maximize seconds", MULTI_OBJECTIVE_STUDY.replace('["maximize", "minimize"]',
                                                               '["maximize", "maximize"]'),
             ["study.directions[1]", "train_seconds", "must be minimize"]),
            ("count", MULTI_OBJECTIVE_STUDY.replace('["val_accuracy", "train_seconds"]',
                                                    '["val_accuracy"]'),
             ["study.objectives", "study.directions has 2"]),
            ("bad constraint", MULTI_OBJECTIVE_STUDY.replace('"train_seconds <= 1000"',
                                                             '"train_seconds < 1000"'),
             ["study.constraints[0]", "METRIC <= NUMBER"]),
        ]
        for name, text, fragments in cases:
            with self.subTest(case=name):
                db = os.path.join(self.dir, name.replace(" ", "_") + ".db")
                proc = knob("tune", self.write(name + ".toml", text), "--storage",
                            "sqlite:///" + db, "--quiet", expect=2)
                for fragment in fragments:
                    self.assertIn(fragment, proc.stderr)
                self.assertFalse(os.path.exists(db) and os.path.getsize(db) > 0 and
                                 optuna.get_all_study_summaries("sqlite:///" + db))


class BatchFindCliTest(unittest.TestCase):
    """`knob batch-find`: the files it writes, the recommendation, bad input, batch.size = "find"."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="knob_batch_find_")
        self.small = [*SMALL, "--set", "batch_find.noise_batches=5",
                      "--set", "batch_find.noise_warmup=20", "--set", "batch_find.steps=1"]

    def test_writes_table_plot_and_recommendation(self):
        import csv
        import xml.etree.ElementTree as ET
        out = os.path.join(self.dir, "bf")
        proc = knob("batch-find", example("fashion_mnist_mlp.toml"), *self.small,
                    "--set", "batch_find.max_size=1000", "--out", out)
        with open(out + ".csv") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(list(rows[0].keys()),
                         ["batch_size", "fits", "peak_mib", "samples_per_second"])
        sizes = [int(r["batch_size"]) for r in rows]
        self.assertEqual(sizes[0], 16)
        self.assertLessEqual(max(sizes), 1000)  # the cap
        self.assertEqual(len(sizes), len(set(sizes)))
        fitting = {int(r["batch_size"]) for r in rows if r["fits"] == "true"}
        for r in rows:
            self.assertGreater(float(r["peak_mib"]), 0)
            if r["fits"] == "true":
                self.assertGreater(float(r["samples_per_second"]), 0)
        recommended = [line for line in proc.stdout.splitlines()
                       if line.startswith("recommended batch size:")]
        self.assertEqual(len(recommended), 1, proc.stdout)
        self.assertIn(int(recommended[0].split(":")[1].split()[0]), fitting)  # a tested size
        self.assertIn("noise scale", proc.stdout)
        self.assertIn("--set batch.size=", proc.stdout)
        root = ET.parse(out + ".svg").getroot()
        self.assertTrue(root.tag.endswith("svg"))
        with open(out + ".png", "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    def test_malformed_input_exits_2_and_writes_nothing(self):
        cases = [
            ("budget zero", ["batch_find.memory_budget=0"], ["batch_find.memory_budget = 0", "> 0"]),
            ("budget negative", ["batch_find.memory_budget=-1"], ["batch_find.memory_budget = -1"]),
            ("start above cap", ["batch_find.max_size=64", "batch_find.start=128"],
             ["batch_find.start = 128", "batch_find.max_size (64)"]),
            ("cap above training set", ["batch_find.max_size=100000"],
             ["batch_find.max_size = 100000", "number of training examples (2000)"]),
            ("budget too small", ["batch_find.memory_budget=0.01"],
             ["batch_find.memory_budget = 0.01", "too small for batch_find.start = 16"]),
        ]
        for name, sets, fragments in cases:
            with self.subTest(case=name):
                out = os.path.join(self.dir, name.replace(" ", "_"))
                args = [a for s in sets for a in ("--set", s)]
                proc = knob("batch-find", example("fashion_mnist_mlp.toml"), *SMALL, *args,
                            "--out", out, expect=2)
                for fragment in fragments:
                    self.assertIn(fragment, proc.stderr)
                for ext in (".csv", ".svg", ".png"):
                    self.assertFalse(os.path.exists(out + ext), ext)

    def test_train_with_batch_size_find(self):
        proc = knob("train", example("fashion_mnist_mlp.toml"), *self.small,
                    "--set", "batch.size=find", "--set", "batch_find.max_size=256",
                    "--set", "train.epochs=1", "--quiet")
        self.assertIn("[knob] batch-find: batch size", proc.stderr)


class PbtCliTest(unittest.TestCase):
    """`knob pbt`: the member table, the best lineage's lr schedule, the CSV and the chart."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="knob_pbt_")
        self.config = os.path.join(ARGS.examples, "configs", "fashion_mnist_pbt.toml")
        self.small = ["--set", "data.limit=2000", "--set", "data.validation=500",
                      "--set", "train.epochs=3", "--knob", "optimizer.lr=1e-4:1e-2:log"]

    def test_writes_table_schedule_csv_and_chart(self):
        import csv
        import xml.etree.ElementTree as ET
        out = os.path.join(self.dir, "pbt")
        proc = knob("pbt", self.config, *self.small, "--population", "4", "--interval", "1",
                    "--seed", "3", "--out", out)
        self.assertIn("final val_accuracy", proc.stdout)
        self.assertIn("(best)", proc.stdout)
        self.assertIn("lr schedule of the best member's lineage", proc.stdout)
        schedule = [line for line in proc.stdout.splitlines() if line.strip().startswith("epoch")]
        self.assertEqual(len(schedule), 3, proc.stdout)
        with open(out + ".csv") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(list(rows[0].keys()),
                         ["member", "epoch", "lr", "val_accuracy", "val_loss", "copied_from"])
        self.assertEqual(len(rows), 4 * 3)
        self.assertEqual(sorted({r["member"] for r in rows}), ["0", "1", "2", "3"])
        for r in rows:
            self.assertTrue(1e-4 <= float(r["lr"]) <= 1e-2, r)
            self.assertTrue(0 <= float(r["val_accuracy"]) <= 1, r)
        # One copy after each of epochs 1 and 2 (bottom quarter of 4), marked at the epoch after.
        copies = [r for r in rows if r["copied_from"]]
        self.assertEqual(sorted(int(r["epoch"]) for r in copies), [1, 2])
        for r in copies:
            self.assertNotEqual(r["copied_from"], r["member"])
        svg = ET.parse(out + ".svg").getroot()
        text = "".join(svg.itertext())
        self.assertIn("learning rate", text)
        for member in range(4):
            self.assertIn(f"member {member}", text)
        self.assertIn("best lineage", text)
        # Same seed, same table (one job).
        again = knob("pbt", self.config, *self.small, "--population", "4", "--seed", "3")
        self.assertEqual(again.stdout.rstrip(), proc.stdout.split("\nmembers:")[0].rstrip())

    def test_bad_options_exit_2_naming_them(self):
        cases = [
            (["--population", "1"], ["population.size = 1", ">= 2"]),
            (["--quantile", "0.7"], ["population.quantile_fraction = 0.7", "[0, 0.5]"]),
            (["--knob", "optimizer.lr=0.1"], ["--knob", "KEY=LOW:HIGH"]),
            # A key a checkpoint fixes cannot change between epochs.
            (["--knob", "model.dropout=0:0.5"], ["model.dropout"]),
            (["--metric", "accuracy"],
             ["population.metric", "val_accuracy, val_loss, train_loss"]),
        ]
        for args, fragments in cases:
            with self.subTest(args=args):
                proc = knob("pbt", self.config, *self.small, *args, "--out",
                            os.path.join(self.dir, "bad"), expect=2)
                for fragment in fragments:
                    self.assertIn(fragment, proc.stderr)
                self.assertFalse(os.path.exists(os.path.join(self.dir, "bad.csv")))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--knob", required=True)
    parser.add_argument("--examples", required=True)
    ARGS, rest = parser.parse_known_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)
