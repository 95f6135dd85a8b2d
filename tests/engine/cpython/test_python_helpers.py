"""gilbench's own Python (src/engine/cpython/python/*.py), which the build embeds in the cpython
engine as source text: here imported as plain modules by a plain /usr/bin/python3, without the C++
build. The workers' helpers (countdown, the probe, get_many, load, call), the calibration's socket
wrappers and arithmetic, and bench/urllib_steps.py, which shares those wrappers. HTTP only to a
loopback server each test module starts in a process of its own (and stops); every request and
every run is bounded."""
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

SOURCE = Path(os.environ.get("GILBENCH_SOURCE_DIR", Path(__file__).resolve().parents[3]))
sys.path.insert(0, str(SOURCE / "src" / "engine" / "cpython" / "python"))
import gilbench_calibration  # noqa: E402 -- gilbench's embedded modules, no package
import gilbench_helpers  # noqa: E402

# A loopback HTTP server: 200 "ok" for any path but /missing (404). It prints its port.
SERVER = """
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/missing":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


@pytest.fixture(scope="module")
def url():
    p = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(p.stdout.readline())
        yield f"http://127.0.0.1:{port}/"
    finally:
        p.kill()
        p.wait(timeout=10)


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_countdown_ends_and_cpu_until_counts_its_chunks():
    for n in (-3, 0, 1, 1000):
        assert gilbench_helpers.countdown(n) is None
    calls = []

    def done():
        calls.append(True)
        return len(calls) > 3
    assert gilbench_helpers.cpu_until(done, 100) == 300
    assert gilbench_helpers.cpu_until(lambda: True, 100) == 0


def test_the_probe_notes_a_take_at_its_first_iteration_and_counts_takes_past_capacity():
    probe = gilbench_helpers.make_probe()
    takes = []
    assert probe(1000, takes, 10) == 0
    assert len(takes) == 1 and isinstance(takes[0], int)
    # Another thread's list ran meanwhile: the next run of the first list is a take again.
    other = []
    assert probe(10, other, 0) == 1 and other == []
    assert probe(10, takes, 10) == 0 and len(takes) == 2 and takes[0] <= takes[1]
    # Each make_probe() is a trial of its own: its first iteration is a take.
    assert gilbench_helpers.make_probe()(5, takes, 10) == 0 and len(takes) == 3


def test_warm_up_runs_and_this_python_has_its_gil():
    gilbench_helpers.warm_up()
    assert gilbench_helpers.gil_enabled() == getattr(sys, "_is_gil_enabled", lambda: True)()


def test_get_many_times_each_request(url):
    requests, first_error = gilbench_helpers.get_many(url, 3, 10)
    assert first_error == ""
    assert len(requests) == 3
    for start, end, ok in requests:
        assert ok and 0 < start <= end
    assert requests[0][1] <= requests[1][0]  # one after the other


def test_get_many_keeps_the_first_failure_and_goes_on(url):
    requests, first_error = gilbench_helpers.get_many(url + "missing", 2, 10)
    assert [ok for _, _, ok in requests] == [False, False]
    assert first_error.startswith("HTTPError: HTTP Error 404"), first_error
    refused = f"http://127.0.0.1:{closed_port()}/"
    requests, first_error = gilbench_helpers.get_many(refused, 1, 10)
    assert [ok for _, _, ok in requests] == [False]
    assert first_error.startswith("URLError: ") and "refused" in first_error, first_error


@pytest.fixture
def python_path(tmp_path, monkeypatch):
    """A directory for user modules; sys.path and the modules load() imports are restored after."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]


def test_load_returns_the_callable_or_says_what_is_wrong_and_the_fix(python_path):
    (python_path / "gb_user.py").write_text(
        "VALUE = 3\n"
        "def run(work, index, count):\n    return work\n"
        "def two(a, b):\n    pass\n"
        "class Box:\n    @staticmethod\n    def run(work, index, count):\n        return 1\n")
    (python_path / "gb_broken.py").write_text("raise ImportError('on purpose')\n")
    fn, why = gilbench_helpers.load("gb_user:run", f"{python_path}:")
    assert why == "" and fn(5, 0, 1) == 5
    assert sys.path[0] == str(python_path)
    fn, why = gilbench_helpers.load("gb_user:Box.run", str(python_path))
    assert why == "" and fn(5, 0, 1) == 1
    fn, why = gilbench_helpers.load("gb_nowhere:run", str(python_path))
    assert fn is None and "module 'gb_nowhere' does not import" in why and "add its directory to python_path" in why
    assert "ModuleNotFoundError" in why
    fn, why = gilbench_helpers.load("gb_broken:run", str(python_path))
    assert fn is None and "ImportError: on purpose" in why
    fn, why = gilbench_helpers.load("gb_user:missing", str(python_path))
    assert fn is None and "has no attribute 'missing'; check the name after the ':'" in why
    fn, why = gilbench_helpers.load("gb_user:VALUE", str(python_path))
    assert fn is None and "'VALUE' is a int, not callable" in why and "def VALUE(work, index, count)" in why
    fn, why = gilbench_helpers.load("gb_user:two", str(python_path))
    assert fn is None and "cannot be called as two(work, index, count): its signature is two(a, b)" in why


def test_call_counts_ops_and_turns_failures_into_values():
    assert gilbench_helpers.call(lambda w, i, c: None, 7, 0, 1) == (7, "", "")
    assert gilbench_helpers.call(lambda w, i, c: 3, 7, 0, 1) == (3, "", "")

    def fails(work, index, count):
        raise ValueError("on purpose")
    ops, tb, line = gilbench_helpers.call(fails, 7, 0, 1)
    assert ops == -1 and line == "ValueError: on purpose"
    # The user's frames only, not the helper's.
    assert tb.startswith("Traceback") and "in fails" in tb and "in call" not in tb, tb
    for wrong in (True, -1, 2**63, 1.5, "3"):
        ops, tb, line = gilbench_helpers.call(lambda w, i, c: wrong, 7, 0, 1)
        assert ops == -1 and tb == line and "return the number of operations done" in line, wrong


def socket_functions():
    return [getattr(owner, name) for owner, name, _ in gilbench_calibration.SOCKET_CALLS]


def test_the_socket_wrappers_log_every_step_of_a_get_and_are_gone_after(url):
    originals = socket_functions()
    log = []
    with gilbench_calibration.socket_calls_logged(log):
        assert all(f is not o for f, o in zip(socket_functions(), originals))
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.read() == b"ok"
    assert socket_functions() == originals
    steps = [step for step, _, _ in log]
    assert set(steps) == {"resolve", "socket", "connect", "send", "recv", "close"}, steps
    assert steps.index("resolve") < steps.index("socket") < steps.index("connect") < steps.index("send")
    assert all(0 < start <= end for _, start, end in log)


def test_the_socket_wrappers_are_gone_after_a_failure_too():
    originals = socket_functions()
    with pytest.raises(RuntimeError, match="inside"):
        with gilbench_calibration.socket_calls_logged([]):
            raise RuntimeError("inside")
    assert socket_functions() == originals


def test_step_costs_take_medians_and_fill_rare_cold_steps_from_the_others():
    steps = gilbench_calibration.STEPS
    alone = {s: [(1000, None), (1000, 10), (1000, 10)] for s in steps}
    # Beside the CPU thread at 5 ms: code after a call that lost the GIL (>= 2.5 ms) runs 3000 ns;
    # after a quick call, or a time that holds a wait (>= 2.5 ms), it does not count. "return"
    # has too few such samples: its warm cost times the others' median ratio (3).
    lost = 3_000_000
    beside = {s: [(3000, lost)] * 5 + [(1000, 10), (4_000_000, lost)] for s in steps}
    beside["return"] = [(9000, lost)] * 4
    # At 0.5 ms the excess is half as large; at 50 ms no step has samples: all of it.
    shorter = {s: [(2000, 300_000)] * 3 for s in steps}
    longer = {s: [] for s in steps}
    warm, cold, scales = gilbench_calibration.step_costs(alone, beside, shorter, longer)
    assert warm == [1000] * 7
    assert cold == [3000] * 7
    assert scales == [500, 1000]


def test_urllib_costs_are_18_positive_values(url):
    costs = gilbench_calibration.urllib_costs(url, 5)
    assert len(costs) == 18 and all(isinstance(c, int) and c > 0 for c in costs), costs
    assert socket_functions() == [getattr(owner, name) for owner, name, _ in gilbench_calibration.SOCKET_CALLS]
    assert "wrapper" not in socket.socket.connect.__qualname__


@pytest.mark.parametrize("cpu_threads", ["0", "1"])
def test_bench_urllib_steps_prints_its_table(url, cpu_threads):
    p = subprocess.run([sys.executable, str(SOURCE / "bench" / "urllib_steps.py"), url, "5", cpu_threads],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("urlopen(...).read(): median ") and lines[0].endswith(" us over 5 requests")
    assert lines[1].split() == ["step", "Python", "before", "it", "(GIL", "held)", "inside", "the", "call", "(GIL",
                                "released)", "lost", "the", "GIL"]
    rows = [line.split()[0] for line in lines[2:]]
    assert rows == ["resolve", "socket", "connect", "send", "recv", "close", "(return)"]
    assert lines[-1].split()[1:] == [lines[-1].split()[1], "us", "-", "-"]
