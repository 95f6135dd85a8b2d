"""A run against a failing HTTP server: the real binary, `--url`-style cell URLs pointing at a
small loopback server started here, which answers HTTP 500 to some requests and resets the
connection on others. The failed trials must be flagged (trials.io_errors), left out of the
statistics (summary.failed_trials, n), marked in the tables, and the run must end with exit
status 3 and a one-line summary on stderr, or 0 with --allow-io-errors.

The server fails requests by their number per path, so which trials fail does not depend on
timing: the first request to each path is gilbench's start-up probe (it must pass), and each
trial's requests follow in order, trial after trial.
  /bad  : every request after the probe fails (even numbers: HTTP 500, odd: connection reset)
  /some : request 6 gets HTTP 500; with 2 requests per trial after the probe (1) that is the
          first request of trial 2 (warm-up 2-3, trial 1 4-5, trial 2 6-7, trial 3 8-9)
"""
import socket
import socketserver
import struct
import threading

import pytest

import gbrun


class FlakyHandler(socketserver.BaseRequestHandler):
    def handle(self):
        head = b""
        self.request.settimeout(10)
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        path = head.split(b" ", 2)[1].decode().split("?")[0]
        n = self.server.count(path)
        if path == "/bad" and n > 1 and n % 2 == 1:
            # RST instead of FIN: the client sees "connection reset by peer".
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        fail = (path == "/bad" and n > 1) or (path == "/some" and n == 6)
        status = b"500 Internal Server Error" if fail else b"200 OK"
        body = b"failed\n" if fail else b"ok\n"
        self.request.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Length: " + str(len(body)).encode() +
                             b"\r\nConnection: close\r\n\r\n" + body)


class FlakyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), FlakyHandler)
        self.lock = threading.Lock()
        self.counts = {}

    def count(self, path):
        with self.lock:
            self.counts[path] = self.counts.get(path, 0) + 1
            return self.counts[path]


@pytest.fixture
def server():
    s = FlakyServer()
    t = threading.Thread(target=s.serve_forever, daemon=True)
    t.start()
    yield s
    s.shutdown()
    s.server_close()


def job_text(port):
    return f"""
[job]
name = "flaky"

[[cell]]
name = "io-bad"
workload = "io"
work = 2
url = "http://127.0.0.1:{port}/bad"
warmups = 1
repeats = 3

[[cell]]
name = "io-some"
workload = "io"
work = 2
threads = 2
url = "http://127.0.0.1:{port}/some"
warmups = 1
repeats = 3
"""


def run_flaky(server, tmp_path, *extra):
    job = tmp_path / "flaky.toml"
    job.write_text(job_text(server.server_address[1]))
    out = tmp_path / "flaky.h5"
    # Cells order: the flaky server fails requests by their count, which sets the trials it hits.
    p = gbrun.run(None, "run", job, "-o", out, "--progress", "lines", "--order", "cells", *extra, timeout=120)
    return p, out


def test_failed_trials_are_flagged_left_out_and_fail_the_run(server, tmp_path):
    p, out = run_flaky(server, tmp_path)
    assert p.returncode == 3, p.stderr
    assert server.counts == {"/bad": 1 + 4 * 2, "/some": 1 + 4 * 2}
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("gilbench: 5 of 8 trials had I/O errors in 2 cell(s) "
                           "(io-bad: 4 of 4, io-some: 1 of 4); first error: "), last
    assert "status 'complete'" in last and "--allow-io-errors" in last, last
    assert "500" in last or "reset" in last.lower(), last

    r = gbrun.read_run(out)
    assert gbrun.text(r["attrs"]["status"]) == "complete"
    trials = {(int(t["cell"]), int(t["trial"])): int(t["io_errors"]) for t in r["trials"]}
    assert trials == {(0, 0): 2, (0, 1): 2, (0, 2): 2, (0, 3): 2,
                      (1, 0): 0, (1, 1): 0, (1, 2): 1, (1, 3): 0}
    # trials.io_errors is the sum of the trial's workers' io_errors
    for (c, t), errors in trials.items():
        w = r["workers"][(r["workers"]["cell"] == c) & (r["workers"]["trial"] == t)]
        assert int(w["io_errors"].sum()) == errors
    s = r["summary"]
    assert s["failed_trials"].tolist() == [3, 1]
    assert s["n"].tolist() == [0, 2]
    assert s["median_s"][0] == 0.0
    clean = r["trials"][(r["trials"]["cell"] == 1) & (r["trials"]["warmup"] == 0) & (r["trials"]["io_errors"] == 0)]
    assert sorted(clean["wall_s"]) == pytest.approx([s["min_s"][1], s["max_s"][1]])

    # The console tables: the cell table names the failures, the seed table shows no time for
    # the cell that only failed.
    assert "(3 of 3 measured trials failed: I/O errors)" in p.stdout, p.stdout
    assert "(1 of 3 measured trials failed: I/O errors)" in p.stdout, p.stdout
    seed = p.stdout[p.stdout.index("median wall time"):]
    assert "failed (3 of 3)" in seed.splitlines()[1], seed          # single thread, I/O-bound
    assert "s (1 of 3 failed)" in seed.splitlines()[2], seed         # multi thread, I/O-bound

    # The analysis leaves them out and the report marks them.
    from gilbench_analysis import load
    from gilbench_analysis.report import ReportOptions, write_report
    from gilbench_analysis.tables import cell_summary, seed_table_text
    res = load(out)
    assert res.trials["io_errors"].tolist() == [v for _, v in sorted(trials.items())]
    assert len(res.failed) == 4 and len(res.measured) == 2
    cs = cell_summary(res).set_index("name")
    assert (cs.loc["io-bad", "count"], cs.loc["io-bad", "failed"]) == (0, 3)
    assert (cs.loc["io-some", "count"], cs.loc["io-some", "failed"]) == (2, 1)
    assert cs.loc["io-some", "median"] == pytest.approx(s["median_s"][1])
    table = seed_table_text(res)
    assert table.loc["single thread", "I/O-bound"] == "failed (3 of 3)"
    assert table.loc["multi thread", "I/O-bound"].endswith(" s (1 of 3 failed)")
    written = write_report([("flaky", res)], tmp_path / "report", ReportOptions(html=False))
    md = open(written.markdown, encoding="utf-8").read()
    assert "⚠ 3 of 3 failed" in md and "⚠ 1 of 3 failed" in md, md
    assert "4 measured trial(s) had I/O errors" in md, md


def test_allow_io_errors_accepts_them(server, tmp_path):
    p, out = run_flaky(server, tmp_path, "--allow-io-errors", "-q")
    assert p.returncode == 0, p.stderr
    assert "5 of 8 trials had I/O errors" in p.stderr, p.stderr
    assert "--allow-io-errors to accept" not in p.stderr
    r = gbrun.read_run(out)
    assert gbrun.text(r["attrs"]["status"]) == "complete"
    assert r["summary"]["failed_trials"].tolist() == [3, 1]
