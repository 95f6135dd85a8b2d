"""bench/release_races.py and bench/socket_log.c: which GIL releases of a GET a CPU-bound thread
wins. The arithmetic on hand-made logs; then a real CPython's GETs, beside a CPU-bound thread,
logged through the preloaded library against a `gilbench serve` started here (loopback only,
bounded). No timing assertions: only what every log of a GET must hold."""
import os
import subprocess
import sys
from pathlib import Path

SOURCE = Path(os.environ.get("GILBENCH_SOURCE_DIR", Path(__file__).resolve().parents[2]))
GILBENCH = os.environ.get("GILBENCH", "build/gilbench")
LIBRARY = os.environ.get("GILBENCH_SOCKET_LOG_LIB", "build/bench/libgilbench_socket_log.so")
SCRIPT = SOURCE / "bench" / "release_races.py"

sys.path.insert(0, str(SCRIPT.parent))
import release_races  # noqa: E402 -- from bench/, which is no package

MS = 1_000_000  # ns


def test_a_gap_of_half_an_interval_or_more_is_a_lost_release():
    # One GET at a 5 ms interval: socket lost once (a 5.1 ms gap), poll (before send) lost
    # twice (10.2 ms), connect and send won; close is the last call, with no gap after it.
    x = 5 * MS
    calls = [(0, 10, "resolve"), (20, 30, "socket"), (30 + x + 100_000, 40 + x + 100_000, "connect"),
             (50 + x + 100_000, 60 + x + 100_000, "poll"), (60 + 3 * x + 300_000, 70 + 3 * x + 300_000, "send"),
             (80 + 3 * x + 300_000, 90 + 3 * x + 300_000, "close")]
    steps, gets = release_races.races(calls, 0.005)
    assert gets == 1
    assert list(steps) == ["resolve", "socket", "connect", "poll>send", "send"]
    assert steps["socket"][1] == 1 and steps["poll>send"][1] == 2
    assert steps["connect"][1] == 0 and steps["send"][1] == 0 and steps["resolve"][1] == 0
    assert round(steps["socket"][2]) == 100   # µs past the whole interval
    assert round(steps["poll>send"][2]) == 200
    # --skip leaves whole GETs out, counted from each socket() (with the getaddrinfo before it).
    assert release_races.races(calls, 0.005, skip=1) == ({}, 0)


def test_a_real_cpythons_gets_are_logged_call_by_call(tmp_path):
    serve = subprocess.Popen([GILBENCH, "serve", "--latency", "0.001", "--max-seconds", "60"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = serve.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        log = tmp_path / "real"
        env = dict(os.environ, GILBENCH_SOCKET_LOG=str(log), LD_PRELOAD=LIBRARY)
        run = subprocess.run([sys.executable, str(SCRIPT), "--convoy", url, "0.005", "6"], env=env,
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        assert "6 GETs beside a CPU-bound thread" in run.stdout
    finally:
        serve.kill()
        serve.wait(timeout=10)
    threads = [calls for calls in release_races.read_log(str(log)).values() if any(c[2] == "connect" for c in calls)]
    assert len(threads) == 1  # the main thread did every GET
    steps, gets = release_races.races(threads[0], 0.005, skip=120)
    assert gets == 6
    # urllib's GET with a timeout, as CPython's socket module makes it (docs/gil-fidelity.md).
    for call in ("resolve", "socket", "ioctl", "connect", "poll>getsockopt", "getsockopt", "poll>send", "send",
                 "poll>recv", "recv"):
        assert steps[call][0] == 1.0, (call, steps)
    # Every GET but the last is followed by the next one's getaddrinfo (the last one's close by
    # whatever the interpreter closes on its way out, if anything).
    assert steps["close"][0] >= 5 / 6
    assert all(lost >= 0 for _, lost, _ in steps.values())
    out = subprocess.run([sys.executable, str(SCRIPT), str(log), "0.005", "--skip", "120"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "6 GETs" in out.stdout and "poll>recv" in out.stdout
    # No log: says why, fails.
    none = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "nothing"), "0.005"],
                          capture_output=True, text=True, timeout=30)
    assert none.returncode == 1 and "LD_PRELOAD" in none.stderr
