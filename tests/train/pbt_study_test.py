#!/usr/bin/python3
"""End to end: PBT inside a study (docs/pbt.md) on real Fashion-MNIST slices. `knob tune` with
[study] pbt trains a population whose segments are trials of one study: Debian's Optuna reads
them (params, per-epoch intermediate values at absolute epochs, the pbt:* user attributes);
two `knob tune` processes on one SQLite file share the segments without training one twice;
the printed `knob train` command replays the best lineage's learning rates epoch by epoch
(schedule.kind = "piecewise"); a bad pbt value exits 2 naming it.

    /usr/bin/python3 tests/train/pbt_study_test.py --knob build/knob
"""
import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest
import warnings

import optuna

ARGS = None
STUDY = """
[study]
name = "pbt"
direction = "maximize"
seed = 4
jobs = {jobs}
pbt = {{ population = 4, interval = 1, quantile_fraction = 0.25, resample_probability = 0.25 }}
[search]
"optimizer.lr" = {{ low = 1e-4, high = 1e-2, log = true }}
"batch.size" = {{ low = 32, high = 128, log = true }}
"optimizer.weight_decay" = {{ choices = [0.0, 1e-4, 1e-3] }}
[data]
limit = 3000
validation = 500
[train]
epochs = 3
threads = 1
"""


class PbtStudyTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="knob_pbt_")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.db = os.path.join(self.dir, "p.db")
        self.url = "sqlite:///" + self.db
        # New knob databases are Optuna 3.2+'s revision; Debian's Optuna is 3.1.
        self.knob_url = self.url + "?schema=v3.0.0.d"

    def config(self, jobs, text=STUDY):
        path = os.path.join(self.dir, "pbt.toml")
        with open(path, "w") as f:
            f.write(text.format(jobs=jobs))
        return path

    def tune(self, config):
        return subprocess.Popen([ARGS.knob, "tune", config, "--storage", self.knob_url, "--quiet"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def trials(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return optuna.load_study(study_name="pbt", storage=self.url).trials

    def check_segments(self, trials):
        self.assertEqual(len(trials), 12)  # 4 members x 3 segments of one epoch
        for t in trials:
            self.assertEqual(t.state.name, "COMPLETE", t)
            self.assertEqual(set(t.params), {"optimizer.lr", "batch.size", "optimizer.weight_decay"})
            generation = t.user_attrs["pbt:generation"]
            self.assertEqual(list(t.intermediate_values), [generation])  # the absolute epoch
            self.assertEqual(t.intermediate_values[generation], t.value)
            self.assertEqual(t.user_attrs["pbt:lrs"], [t.params["optimizer.lr"]])
            parent = t.user_attrs["pbt:parent"]
            if generation == 0:
                self.assertIsNone(parent)
            else:
                self.assertEqual(trials[parent].user_attrs["pbt:generation"], generation - 1)
                self.assertEqual(trials[parent].user_attrs["pbt:member"],
                                 t.user_attrs["pbt:copied_from"])
        members = sorted((t.user_attrs["pbt:generation"], t.user_attrs["pbt:member"])
                         for t in trials)
        self.assertEqual(members, [(g, m) for g in range(3) for m in range(4)])

    def test_two_processes_share_the_population_and_the_replay_replays_its_lrs(self):
        config = self.config(jobs=1)
        first, second = self.tune(config), self.tune(config)
        out_first, err_first = first.communicate(timeout=800)
        out_second, err_second = second.communicate(timeout=800)
        self.assertEqual(first.returncode, 0, err_first)
        self.assertEqual(second.returncode, 0, err_second)
        self.assertEqual(out_first, out_second)  # the same lineage, decided alike
        self.check_segments(self.trials())

        lines = out_first.splitlines()
        schedule = json.loads(next(l for l in lines if l.startswith("learning rate per epoch: "))
                              .split(": ", 1)[1])
        self.assertEqual(len(schedule), 3)
        replay = shlex.split(lines[lines.index("replay:") + 1])
        self.assertEqual(replay[:2], ["knob", "train"])
        metrics = os.path.join(self.dir, "replay.jsonl")
        run = subprocess.run([ARGS.knob, *replay[1:], "--set", "output.metrics=" + metrics,
                              "--set", "output.progress=false"],
                             capture_output=True, text=True, timeout=600)
        self.assertEqual(run.returncode, 0, run.stderr)
        with open(metrics) as f:
            used = [json.loads(line)["lr"] for line in f]
        self.assertEqual(len(used), 3)
        for lr, expected in zip(used, schedule):
            self.assertAlmostEqual(lr, expected, delta=1e-12 * expected)

    def test_threads_of_one_process(self):
        run = self.tune(self.config(jobs=2))
        out, err = run.communicate(timeout=800)
        self.assertEqual(run.returncode, 0, err)
        self.assertIn("schedule.kind=piecewise", out)
        self.check_segments(self.trials())

    def test_a_bad_pbt_value_exits_2_naming_it(self):
        config = self.config(jobs=1, text=STUDY.replace("population = 4", "population = 1"))
        run = self.tune(config)
        out, err = run.communicate(timeout=60)
        self.assertEqual(run.returncode, 2, err)
        self.assertIn("study.pbt.population = 1", err)
        self.assertIn(">= 2", err)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--knob", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
