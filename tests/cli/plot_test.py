#!/usr/bin/python3
"""End-to-end tests of `knob plot KIND` on studies written by Debian's python3-optuna (3.1).

Run by CTest with Debian's python3 (tests/cli/CMakeLists.txt):
    /usr/bin/python3 tests/cli/plot_test.py --knob build/knob [-v] [unittest args]

Each kind is drawn from a single-objective study with every distribution kind (log float,
float, int, categorical) and, where Optuna allows one, from a multi-objective study. The SVG is
parsed and its elements counted: points = trials drawn, axis labels = parameter names, decade
ticks on log axes. The same counts are read from Optuna's own plotly figures of the same
SQLite file (python3-plotly). PNGs are checked by their signature and size. A table of bad
inputs must exit 2, say what is wrong, leave no output file and the database byte-identical.
Skips, saying so, where python3-optuna is not installed.
"""
import hashlib
import math
import os
import struct
import subprocess
import sys
import tempfile
import unittest
import warnings
import xml.etree.ElementTree as ET


sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_test import KNOB  # noqa: E402  (takes --knob off the command line)

NS = "{http://www.w3.org/2000/svg}"
MIXED = "mixed & <study>"  # a study name that must be escaped in the SVG
PARAMS = ["dropout", "lr", "optimizer", "units"]  # sorted, as plots show them
MO_PARAMS = ["lr", "optimizer", "units"]

try:
    import optuna
    from optuna.trial import TrialState
    optuna.logging.set_verbosity(optuna.logging.ERROR)
except ImportError:
    optuna = None
try:
    import plotly  # noqa: F401  (Optuna's plot functions need it)
    HAVE_PLOTLY = optuna is not None
except ImportError:
    HAVE_PLOTLY = False


def make_studies(url):
    """The studies every test reads; written once by Optuna 3.1."""
    def objective(t):
        lr = t.suggest_float("lr", 1e-5, 1e-1, log=True)
        dropout = t.suggest_float("dropout", 0.0, 0.5)
        units = t.suggest_int("units", 8, 128)
        opt = t.suggest_categorical("optimizer", ["adam", "sgd", "rms<prop>"])
        v = (math.log10(lr) + 3) ** 2 + dropout + units / 100 + {"adam": 0, "sgd": 0.5,
                                                                  "rms<prop>": 0.2}[opt]
        for step in range(5):
            t.report(v * (5 - step), step)
        if t.number == 3:
            raise optuna.TrialPruned()
        if t.number == 5:
            raise RuntimeError("a FAIL trial")
        return v

    study = optuna.create_study(study_name=MIXED, storage=url,
                                sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(objective, n_trials=16, catch=(RuntimeError,))

    def two(t):
        lr = t.suggest_float("lr", 1e-5, 1e-1, log=True)
        units = t.suggest_int("units", 8, 128)
        opt = t.suggest_categorical("optimizer", ["adam", "sgd"])
        return abs(math.log10(lr) + 3), units + (opt == "sgd")

    mo = optuna.create_study(study_name="mo", storage=url, directions=["minimize", "maximize"],
                             sampler=optuna.samplers.RandomSampler(seed=2))
    mo.optimize(two, n_trials=10)
    empty = optuna.create_study(study_name="empty", storage=url)
    empty.enqueue_trial({"lr": 0.01})
    empty.ask()  # stays RUNNING: no COMPLETE trial
    one = optuna.create_study(study_name="one_param", storage=url,
                              sampler=optuna.samplers.RandomSampler(seed=3))
    one.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=5)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def children(node, tag, cls=None):
    return [e for e in node.iter(NS + tag) if cls is None or e.get("class") == cls]


def texts(node, tag_class):
    out = []
    for g in node.iter(NS + "g"):
        if g.get("class") == tag_class:
            out += [t.text for t in g.iter(NS + "text")]
    return out


def series_points(svg_node, index=0):
    """The dots of series `index` of a chart (report/chart.h)."""
    for g in svg_node.iter(NS + "g"):
        if g.get("class") == "series" and g.get("data-index") == str(index):
            return len([c for c in g if c.tag == NS + "circle"])
    return None


def cells(root):
    """The charts of a grid (to_svg_grid): the nested <svg> of each cell."""
    return [g.find(NS + "svg") for g in root.iter(NS + "g") if g.get("class") == "cell"]


def is_decade(label):
    value = float(label)
    return value > 0 and abs(math.log10(value) - round(math.log10(value))) < 1e-9


@unittest.skipIf(optuna is None, "python3-optuna is not installed: plot tests need its studies")
class PlotTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="knob-plot-test-")
        cls.dir = cls._tmp.name
        cls.db = os.path.join(cls.dir, "studies.db")
        cls.url = "sqlite:///" + cls.db
        make_studies(cls.url)
        cls.study = optuna.load_study(study_name=MIXED, storage=cls.url)
        cls.mo = optuna.load_study(study_name="mo", storage=cls.url)
        cls.complete = [t for t in cls.study.trials if t.state == TrialState.COMPLETE]
        cls.mo_complete = [t for t in cls.mo.trials if t.state == TrialState.COMPLETE]

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def knob(self, *args, expect=0):
        proc = subprocess.run([KNOB, *args], cwd=self.dir, capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(proc.returncode, expect,
                         f"knob {' '.join(args)}: exit {proc.returncode}\n{proc.stderr}")
        return proc

    def plot(self, kind, study=MIXED, *extra, ext="svg"):
        out = os.path.join(self.dir, f"{kind}-{abs(hash((study,) + extra))}.{ext}")
        before = sha256(self.db)
        self.knob("plot", kind, "--storage", self.url, "--study-name", study, "-o", out, *extra)
        self.assertEqual(sha256(self.db), before, "knob plot changed the database")
        if ext == "png":
            with open(out, "rb") as f:
                return f.read()
        return ET.parse(out).getroot()

    def optuna_figure(self, function, study, **kwargs):
        if not HAVE_PLOTLY:
            self.skipTest("python3-plotly is not installed: no Optuna figure to compare with")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return function(study, **kwargs)

    # ------------------------------------------------------------ each kind

    def test_history(self):
        root = self.plot("history")
        self.assertEqual(series_points(root, 0), len(self.complete))
        self.assertEqual(children(root, "text", "x-label")[0].text, "Trial")
        self.assertEqual(children(root, "text", "y-label")[0].text, "Objective Value")
        best = [g for g in root.iter(NS + "g") if g.get("data-index") == "1"]
        self.assertEqual(best[0].find(NS + "title").text, "Best Value")
        fig = self.optuna_figure(optuna.visualization.plot_optimization_history, self.study)
        self.assertEqual([d.name for d in fig.data], ["Objective Value", "Best Value"])
        self.assertEqual(len(fig.data[0].x), series_points(root, 0))

    def test_history_multi_objective(self):
        root = self.plot("history", "mo", "--objective-index", "1", "--target-name", "units+")
        self.assertEqual(series_points(root, 0), len(self.mo_complete))
        self.assertEqual(children(root, "text", "y-label")[0].text, "units+")
        self.assertIsNone(series_points(root, 1), "no best-value line with a target (Optuna)")
        fig = self.optuna_figure(optuna.visualization.plot_optimization_history, self.mo,
                                 target=lambda t: t.values[1])
        self.assertEqual(len(fig.data), 1)
        self.assertEqual(len(fig.data[0].x), series_points(root, 0))

    def test_intermediate(self):
        root = self.plot("intermediate")
        lines = [g for g in root.iter(NS + "g") if g.get("class") == "series"]
        with_values = [t for t in self.study.trials if t.intermediate_values and
                       t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
        self.assertEqual(len(lines), len(with_values))
        self.assertEqual(children(root, "text", "x-label")[0].text, "Step")
        fig = self.optuna_figure(optuna.visualization.plot_intermediate_values, self.study)
        self.assertEqual(len(fig.data), len(lines))

    def test_parallel(self):
        for study, params, extra, values in [
                (MIXED, PARAMS, (), [t.value for t in self.complete]),
                ("mo", MO_PARAMS, ("--objective-index", "0"), [t.values[0] for t in self.mo_complete])]:
            root = self.plot("parallel", study, *extra)
            self.assertEqual(len(children(root, "polyline", "trial")), len(values))
            labels = [t.text for t in children(root, "text", "axis-label")]
            self.assertEqual(labels, ["Objective Value"] + params)
            lr_axis = [g for g in root.iter(NS + "g") if g.get("class") == "axis"][1 + params.index("lr")]
            ticks = [t.text for t in lr_axis.iter(NS + "text") if t.get("class") == "tick"]
            self.assertTrue(len(ticks) >= 2 and all(is_decade(t) for t in ticks), ticks)
            opt_axis = [g for g in root.iter(NS + "g") if g.get("class") == "axis"][1 + params.index("optimizer")]
            choices = [t.text for t in opt_axis.iter(NS + "text") if t.get("class") == "tick"]
            self.assertEqual(choices, ["adam", "sgd", "rms<prop>"] if study == MIXED else ["adam", "sgd"])
        fig = self.optuna_figure(optuna.visualization.plot_parallel_coordinate, self.study)
        self.assertEqual([d.label for d in fig.data[0].dimensions], ["Objective Value"] + PARAMS)
        self.assertEqual(len(fig.data[0].dimensions[0].values), len(self.complete))

    def test_slice(self):
        root = self.plot("slice")
        charts = cells(root)
        self.assertEqual([children(c, "text", "x-label")[0].text for c in charts], PARAMS)
        for chart in charts:
            self.assertEqual(series_points(chart), len(self.complete))
        lr = charts[PARAMS.index("lr")]
        self.assertTrue(all(is_decade(t) for t in texts(lr, "x-tick-labels")))
        self.assertEqual(texts(charts[PARAMS.index("optimizer")], "x-tick-labels"),
                         ["adam", "sgd", "rms<prop>"])
        fig = self.optuna_figure(optuna.visualization.plot_slice, self.study)
        self.assertEqual(len(fig.data), len(charts))
        self.assertEqual([len(d.x) for d in fig.data], [series_points(c) for c in charts])
        # --params chooses; multi-objective with a target.
        root = self.plot("slice", "mo", "--params", "units", "--params", "lr",
                         "--objective-index", "1")
        charts = cells(root)
        self.assertEqual([children(c, "text", "x-label")[0].text for c in charts], ["lr", "units"])
        self.assertEqual(series_points(charts[0]), len(self.mo_complete))

    def test_importance(self):
        for study, params, extra in [(MIXED, PARAMS, ()),
                                     ("mo", MO_PARAMS, ("--objective-index", "1"))]:
            root = self.plot("importance", study, *extra)
            bars = [r for g in root.iter(NS + "g") if g.get("class") == "rects"
                    for r in g.iter(NS + "rect")]
            self.assertEqual(len(bars), len(params))
            self.assertEqual(sorted(texts(root, "y-tick-labels")), params)
        fig = self.optuna_figure(optuna.visualization.plot_param_importances, self.study)
        self.assertEqual(sorted(fig.data[0].y), PARAMS)

    def test_contour(self):
        root = self.plot("contour", MIXED, "--params", "lr", "--params", "units")
        (chart,) = cells(root)
        self.assertEqual(children(chart, "text", "x-label")[0].text, "lr")
        self.assertEqual(children(chart, "text", "y-label")[0].text, "units")
        self.assertTrue(all(is_decade(t) for t in texts(chart, "x-tick-labels")))
        grid = [r for g in chart.iter(NS + "g") if g.get("class") == "rects"
                for r in g.iter(NS + "rect")]
        self.assertEqual(len(grid), 32 * 32)
        self.assertEqual(series_points(chart), len(self.complete))
        fig = self.optuna_figure(optuna.visualization.plot_contour, self.study,
                                 params=["lr", "units"])
        scatter = [d for d in fig.data if d.type == "scatter"]
        self.assertEqual(len(scatter[0].x), series_points(chart))
        # Every pair of the four parameters; a categorical axis shows its choices.
        charts = cells(self.plot("contour"))
        self.assertEqual(len(charts), 6)
        pairs = [(children(c, "text", "x-label")[0].text, children(c, "text", "y-label")[0].text)
                 for c in charts]
        self.assertEqual(pairs, [(a, b) for i, a in enumerate(PARAMS) for b in PARAMS[i + 1:]])
        opt = charts[pairs.index(("dropout", "optimizer"))]
        self.assertEqual(texts(opt, "y-tick-labels"), ["adam", "sgd", "rms<prop>"])
        # Multi-objective with a target.
        (chart,) = cells(self.plot("contour", "mo", "--params", "lr", "--params", "units",
                                   "--objective-index", "1"))
        self.assertEqual(series_points(chart), len(self.mo_complete))

    def test_edf(self):
        root = self.plot("edf")
        (line,) = [p for p in root.iter(NS + "polyline")]
        self.assertEqual(len(line.get("points").split()), 100)
        self.assertEqual(children(root, "text", "y-label")[0].text, "Cumulative Probability")
        series = [g for g in root.iter(NS + "g") if g.get("class") == "series"]
        self.assertEqual(series[0].find(NS + "title").text, MIXED)
        fig = self.optuna_figure(optuna.visualization.plot_edf, self.study)
        self.assertEqual(len(fig.data[0].x), 100)
        root = self.plot("edf", "mo", "--objective-index", "1")
        self.assertEqual(len(list(root.iter(NS + "polyline"))[0].get("points").split()), 100)

    def test_pareto(self):
        root = self.plot("pareto", "mo", "--target-names", "log distance,units")
        best = sorted(t.number for t in self.mo.best_trials)
        labelled = sorted(int(t.text.split()[1]) for t in root.iter(NS + "text")
                          if (t.text or "").startswith("trial "))
        self.assertEqual(labelled, best)
        self.assertEqual(children(root, "text", "x-label")[0].text, "log distance")
        self.assertEqual(children(root, "text", "y-label")[0].text, "units")
        self.assertEqual(series_points(root, 0), len(self.mo_complete) - len(best))
        fig = self.optuna_figure(optuna.visualization.plot_pareto_front, self.mo)
        self.assertEqual(sum(len(d.x) for d in fig.data), len(self.mo_complete))
        swapped = self.plot("pareto", "mo", "--objectives", "1,0")
        self.assertEqual(children(swapped, "text", "x-label")[0].text, "Objective 1")

    def test_png(self):
        for kind in ("history", "contour", "parallel"):
            png = self.plot(kind, ext="png")
            self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
            width, height = struct.unpack(">II", png[16:24])
            self.assertGreaterEqual(width, 640)
            self.assertGreater(height, 300)
            self.assertGreater(len(png), 5000)

    def test_same_bytes_twice(self):
        out = [os.path.join(self.dir, f"twice{i}.svg") for i in range(2)]
        for path in out:
            self.knob("plot", "contour", "--storage", self.url, "--study-name", MIXED, "-o", path)
        self.assertEqual(sha256(out[0]), sha256(out[1]))

    # ------------------------------------------------------------ bad input

    BAD = [
        # (kind, study, extra flags, output, what stderr must say)
        ("history", "empty", (), "x.svg", ["--study-name = \"empty\"", "no COMPLETE trial"]),
        ("contour", "empty", (), "x.svg", ["no COMPLETE trial"]),
        ("slice", MIXED, ("--params", "nope"), "x.svg",
         ["--params = \"nope\"", "no such parameter", "dropout, lr, optimizer, units"]),
        ("scatter", MIXED, (), "x.svg", ["KIND = \"scatter\"", "history, intermediate"]),
        ("importance", MIXED, ("--params", "lr"), "x.svg", ["--params", "at least 2 parameters"]),
        ("contour", MIXED, ("--params", "lr"), "x.png", ["--params", "at least 2 parameters"]),
        ("contour", "one_param", (), "x.svg", ["at least 2 parameters", "has: x"]),
        ("importance", "one_param", (), "x.svg", ["at least 2 parameters"]),
        ("history", "mo", ("--objective-index", "2"), "x.svg",
         ["--objective-index = 2", "must be 0 to 1"]),
        ("edf", MIXED, ("--objective-index", "1"), "x.svg", ["--objective-index = 1", "must be 0"]),
        ("edf", MIXED, ("--objective-index", "-1"), "x.svg", ["--objective-index = -1"]),
        ("parallel", "mo", (), "x.svg", ["--objective-index", "required", "2 objectives"]),
        ("intermediate", "mo", (), "x.svg", ["no COMPLETE, PRUNED or RUNNING trial"]),
        ("history", MIXED, (), "x.pdf", ["-o = \"x.pdf\"", ".svg or .png"]),
        ("history", MIXED, (), "x", ["-o = \"x\""]),
        ("history", "nope", (), "x.svg", ["--study-name = \"nope\"", "no such study"]),
        ("pareto", MIXED, (), "x.svg", ["--study-name = ", "needs a multi-objective study"]),
        ("pareto", "mo", ("--objectives", "0,2"), "x.svg", ["--objectives = 2", "must be 0 to 1"]),
        ("pareto", "mo", ("--objectives", "1,1"), "x.svg", ["--objectives = \"1, 1\"", "different"]),
        ("pareto", "mo", ("--target-names", "a"), "x.svg", ["--target-names = \"a\"", "two"]),
    ]

    def test_bad_input(self):
        for kind, study, extra, output, messages in self.BAD:
            with self.subTest(kind=kind, study=study, extra=extra, output=output):
                before = sha256(self.db)
                listing = sorted(os.listdir(self.dir))
                proc = self.knob("plot", kind, "--storage", self.url, "--study-name", study,
                                 "-o", output, *extra, expect=2)
                for message in messages:
                    self.assertIn(message, proc.stderr)
                self.assertEqual(sha256(self.db), before)
                self.assertEqual(sorted(os.listdir(self.dir)), listing, "a file was left behind")

    def test_first_open_keeps_optunas_file_as_it_is(self):
        """`knob plot` opens read-only: not even the journal mode of Optuna's file changes."""
        db = os.path.join(self.dir, "fresh.db")
        make_fresh = optuna.create_study(study_name="fresh", storage="sqlite:///" + db)
        make_fresh.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
        before = sha256(db)
        self.knob("plot", "history", "--storage", "sqlite:///" + db, "--study-name", "fresh",
                  "-o", os.path.join(self.dir, "fresh.svg"))
        self.assertEqual(sha256(db), before)

    def test_missing_database_is_not_created(self):
        missing = os.path.join(self.dir, "missing.db")
        proc = self.knob("plot", "history", "--storage", "sqlite:///" + missing, "--study-name",
                         MIXED, "-o", os.path.join(self.dir, "m.svg"), expect=2)
        self.assertIn("--storage", proc.stderr)
        self.assertFalse(os.path.exists(missing))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "m.svg")))


if __name__ == "__main__":
    unittest.main()
