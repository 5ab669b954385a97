#!/usr/bin/python3
"""Issue 22's defects of running studies and processes, end to end against the `knob` binary:

    /usr/bin/python3 tests/cli/run_hardening_test.py --knob build/knob [-v]

- a table of inputs refused before the first trial (exit 2, the key/flag, the value and what is
  allowed on stderr, every file byte-identical): huge --jobs, objective timeouts and trainer
  counts (defects 1, 6), search values the trainer refuses and a --grid missing a parameter
  (defect 9), data no trial can load (defect 11, needs the trainer plugin);
- a thread that cannot start (defect 1), the printed resume command and --resume after
  kill -9 (defect 4), programs that escape their group or outlive a killed knob (defect 5),
  and a study whose trials all fail alike (defect 11).

Trainer cases need libknob_trainer.so: $KNOB_TRAINER_PLUGIN or beside the binary; without it
they are skipped, saying so. Standard library only.
"""
import os
import re
import resource
import shlex
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_test  # noqa: E402  (takes --knob from the arguments; its KnobTestCase is the base)

KNOB = cli_test.KNOB


def trainer_plugin():
    path = os.environ.get("KNOB_TRAINER_PLUGIN") or os.path.join(os.path.dirname(KNOB),
                                                                  "libknob_trainer.so")
    return path if os.path.exists(path) else None


# A command objective: sleeps, then prints its parameter as the value.
COMMAND_STUDY = """
[study]
direction = "minimize"
pruner = "none"
{extra}
[search]
x = {{ low = 0.0, high = 1.0 }}
[objective]
command = {command}
"""

# A small trainer study on a CSV of 40 rows (f1, f2, label).
TRAINER_STUDY = """
[study]
n_trials = 3
[search]
{search}
[data]
source = "csv"
train_csv = "train.csv"
label_column = "{label}"
validation = 8
[model]
kind = "mlp"
[train]
epochs = 1
"""


def write_csv(path):
    with open(path, "w") as f:
        f.write("f1,f2,label\n")
        for i in range(40):
            f.write(f"{i % 7 * 0.1:.1f},{i % 3 * 0.5:.1f},{i % 2}\n")


snapshot = cli_test._snapshot  # every file under a directory -> its SHA-256


def trial_states(db):
    if not os.path.exists(db):
        return {}
    with sqlite3.connect(db) as c:
        try:
            return dict(c.execute("SELECT state, COUNT(*) FROM trials GROUP BY state").fetchall())
        except sqlite3.OperationalError:  # the tables are not created yet
            return {}


def alive(pid):
    """Whether the process runs (a zombie does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def wait_for(predicate, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


class Case(cli_test.KnobTestCase):
    """A temporary directory per test (cli_test.KnobTestCase), study files and knob runs."""

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return name

    def command_study(self, name, command, extra=""):
        return self.write(name, COMMAND_STUDY.format(extra=extra, command=command))

    def knob(self, *args, expect=0, timeout=120, **kwargs):
        proc = subprocess.run([KNOB, *args], cwd=self.dir, capture_output=True, text=True,
                              timeout=timeout, **kwargs)
        if expect is not None:
            self.assertEqual(proc.returncode, expect,
                             f"knob {' '.join(args)}\nstdout:\n{proc.stdout}\nstderr:\n"
                             f"{proc.stderr}")
        return proc


# name, files to write (name -> text), argv, fragments stderr must hold, needs the plugin
REFUSED = [
    ("--jobs 100000", {}, ["tune", "--objective", "curve", "--jobs", "100000"],
     ["--jobs", "100000", "<= 1024"], False),
    ("[study] jobs 100000", {"s.toml": COMMAND_STUDY.format(extra="jobs = 100000",
                                                            command='"true"')},
     ["tune", "s.toml"], ["study.jobs = 100000", "from 1 to 1024", "s.toml"], False),
    ("objective timeout 1e10", {"s.toml": COMMAND_STUDY.format(
        extra="", command='"true"\ntimeout = 1e10')},
     ["tune", "s.toml"], ["objective.timeout = 1e+10", "at most 1e9 seconds", "s.toml"], False),
    ("objective kill_grace 1e10", {"s.toml": COMMAND_STUDY.format(
        extra="", command='"true"\nkill_grace = 1e10')},
     ["tune", "s.toml"], ["objective.kill_grace = 1e+10", "at most 1e9 seconds"], False),
    ("train.threads huge", {"t.toml": TRAINER_STUDY.format(
        search='"optimizer.lr" = { low = 0.01, high = 0.1 }', label="label")},
     ["tune", "t.toml", "--set", "train.threads=100000"],
     ["train.threads = 100000", "<= 1024"], False),
    ("lr_find.steps huge", {"t.toml": TRAINER_STUDY.format(
        search='"optimizer.lr" = { low = 0.01, high = 0.1 }', label="label")},
     ["tune", "t.toml", "--set", "lr_find.steps=1000000000"],
     ["lr_find.steps = 1000000000", "<= 100000"], False),
    ("choice the trainer refuses", {"t.toml": TRAINER_STUDY.format(
        search='"optimizer.kind" = { choices = ["adam", "lion"] }', label="label")},
     ["tune", "t.toml"], ["search.optimizer.kind", '"lion"', "adam", "t.toml"], False),
    ("range outside the key's domain", {"t.toml": TRAINER_STUDY.format(
        search='"model.dropout" = { low = 0.0, high = 2.0 }', label="label")},
     ["tune", "t.toml"], ["search.model.dropout", "model.dropout = 2", "[0, 1)"], False),
    ("negative batch size", {"t.toml": TRAINER_STUDY.format(
        search='"batch.size" = { low = -5, high = 64 }', label="label")},
     ["tune", "t.toml"], ["search.batch.size", "batch.size = -5", ">= 1"], False),
    ("--grid missing a parameter", {},
     ["tune", "--objective", "branin", "--sampler", "grid", "--grid", "x=0,1"],
     ["--grid", '"y" is missing', "branin (x, y)"], False),
    ("label not a column", {"t.toml": TRAINER_STUDY.format(
        search='"optimizer.lr" = { low = 0.01, high = 0.1 }', label="target")},
     ["tune", "t.toml"], ["t.toml", "before the first trial", "target"], True),
]


class RefusedBeforeTheFirstTrial(Case):
    def test_table(self):
        self.assertEqual(len({row[0] for row in REFUSED}), len(REFUSED))
        for name, files, argv, fragments, needs_plugin in REFUSED:
            with self.subTest(case=name):
                if needs_plugin and not trainer_plugin():
                    print(f"skipped '{name}': no trainer plugin (set KNOB_TRAINER_PLUGIN)",
                          file=sys.stderr)
                    continue
                case_dir = tempfile.mkdtemp(dir=self.dir)
                write_csv(os.path.join(case_dir, "train.csv"))
                for file, text in files.items():
                    with open(os.path.join(case_dir, file), "w") as f:
                        f.write(text)
                before = snapshot(case_dir)
                proc = subprocess.run(
                    [KNOB, *argv, "--storage", "sqlite:///k.db", "--n-trials", "3", "--quiet"],
                    cwd=case_dir, capture_output=True, text=True, timeout=120)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertEqual(snapshot(case_dir), before, "files changed or appeared")
                for part in fragments:
                    self.assertIn(part, proc.stderr)
                for bad in ("terminate called", "Traceback", "Assertion"):
                    self.assertNotIn(bad, proc.stderr)


class ThreadsThatCannotStart(Case):
    @unittest.skipIf(os.environ.get("KNOB_SANITIZE", "OFF").upper() not in ("", "OFF"),
                     "a sanitizer reserves terabytes of shadow memory: under an address-space "
                     "limit the program cannot start at all (the normal build runs this)")
    def test_fails_cleanly_and_leaves_no_trial_running(self):
        # Threads of 64 MiB stacks in 3 GB of address space: about the 44th cannot start, while
        # the heap (one malloc arena) keeps room, so it is the thread start that fails.
        def limit():
            resource.setrlimit(resource.RLIMIT_STACK, (64 << 20, 64 << 20))
            resource.setrlimit(resource.RLIMIT_AS, (3 * 10**9, 3 * 10**9))

        proc = self.knob("tune", "--storage", "sqlite:///j.db", "--study-name", "j",
                         "--objective", "curve", "--n-trials", "3000", "--jobs", "1024",
                         "--quiet", expect=2, preexec_fn=limit,
                         env=dict(os.environ, MALLOC_ARENA_MAX="1"))
        self.assertIn("could not start thread", proc.stderr)
        self.assertIn("n_jobs = 1024", proc.stderr)
        self.assertNotIn("terminate called", proc.stderr)
        self.assertNotIn("RUNNING", trial_states(self.path("j.db")))


class ResumeCommand(Case):
    def test_interrupted_study_continues_as_the_same_study(self):
        config = self.command_study(
            "it's.toml", '["/bin/sh", "-c", "sleep 0.3; echo knob:value {x}"]')
        db = self.path("r.db")
        proc = subprocess.Popen([KNOB, "tune", config, "--storage", "sqlite:///r.db",
                                 "--n-trials", "6", "--seed", "11", "--quiet"],
                                cwd=self.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        self.assertTrue(wait_for(lambda: trial_states(db).get("COMPLETE", 0) >= 2, 60))
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 130, err)
        line = re.search(r"Continue with: (.*)", err).group(1)
        argv = shlex.split(line)
        self.assertEqual(argv[:3], ["knob", "tune", "it's.toml"])
        for flag, value in (("--n-trials", "6"), ("--seed", "11"),
                            ("--storage", "sqlite:///r.db"), ("--study-name", "it's")):
            self.assertEqual(argv[argv.index(flag) + 1], value, line)
        self.knob(*argv[1:], "--quiet")
        with sqlite3.connect(db) as c:
            states = dict(c.execute("SELECT state, COUNT(*) FROM trials GROUP BY state"))
        self.assertEqual(states.get("COMPLETE"), 6, states)
        self.assertNotIn("RUNNING", states)

    def test_resume_after_kill_9_counts_and_reruns_what_was_left_running(self):
        config = self.command_study(
            "k.toml", '["/bin/sh", "-c", "sleep 0.5; echo knob:value {x}"]')
        db = self.path("k.db")
        proc = subprocess.Popen([KNOB, "tune", config, "--storage", "sqlite:///k.db",
                                 "--n-trials", "8", "--jobs", "2", "--quiet"], cwd=self.dir,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.assertTrue(wait_for(lambda: trial_states(db).get("COMPLETE", 0) >= 2
                                 and trial_states(db).get("RUNNING", 0) >= 1, 60))
        proc.kill()
        proc.wait()
        states = trial_states(db)
        done, running = states.get("COMPLETE", 0), states.get("RUNNING", 0)
        self.assertGreaterEqual(running, 1)
        err = self.knob("tune", config, "--storage", "sqlite:///k.db", "--n-trials", "8",
                        "--resume", "--quiet").stderr
        self.assertIn(f"{done} trials finished, {running} interrupted ones run again first",
                      err)
        self.assertIn(f"{8 - done} to go", err)
        states = trial_states(db)
        self.assertEqual(states.get("COMPLETE"), 8, states)
        self.assertNotIn("RUNNING", states)


class Orphans(Case):
    # The objective starts a child in a session of its own (setsid: out of the trial's process
    # group) and a plain one, writes their pids, then reports.
    SCRIPT = """#!/bin/sh
echo $$ >> "$1/leader.pids"
setsid sleep 300 </dev/null >/dev/null 2>&1 &
echo $! >> "$1/escaped.pids"
sleep 300 </dev/null >/dev/null 2>&1 &
echo $! >> "$1/plain.pids"
sleep "$2"
echo knob:value 0.5
"""

    def pids(self, name):
        if not os.path.exists(self.path(name)):
            return []
        with open(self.path(name)) as f:
            return [int(p) for p in f.read().split()]

    def start(self, sleep, n_trials):
        self.write("obj.sh", self.SCRIPT)
        os.chmod(self.path("obj.sh"), 0o755)
        config = self.command_study(
            "o.toml", f'["{self.path("obj.sh")}", "{self.dir}", "{sleep}"]')
        return [KNOB, "tune", config, "--storage", "sqlite:///o.db", "--n-trials",
                str(n_trials), "--quiet"]

    def tearDown(self):
        for pid in self.pids("escaped.pids") + self.pids("plain.pids") + self.pids("leader.pids"):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        super().tearDown()

    def test_a_child_that_calls_setsid_ends_with_its_trial(self):
        self.knob(*self.start(0.1, 2)[1:])
        pids = self.pids("escaped.pids") + self.pids("plain.pids")
        self.assertEqual(len(pids), 4)
        self.assertTrue(wait_for(lambda: not any(alive(p) for p in pids), 5),
                        [p for p in pids if alive(p)])

    def test_kill_9_of_knob_ends_its_programs_and_theirs(self):
        proc = subprocess.Popen(self.start(300, 1), cwd=self.dir, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self.assertTrue(wait_for(lambda: len(self.pids("plain.pids")) == 1, 30))
        pids = self.pids("leader.pids") + self.pids("escaped.pids") + self.pids("plain.pids")
        self.assertEqual(len(pids), 3)
        self.assertTrue(all(alive(p) for p in pids))
        proc.kill()
        proc.wait()
        self.assertTrue(wait_for(lambda: not any(alive(p) for p in pids), 10),
                        [p for p in pids if alive(p)])


class FailingAlike(Case):
    def test_stops_after_five_trials_failing_with_the_same_reason(self):
        config = self.command_study(
            "f.toml", '"echo label is not a column >&2; exit 3"', extra="n_trials = 100000")
        proc = self.knob("tune", config, "--storage", "sqlite:///f.db", "--quiet", expect=2)
        self.assertIn("first 5 trials all failed with the same reason", proc.stderr)
        self.assertIn("label is not a column", proc.stderr)
        self.assertEqual(trial_states(self.path("f.db")), {"FAIL": 5})


if __name__ == "__main__":
    if not os.access(KNOB, os.X_OK):
        sys.exit(f"knob binary not found at {KNOB}: pass --knob PATH or set KNOB_BIN")
    unittest.main()
