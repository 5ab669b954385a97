#!/usr/bin/python3
"""End-to-end tests of warm starts and ask/tell from the shell, on real SQLite files.

Run by CTest with Debian's python3 (tests/cli/CMakeLists.txt):
    /usr/bin/python3 tests/cli/warm_ask_tell_test.py --knob build/knob [--optuna /usr/bin/optuna]
Covers `knob study copy|add-trials|enqueue`, [[study.enqueue]] in a study file, `knob ask` /
`knob tell` as a shell loop drives them, Optuna 3.1's `optuna ask`/`optuna tell` (Debian's
python3-optuna) finishing knob's trials and the reverse, and a table of malformed inputs that
must exit 2, name the flag (or file and row) and value, and leave the SQLite file
byte-identical. The Optuna part skips, saying so, where /usr/bin/optuna is absent.
"""
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import unittest


def _take(flag, default):
    for i, arg in enumerate(sys.argv[1:], start=1):
        if arg == flag and i + 1 < len(sys.argv):
            value = sys.argv[i + 1]
            del sys.argv[i:i + 2]
            return value
    return default


KNOB = os.path.abspath(_take("--knob", os.environ.get("KNOB_BIN", "knob")))
OPTUNA = _take("--optuna", "/usr/bin/optuna")

SPACE = json.dumps({
    "lr": {"name": "FloatDistribution",
           "attributes": {"low": 1e-4, "high": 1e-1, "log": True, "step": None}},
    "batch": {"name": "IntDistribution",
              "attributes": {"low": 16, "high": 512, "log": True, "step": 1}},
})


class WarmAskTellTest(unittest.TestCase):

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="knob-warm-test-")
        self.dir = self._tmp.name
        self.url = "sqlite:///" + os.path.join(self.dir, "s.db")

    def tearDown(self):
        self._tmp.cleanup()

    def run_cmd(self, args, expect=0):
        proc = subprocess.run(args, cwd=self.dir, capture_output=True, text=True, timeout=120)
        if expect is not None:
            self.assertEqual(proc.returncode, expect,
                             f"{' '.join(args)} exited {proc.returncode}, expected {expect}\n"
                             f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    def knob(self, *args, expect=0):
        return self.run_cmd([KNOB, *args], expect)

    def trials(self, study="s", url=None):
        out = self.knob("study", "show", "--storage", url or self.url, "--study-name", study,
                        "-f", "json").stdout
        return json.loads(out)["trials"]

    def create(self, study="s", *directions):
        # At Optuna 3.1's schema revision, so that Debian's optuna opens it too.
        self.knob("study", "create", "--storage", self.url + "?schema=v3.0.0.d",
                  "--study-name", study, "--direction", *(directions or ["minimize"]))

    def ask(self, *extra):
        out = self.knob("ask", "--storage", self.url, "--study-name", "s",
                        "--search-space", SPACE, *extra).stdout
        return json.loads(out)

    def test_shell_loop_with_an_enqueued_seed(self):
        self.create()
        # The seed article's hand-picked setting runs first.
        out = self.knob("study", "enqueue", "--storage", self.url, "--study-name", "s",
                        "--params", '{"lr": 0.001, "batch": 32}').stdout
        self.assertIn("enqueued", out)
        again = self.knob("study", "enqueue", "--storage", self.url, "--study-name", "s",
                          "--params", '{"lr": 0.001, "batch": 32}', "--skip-if-exists").stdout
        self.assertIn("not enqueued", again)
        for i in range(6):
            trial = self.ask("--sampler", "tpe", "--sampler-kwargs", '{"n_startup_trials": 3}')
            self.assertEqual(trial["number"], i)
            self.assertEqual(set(trial["params"]), {"lr", "batch"})
            if i == 0:
                self.assertEqual(trial["params"], {"lr": 0.001, "batch": 32})
            value = (trial["params"]["lr"] - 0.01) ** 2 + trial["params"]["batch"] / 1000
            self.knob("tell", "--storage", self.url, "--study-name", "s",
                      "--trial-number", str(trial["number"]), "--values", repr(value))
        trials = self.trials()
        self.assertEqual([t["state"] for t in trials], ["COMPLETE"] * 6)
        # pruned and fail; --skip-if-finished on a finished trial changes nothing.
        n = self.ask()["number"]
        self.knob("tell", "--storage", self.url, "--study-name", "s", "--trial-number", str(n),
                  "--state", "pruned")
        n2 = self.ask()["number"]
        self.knob("tell", "--storage", self.url, "--study-name", "s", "--trial-number", str(n2),
                  "--state", "fail")
        self.knob("tell", "--storage", self.url, "--study-name", "s", "--trial-number", "0",
                  "--values", "5", "--skip-if-finished")
        trials = self.trials()
        self.assertEqual(trials[0]["values"], [(0.001 - 0.01) ** 2 + 0.032])
        self.assertEqual([t["state"] for t in trials[6:]], ["PRUNED", "FAIL"])
        flat = self.knob("ask", "--storage", self.url, "--study-name", "s", "--search-space",
                         SPACE, "-f", "value", "--flatten").stdout.split()
        self.assertEqual(flat[0], "8")
        self.assertEqual(len(flat), 3)

    def test_copy_add_trials_and_export_round_trip(self):
        self.create("s", "minimize", "maximize")
        for i in range(3):
            n = self.ask()["number"]
            self.knob("tell", "--storage", self.url, "--study-name", "s", "--trial-number",
                      str(n), "--values", str(i), str(-i))
        self.ask()  # left RUNNING
        other = "sqlite:///" + os.path.join(self.dir, "other.db")
        out = self.knob("study", "copy", "--from-storage", self.url, "--from-study", "s",
                        "--to-storage", other, "--to-study", "warm")
        self.assertIn("copied 3 trials", out.stdout)
        self.assertIn("1 RUNNING or WAITING", out.stderr)
        src, copy = self.trials()[:3], self.trials("warm", other)
        strip = lambda ts: [{k: t[k] for k in ("state", "values", "params", "distributions",
                                               "datetime_start", "datetime_complete")}
                            for t in ts]
        self.assertEqual(strip(copy), strip(src))
        for fmt in ("json", "csv"):
            path = os.path.join(self.dir, "s." + fmt)
            self.knob("study", "export", "--storage", self.url, "--study-name", "s",
                      "--format", fmt, "-o", path)
            self.create("from-" + fmt, "minimize", "maximize")
            args = ["study", "add-trials", "--storage", self.url, "--study-name", "from-" + fmt,
                    "--from", path]
            if fmt == "csv":
                args += ["--search-space", SPACE]
            out = self.knob(*args)
            self.assertIn("added 3 trials", out.stdout)
            self.assertEqual(strip(self.trials("from-" + fmt)), strip(src))
        self.knob("study", "add-trials", "--storage", self.url, "--study-name", "from-csv",
                  "--from-study", "warm", "--from-storage", other)
        self.assertEqual(len(self.trials("from-csv")), 6)

    def test_study_file_enqueue_runs_once(self):
        config = os.path.join(self.dir, "seed.toml")
        with open(config, "w") as f:
            f.write('[study]\nname = "seed"\nstorage = "%s"\ndirection = "minimize"\n'
                    'n_trials = 3\npruner = "none"\n'
                    '[[study.enqueue]]\n"optimizer.lr" = 1e-3\n"batch.size" = 32\n'
                    '[search]\n"optimizer.lr" = { low = 1e-4, high = 1e-1, log = true }\n'
                    '"batch.size" = { low = 16, high = 512, log = true }\n'
                    '[objective]\ncommand = "echo knob:value {optimizer.lr}"\n' % self.url)
        self.knob("tune", config, "--quiet")
        self.knob("tune", config, "--quiet")  # the same file again: not enqueued again
        trials = self.trials("seed")
        self.assertEqual(len(trials), 6)
        seeded = [t for t in trials if t["params"] == {"optimizer.lr": 0.001, "batch.size": 32}]
        self.assertEqual(len(seeded), 1, trials)
        self.assertEqual(seeded[0]["number"], 0)

    @unittest.skipUnless(os.access(OPTUNA, os.X_OK),
                         f"{OPTUNA} (Debian's python3-optuna 3.1) is absent")
    def test_optuna_31_tells_knobs_trials_and_the_reverse(self):
        self.create()
        env = ["--storage", self.url, "--study-name", "s"]
        n = self.ask()["number"]
        self.run_cmd([OPTUNA, "tell", *env, "--trial-number", str(n), "--values", "0.5"])
        out = self.run_cmd([OPTUNA, "ask", *env, "--search-space", SPACE, "-f", "json"]).stdout
        asked = json.loads(out)
        self.assertEqual(asked["number"], 1)
        self.knob("tell", *env, "--trial-number", "1", "--values", "0.25")
        # Optuna refuses to tell a trial knob finished; knob refuses one Optuna finished.
        proc = self.run_cmd([OPTUNA, "tell", *env, "--trial-number", "1", "--values", "1"],
                            expect=None)
        self.assertNotEqual(proc.returncode, 0)
        self.run_cmd([OPTUNA, "tell", *env, "--trial-number", "1", "--values", "1",
                      "--skip-if-finished"])
        self.knob("tell", *env, "--trial-number", "0", "--values", "1", expect=2)
        trials = self.trials()
        self.assertEqual([(t["state"], t["values"]) for t in trials],
                         [("COMPLETE", [0.5]), ("COMPLETE", [0.25])])
        self.assertEqual(set(trials[1]["params"]), {"lr", "batch"})
        # Optuna reads knob's study as finished and continues it with TPE.
        script = ("import optuna,sys\n"
                  "s=optuna.load_study(study_name='s',storage=sys.argv[1])\n"
                  "print(len(s.trials), s.best_value)\n")
        out = self.run_cmd(["/usr/bin/python3", "-c", script, self.url]).stdout.split()
        self.assertEqual(out, ["2", "0.25"])

    def test_malformed_input_exits_2_and_changes_nothing(self):
        self.create()
        self.create("two", "minimize", "maximize")
        n = self.ask()["number"]
        self.knob("tell", "--storage", self.url, "--study-name", "s", "--trial-number", str(n),
                  "--values", "1")
        self.ask()  # trial 1 RUNNING
        files = {
            "novalue.csv": "number,params_lr,state\n0,0.01,COMPLETE\n",
            "outside.csv": "value,params_lr\n0.5,0.01\n0.25,0.5\n",
            "outside.json": json.dumps([{"state": "COMPLETE", "values": [1.0],
                                         "params": {"lr": 7}}]),
        }
        for name, text in files.items():
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text)
        db = os.path.join(self.dir, "s.db")
        def digest():
            with open(db, "rb") as f:
                return hashlib.sha256(f.read()).hexdigest()
        before = digest()
        s = ["--storage", self.url, "--study-name", "s"]
        cases = [
            (["study", "copy", "--from-storage", self.url, "--from-study", "s", "--to-study",
              "two"], ["--to-study", "two", "already exists"]),
            (["tell", *s, "--trial-number", "0", "--values", "2"],
             ["--trial-number", "0", "already finished"]),
            (["tell", *s, "--trial-number", "1", "--values", "1", "2"],
             ["--values", "1.0 2.0", "1 direction"]),
            (["tell", *s, "--trial-number", "1", "--values", "1", "--state", "done"],
             ["--state", "done"]),
            (["study", "enqueue", *s, "--params", "{lr: 1}"], ["--params", "{lr: 1}"]),
            (["ask", *s, "--search-space", '{"x": {"name": "Float"'], ["--search-space"]),
            (["ask", *s, "--sampler", "nsga2"], ["--sampler", "nsga2"]),
            (["study", "add-trials", *s, "--from", "outside.json"],
             ["outside.json trials[0]", "params.lr", "7", "outside"]),
            (["study", "add-trials", *s, "--from", "novalue.csv"],
             ["novalue.csv", "value"]),
            (["study", "add-trials", *s, "--from", "outside.csv"],
             ["outside.csv line 3", "params.lr", "0.5"]),
        ]
        for args, fragments in cases:
            with self.subTest(args=args):
                proc = self.knob(*args, expect=2)
                for fragment in fragments:
                    self.assertIn(fragment, proc.stderr)
                self.assertEqual(digest(), before, f"knob {' '.join(args)} changed s.db")


if __name__ == "__main__":
    unittest.main()
