#!/usr/bin/python3
"""Regression tests of issue 22's input/output defects, end to end on the `knob` executable.

Run by CTest with Debian's python3 (tests/cli/CMakeLists.txt):
    /usr/bin/python3 tests/cli/hardening_test.py --knob build/knob [-v]
Each test names the defect it guards: exports never clobber the storage nor fail silently (2),
read-only verbs never create or change a database (8), misspelled tables stop (7), data is
checked in full before training (10), and the small ones (12). Standard library only; the
helpers are cli_test.py's.
"""
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_test import KNOB, KnobTestCase  # noqa: E402  (takes --knob from argv)


# The data checks run in the trainer plugin: test them only against the plugin built beside
# this knob (a KNOB_WITH_TORCH=OFF build finds an older prebuilt one through the environment).
OWN_PLUGIN = os.path.exists(os.path.join(os.path.dirname(KNOB), "libknob_trainer.so"))
needs_own_plugin = unittest.skipUnless(
    OWN_PLUGIN, "no libknob_trainer.so beside knob (built with KNOB_WITH_TORCH=OFF)")


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def journal_mode(path):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return con.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        con.close()


class Hardening(KnobTestCase):
    def make_study(self, db="st.db", study="s", trials="3"):
        self.knob("tune", "--storage", f"sqlite:///{db}", "--study", study, "--objective",
                  "branin", "--n-trials", trials, "--quiet")
        return self.path(db)

    def assert_refused(self, proc, *fragments):
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        for fragment in fragments:
            self.assertIn(fragment, proc.stderr)
        for bad in ("terminate called", "Traceback", "what():"):
            self.assertNotIn(bad, proc.stderr)

    # Defect 2 ------------------------------------------------------------------------------
    def test_export_never_overwrites_the_storage(self):
        db = self.make_study()
        os.link(db, self.path("alias.db"))
        os.symlink(db, self.path("link.db"))
        before = sha(db)
        for output in ["st.db", "./st.db", db, "alias.db", "link.db"]:
            for fmt in ["csv", "json"]:
                with self.subTest(output=output, format=fmt):
                    proc = self.knob("study", "export", "--storage", "sqlite:///st.db",
                                     "--study", "s", "--format", fmt, "-o", output, expect=None)
                    self.assert_refused(proc, "--output", output, "same file as")
                    self.assertEqual(sha(db), before)
        self.assertEqual(len(self.show_json("sqlite:///st.db", "s")["trials"]), 3)
        self.assertEqual(sorted(os.listdir(self.dir)), ["alias.db", "link.db", "st.db"])

    def test_export_to_a_full_device_fails(self):
        self.make_study()
        proc = self.knob("study", "export", "--storage", "sqlite:///st.db", "--study", "s",
                         "--format", "csv", "-o", "/dev/full", expect=None)
        self.assertNotEqual(proc.returncode, 0, "a write to /dev/full must not succeed")
        self.assertIn("/dev/full", proc.stderr)
        self.assertIn("No space left on device", proc.stderr)

    def test_export_replaces_a_file_whole(self):
        self.make_study()
        with open(self.path("out.csv"), "w") as f:
            f.write("old content that is longer than nothing\n" * 100)
        self.knob("study", "export", "--storage", "sqlite:///st.db", "--study", "s", "--format",
                  "csv", "-o", "out.csv")
        with open(self.path("out.csv")) as f:
            lines = f.read().splitlines()
        self.assertTrue(lines[0].startswith("number,value,"), lines[0])
        self.assertEqual(len(lines), 4)
        self.assertEqual(sorted(os.listdir(self.dir)), ["out.csv", "st.db"])  # no temporaries

    # Defect 8 ------------------------------------------------------------------------------
    def test_read_only_verbs_create_nothing(self):
        for verb in (["list"], ["show", "--study", "s"], ["export", "--study", "s", "--format",
                                                         "json"], ["delete", "--study", "s"]):
            with self.subTest(verb=verb[0]):
                proc = self.knob("study", verb[0], "--storage", "sqlite:///typo.db", *verb[1:],
                                 expect=None)
                self.assert_refused(proc, "typo.db", "no such file")
                self.assertEqual(os.listdir(self.dir), [])

    def test_a_rollback_journal_database_keeps_its_bytes_and_mode(self):
        db = self.make_study(trials="2")
        self.make_study(study="other", trials="1")
        con = sqlite3.connect(db)
        con.execute("PRAGMA journal_mode = DELETE")
        con.close()
        self.assertEqual(journal_mode(db), "delete")
        before = sha(db)
        self.knob("study", "list", "--storage", "sqlite:///st.db")
        self.knob("study", "show", "--storage", "sqlite:///st.db", "--study", "s")
        self.knob("study", "export", "--storage", "sqlite:///st.db", "--study", "s", "--format",
                  "csv")
        self.assertEqual(sha(db), before, "a read-only verb changed the database")
        self.assertEqual(sorted(os.listdir(self.dir)), ["st.db"])
        self.knob("study", "delete", "--storage", "sqlite:///st.db", "--study", "other")
        self.assertEqual(journal_mode(db), "delete", "delete switched the journal mode")
        names = [s["study_name"] for s in json.loads(
            self.knob("study", "list", "--storage", "sqlite:///st.db", "-f", "json").stdout)]
        self.assertEqual(names, ["s"])

    def test_list_in_a_read_only_directory(self):
        if os.geteuid() != 0 or not shutil.which("setpriv"):
            self.skipTest("needs root and setpriv to run knob as another user")
        # A directory and database that user nobody can read but not write.
        top = tempfile.mkdtemp(prefix="knob-ro-")
        try:
            os.chmod(top, 0o755)
            ro = os.path.join(top, "ro")
            os.mkdir(ro)
            shutil.copyfile(self.make_study(), os.path.join(ro, "st.db"))
            os.chmod(os.path.join(ro, "st.db"), 0o444)
            os.chmod(ro, 0o555)
            before = sha(os.path.join(ro, "st.db"))
            proc = subprocess.run(
                ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", KNOB, "study",
                 "list", "--storage", "sqlite:///st.db"],
                cwd=ro, capture_output=True, text=True, timeout=60)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertIn("s ", proc.stdout)
            self.assertNotIn("attempt to write", proc.stderr)
            self.assertEqual(sha(os.path.join(ro, "st.db")), before)
            self.assertEqual(os.listdir(ro), ["st.db"])
        finally:
            os.chmod(os.path.join(top, "ro"), 0o755)
            shutil.rmtree(top)

    # Defect 7 ------------------------------------------------------------------------------
    def test_misspelled_tables_stop(self):
        search = '"optimizer.lr" = { low = 0.001, high = 0.1 }\n'
        cases = [
            ("serach", "[study]\nn_trials = 2\n[serach]\n" + search, ["[serach]",
                                                                      "did you mean [search]?"]),
            ("optimiser", "[optimiser]\nlr = 0.1\n[search]\n" + search,
             ["[optimiser]", "did you mean [optimizer]?"]),
            ("top-level key", "n_trials = 3\n[search]\n" + search, ["n_trials = 3", "unknown"]),
            ("command objective", '[objective]\ncommand = "true"\n[serach]\n' + search,
             ["[serach]", "did you mean [search]?"]),
        ]
        for name, text, fragments in cases:
            with self.subTest(case=name):
                with open(self.path("c.toml"), "w") as f:
                    f.write(text)
                proc = self.knob("tune", "c.toml", "--storage", "sqlite:///t.db", "--study", "t",
                                 expect=None)
                self.assert_refused(proc, "c.toml", *fragments)
                self.assertFalse(os.path.exists(self.path("t.db")))
        with open(self.path("t.toml"), "w") as f:
            f.write("[optimiser]\nlr = 0.1\n")
        self.assert_refused(self.knob("train", "t.toml", expect=None), "[optimiser]",
                            "did you mean [optimizer]?", "t.toml")

    # Defect 12 -----------------------------------------------------------------------------
    def test_train_errors_name_the_right_key_the_table_and_the_file(self):
        with open(self.path("t.toml"), "w") as f:
            f.write("[train]\nepochs = 0\n")
        proc = self.knob("train", "t.toml", expect=None)
        self.assert_refused(proc, "train.epochs = 0", "(in [train] of t.toml)")
        self.assertNotIn("warmup", proc.stderr)
        proc = self.knob("train", "t.toml", "--set", "train.epochs=3", "--set",
                         "optimizer.lr=0", expect=None)
        self.assert_refused(proc, "optimizer.lr = 0", "(in [optimizer] of t.toml)")

    def test_terminal_escapes_in_names_are_escaped(self):
        name = "evil\x1b]0;pwned\x07\x1b[2J"
        self.knob("study", "create", "--storage", "sqlite:///st.db", "--study", name)
        for args in (["list"], ["show", "--study", name]):
            out = self.knob("study", *args, "--storage", "sqlite:///st.db").stdout
            self.assertNotIn("\x1b", out)
            self.assertNotIn("\x07", out)
            self.assertIn("evil\\x1b]0;pwned\\x07\\x1b[2J", out)
        # JSON keeps the name exact.
        listed = json.loads(self.knob("study", "list", "--storage", "sqlite:///st.db", "-f",
                                      "json").stdout)
        self.assertEqual(listed[0]["study_name"], name)

    def test_json_export_is_strict_json(self):
        db = self.make_study(trials="3")
        con = sqlite3.connect(db)
        ids = [r[0] for r in con.execute("SELECT trial_id FROM trials ORDER BY number")]
        con.execute("UPDATE trial_values SET value = NULL, value_type = 'INF_POS' "
                    "WHERE trial_id = ?", (ids[0],))
        con.execute("UPDATE trial_values SET value = NULL, value_type = 'INF_NEG' "
                    "WHERE trial_id = ?", (ids[1],))
        con.commit()
        con.close()
        text = self.knob("study", "export", "--storage", "sqlite:///st.db", "--study", "s",
                         "--format", "json").stdout

        def refuse(token):
            raise ValueError("not JSON: " + token)
        exported = json.loads(text, parse_constant=refuse)
        values = [t["values"][0] for t in exported["trials"]]
        self.assertEqual(values[:2], ["inf", "-inf"])
        self.assertIsInstance(values[2], float)
        self.assertEqual(float(values[0]), float("inf"))

    # Defect 10 (and 12: validation = 0) — these load the trainer plugin ---------------------
    def write_csv_config(self, train_rows, test_rows=None, validation=0, newline="\n", bom=""):
        with open(self.path("train.csv"), "w", newline="") as f:
            f.write(bom + newline.join(["a,b,label"] + train_rows) + newline)
        test = ""
        if test_rows is not None:
            with open(self.path("test.csv"), "w", newline="") as f:
                f.write(newline.join(test_rows) + newline)
            test = f'test_csv = "{self.path("test.csv")}"\n'
        with open(self.path("d.toml"), "w") as f:
            f.write(f'[data]\nsource = "csv"\ntrain_csv = "{self.path("train.csv")}"\n{test}'
                    f"validation = {validation}\n[model]\nhidden = [4]\n[batch]\nsize = 4\n"
                    "[train]\nepochs = 2\n")

    ROWS = ["0,0,0", "0,1,1", "1,0,1", "1,1,0", "0,0,0", "0,1,1", "1,0,1", "1,1,0"]

    @needs_own_plugin
    def test_a_csv_with_a_bom_and_crlf_trains_and_validation_zero_says_n_a(self):
        self.write_csv_config(self.ROWS, newline="\r\n", bom="\ufeff")
        proc = self.knob("train", "d.toml", "--quiet", expect=None)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("val_accuracy n/a", proc.stdout)
        self.assertNotIn("val_accuracy 0.0000", proc.stdout)

    @needs_own_plugin
    def test_bad_data_stops_before_training(self):
        csv = self.path("train.csv")
        cases = [
            ("label 1e7", self.ROWS + ["1,1,1e7"], None,
             [csv + ":10 (row 10, column label) = \"1e7\"", "at most 10000 classes"]),
            ("label 1e9", ["1,1,1000000000"], None, ["= \"1000000000\"", "class index"]),
            ("nan cell", self.ROWS + ["nan,1,0"], None, ["(row 10, column a) = \"nan\""]),
            ("inf cell", ["inf,1,0"] + self.ROWS, None, ["(row 2, column a) = \"inf\""]),
            ("test csv with other columns", self.ROWS, ["a,c,label", "0,0,0"],
             ["data.test_csv", "a, c, label"]),
            ("test csv with other labels", self.ROWS, ["a,b,label", "0,0,7"],
             ["test.csv = 7", "labels 0..1"]),
        ]
        for name, rows, test_rows, fragments in cases:
            with self.subTest(case=name):
                self.write_csv_config(rows, test_rows)
                proc = self.knob("train", "d.toml", "--quiet", expect=None)
                self.assert_refused(proc, *fragments)
                self.assertNotIn("epoch", proc.stdout)

    @needs_own_plugin
    def test_an_idx_file_whose_dimensions_overflow_is_refused(self):
        header = bytes([0, 0, 8, 4]) + b"".join((65536).to_bytes(4, "big") for _ in range(4))
        with open(self.path("images.idx"), "wb") as f:
            f.write(header)
        with open(self.path("labels.idx"), "wb") as f:
            f.write(bytes([0, 0, 8, 1, 0, 0, 0, 1, 0]))
        with open(self.path("i.toml"), "w") as f:
            f.write(f'[data]\nsource = "idx"\ntrain_images = "{self.path("images.idx")}"\n'
                    f'train_labels = "{self.path("labels.idx")}"\nvalidation = 0\n')
        proc = self.knob("train", "i.toml", "--quiet", expect=None)
        self.assert_refused(proc, "images.idx", "more bytes than any file holds")


if __name__ == "__main__":
    if not os.access(KNOB, os.X_OK):
        sys.exit(f"knob binary not found at {KNOB}: pass --knob PATH or set KNOB_BIN")
    unittest.main()
