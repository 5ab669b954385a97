#!/usr/bin/python3
"""`knob worker`: many processes on one study, on SQLite and on PostgreSQL, some killed with
SIGKILL and started again. Run by CTest (workers.sqlite; workers.postgres beside
scripts/pg_test_server, which sets KNOB_TEST_POSTGRES_URL):

    /usr/bin/python3 tests/workers/worker_test.py --knob build/knob

The objective is a shell command that sleeps and prints its parameter as the value, so every
COMPLETE trial's value can be checked against its parameter.
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import warnings

import optuna

ARGS = None
optuna.logging.set_verbosity(optuna.logging.WARNING)

# These tests read knob's databases with Debian's Optuna 3.1, which opens only schema revision
# v3.0.0.d: the knob command that creates a database asks for it (docs/storage.md).
V300D = "?schema=v3.0.0.d"

STUDY = """
[study]
name = "{name}"
direction = "minimize"
sampler = "random"
pruner = "none"
n_trials = {n_trials}
heartbeat_interval = 0.2
grace_period = 2.0
max_retry = 3
[search]
x = {{ low = -5.0, high = 5.0 }}
[objective]
command = "sleep {sleep} && echo knob:value {{x}}"
"""


def knob(*args, expect=0, timeout=300):
    proc = subprocess.run([ARGS.knob, *args], capture_output=True, text=True, timeout=timeout)
    if expect is not None and proc.returncode != expect:
        raise AssertionError(f"knob {' '.join(args)} exited {proc.returncode}, expected {expect}\n"
                             f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc


def start_worker(*args, netns=None):
    argv = [ARGS.knob, "worker", *args, "--quiet"]
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def runs_a_trial(proc):
    """Whether the worker has a child process: the objective command of a trial it holds."""
    try:
        tasks = os.listdir(f"/proc/{proc.pid}/task")
    except OSError:
        return False
    for task in tasks:
        try:
            with open(f"/proc/{proc.pid}/task/{task}/children") as f:
                if f.read().split():
                    return True
        except OSError:
            pass
    return False


def system_attrs(trial):
    with warnings.catch_warnings():  # deprecated in Optuna 3.1, still the way to read them
        warnings.simplefilter("ignore")
        return trial.system_attrs


def can_make_namespaces():
    if os.geteuid() != 0 or not shutil.which("ip"):
        return False
    probe = f"knobprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode == 0
    if made:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return made


class WorkerTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="knob_worker_")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write_config(self, name, n_trials, sleep=0.4):
        path = os.path.join(self.dir, name + ".toml")
        with open(path, "w") as f:
            f.write(STUDY.format(name=name, n_trials=n_trials, sleep=sleep))
        return path

    def run_killed_workers(self, url, name, workers, n_trials, kills, netns=None):
        """Starts `workers` workers on a new study, SIGKILLs one at random `kills` times and
        starts it again, and waits for all to end. Returns the study as Optuna reads it."""
        config = self.write_config(name, n_trials)
        optuna_url, url = url, url + V300D
        # The first worker creates the study from the config; the others join by name.
        procs = [start_worker(config, "--storage", url, netns=netns)]
        time.sleep(1.0)
        procs += [start_worker("--storage", url, "--study", name, netns=netns)
                  for _ in range(workers - 1)]
        rng = random.Random(7)
        killed = 0
        deadline = time.time() + 240
        while killed < kills and time.time() < deadline:
            time.sleep(rng.uniform(0.5, 1.2))
            # Only a worker that holds a trial: one killed while it still starts (slow under
            # load) leaves no trial to go stale, and the test then saw no stale trial.
            holding = [i for i, p in enumerate(procs) if p.poll() is None and runs_a_trial(p)]
            if not holding:
                continue
            i = rng.choice(holding)
            procs[i].send_signal(signal.SIGKILL)
            procs[i].communicate()
            killed += 1
            procs[i] = start_worker("--storage", url, "--study", name, netns=netns)
        for p in procs:
            try:
                _, err = p.communicate(timeout=max(1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                self.fail(f"a worker still runs after 240 s: {p.args}")
            self.assertEqual(p.returncode, 0, err)
        self.assertEqual(killed, kills)
        return optuna.load_study(study_name=name, storage=optuna_url)

    def check_study(self, study, n_trials):
        trials = study.trials
        numbers = [t.number for t in trials]
        self.assertEqual(sorted(numbers), list(range(len(trials))), "numbers collide or skip")
        # Every trial ended, with no exception: a trial's first heartbeat is written in the
        # transaction that creates or claims it, so even a worker killed at that very instant
        # leaves a trial that goes stale and is failed.
        for t in trials:
            self.assertIn(t.state, (optuna.trial.TrialState.COMPLETE,
                                    optuna.trial.TrialState.FAIL),
                          f"trial {t.number} ended {t.state.name}")
        for t in trials:
            if t.state == optuna.trial.TrialState.COMPLETE:
                self.assertAlmostEqual(t.value, t.params["x"], places=9)  # the value it printed
        # Killed workers' trials went stale, were failed and retried.
        stale = [t for t in trials if "stale" in system_attrs(t).get("fail_reason", "")]
        self.assertGreater(len(stale), 0, "no trial was failed stale")
        # A retry's retry_history lists every trial of its chain (a retry can go stale and be
        # retried too); its failed_trial names only the first.
        retries = [t for t in trials if "failed_trial" in system_attrs(t)]
        retried = {n for t in retries for n in system_attrs(t)["retry_history"]}
        for t in stale:
            history = system_attrs(t).get("retry_history", [])
            if len(history) < 3:  # max_retry
                self.assertIn(t.number, retried, f"stale trial {t.number} was not retried")
        # The budget: every trial that ran, less those a retry replaces (one each).
        counted = len(trials) - len(retries)
        self.assertGreaterEqual(counted, n_trials)
        self.assertLessEqual(counted, n_trials + 7)  # workers checking at the same instant

    def test_workers_share_the_study_budget(self):
        url = "sqlite:///" + os.path.join(self.dir, "share.db")
        config = self.write_config("share", n_trials=12, sleep=0.1)
        knob("worker", config, "--storage", url + V300D, "--quiet")  # creates, runs all 12
        procs = [start_worker("--storage", url, "--study", "share") for _ in range(3)]
        for p in procs:
            _, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, err)
        self.assertEqual(len(optuna.load_study(study_name="share", storage=url).trials), 12)
        # knob tune adds its --n-trials to the study's budget; a worker then helps it.
        tune = subprocess.Popen([ARGS.knob, "tune", config, "--storage", url, "--n-trials", "10",
                                 "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        helper = start_worker("--storage", url, "--study", "share")
        for p in (tune, helper):
            _, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, err)
        trials = optuna.load_study(study_name="share", storage=url).trials
        self.assertGreaterEqual(len(trials), 22)
        self.assertLessEqual(len(trials), 23)

    def test_sqlite_four_workers_killed_and_restarted(self):
        url = "sqlite:///" + os.path.join(self.dir, "kill.db")
        study = self.run_killed_workers(url, "kill", workers=4, n_trials=40, kills=4)
        self.check_study(study, 40)

    @unittest.skipUnless(os.environ.get("KNOB_TEST_POSTGRES_URL"), "needs scripts/pg_test_server")
    def test_postgres_eight_workers_killed_and_restarted(self):
        url = os.environ["KNOB_TEST_POSTGRES_URL"]
        study = self.run_killed_workers(url, "kill8", workers=8, n_trials=60, kills=6)
        self.check_study(study, 60)

    @unittest.skipUnless(os.environ.get("KNOB_TEST_POSTGRES_URL") and can_make_namespaces(),
                         "needs scripts/pg_test_server and `ip netns` (root, CAP_NET_ADMIN)")
    def test_postgres_workers_on_separate_network_namespaces(self):
        # Two "machines": network namespaces joined to this one by veth pairs, reaching the
        # server at this host's veth address (a proxy to the loopback server) — not loopback.
        url = os.environ["KNOB_TEST_POSTGRES_URL"]
        with NetworkNamespaces(2) as hosts:
            proxy = TcpProxy(hosts.host_address, target=url_port(url))
            remote = url.replace("127.0.0.1:%d" % url_port(url),
                                 "%s:%d" % (hosts.host_address, proxy.port))
            study = self.run_killed_workers(remote, "netns", workers=2, n_trials=16, kills=1,
                                            netns=hosts.names[0])
            helper = start_worker("--storage", remote, "--study", "netns", netns=hosts.names[1])
            _, err = helper.communicate(timeout=60)
            self.assertEqual(helper.returncode, 0, err)
            self.assertGreater(proxy.connections, 0)
        self.check_study(optuna.load_study(study_name="netns", storage=url), 16)


class MalformedWorkerTest(unittest.TestCase):
    """Each row: a bad worker command line, exit 2, the field and value named, nothing lost."""

    def test_malformed_invocations_exit_2_and_change_nothing(self):
        d = tempfile.mkdtemp(prefix="knob_worker_bad_")
        self.addCleanup(shutil.rmtree, d, True)
        db = os.path.join(d, "s.db")
        url = "sqlite:///" + db
        knob("study", "create", "--storage", url, "--study", "bare")  # no stored config
        with open(db, "rb") as f:
            before = f.read()
        rows = [
            (["--storage", url], ["--study", "must name the study"]),
            (["--storage", url, "--study", "nope"], ["nope", "nothing to join"]),
            (["--storage", url, "--study", "bare"], ["--study", "bare", "knob tune CONFIG"]),
            (["--storage", url, "--study", "bare", "--jobs", "0"], ["--jobs", "0"]),
            (["--study", "bare"], ["--storage"]),
        ]
        for args, fragments in rows:
            with self.subTest(args=args):
                proc = knob("worker", *args, expect=2)
                for fragment in fragments:
                    self.assertIn(fragment, proc.stderr)
                with open(db, "rb") as f:
                    self.assertEqual(f.read(), before)


def url_port(url):
    return int(url.split("@", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])


def pid_alive(pid):
    """Whether a process with this pid % 10000 may still run (names keep 4 digits)."""
    return any(int(p) % 10000 == pid for p in os.listdir("/proc") if p.isdigit())


class NetworkNamespaces:
    """`count` network namespaces, each joined to this one by a veth pair on 10.231.0.0/24."""

    def __init__(self, count):
        self.names = [f"knobw{os.getpid() % 10000}x{i}" for i in range(count)]
        self.host_address = "10.231.0.1"

    def __enter__(self):
        self.__exit__()  # what a killed earlier run left
        subprocess.run(["ip", "link", "add", "knobbr0", "type", "bridge"], check=True)
        subprocess.run(["ip", "addr", "add", self.host_address + "/24", "dev", "knobbr0"],
                       check=True)
        subprocess.run(["ip", "link", "set", "knobbr0", "up"], check=True)
        for i, ns in enumerate(self.names):
            outside, inside = f"knobv{i}a", f"knobv{i}b"
            for cmd in (["ip", "netns", "add", ns],
                        ["ip", "link", "add", outside, "type", "veth", "peer", "name", inside],
                        ["ip", "link", "set", inside, "netns", ns],
                        ["ip", "link", "set", outside, "master", "knobbr0"],
                        ["ip", "link", "set", outside, "up"],
                        ["ip", "netns", "exec", ns, "ip", "addr", "add", f"10.231.0.{10 + i}/24",
                         "dev", inside],
                        ["ip", "netns", "exec", ns, "ip", "link", "set", inside, "up"],
                        ["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"]):
                subprocess.run(cmd, check=True)
        return self

    def __exit__(self, *exc):
        # This run's namespaces, and those of earlier runs that were killed (their names hold
        # another pid): a namespace left behind keeps its veth pair, and every later run then
        # failed at `ip link add knobv0a` ("File exists").
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        stale = {line.split()[0] for line in listed.splitlines()
                 if re.fullmatch(r"knobw(\d+)x\d+", line.split()[0] if line.split() else "")
                 and not pid_alive(int(re.match(r"knobw(\d+)", line.split()[0]).group(1)))}
        for ns in set(self.names) | stale:
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)
        for i in range(len(self.names)):
            subprocess.run(["ip", "link", "del", f"knobv{i}a"], check=False, capture_output=True)
        subprocess.run(["ip", "link", "del", "knobbr0"], check=False, capture_output=True)


class TcpProxy:
    """Accepts on `address`:(free port) and forwards each connection to 127.0.0.1:`target`."""

    def __init__(self, address, target):
        self.connections = 0
        self.server = socket.create_server((address, 0))
        self.port = self.server.getsockname()[1]
        self.target = target
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            client, _ = self.server.accept()
            self.connections += 1
            upstream = socket.create_connection(("127.0.0.1", self.target))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--knob", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)
