#!/usr/bin/python3
"""The dashboard on a large study: how long a 10,000-trial study page takes to open, and how
it holds up while 4 workers write to the same SQLite file.

1. `knob tune --objective curve --sampler random` writes a study of --trials trials (10
   intermediate values each) to a fresh SQLite file: half without a pruner, half with the
   median pruner (which, after the first half, prunes nearly all: their curves are cut short).
   So every chart is large: history, slices and parallel lines about --trials / 2 marks, the
   learning curves --trials.
2. `knob dashboard` serves it on a free loopback port.
3. Headless Chromium (the pipe driver of tests/dashboard/dashboard_test.py, imported) opens
   /study?name=big: the time from Page.navigate until every chart of the study is drawn and
   painted (a history point per COMPLETE trial, a curve per trial that reported, a parallel
   line per COMPLETE trial, the slice plots) — median of --reps. Also /api/study's response
   time and size (urllib, median of --reps). Both cold (the first request to a server just
   started: a new `knob dashboard` for each repeat) and warm (the same server again, after a
   warm-up), reported apart.
4. The same while --workers `knob tune` processes add trials to the same study: p50/p95 of
   page reloads to all charts drawn, then, for 3 s after each, while the open page polls every
   2 s and redraws what changed, of a trivial script run on it every 0.1 s (its main thread's
   latency: what a click would wait) and of /api/study polls every second.

The peer, in the same run: Debian's python3-optuna 3.1 (optuna-dashboard is not in Debian)
does what a dashboard's server and page do for the study — `optuna.load_study` + every
trial (`study.trials`), then, with python3-plotly, the optimization-history and
intermediate-values figures as HTML (`optuna.visualization.plot_*(study).to_html()`).
Printed beside knob's /api/study and page times, as a ratio.

    /usr/bin/python3 bench/dashboard/run.py --knob build/knob [--trials 10000] [--reps 5]
        [--workers 4] [--load-seconds 20] [--smoke]
"""
import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "dashboard"))
from dashboard_test import Browser, free_port  # noqa: E402  (the pipe driver, not a copy)

STUDY = "big"

# True once every chart of the study page is drawn for the trials the page has: history
# points = COMPLETE trials, a curve per trial that reported, parallel lines, slice plots.
DRAWN_JS = """(() => {
  const svg = (name) => document.querySelector(`svg[data-chart="${name}"]`);
  const h = svg('history'), i = svg('intermediate'), p = svg('parallel');
  if (!h || !i || !p || !document.querySelector('#trial-table tbody tr')) return false;
  const slices = document.querySelectorAll('svg[data-chart^="slice:"]');
  return slices.length === 2 && Number(h.getAttribute('data-points')) > 0 &&
         Number(i.getAttribute('data-curves')) > 0 && Number(p.getAttribute('data-lines')) > 0;
})()"""
PAINTED_JS = "new Promise((r) => requestAnimationFrame(() => setTimeout(() => r(true), 0)))"
COUNTS_JS = """(() => {
  const a = (name, attr) => Number(document.querySelector(`svg[data-chart="${name}"]`).getAttribute(attr));
  return {history: a('history', 'data-points'), curves: a('intermediate', 'data-curves'),
          parallel: a('parallel', 'data-lines'), rows: document.querySelectorAll('#trial-table tbody tr').length,
          nodes: document.getElementsByTagName('*').length};
})()"""


def run(args, **kw):
    proc = subprocess.run(args, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def percentile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


def get(url):
    """(seconds, bytes) of one GET."""
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as r:
        body = r.read()
    return time.perf_counter() - start, len(body)


def open_page(browser, url):
    """Seconds from Page.navigate until every chart is drawn and painted."""
    browser.evaluate("window.knobOldPage = true")
    start = time.perf_counter()
    browser.call("Page.navigate", session=True, url=url)
    deadline = start + 120
    while time.perf_counter() < deadline:
        try:
            if browser.evaluate(f"!window.knobOldPage && {DRAWN_JS}"):
                browser.evaluate(PAINTED_JS)
                return time.perf_counter() - start
        except RuntimeError:
            pass  # navigating: the old context is gone
        time.sleep(0.005)
    raise TimeoutError(f"{url}: charts not drawn in 120 s")


def peer(db, reps, plots):
    """Optuna's numbers (a JSON dict), measured in its own process; with `plots`, also the two
    figures as HTML (needs python3-plotly)."""
    code = f"""
import json, statistics, time, logging
import optuna
optuna.logging.set_verbosity(logging.WARNING)
out = {{}}
def timed(f, reps):
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); r = f(); ts.append(time.perf_counter() - t)
    return statistics.median(ts), r
out['load_s'], n = timed(lambda: len(optuna.load_study(study_name={STUDY!r},
                                     storage={'sqlite:///' + db!r}).trials), {reps})
out['n_trials'] = n
try:
    if not {plots!r}:
        raise ImportError
    import plotly  # noqa: F401
    from optuna.visualization import plot_optimization_history, plot_intermediate_values
    def plots():
        study = optuna.load_study(study_name={STUDY!r}, storage={'sqlite:///' + db!r})
        return len(plot_optimization_history(study).to_html()) + \\
               len(plot_intermediate_values(study).to_html())
    out['plots_s'], out['plots_bytes'] = timed(plots, 1)  # minutes at 10,000 trials: once
except ImportError:
    out['plots_s'] = None
print(json.dumps(out))
"""
    return json.loads(run(["/usr/bin/python3", "-c", code], timeout=1800).stdout)


def stored_counts(db):
    """What the page must draw, read straight from the SQLite file (Optuna's schema)."""
    con = sqlite3.connect(db)
    one = lambda sql: con.execute(sql, (STUDY,)).fetchone()[0]
    counts = {
        "trials": one("SELECT COUNT(*) FROM trials JOIN studies USING (study_id) "
                      "WHERE study_name = ?"),
        "complete": one("SELECT COUNT(*) FROM trials JOIN studies USING (study_id) "
                        "WHERE study_name = ? AND state = 'COMPLETE'"),
        "curves": one("SELECT COUNT(DISTINCT trial_id) FROM trial_intermediate_values "
                      "JOIN trials USING (trial_id) JOIN studies USING (study_id) "
                      "WHERE study_name = ?")}
    con.close()
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--knob", required=True)
    parser.add_argument("--chromium", default="chromium")
    parser.add_argument("--trials", type=int, default=10000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--load-seconds", type=float, default=20,
                        help="how long the workers write while the dashboard is measured")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--study-db", help="a copy of this SQLite file (of an earlier run's "
                        "--keep-db) instead of writing the study anew")
    parser.add_argument("--keep-db", help="copy the study's SQLite file here before the workers")
    parser.add_argument("--baseline", action="store_true",
                        help="timing an older knob whose trial table shows every row")
    parser.add_argument("--smoke", action="store_true",
                        help="a CI smoke run: 600 trials, once, no warm-up, 3 s of load, the peer once without plots")
    args = parser.parse_args()
    if args.smoke:
        args.trials, args.reps, args.load_seconds = 600, 1, 3  # > 500: the many-trials paths
    knob = os.path.abspath(args.knob)
    tmp = tempfile.TemporaryDirectory(prefix="knob-dashboard-bench-")
    db = os.path.join(tmp.name, "big.db")
    url = "sqlite:///" + db
    # Created at Optuna 3.0's revision: the peer is Debian's Optuna 3.1, which refuses 3.2's.
    tune = [knob, "tune", "--storage", url + "?schema=v3.0.0.d", "--study-name", STUDY, "--objective", "curve",
            "--sampler", "random", "--quiet"]
    browser = Browser(args.chromium, os.path.join(tmp.name, "profile"))
    server = None
    try:
        start = time.perf_counter()
        half = args.trials // 2
        if args.study_db:
            with sqlite3.connect(args.study_db) as src, sqlite3.connect(db) as dst:
                src.backup(dst)
            args.trials = stored_counts(db)["trials"]
        else:
            run(tune + ["--pruner", "none", "--n-trials", str(half), "--seed", "1"], timeout=1800)
            run(tune + ["--pruner", "median", "--n-trials", str(args.trials - half), "--seed", "2"],
                timeout=1800)
        print(f"copied {args.trials} trials from {args.study_db}" if args.study_db else
              f"wrote {args.trials} trials in {time.perf_counter() - start:.1f} s "
              f"(knob tune --objective curve --sampler random, half --pruner none, half median)")

        def serve():
            port = free_port()
            proc = subprocess.Popen([knob, "dashboard", "--storage", url, "--port", str(port)],
                                    stdout=subprocess.PIPE, text=True)
            proc.stdout.readline()  # the banner: listening
            return proc, f"http://127.0.0.1:{port}"

        def stop(proc):
            proc.terminate()
            proc.wait(timeout=10)

        # ---- cold: the first request to a server just started (nothing cached in it yet)
        cold_api, cold_page = [], []
        for _ in range(args.reps):
            proc, base = serve()
            try:
                cold_api.append(get(f"{base}/api/study?name={STUDY}")[0])
            finally:
                stop(proc)
            proc, base = serve()
            try:
                cold_page.append(open_page(browser, f"{base}/study?name={STUDY}"))
            finally:
                stop(proc)

        server, base = serve()
        api = f"{base}/api/study?name={STUDY}"
        page = f"{base}/study?name={STUDY}"

        # ---- idle, warm: the same server again
        get(api)  # warm-up: the server's first read of the study
        api_runs = [get(api) for _ in range(args.reps)]
        api_s = statistics.median(t for t, _ in api_runs)
        api_bytes = api_runs[0][1]
        if not args.smoke:
            open_page(browser, page)  # warm-up: Chromium's caches, the storage's page cache
        page_s = statistics.median(open_page(browser, page) for _ in range(args.reps))
        counts, stored = browser.evaluate(COUNTS_JS), stored_counts(db)
        print(f"page drew {counts['history']} history points, {counts['curves']} curves, "
              f"{counts['parallel']} parallel lines, {counts['rows']} table rows; "
              f"{counts['nodes']} DOM elements")
        want = {"history": stored["complete"], "curves": stored["curves"],
                "parallel": stored["complete"],
                "rows": stored["trials"] if args.baseline else min(500, stored["trials"])}
        got = {k: counts[k] for k in want}
        if got != want:  # the benchmark times a page that draws every trial, or it fails
            sys.exit(f"the page drew {got}, the SQLite file holds {want}")

        if args.keep_db:
            with sqlite3.connect(db) as src, sqlite3.connect(args.keep_db) as dst:
                src.backup(dst)
        o = None if args.no_peer else peer(db, 1 if args.smoke else args.reps, not args.smoke)

        # ---- while workers write to the same file
        workers = [subprocess.Popen(tune + ["--pruner", "median", "--timeout",
                                            str(args.load_seconds), "--seed", str(10 + i)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                   for i in range(args.workers)]
        polls, reloads, clicks = [], [], []
        end = time.perf_counter() + args.load_seconds
        time.sleep(min(2.0, args.load_seconds / 4))  # the workers are writing
        while time.perf_counter() < end - 1:
            reloads.append(open_page(browser, page))
            # The open page polls every 2 s and redraws what changed: for 3 s, how long a
            # script (what a click would run) waits for its main thread, and /api/study polls.
            stop = time.perf_counter() + 3
            while time.perf_counter() < stop:
                t = time.perf_counter()
                browser.evaluate("1")
                clicks.append(time.perf_counter() - t)
                if len(clicks) % 10 == 0:
                    polls.append(get(api)[0])
                time.sleep(0.1)
        for w in workers:
            w.wait(timeout=args.load_seconds + 120)
            if w.returncode != 0:
                sys.exit(f"a worker exited {w.returncode}: {w.stderr.read().decode()}")
        with urllib.request.urlopen(api) as r:
            n_after = json.loads(r.read())["n_trials"]
        problems = browser.problems()
        if problems:
            sys.exit(f"JavaScript exception or dialog on the page: {problems[:1]}")

        print(f"\n{args.trials} trials; knob /api/study {api_bytes / 1e6:.2f} MB")
        print(f"{'':44} {'knob':>9}")
        print(f"{'/api/study response, cold (median)':44} {statistics.median(cold_api) * 1000:7.0f}ms")
        print(f"{'study page to all charts drawn, cold (median)':44} "
              f"{statistics.median(cold_page) * 1000:7.0f}ms")
        print(f"{'/api/study response, warm (median)':44} {api_s * 1000:7.0f}ms")
        print(f"{'study page to all charts drawn, warm (median)':44} {page_s * 1000:7.0f}ms")
        print("  (cold: the first request to a server just started, a new server each time; "
              "warm: the same server again)")
        print(f"\nwhile {args.workers} workers write to the same SQLite file "
              f"({n_after - args.trials} trials added in {args.load_seconds:.0f} s):")
        for label, xs in [("/api/study poll", polls), ("page reload to charts drawn", reloads),
                          ("script run on the open page", clicks)]:
            if not xs:  # a reload that outlasted the load leaves no poll
                print(f"  {label:42} (n=0)")
                continue
            print(f"  {label:42} p50 {percentile(xs, 50) * 1000:6.0f}ms   "
                  f"p95 {percentile(xs, 95) * 1000:6.0f}ms   (n={len(xs)})")

        if o:
            print(f"\npeer: Debian's python3-optuna 3.1 on the same {args.trials} trials, before the "
                  f"workers (load: median of {1 if args.smoke else args.reps}, plots: once; its "
                  f"own process, imports not timed)")
            print(f"  optuna.load_study + study.trials{o['load_s'] * 1000:33.0f}ms   "
                  f"knob /api/study / optuna: {api_s / o['load_s']:.2f}x")
            if o.get("plots_s") is not None:
                print(f"  plot_optimization_history + plot_intermediate_values .to_html()"
                      f"{o['plots_s'] * 1000:7.0f}ms   knob page (all charts drawn) / optuna: "
                      f"{page_s / o['plots_s']:.2f}x")
    finally:
        if server:
            server.terminate()
            server.wait(timeout=10)
        browser.close()
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
