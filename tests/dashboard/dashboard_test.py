#!/usr/bin/python3
"""End-to-end test of `knob dashboard` and `knob report` in real headless Chromium.

Run by CTest with Debian's python3 (tests/dashboard/CMakeLists.txt):
    /usr/bin/python3 tests/dashboard/dashboard_test.py --knob build/knob --out build/dashboard
Standard library only. Studies are made by `knob tune` (the built-in `curve` objective, whose
trials report learning curves and get pruned, and a command objective whose study name,
parameter name, choices, user attribute and fail reason are HTML), then the dashboard is
served on a free loopback port and every page is loaded in one Chromium driven through the
DevTools protocol over a pipe (--remote-debugging-pipe; starting Chromium costs ~8 s here,
so it starts once). What each chart drew is counted in the DOM and compared with the trials
read straight from the SQLite file. Any JavaScript exception or dialog (alert) fails the
test. Screenshots land in --out. The report file is checked the same way over file://.
"""
import argparse
import base64
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse

XSS = "<script>alert(1)</script>"
XSS_PARAM = "<b>p</b>"
XSS_CHOICE = "<img src=x onerror=alert(1)>"
XSS_ATTR = "<i>attr</i>"
XSS_REASON = "<b>boom</b>"

failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


# ---------------------------------------------------------------- Chromium over a pipe

class Browser:
    """Headless Chromium driven by the DevTools protocol on fds 3 (in) and 4 (out)."""

    def __init__(self, chromium, profile):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def wire():  # in the child: the pipe ends at exactly fds 3 and 4
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--user-data-dir=" + profile, "--no-first-run", "--hide-scrollbars",
             "--window-size=1280,900", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=wire, pass_fds=(3, 4))
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for method in ("Page.enable", "Runtime.enable"):
            self.call(method, session=True)
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=1280, height=900,
                  deviceScaleFactor=1, mobile=False)

    def _read_message(self, deadline):
        while b"\0" not in self.buffer:
            if time.time() > deadline:
                raise TimeoutError("no answer from Chromium")
            chunk = os.read(self.from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed its pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, session=False, timeout=30, **params):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)
            if reply.get("method") == "Page.javascriptDialogOpening":  # an alert: XSS ran
                os.write(self.to_chrome, json.dumps({
                    "id": 10**9 + len(self.events), "method": "Page.handleJavaScriptDialog",
                    "params": {"accept": True}, "sessionId": self.session}).encode() + b"\0")

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", session=True, expression=expression,
                           returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def load(self, url, ready):
        """Navigates and waits until the JS expression `ready` is true (the page rendered)."""
        self.evaluate("window.knobOldPage = true")  # not to mistake the old page for the new
        self.call("Page.navigate", session=True, url=url)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                if self.evaluate(f"!window.knobOldPage && ({ready})"):
                    return True
            except RuntimeError:
                pass  # navigating: the old context is gone
            time.sleep(0.1)
        return False

    def problems(self):
        """Dialogs opened and uncaught exceptions since the last call."""
        found = [e for e in self.events if e.get("method") in
                 ("Page.javascriptDialogOpening", "Runtime.exceptionThrown")]
        self.events = []
        return found

    def screenshot(self, path):
        height = self.evaluate("document.documentElement.scrollHeight")
        shot = self.call("Page.captureScreenshot", session=True, format="png",
                         captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": 1280, "height": max(900, height), "scale": 1})
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        print("     screenshot " + path)

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------- the studies, as stored

def stored_trials(db, study):
    """[{number, state, values, n_steps}] of a study, read with sqlite3 (Optuna's schema)."""
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT t.trial_id, t.number, t.state FROM trials t JOIN studies s USING (study_id) "
        "WHERE s.study_name = ? ORDER BY t.number", (study,)).fetchall()
    out = []
    for trial_id, number, state in rows:
        values = [v for (v,) in con.execute(
            "SELECT value FROM trial_values WHERE trial_id = ? ORDER BY objective", (trial_id,))]
        steps = con.execute("SELECT COUNT(*) FROM trial_intermediate_values WHERE trial_id = ?",
                            (trial_id,)).fetchone()[0]
        out.append({"number": number, "state": state, "values": values, "n_steps": steps})
    con.close()
    return out


def pareto_numbers(trials):
    done = [t for t in trials if t["state"] == "COMPLETE"]
    def dominates(a, b):
        return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))
    return sorted(t["number"] for t in done
                  if not any(dominates(o["values"], t["values"]) for o in done))


# The DOM, counted by the page itself.
COUNTS_JS = """(() => {
  const n = (q) => document.querySelectorAll(q).length;
  const chart = (name) => document.querySelector(`svg[data-chart="${name}"]`);
  const slices = {};
  for (const svg of document.querySelectorAll('svg[data-chart^="slice:"]'))
    slices[svg.getAttribute('data-chart').slice(6)] = svg.querySelectorAll('circle.pt').length;
  const h = chart('history'), inter = chart('intermediate'), par = chart('parallel'), pa = chart('pareto');
  return {
    title: (document.querySelector('h1') || {}).textContent,
    history: h ? h.querySelectorAll('circle.pt').length : -1,
    best_line: h ? h.querySelectorAll('path.best').length : -1,
    curves: inter ? inter.querySelectorAll('path.line').length : -1,
    cuts: inter ? inter.querySelectorAll('path.cut').length : -1,
    parallel: par ? par.querySelectorAll('path.line').length : -1,
    pareto: pa ? pa.querySelectorAll('circle.pt').length : -1,
    front: pa ? pa.querySelectorAll('circle.front').length : -1,
    slices,
    importance: [...document.querySelectorAll('svg[data-chart="importance"] rect.bar')]
      .map((r) => r.getAttribute('data-param')),
    importance_skipped: (document.querySelector('#importance-skipped') || {}).textContent || null,
    contour: chart('contour') ? [Number(chart('contour').getAttribute('data-points')),
                                 chart('contour').querySelectorAll('circle.pt').length,
                                 chart('contour').querySelectorAll('rect.cell').length] : null,
    edf: [...document.querySelectorAll('svg[data-chart^="edf"]')].map((e) =>
      [Number(e.getAttribute('data-samples')), Number(e.getAttribute('data-trials')),
       e.querySelectorAll('path.edf').length]),
    rows: n('#trial-table tbody tr'),
    svg_links: n('a.svg-link'), charts: n('figure.chart svg'),
    scripts: n('script'), imgs: n('img'), bs: n('b'), is: n('i'),
    text: document.body.textContent,
  };
})()"""


def check_study_page(browser, label, trials, params, multi=False):
    c = browser.evaluate(COUNTS_JS)
    complete = [t for t in trials if t["state"] == "COMPLETE"]
    curves = [t for t in trials if t["n_steps"] > 0]
    cut = [t for t in curves if t["state"] == "PRUNED"]
    check(c["history"] == len(complete),
          f"{label}: history has a point per COMPLETE trial ({c['history']} vs {len(complete)})")
    check(c["best_line"] == (0 if multi else 1), f"{label}: best-so-far line ({c['best_line']})")
    check(c["rows"] == len(trials), f"{label}: trial table rows ({c['rows']} vs {len(trials)})")
    check(c["parallel"] == len(complete),
          f"{label}: parallel coordinates line per COMPLETE trial ({c['parallel']})")
    check(sorted(c["slices"]) == sorted(params) and
          all(v == len(complete) for v in c["slices"].values()),
          f"{label}: a slice plot per parameter, a point per COMPLETE trial ({c['slices']})")
    if multi:
        check(c["importance"] == [] and "multi-objective" in (c["importance_skipped"] or ""),
              f"{label}: no importance chart, the reason instead ({c['importance_skipped']!r})")
    else:
        check(sorted(c["importance"]) == sorted(params),
              f"{label}: importance chart has one bar per parameter ({c['importance']})")
    check(c["contour"] == [len(complete), len(complete), 24 * 24],
          f"{label}: contour of two parameters: a dot per COMPLETE trial over 24x24 cells "
          f"({c['contour']})")
    n_objectives = 2 if multi else 1
    check(c["edf"] == [[100, len(complete), 1]] * n_objectives,
          f"{label}: an EDF line of 100 samples over the COMPLETE trials per objective ({c['edf']})")
    if curves:
        check(c["curves"] == len(curves),
              f"{label}: a learning curve per trial that reported ({c['curves']} vs {len(curves)})")
        check(c["cuts"] == len(cut) and (multi or len(cut) > 0),
              f"{label}: pruned curves end in a cut mark ({c['cuts']} vs {len(cut)})")
    if multi:
        front = pareto_numbers(trials)
        check(c["pareto"] == len(complete) and c["front"] == len(front),
              f"{label}: Pareto chart {c['pareto']} points, {c['front']} on the front "
              f"(stored: {len(complete)}, {len(front)})")
    check(c["svg_links"] == c["charts"] and c["charts"] > 0,
          f"{label}: every chart has its SVG download link ({c['charts']} charts)")
    return c


# A study past 500 marks (app.js's MANY): every chart's marks on its canvas, counted by the
# chart's data-* attributes; the canvas pixels painted; and the SVG link's file, made all in SVG
# when clicked, holding a mark per trial (its merged paths: a "M" per dot, curve or line).
MANY_JS = """(async () => {
  const fig = (name) => document.querySelector(`svg[data-chart="${name}"]`).closest('figure');
  const attr = (name, a) => Number(document.querySelector(`svg[data-chart="${name}"]`).getAttribute(a));
  const painted = (name) => {  // [pixels painted, of them orange (PRUNED's colour)]
    const canvas = fig(name).querySelector('canvas.marks');
    if (!canvas) return [0, 0];
    const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let any = 0, orange = 0;
    for (let i = 0; i < px.length; i += 4) {
      if (px[i + 3] === 0) continue;
      ++any;
      if (px[i] > 200 && px[i + 1] > 80 && px[i + 1] < 190 && px[i + 2] < 90) ++orange;
    }
    return [any, orange];
  };
  const exported = async (name) => {  // the downloaded file, parsed (the page's CSP refuses
    let blob = null;                   // fetch(blob:), so the Blob is caught as it is made)
    const make = URL.createObjectURL;
    URL.createObjectURL = (b) => { blob = b; return make.call(URL, b); };
    fig(name).querySelector('a.svg-link').click();
    URL.createObjectURL = make;
    return new DOMParser().parseFromString(await blob.text(), 'image/svg+xml');
  };
  const moves = (doc, sel) => [...doc.querySelectorAll(sel)]
    .reduce((n, p) => n + (p.getAttribute('d').match(/M/g) || []).length, 0);
  const history = await exported('history'), inter = await exported('intermediate');
  const parallel = await exported('parallel'), contour = await exported('contour');
  return {
    history: attr('history', 'data-points'), curves: attr('intermediate', 'data-curves'),
    parallel: attr('parallel', 'data-lines'), contour: attr('contour', 'data-points'),
    slices: [...document.querySelectorAll('svg[data-chart^="slice:"]')].map((e) => Number(e.getAttribute('data-points'))),
    canvases: document.querySelectorAll('figure.chart canvas.marks').length,
    painted: Object.fromEntries(['history', 'intermediate', 'parallel', 'contour'].map((n) => [n, painted(n)])),
    dom_marks: document.querySelectorAll('svg[data-chart] circle.pt, svg[data-chart] path.dots').length,
    export_history: moves(history, 'path.dots'), export_best: history.querySelectorAll('path.best').length,
    export_curves: moves(inter, 'path.line'), export_cuts: moves(inter, 'path.cut') / 2,
    export_parallel: moves(parallel, 'path.lines'), export_contour: moves(contour, 'path.dots') / 2,
  };
})()"""


def check_many_marks(browser, knob, tmp_dir, out_dir):
    db = os.path.join(tmp_dir, "many.db")
    tune = [knob, "tune", "--storage", "sqlite:///" + db, "--study-name", "many", "--objective",
            "curve", "--sampler", "random", "--quiet"]
    run(tune + ["--pruner", "none", "--n-trials", "560", "--seed", "1"])
    run(tune + ["--pruner", "median", "--n-trials", "200", "--seed", "2"])
    trials = stored_trials(db, "many")
    complete = sum(t["state"] == "COMPLETE" for t in trials)
    curves = [t for t in trials if t["n_steps"] > 0]
    cut = sum(t["state"] == "PRUNED" for t in curves)
    check(complete > 500 and len(curves) > 500 and cut > 0,
          f"setup: a study past 500 marks ({complete} COMPLETE, {len(curves)} curves, {cut} cut)")
    port = free_port()
    server = subprocess.Popen([knob, "dashboard", "--storage", "sqlite:///" + db, "--port",
                               str(port)], stdout=subprocess.PIPE, text=True)
    try:
        server.stdout.readline()
        browser.load(f"http://127.0.0.1:{port}/study?name=many",
                     "!!document.querySelector('#trial-table')")
        m = browser.evaluate(MANY_JS)
        check([m["history"], m["curves"], m["parallel"], m["contour"]] ==
              [complete, len(curves), complete, complete] and m["slices"] == [complete] * 2,
              f"many marks: every chart counts every trial ({m['history']}, {m['curves']}, "
              f"{m['parallel']}, {m['contour']}, {m['slices']})")
        check(m["canvases"] == 6 and m["dom_marks"] == 0,
              f"many marks: painted on 6 canvases, none as SVG elements ({m['canvases']}, "
              f"{m['dom_marks']})")
        check(all(any_ > 2000 for any_, _ in m["painted"].values()) and
              m["painted"]["intermediate"][1] > 100,
              f"many marks: every canvas painted, the pruned curves orange ({m['painted']})")
        check([m["export_history"], m["export_best"], m["export_curves"], m["export_cuts"],
               m["export_parallel"], m["export_contour"]] ==
              [complete, 1, len(curves), cut, complete, complete],
              f"many marks: the SVG downloads hold every mark ({m['export_history']} dots + "
              f"{m['export_best']} best line, {m['export_curves']} curves, {m['export_cuts']} "
              f"cuts, {m['export_parallel']} lines, {m['export_contour']} contour dots)")
        browser.screenshot(os.path.join(out_dir, "dashboard_many.png"))
        check_problems(browser, "many marks")
    finally:
        server.terminate()
        server.wait(timeout=10)


def check_no_injection(c, label, expected_scripts):
    check(c["scripts"] == expected_scripts and c["imgs"] == 0 and c["bs"] == 0 and c["is"] == 0,
          f"{label}: no injected element (script {c['scripts']}, img {c['imgs']}, "
          f"b {c['bs']}, i {c['is']})")


def check_problems(browser, label):
    found = browser.problems()
    check(not found, f"{label}: no JavaScript exception or dialog {found[:1]}")


def finder_records():
    """A learning-rate range test and a batch-size finder run as `knob lr-find / batch-find
    --storage` record them (knob/report/finder_runs.h; a markup rule stays text)."""
    lrs = [10 ** (-6 + 6 * i / 39) for i in range(40)]
    loss = [2.3 - 1.5 * i / 30 if i < 30 else 0.8 + (i - 29) ** 2 for i in range(40)]
    loss[-1] = None  # diverged: not finite, stored as null
    lr_find = {"kind": "lr_find", "settings": {"start": 1e-6, "end": 1.0, "steps": 40,
                                               "mode": "exp", "beta": 0.98, "diverge": 4.0,
                                               "suggestion": "valley"},
               "lr": lrs, "loss": loss, "smoothed": [v if v is not None else 50 for v in loss],
               "suggestions": [{"name": "valley", "lr": lrs[12], "index": 12},
                               {"name": "steepest", "lr": lrs[20], "index": 20},
                               {"name": "minimum", "lr": lrs[29] / 10, "index": 29}],
               "chosen": "valley", "suggested_lr": lrs[12], "stop_reason": "diverged",
               "batch_size": 64, "seconds": 1.5}
    trials = [{"size": b, "fits": b <= 128, "peak_mib": b / 4,
               "samples_per_second": 1000 * b ** 0.5 if b <= 128 else None}
              for b in (16, 32, 64, 128, 256)]
    batch_find = {"kind": "batch_find", "settings": {"start": 16, "max_size": 256,
                                                     "memory_budget": 40, "steps": 3,
                                                     "noise_batches": 20, "noise_warmup": 100},
                  "trials": trials, "cap": 256, "budget_mib": 40,
                  "budget_source": "batch_find.memory_budget", "largest_fitting": 128,
                  "b_simple": 70.5, "noise_note": "", "recommended": 64, "rule": XSS_ATTR,
                  "base": 128, "base_lr": 0.001, "lr": 0.0005, "seconds": 2.0}
    return {"knob:lr_find:0": lr_find, "knob:batch_find:0": batch_find}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, **kw):
    """Runs a command that must succeed."""
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, **kw)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def http_status(port, raw_path):
    proc = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--path-as-is",
                           f"http://127.0.0.1:{port}{raw_path}"], capture_output=True, text=True,
                          timeout=20)
    return int(proc.stdout or 0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--knob", required=True)
    parser.add_argument("--out", required=True, help="directory for the screenshots")
    parser.add_argument("--chromium", default="chromium")
    args = parser.parse_args()
    knob = os.path.abspath(args.knob)
    os.makedirs(args.out, exist_ok=True)
    tmp = tempfile.TemporaryDirectory(prefix="knob-dashboard-test-")
    db = os.path.join(tmp.name, "studies.db")
    url = "sqlite:///" + db

    # Chromium starts while the studies are made.
    browser = Browser(args.chromium, os.path.join(tmp.name, "profile"))
    try:
        run([knob, "tune", "--storage", url, "--study-name", "curve", "--objective", "curve",
             "--n-trials", "24", "--sampler", "tpe", "--seed", "1", "--quiet"])
        config = os.path.join(tmp.name, "xss.toml")
        script = ("import os, sys\n"
                  "n = int(os.environ['KNOB_TRIAL_NUMBER']); x = float(sys.argv[1])\n"
                  "if n == 2: sys.exit('" + XSS_REASON + "')\n"
                  "print('knob:attr note \"" + XSS_ATTR + "\"')\n"
                  "print('knob:value', x, (1 - x) ** 2 + 0.1 * (n % 3))\n")
        with open(config, "w") as f:
            f.write(f"""[study]
storage = "{url}"
name = "{XSS}"
directions = ["minimize", "minimize"]
sampler = "random"
seed = 3
pruner = "none"
n_trials = 9

[search]
"{XSS_PARAM}" = {{ choices = ["{XSS_CHOICE}", "plain"] }}
x = {{ low = 0.0, high = 1.0 }}

[objective]
command = ["/usr/bin/python3", "-c", {json.dumps(script)}, "{{x}}"]
""")
        run([knob, "tune", config, "--quiet"], cwd=tmp.name)
        front3 = os.path.join(tmp.name, "front3.toml")
        script3 = ("import sys\nx, y = float(sys.argv[1]), float(sys.argv[2])\n"
                   "print('knob:constraints [%r]' % (x - 0.7))\n"  # infeasible when x > 0.7
                   "print('knob:value', x, 1 - x + y, y)\n")
        with open(front3, "w") as f:
            f.write(f"""[study]
storage = "{url}"
name = "front3"
directions = ["minimize", "minimize", "minimize"]
sampler = "random"
seed = 5
pruner = "none"
n_trials = 12
[search]
x = {{ low = 0.0, high = 1.0 }}
y = {{ low = 0.0, high = 1.0 }}
[objective]
command = ["/usr/bin/python3", "-c", {json.dumps(script3)}, "{{x}}", "{{y}}"]
""")
        run([knob, "tune", front3, "--quiet"], cwd=tmp.name)
        curve = stored_trials(db, "curve")
        xss = stored_trials(db, XSS)
        front3 = stored_trials(db, "front3")
        check(len(curve) == 24 and any(t["state"] == "PRUNED" for t in curve),
              f"setup: curve study has 24 trials, some PRUNED "
              f"({sum(t['state'] == 'PRUNED' for t in curve)})")
        check(len(xss) == 9 and xss[2]["state"] == "FAIL", "setup: XSS study, trial 2 FAIL")
        with sqlite3.connect(db) as con:  # finder runs kept with the curve study
            (study_id,) = con.execute("SELECT study_id FROM studies WHERE study_name = 'curve'"
                                      ).fetchone()
            con.executemany("INSERT INTO study_user_attributes (study_id, key, value_json) "
                            "VALUES (?, ?, ?)", [(study_id, k, json.dumps(v))
                                                 for k, v in finder_records().items()])

        port = free_port()
        server = subprocess.Popen([knob, "dashboard", "--storage", url, "--port", str(port)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            banner = server.stdout.readline().strip()
            check(banner == f"knob dashboard: http://127.0.0.1:{port}/",
                  f"dashboard listens on 127.0.0.1 by default ({banner!r})")
            base = f"http://127.0.0.1:{port}"

            # ---- the studies page
            browser.load(base + "/", "document.querySelectorAll('#studies tbody tr').length > 0")
            c = browser.evaluate(COUNTS_JS)
            names = browser.evaluate(
                "[...document.querySelectorAll('a.study-link')].map(a => a.textContent)")
            check(sorted(names) == sorted(["curve", XSS, "front3"]), f"studies page lists all three ({names})")
            check(XSS in c["text"], "studies page shows the XSS name as text")
            check_no_injection(c, "studies page", 1)
            counts = browser.evaluate(
                "[...document.querySelectorAll('#studies tbody tr')].map(r => "
                "[...r.children].slice(2, 7).map(td => Number(td.textContent)))")
            by_state = lambda trials: [sum(t["state"] == s for t in trials)
                                       for s in ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")]
            check(sorted(counts) == sorted([by_state(curve), by_state(xss), by_state(front3)]),
                  f"studies page counts trials by state ({counts})")
            browser.screenshot(os.path.join(args.out, "dashboard_studies.png"))
            check_problems(browser, "studies page")

            # ---- the curve study: charts against the stored trials; sorting and filtering
            browser.load(base + "/study?name=curve", "!!document.querySelector('#trial-table')")
            check_study_page(browser, "curve study", curve, ["lr", "width"])
            axes = browser.evaluate("[...document.querySelectorAll('svg[data-chart=parallel] text')]"
                                    ".map(t => t.textContent).filter(t => t.includes('(log)'))")
            check(sorted(axes) == ["lr (log)", "width (log)"], f"log parameters on log axes ({axes})")
            best = min((t for t in curve if t["state"] == "COMPLETE"), key=lambda t: t["values"][0])
            first = browser.evaluate(
                "document.querySelector('th[data-key=value0]').click();"
                "document.querySelector('#trial-table tbody tr').getAttribute('data-trial')")
            check(int(first) == best["number"], f"sorting by value puts the best trial first ({first})")
            select_state = ("(() => {{ const s = document.querySelector('#state-filter'); "
                            "s.value = '{}'; s.dispatchEvent(new Event('change')); "
                            "return document.querySelectorAll('#trial-table tbody tr').length; }})()")
            pruned = browser.evaluate(select_state.format("PRUNED"))
            check(pruned == sum(t["state"] == "PRUNED" for t in curve), f"state filter ({pruned})")
            check(browser.evaluate(select_state.format("")) == len(curve), "state filter off")
            href = browser.evaluate(
                "(() => { const a = document.querySelector('a.svg-link'); a.click(); return a.href; })()")
            check(href.startswith("blob:"), f"the SVG link downloads a blob ({href[:20]})")
            browser.screenshot(os.path.join(args.out, "dashboard_curve.png"))
            check_problems(browser, "curve study page")

            # ---- its finder runs (user attributes knob:lr_find:0, knob:batch_find:0)
            f = browser.evaluate("""(() => {
              const q = (sel) => document.querySelectorAll('#finder-runs ' + sel).length;
              return {lr_raw: q('svg[data-chart="knob:lr_find:0"] path.raw'),
                      lr_smoothed: q('svg[data-chart="knob:lr_find:0"] path.smoothed'),
                      suggestions: q('svg[data-chart="knob:lr_find:0"] circle.suggestion'),
                      sizes: q('svg[data-chart="knob:batch_find:0"] circle.pt:not(.recommended)'),
                      recommended: q('svg[data-chart="knob:batch_find:0"] circle.recommended'),
                      text: document.querySelector('#finder-runs').textContent,
                      bs: q('b'), is: q('i')};
            })()""")
            fits = sum(t["fits"] for t in finder_records()["knob:batch_find:0"]["trials"])
            check(f["lr_raw"] == 1 and f["lr_smoothed"] == 1 and f["suggestions"] == 3,
                  f"lr-find run: its loss, smoothed curve and 3 suggestions ({f})")
            check(f["sizes"] == fits and f["recommended"] == 1,
                  f"batch-find run: a point per size that fits ({fits}), the recommended marked")
            check("suggested lr 7.017e-5 (valley)" in f["text"] and XSS_ATTR in f["text"] and
                  f["bs"] == 0 and f["is"] == 0,
                  f"finder runs: suggestion and rule shown as text ({f['text'][:160]!r})")
            browser.evaluate("document.querySelector('#finder-runs').scrollIntoView(); true")
            browser.screenshot(os.path.join(args.out, "dashboard_finder_runs.png"))

            # ---- the open page follows a study that goes on (it polls every 2 s)
            run([knob, "tune", "--storage", url, "--study-name", "curve", "--objective", "curve",
                 "--n-trials", "3", "--sampler", "tpe", "--seed", "2", "--quiet"])
            curve = stored_trials(db, "curve")
            want = sum(t["state"] == "COMPLETE" for t in curve)
            deadline, seen = time.time() + 10, None
            while time.time() < deadline:
                seen = browser.evaluate(
                    "[document.querySelectorAll('svg[data-chart=history] circle.pt').length,"
                    " document.querySelectorAll('#trial-table tbody tr').length]")
                if seen == [want, len(curve)]:
                    break
                time.sleep(0.25)
            check(seen == [want, len(curve)],
                  f"the page refreshed to {len(curve)} trials, {want} COMPLETE ({seen})")

            # ---- a pruned trial of it
            p = next(t for t in curve if t["state"] == "PRUNED")
            browser.load(f"{base}/trial?study=curve&number={p['number']}", "!!document.querySelector('#params')")
            c = browser.evaluate("({curves: document.querySelectorAll('svg[data-chart=trial-intermediate] path.line').length,"
                                 " cuts: document.querySelectorAll('svg[data-chart=trial-intermediate] path.cut').length,"
                                 " steps: document.querySelectorAll('#intermediate tbody tr').length,"
                                 " state: document.querySelector('.summary span').textContent})")
            check(c == {"curves": 1, "cuts": 1, "steps": p["n_steps"], "state": "PRUNED"},
                  f"pruned trial page: its curve, cut, {p['n_steps']} steps ({c})")
            check_problems(browser, "trial page")

            # ---- the XSS study: names, choices, attributes and reasons stay text
            browser.load(base + "/study?name=" + urllib.parse.quote(XSS, safe=""),
                         "!!document.querySelector('#trial-table')")
            c = check_study_page(browser, "XSS study", xss, [XSS_PARAM, "x"], multi=True)
            check(c["title"] == XSS, f"XSS study title is the text {c['title']!r}")
            check(XSS_CHOICE in c["text"] and XSS_PARAM in c["text"],
                  "XSS parameter and choice shown as text")
            check_no_injection(c, "XSS study page", 1)
            browser.screenshot(os.path.join(args.out, "dashboard_xss_pareto.png"))
            check_problems(browser, "XSS study page")
            hv = browser.evaluate("document.querySelectorAll('svg[data-chart=hypervolume] circle').length")
            check(hv == sum(t["state"] == "COMPLETE" for t in xss),
                  f"XSS study: a hypervolume point per COMPLETE trial ({hv})")

            # ---- three objectives with constraints: a scatter-plot matrix, infeasible apart
            front3 = stored_trials(db, "front3")
            with sqlite3.connect(db) as con:
                infeasible = {n for (n, c) in con.execute(
                    "SELECT t.number, a.value_json FROM trials t JOIN trial_system_attributes a "
                    "USING (trial_id) WHERE a.key = 'constraints'") if json.loads(c)[0] > 0}
            complete3 = [t for t in front3 if t["state"] == "COMPLETE"]
            feasible3 = [t for t in complete3 if t["number"] not in infeasible]
            browser.load(base + "/study?name=front3", "!!document.querySelector('#trial-table')")
            m = browser.evaluate("""[...document.querySelectorAll('svg[data-chart^="pareto:"]')].map(svg =>
                [svg.getAttribute('data-chart'), svg.querySelectorAll('circle.pt').length,
                 svg.querySelectorAll('circle.infeasible').length,
                 svg.querySelectorAll('circle.front').length])""")
            want = [[name, len(complete3), len(infeasible), len(pareto_numbers(feasible3))]
                    for name in ("pareto:0,1", "pareto:0,2", "pareto:1,2")]
            check(len(complete3) == 12 and 0 < len(infeasible) < 12 and sorted(m) == want,
                  f"front3: a chart per pair of objectives, infeasible trials apart ({m} vs {want})")
            hv = browser.evaluate("document.querySelectorAll('svg[data-chart=hypervolume] circle').length")
            check(hv == len(complete3), f"front3: hypervolume history ({hv})")
            browser.screenshot(os.path.join(args.out, "dashboard_front3.png"))
            check_problems(browser, "front3 study page")
            browser.load(f"{base}/trial?study={urllib.parse.quote(XSS, safe='')}&number=2",
                         "!!document.querySelector('#params')")
            reason = browser.evaluate("document.querySelector('#fail-reason').textContent")
            check(XSS_REASON in reason, f"fail reason shown as text ({reason!r})")
            check_no_injection(browser.evaluate(COUNTS_JS), "failed trial page", 1)
            browser.screenshot(os.path.join(args.out, "dashboard_failed_trial.png"))
            browser.load(f"{base}/trial?study={urllib.parse.quote(XSS, safe='')}&number=0",
                         "!!document.querySelector('#params')")
            attrs = browser.evaluate("document.querySelector('#user-attrs tbody').textContent")
            check(XSS_ATTR in attrs, f"user attribute shown as text ({attrs!r})")
            check_no_injection(browser.evaluate(COUNTS_JS), "trial page with markup attrs", 1)
            check_problems(browser, "XSS trial pages")

            # ---- an unknown study and a bad trial number render an error, not a crash
            browser.load(base + "/study?name=nope", "!!document.querySelector('.error')")
            check("nope" in browser.evaluate("document.querySelector('.error').textContent"),
                  "unknown study: the page names it")
            check_problems(browser, "error page")

            # ---- the server: traversal, malformed requests, read-only
            for path in ["/../../etc/passwd", "/..%2f..%2fetc%2fpasswd", "/%2e%2e/%2e%2e/etc/passwd",
                         "/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/app.js/../../etc/passwd",
                         "/..\\..\\etc\\passwd", "/etc/passwd", "/static/../../../etc/passwd"]:
                status = http_status(port, path)
                check(status == 404, f"GET {path} -> {status}")
            for path, expected in [("/api/trial?study=curve&number=abc", 400),
                                   ("/api/trial?study=curve&number=-1", 400),
                                   ("/api/trial?study=curve&number=100000", 404),
                                   ("/api/study?name=nope", 404),
                                   ("/api/study?name=curve&states=%5B1%5D", 400),
                                   ("/api/study?name=curve&states=%5B", 400),
                                   ("/api/study", 400)]:
                status = http_status(port, path)
                check(status == expected, f"GET {path} -> {status} (want {expected})")
            post = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                                   "-d", "{}", base + "/api/study?name=curve"],
                                  capture_output=True, text=True, timeout=20).stdout
            check(post.startswith("4"), f"POST is refused ({post})")
            check(server.poll() is None, "the dashboard is still up after the bad requests")
        finally:
            server.terminate()
            server.wait(timeout=10)

        # ---- a study past 500 marks: canvases
        check_many_marks(browser, knob, tmp.name, args.out)

        # ---- bad flags exit 2 naming the problem, and write nothing
        missing = os.path.join(tmp.name, "missing.html")
        for argv, fragment in [
                (["report", "--storage", url, "--study", "nope", "-o", missing], "nope"),
                (["dashboard", "--storage", url, "--port", "70000"], "70000"),
                (["dashboard", "--storage", "mysql://x"], "mysql://x"),
                (["dashboard", "--storage", url + ".missing"], "no such file"),
                (["report", "--storage", url + ".missing", "--study", "curve"], "no such file")]:
            proc = subprocess.run([knob, *argv], capture_output=True, text=True, timeout=20)
            check(proc.returncode == 2 and fragment in proc.stderr,
                  f"knob {' '.join(argv[:1])} ... {fragment}: exit {proc.returncode}, "
                  f"{proc.stderr.strip()!r}")
        check(not os.path.exists(missing) and not os.path.exists(db + ".missing"),
              "no report for an unknown study, no database made by the read-only verbs")

        # ---- the reports, over file://
        for study, trials, params, multi, shot in [
                ("curve", curve, ["lr", "width"], False, "report_curve.png"),
                (XSS, xss, [XSS_PARAM, "x"], True, "report_xss.png")]:
            path = os.path.join(tmp.name, shot.replace(".png", ".html"))
            run([knob, "report", "--storage", url, "--study", study, "-o", path])
            browser.load("file://" + path, "!!document.querySelector('#trial-table')")
            c = check_study_page(browser, "report " + shot, trials, params, multi)
            check(c["title"] == study, f"report {shot}: title {c['title']!r}")
            check_no_injection(c, "report " + shot, 2)  # the data and the script, nothing else
            browser.screenshot(os.path.join(args.out, shot))
            number = trials[2]["number"]
            browser.evaluate(f"location.hash = '#trial={number}'; true")
            time.sleep(0.2)
            check(browser.evaluate("document.querySelector('h1').textContent") == f"Trial {number}",
                  f"report {shot}: #trial={number} shows the trial")
            check_problems(browser, "report " + shot)
    finally:
        browser.close()
        tmp.cleanup()
    if failures:
        print(f"\n{len(failures)} check(s) failed:\n  " + "\n  ".join(failures))
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
