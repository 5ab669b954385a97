#!/usr/bin/python3
"""End to end: the range test as a study's prior (docs/lr_prior.md) on real Fashion-MNIST
slices. With optimizer.lr = "find" and lr_find.factor searched, `knob tune` runs the range test
once per optimizer kind, keeps each suggestion as the study user attribute
knob:lr_prior:<kind>, and every trial trains with factor x its kind's suggestion (kept as the
trial's user attribute optimizer.lr). A prior another program stored (here Debian's Optuna) is
reused, in process and with --isolate; one that is not a learning rate is measured again.

    /usr/bin/python3 tests/train/lr_prior_test.py --knob build/knob
"""
import argparse
import json
import os
import re
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
name = "prior"
direction = "maximize"
seed = 5
sampler = "random"
pruner = "none"
n_trials = {n_trials}
[search]
"lr_find.factor" = {{ low = 0.3, high = 30.0, log = true }}
"optimizer.kind" = {{ choices = {kinds} }}
[data]
limit = 2000
validation = 500
[optimizer]
lr = "find"
[lr_find]
steps = 30
[train]
epochs = 1
threads = 1
"""
RANGE_TEST_LINE = "[knob] range test for optimizer.kind"


class LrPriorTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="knob_lr_prior_")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.db = os.path.join(self.dir, "p.db")
        self.url = "sqlite:///" + self.db
        # New knob databases are Optuna 3.2+'s revision; Debian's Optuna is 3.1.
        self.knob_url = self.url + "?schema=v3.0.0.d"

    def config(self, n_trials, kinds):
        path = os.path.join(self.dir, "prior.toml")
        with open(path, "w") as f:
            f.write(STUDY.format(n_trials=n_trials, kinds=json.dumps(kinds)))
        return path

    def tune(self, config, *flags):
        run = subprocess.run(
            [ARGS.knob, "tune", config, "--storage", self.knob_url, "--quiet", *flags],
            capture_output=True, text=True, timeout=600)
        self.assertEqual(run.returncode, 0, run.stderr)
        return run.stderr

    def trials(self):
        """(number, state, factor, kind, the trial's optimizer.lr attribute) per trial."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = optuna.load_study(study_name="prior", storage=self.url)
        return study, [(t.number, t.state.name, t.params["lr_find.factor"],
                        t.params["optimizer.kind"], t.user_attrs.get("optimizer.lr"))
                       for t in study.trials]

    def check_lrs(self, priors, trials):
        for number, state, factor, kind, lr in trials:
            self.assertEqual(state, "COMPLETE", f"trial {number}")
            self.assertIsNotNone(lr, f"trial {number} keeps no optimizer.lr")
            self.assertAlmostEqual(lr / (factor * priors[kind]), 1.0, places=12,
                                   msg=f"trial {number}: lr {lr}, factor {factor}, {kind}")

    def test_once_per_optimizer_kind_in_process(self):
        stderr = self.tune(self.config(5, ["sgd", "adam"]))
        study, trials = self.trials()
        kinds = {kind for _, _, _, kind, _ in trials}
        self.assertEqual(kinds, {"sgd", "adam"}, "the seed draws both kinds in 5 trials")
        # One range test per kind, not one per trial.
        self.assertEqual(stderr.count(RANGE_TEST_LINE), 2, stderr)
        priors = {}
        for kind in kinds:
            prior = study.user_attrs[f"knob:lr_prior:{kind}"]
            self.assertGreater(prior["lr"], 0)
            self.assertEqual(prior["suggestion"], "valley")
            first = min(n for n, _, _, k, _ in trials if k == kind)
            self.assertEqual(prior["trial"], first)
            priors[kind] = prior["lr"]
        self.check_lrs(priors, trials)
        # The suggestion depends on the optimizer: the reason the key is the kind.
        self.assertNotAlmostEqual(priors["sgd"], priors["adam"])

    def test_a_stored_prior_is_reused_isolated_and_a_bad_one_measured_again(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = optuna.create_study(study_name="prior", storage=self.url,
                                        direction="maximize")
            study.set_user_attr("knob:lr_prior:adam", {"lr": 0.00125, "trial": -1})
            study.set_user_attr("knob:lr_prior:sgd", {"lr": "fast"})
        stderr = self.tune(self.config(4, ["sgd", "adam"]), "--isolate")
        study, trials = self.trials()
        self.assertEqual({kind for _, _, _, kind, _ in trials}, {"sgd", "adam"})
        # adam's prior is reused as stored; sgd's, not a learning rate, is measured again.
        self.assertEqual(stderr.count(RANGE_TEST_LINE), 1, stderr)
        self.assertIn("optimizer.kind = sgd", stderr)
        self.assertEqual(study.user_attrs["knob:lr_prior:adam"]["lr"], 0.00125)
        sgd = study.user_attrs["knob:lr_prior:sgd"]["lr"]
        self.assertIsInstance(sgd, float)
        self.check_lrs({"adam": 0.00125, "sgd": sgd}, trials)

    def test_knob_train_trains_with_factor_times_the_suggestion(self):
        config = self.config(1, ["adam"])
        run = subprocess.run([ARGS.knob, "train", config, "--set", 'optimizer.kind="adam"',
                              "--set", "lr_find.factor=3"],
                             capture_output=True, text=True, timeout=600)
        self.assertEqual(run.returncode, 0, run.stderr)
        suggestion = re.search(r"lr-find: valley suggestion (\S+),", run.stdout)
        trained = re.search(r"trained with lr (\S+) \(lr_find.factor 3 x the suggestion\)",
                            run.stdout)
        self.assertIsNotNone(suggestion, run.stdout)
        self.assertIsNotNone(trained, run.stdout)
        # Both printed to 3 significant digits.
        self.assertAlmostEqual(float(trained[1]) / (3 * float(suggestion[1])), 1.0, delta=0.01)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--knob", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
