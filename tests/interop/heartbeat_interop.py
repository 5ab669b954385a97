#!/usr/bin/python3
"""Heartbeats across knob and Optuna (3.1 or 4.9: interop_common.py) on one study: Optuna's fail_stale_trials
(RDBStorage(heartbeat_interval=...)) fails a knob trial whose heartbeat stopped and its
RetryFailedTrialCallback re-enqueues it, and knob's fail_stale_trials fails an Optuna trial
whose heartbeat stopped and re-enqueues it with Optuna's retry attributes; Optuna also fails
a knob trial whose worker died before its first beat (knob writes it with the trial). Fresh
heartbeats must not be stale to either side: both processes run with TZ=Asia/Tokyo, so a heartbeat
written in local time instead of SQLite's UTC clock would look hours off. On SQLite files,
and also on PostgreSQL (python3-psycopg2) when KNOB_TEST_POSTGRES_URL names a server
(scripts/pg_test_server; CTest postgres.heartbeats).

  /usr/bin/python3 heartbeat_interop.py --tool build/tests/interop/heartbeat_tool --tmp DIR
"""

import json
import os
import time
import unittest

import interop_common as ic
from interop_common import optuna

from optuna.storages import RDBStorage, RetryFailedTrialCallback

os.environ["TZ"] = "Asia/Tokyo"  # for this process and the knob tool it starts
time.tzset()


def tool(url, *args):
    """Runs heartbeat_tool on `url` (with ?schema=v3.0.0.d for Optuna 3.1: ic.knob_url)."""
    return json.loads(ic.run([ic.ARGS.tool, ic.knob_url(url), *map(str, args)]).stdout)


SERVER = os.environ.get("KNOB_TEST_POSTGRES_URL")


class SqliteHeartbeats(unittest.TestCase):
    def setUp(self):
        self.url = ic.storage_url(os.path.join(ic.WORKDIR, self.id().split(".")[-1] + ".db"))

    def test_optuna_fails_and_retries_a_stale_knob_trial(self):
        number = tool(self.url, "s", "start")["number"]
        storage = RDBStorage(self.url, heartbeat_interval=1, grace_period=1,
                             failed_trial_callback=RetryFailedTrialCallback(max_retry=1))
        study = optuna.load_study(study_name="s", storage=storage)
        optuna.storages.fail_stale_trials(study)
        self.assertEqual(study.trials[number].state, optuna.trial.TrialState.RUNNING,
                         "a fresh knob heartbeat looked stale to Optuna")
        time.sleep(2.2)  # Optuna counts whole seconds: stale once more than 1 s has passed
        optuna.storages.fail_stale_trials(study)
        trials = study.trials
        self.assertEqual(trials[number].state, optuna.trial.TrialState.FAIL)
        self.assertEqual(len(trials), 2)
        retry = trials[1]
        self.assertEqual(retry.state, optuna.trial.TrialState.WAITING)
        self.assertEqual(RetryFailedTrialCallback.retried_trial_number(retry), number)
        self.assertEqual(retry.params, {"x": trials[number].params["x"]})

    def test_optuna_fails_a_knob_trial_whose_worker_died_before_beating(self):
        # knob's ask() with heartbeats on writes the trial's first heartbeat with the trial: a
        # worker killed at once leaves a trial Optuna's fail_stale_trials finds, as knob's does.
        number = tool(self.url, "s", "ask")["number"]
        study = optuna.load_study(study_name="s", storage=RDBStorage(
            self.url, heartbeat_interval=1, grace_period=1))
        optuna.storages.fail_stale_trials(study)
        self.assertEqual(study.trials[number].state, optuna.trial.TrialState.RUNNING,
                         "a fresh knob heartbeat looked stale to Optuna")
        time.sleep(2.2)
        optuna.storages.fail_stale_trials(study)
        self.assertEqual(study.trials[number].state, optuna.trial.TrialState.FAIL)

    def test_knob_fails_and_retries_a_stale_optuna_trial(self):
        storage = RDBStorage(self.url, heartbeat_interval=1)
        study = optuna.create_study(study_name="s", storage=storage)
        trial = study.ask()
        trial.suggest_float("x", 0.0, 1.0)
        storage.record_heartbeat(trial._trial_id)  # inserts (CURRENT_TIMESTAMP)
        storage.record_heartbeat(trial._trial_id)  # updates (SELECT now(), as SQLAlchemy writes)
        self.assertEqual(tool(self.url, "s", "fail", 1.0, 1)["failed"], [],
                         "a fresh Optuna heartbeat looked stale to knob")
        # knob counts the silence from the end of the heartbeat's whole second: a beat stored
        # as second S is stale once now > S + 1 + grace, at most 2 s after it was recorded.
        time.sleep(2.5)
        self.assertEqual(tool(self.url, "s", "fail", 1.0, 1)["failed"], [trial.number])
        self.assertEqual(tool(self.url, "s", "fail", 1.0, 1)["failed"], [], "failed only once")
        trials = optuna.load_study(study_name="s", storage=self.url).trials
        failed = trials[trial.number]
        self.assertEqual(failed.state, optuna.trial.TrialState.FAIL)
        self.assertIsNotNone(failed.datetime_complete)
        self.assertTrue(failed.system_attrs["fail_reason"].startswith("stale: no heartbeat for"),
                        failed.system_attrs)
        self.assertEqual(len(trials), 2)
        retry = trials[1]
        self.assertEqual(retry.state, optuna.trial.TrialState.WAITING)
        self.assertEqual(RetryFailedTrialCallback.retried_trial_number(retry), trial.number)
        self.assertEqual(RetryFailedTrialCallback.retry_history(retry), [trial.number])
        self.assertEqual(retry.params, failed.params)


@unittest.skipUnless(SERVER, "KNOB_TEST_POSTGRES_URL is not set")
class PostgresHeartbeats(SqliteHeartbeats):
    def setUp(self):
        self.url = ic.fresh_postgres_database("heartbeats")


if __name__ == "__main__":
    ic.main(__doc__.splitlines()[0], tool="knob's heartbeat_tool")
