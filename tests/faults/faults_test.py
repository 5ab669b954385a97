#!/usr/bin/python3
"""Faults injected into running studies, with real components: SQLite on a file system that
fills up (a small tmpfs this test mounts, as root), the database file deleted or made read-only
while a study runs, the PostgreSQL server restarted under working workers (beside
scripts/pg_test_server), and a worker paused with SIGSTOP past the grace period and resumed.
After each: no trial lost, no trial number twice, and a clear message where knob stopped.
Run by CTest (label `faults`):

    /usr/bin/python3 tests/faults/faults_test.py --knob build/knob [TestCase ...]

The objective is a shell command that sleeps and prints its parameter as the value, so every
COMPLETE trial's value is checked against its parameter.
"""
import argparse
import os
import shutil
import shlex
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

ARGS = None

STUDY = """
[study]
name = "{name}"
direction = "minimize"
sampler = "random"
pruner = "none"
n_trials = {n_trials}
heartbeat_interval = {heartbeat}
grace_period = {grace}
max_retry = 3
[search]
x = {{ low = -5.0, high = 5.0 }}
[objective]
command = "sleep {sleep} && echo knob:value {{x}}"
"""

# Every trial of a study: number, state, the value it stored and its parameter x.
TRIALS_SQL = """
SELECT t.number, t.state, v.value, p.param_value
FROM trials t JOIN studies s ON s.study_id = t.study_id
LEFT JOIN trial_values v ON v.trial_id = t.trial_id AND v.objective = 0
LEFT JOIN trial_params p ON p.trial_id = t.trial_id AND p.param_name = 'x'
WHERE s.study_name = '{name}' ORDER BY t.number, t.trial_id
"""


def write_config(directory, name, n_trials, sleep=0.1, heartbeat=0.2, grace=1.0):
    path = os.path.join(directory, name + ".toml")
    with open(path, "w") as f:
        f.write(STUDY.format(name=name, n_trials=n_trials, sleep=sleep, heartbeat=heartbeat,
                             grace=grace))
    return path


def knob(*args, timeout=300, user=None):
    argv = [ARGS.knob, *args]
    if user:
        argv = ["runuser", "-u", user, "--", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def start(*args, user=None, session=False):
    """`session`: in a session of its own — a process stopped with SIGSTOP in a process group
    that becomes orphaned (the shell that started the test exits) would get SIGHUP."""
    argv = [ARGS.knob, *args]
    if user:
        argv = ["runuser", "-u", user, "--", *argv]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=session)


def sqlite_trials(path, name):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [tuple(r) for r in db.execute(TRIALS_SQL.format(name=name))]
    finally:
        db.close()


def sqlite_count(path, name):
    """The study's trials so far; 0 while the file or its schema is not there yet."""
    try:
        return len(sqlite_trials(path, name)) if os.path.exists(path) else 0
    except sqlite3.OperationalError:
        return 0


def sqlite_integrity(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


def wait_for(predicate, timeout, what, proc=None):
    """`proc`: the process that should make `predicate` true; on a timeout it is ended and
    what it said (or that it had already exited) is part of the failure."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    said = ""
    if proc is not None:
        state = "still ran" if proc.poll() is None else f"had exited {proc.returncode}"
        if proc.poll() is None:
            proc.kill()
        said = f"; the process {state} and said: {proc.communicate()[1]!r}"
    raise AssertionError(f"timed out after {timeout} s waiting for {what}{said}")


class FaultCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="knob_faults_")
        os.chmod(self.dir, 0o755)
        self.addCleanup(shutil.rmtree, self.dir, True)

    def check_trials(self, rows, finished=True):
        """No number twice or skipped; every COMPLETE trial holds the value its command
        printed (its parameter); with `finished`, none is left RUNNING or WAITING."""
        numbers = [r[0] for r in rows]
        self.assertEqual(numbers, list(range(len(rows))), f"numbers collide or skip: {numbers}")
        for number, state, value, x in rows:
            if state == "COMPLETE":
                self.assertIsNotNone(value, f"trial {number} COMPLETE without a value")
                self.assertAlmostEqual(value, x, places=9, msg=f"trial {number}")
            elif state == "FAIL":
                self.assertIsNone(value, f"FAIL trial {number} holds a value")
            elif finished:
                self.fail(f"trial {number} left {state}")

    def assert_unchanged(self, before, after):
        """The trials of `before` are in `after` exactly as they were (nothing lost)."""
        finished = [r for r in before if r[1] in ("COMPLETE", "FAIL", "PRUNED")]
        after_by_number = {r[0]: r for r in after}
        for r in finished:
            self.assertEqual(after_by_number.get(r[0]), r, f"trial {r[0]} changed or was lost")


class SqliteFullDisk(FaultCase):
    """SQLite on a 4 MiB tmpfs filled to the last byte while a study runs more trials."""

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("mounting a small tmpfs needs root: not run as root")
        self.mnt = os.path.join(self.dir, "mnt")
        os.mkdir(self.mnt)
        mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "knobfull", self.mnt],
                               capture_output=True, text=True)
        if mount.returncode != 0:
            self.skipTest("cannot mount a tmpfs here (" + mount.stderr.strip() + ")")
        self.addCleanup(subprocess.run, ["umount", "-l", self.mnt])

    def fill(self):
        """Fills the tmpfs to its last byte with one file (unbuffered writes)."""
        filler = os.path.join(self.mnt, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            for size in (1 << 16, 1):
                try:
                    while True:
                        os.write(fd, b"\0" * size)
                except OSError:
                    pass
        finally:
            os.close(fd)
        return filler

    def test_full_disk_stops_with_a_clear_message_and_loses_nothing(self):
        db = os.path.join(self.mnt, "full.db")
        url = "sqlite:///" + db
        config = write_config(self.dir, "full", n_trials=5, sleep=0.01)
        first = knob("tune", config, "--storage", url, "--quiet")
        self.assertEqual(first.returncode, 0, first.stderr)
        before = sqlite_trials(db, "full")
        self.assertEqual(len(before), 5)
        filler = self.fill()
        # Room for nothing: 20 more trials asked of a full disk.
        full = knob("tune", config, "--storage", url, "--n-trials", "20", "--quiet")
        self.assertNotEqual(full.returncode, 0, "knob tune on a full disk exited 0")
        self.assertRegex(full.stderr, r"(?i)full", "the message does not say the disk is full")
        self.assertIn(db, full.stderr, "the message does not name the database")
        self.assertNotIn("terminate called", full.stderr)
        self.assertEqual(sqlite_integrity(db), "ok")
        during = sqlite_trials(db, "full")
        self.assert_unchanged(before, during)
        self.check_trials(during, finished=False)
        # Space again: the same command goes on from where the study stopped, with the next
        # numbers (a trial left RUNNING by the full disk goes stale and is failed).
        os.remove(filler)
        print(f"\n[full disk] knob said: {full.stderr.strip()}", flush=True)
        resumed = knob("tune", config, "--storage", url, "--n-trials", "20", "--quiet")
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        after = sqlite_trials(db, "full")
        self.assert_unchanged(during, after)
        self.check_trials(after)
        self.assertGreaterEqual(sum(r[1] == "COMPLETE" for r in after), 25)


class SqliteFileChanged(FaultCase):
    """The database file deleted, or made read-only, while `knob tune` runs."""

    def test_deleted_database_stops_the_study_with_a_clear_message(self):
        db = os.path.join(self.dir, "gone.db")
        url = "sqlite:///" + db
        config = write_config(self.dir, "gone", n_trials=60, sleep=0.1)
        tune = start("tune", config, "--storage", url, "--quiet")
        wait_for(lambda: sqlite_count(db, "gone") >= 3, 60,
                 "3 trials")
        for suffix in ("", "-wal", "-shm", "-journal"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        _, err = tune.communicate(timeout=120)
        # Trials told to a deleted file are lost: knob must stop at once and say so, not
        # run its 60 trials into a file nobody can open.
        print(f"\n[deleted] knob said: {err.strip()}", flush=True)
        self.assertNotEqual(tune.returncode, 0, "knob tune went on into a deleted database")
        self.assertRegex(err, r"(?i)deleted|moved|replaced")
        self.assertIn(db, err)
        self.assertFalse(os.path.exists(db), "the deleted database was created again")

    def test_read_only_database_refuses_a_new_worker_and_the_study_goes_on(self):
        # A file made read-only while a study runs: the process that has it open goes on (its
        # writes go through the descriptor it holds); a worker that opens it now is refused
        # with a clear message, exit 1 or 2, and changes nothing. As root, the processes run
        # as `nobody` (root writes whatever the mode bits say).
        user = None
        if os.geteuid() == 0:
            user = "nobody"
            shutil.chown(self.dir, user)
        db = os.path.join(self.dir, "ro.db")
        url = "sqlite:///" + db
        config = write_config(self.dir, "ro", n_trials=30, sleep=0.1)
        if user:
            shutil.chown(config, user)
        tune = start("tune", config, "--storage", url, "--quiet", user=user)
        wait_for(lambda: sqlite_count(db, "ro") >= 3, 60, "3 trials", tune)
        os.chmod(db, 0o444)
        joiner = knob("worker", "--storage", url, "--study", "ro", "--quiet", user=user)
        print(f"\n[read-only] the joining worker said: {joiner.stderr.strip()}", flush=True)
        self.assertIn(joiner.returncode, (1, 2), joiner.stderr)
        self.assertRegex(joiner.stderr, r"(?i)read-?only|permission|not writable")
        self.assertIn(db, joiner.stderr)
        self.assertNotIn("terminate called", joiner.stderr)
        _, err = tune.communicate(timeout=120)
        self.assertEqual(tune.returncode, 0, err)
        rows = sqlite_trials(db, "ro")
        self.check_trials(rows)
        self.assertEqual(len(rows), 30)
        self.assertEqual(sqlite_integrity(db), "ok")


class PausedWorker(FaultCase):
    """A worker stopped with SIGSTOP past the grace period, then resumed: its trial was failed
    as stale and retried by the other worker; its late value must not land anywhere."""

    def test_paused_worker_late_report_changes_nothing(self):
        db = os.path.join(self.dir, "pause.db")
        url = "sqlite:///" + db
        config = write_config(self.dir, "pause", n_trials=12, sleep=1.0, heartbeat=0.2,
                              grace=1.0)
        paused = start("worker", config, "--storage", url, "--quiet", session=True)
        wait_for(lambda: sqlite_count(db, "pause") > 0 and any(
            r[1] == "RUNNING" for r in sqlite_trials(db, "pause")), 60, "a RUNNING trial")
        os.kill(paused.pid, signal.SIGSTOP)
        stopped_rows = sqlite_trials(db, "pause")
        running = [r[0] for r in stopped_rows if r[1] == "RUNNING"]
        self.assertEqual(len(running), 1, stopped_rows)
        other = start("worker", "--storage", url, "--study", "pause", "--quiet")
        try:
            # The other worker fails the silent trial as stale and runs its retry.
            wait_for(lambda: sqlite_trials(db, "pause")[running[0]][1] == "FAIL", 60,
                     f"trial {running[0]} failed as stale")
            time.sleep(1.5)  # the paused worker's command has printed its value by now
        finally:
            os.kill(paused.pid, signal.SIGCONT)
        for p in (paused, other):
            _, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, err)
        rows = sqlite_trials(db, "pause")
        self.check_trials(rows)
        stale = rows[running[0]]
        self.assertEqual(stale[1], "FAIL", "the late report overwrote the stale verdict")
        self.assertIsNone(stale[2], "the late value was stored on the failed trial")
        db_ro = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        reason = db_ro.execute(
            "SELECT a.value_json FROM trial_system_attributes a JOIN trials t "
            "ON t.trial_id = a.trial_id WHERE t.number = ? AND a.key = 'fail_reason'",
            (running[0],)).fetchone()
        retries = db_ro.execute(
            "SELECT COUNT(*) FROM trial_system_attributes WHERE key = 'failed_trial' "
            "AND value_json = ?", (str(running[0]),)).fetchone()[0]
        db_ro.close()
        self.assertIsNotNone(reason)
        self.assertIn("stale", reason[0])
        self.assertEqual(retries, 1, "the stale trial was not retried exactly once")
        self.assertEqual(sqlite_integrity(db), "ok")


@unittest.skipUnless(os.environ.get("KNOB_TEST_POSTGRES_DATA"), "needs scripts/pg_test_server")
class PostgresRestart(FaultCase):
    """Three workers on a PostgreSQL study while the server is stopped for 3 s and started
    again, twice, under them: they reconnect (with backoff) and finish the budget."""

    def pg_ctl(self, *args):
        argv = [os.path.join(os.environ["KNOB_TEST_POSTGRES_BIN"], "pg_ctl"),
                "-D", os.environ["KNOB_TEST_POSTGRES_DATA"], *args]
        user = os.environ.get("KNOB_TEST_POSTGRES_USER")
        if user:
            argv = ["runuser", "-u", user, "--", *argv]
        # The server started again keeps pg_ctl's output open: it logs to the server's log.
        proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def psql_trials(self, url, name):
        psql = os.path.join(os.environ["KNOB_TEST_POSTGRES_BIN"], "psql")
        proc = subprocess.run([psql, url, "-At", "-F", "\t", "-c", TRIALS_SQL.format(name=name)],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        rows = []
        for line in proc.stdout.splitlines():
            number, state, value, x = line.split("\t")
            rows.append((int(number), state, float(value) if value else None,
                         float(x) if x else None))
        return rows

    def test_workers_reconnect_after_server_restarts(self):
        url = os.environ["KNOB_TEST_POSTGRES_URL"]
        config = write_config(self.dir, "restart", n_trials=40, sleep=0.2, heartbeat=0.5,
                              grace=20.0)
        procs = [start("worker", config, "--storage", url, "--quiet")]
        time.sleep(1.0)
        procs += [start("worker", "--storage", url, "--study", "restart", "--quiet")
                  for _ in range(2)]
        data = os.environ["KNOB_TEST_POSTGRES_DATA"]
        log = os.path.join(os.path.dirname(data), "server.log")
        # The server's options as it was started (pg_ctl restart reads the same file).
        with open(os.path.join(data, "postmaster.opts")) as f:
            argv = shlex.split(f.read())[1:]
        i = argv.index("-D")
        options = shlex.join(argv[:i] + argv[i + 2:])
        for outage in range(2):
            def enough():
                ended = [p for p in procs if p.poll() is not None]
                if len(ended) == len(procs):  # gave up during the last outage
                    self.fail("every worker ended: " + " | ".join(p.communicate()[1] for p in ended))
                return len(self.psql_trials(url, "restart")) >= 8 + 12 * outage

            wait_for(enough, 120, "trials before the restart")
            # Down for 3 s, as a restart on a busy host or a short failover takes.
            self.pg_ctl("stop", "-m", "fast", "-w", "-t", "60")
            time.sleep(3.0)
            self.pg_ctl("start", "-w", "-t", "60", "-l", log, "-o", options)
        for p in procs:
            _, err = p.communicate(timeout=180)
            self.assertEqual(p.returncode, 0, err)
        rows = self.psql_trials(url, "restart")
        self.check_trials(rows)
        self.assertGreaterEqual(sum(r[1] == "COMPLETE" for r in rows), 40 - 3)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--knob", required=True)
    ARGS, rest = parser.parse_known_args()
    ARGS.knob = os.path.abspath(ARGS.knob)
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
