#!/usr/bin/python3
"""`knob dashboard` as a server (issue 22, defect 3): one port, one dashboard; idle sockets
cannot hold up requests.

Run by CTest with Debian's python3 (tests/dashboard/CMakeLists.txt):
    /usr/bin/python3 tests/dashboard/server_test.py --knob build/knob
Standard library only; no browser. A study is made with `knob tune` (built-in branin), a
dashboard is served on a free port, then (1) a second dashboard on that port must exit 2 naming
--port while the first keeps answering, and (2) with 24 idle connections open (12 kept alive
after a request, 12 that never sent one) a new request must still answer within a second.
"""
import argparse
import http.client
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def get(port, path="/api/studies", timeout=5.0):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def start_dashboard(knob, storage, port, cwd):
    return subprocess.Popen([knob, "dashboard", "--storage", storage, "--port", str(port)],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--knob", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="knob-dashboard-server-") as tmp:
        subprocess.run([args.knob, "tune", "--storage", "sqlite:///st.db", "--study", "s",
                        "--objective", "branin", "--n-trials", "5", "--quiet"],
                       cwd=tmp, check=True, capture_output=True, timeout=120)
        first = start_dashboard(args.knob, "sqlite:///st.db", 0, tmp)
        try:
            line = first.stdout.readline()
            match = re.search(r":(\d+)/", line)
            if not match:
                check(False, "the dashboard printed its address: " + line + first.stderr.read())
                return
            port = int(match.group(1))
            status, body = get(port)
            check(status == 200 and b'"s"' in body, "the first dashboard answers")

            # (1) A second dashboard on the same port must not start.
            second = start_dashboard(args.knob, "sqlite:///st.db", port, tmp)
            try:
                _, err = second.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                second.kill()
                second.communicate()
                check(False, "a second dashboard on the port exits (it kept running)")
            else:
                check(second.returncode == 2,
                      f"a second dashboard on port {port} exits 2 (got {second.returncode})")
                check("--port" in err and str(port) in err and "in use" in err,
                      "its message names --port, the port and 'in use': " + err.strip())
            answers = [get(port)[0] for _ in range(20)]
            check(answers == [200] * 20, "the first dashboard still answers every request")

            # (2) Idle sockets: kept alive after one request, and never used.
            idle = []
            for _ in range(12):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                c.request("GET", "/api/studies", headers={"Connection": "keep-alive"})
                c.getresponse().read()
                idle.append(c)
            for _ in range(12):
                idle.append(socket.create_connection(("127.0.0.1", port), timeout=10))
            time.sleep(0.2)
            worst = 0.0
            for _ in range(5):
                start = time.monotonic()
                status, _ = get(port, timeout=10)
                worst = max(worst, time.monotonic() - start)
                check(status == 200, "a request beside 24 idle connections answers")
            check(worst < 1.0, f"... within 1 s (slowest of 5: {worst:.3f} s)")
            for c in idle:
                c.close()
        finally:
            first.terminate()
            try:
                first.wait(timeout=10)
            except subprocess.TimeoutExpired:
                first.kill()
                first.wait()


if __name__ == "__main__":
    main()
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all checks passed")
