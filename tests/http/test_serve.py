"""`gilbench serve` (the embedded server on its own) and bench/cpython_cells.py (the plain CPython
cells bench/harness_overhead.py runs against it). Loopback only; every wait is bounded."""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

GILBENCH = os.environ.get("GILBENCH", "build/gilbench")
SOURCE = Path(os.environ.get("GILBENCH_SOURCE_DIR", Path(__file__).resolve().parents[2]))
BENCH = SOURCE / "bench"


@pytest.fixture
def server():
    proc = subprocess.Popen([GILBENCH, "serve", "--latency", "0.05", "--max-seconds", "60"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def test_serve_prints_its_url_and_answers_after_the_latency(server):
    _, url = server
    assert url.endswith("?delay=0.050000")
    start = time.monotonic()
    with urllib.request.urlopen(url, timeout=10) as response:
        body = response.read()
    assert time.monotonic() - start >= 0.05
    assert body.endswith(b"is a number.\n")
    base = url.split("?")[0]
    with urllib.request.urlopen(base + "?delay=0", timeout=10) as response:
        assert response.status == 200


def test_serve_stops_on_sigterm_and_reports(server):
    proc, url = server
    urllib.request.urlopen(url.split("?")[0], timeout=10).read()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "stopped by signal" in err and "after 1 requests" in err


def test_serve_stops_by_itself_after_max_seconds():
    out = subprocess.run([GILBENCH, "serve", "--max-seconds", "0.5"], capture_output=True, text=True, timeout=20)
    assert out.returncode == 0
    assert out.stdout.startswith("http://127.0.0.1:")
    assert "time limit reached" in out.stderr


def test_serve_refuses_a_latency_out_of_range():
    out = subprocess.run([GILBENCH, "serve", "--latency", "61"], capture_output=True, text=True, timeout=20)
    assert out.returncode != 0
    assert "latency" in (out.stderr + out.stdout).lower()


def cpython_cell(cell):
    out = subprocess.run([sys.executable, str(BENCH / "cpython_cells.py"), json.dumps(cell)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_cpython_cells_run_every_kind(server):
    _, url = server
    fast = url.split("?")[0] + "?delay=0.001"
    assert cpython_cell({"kind": "cpu", "threads": 2, "work": 20_000})["wall_s"] > 0
    assert cpython_cell({"kind": "procs", "processes": 2, "work": 20_000})["wall_s"] > 0
    assert cpython_cell({"kind": "io", "threads": 2, "requests": 4, "url": fast})["wall_s"] >= 0.002
    convoy = cpython_cell({"kind": "convoy", "requests": 3, "cpu_threads": 1, "url": fast})
    assert len(convoy["latencies_s"]) == 3 and min(convoy["latencies_s"]) >= 0.001
    assert cpython_cell({"kind": "speed", "work": 10_000, "runs": 2})["ns_per_step"] > 0
