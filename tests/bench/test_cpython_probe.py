"""bench/cpython_probe.py: the hand-over and figure arithmetic on hand-made data, and quick real
runs (Python 3 here; Python 2.7 in the test bench.cpython_probe_python27, which ctest registers
only where configure found one: GILBENCH_PYTHON27) against a `gilbench serve` started here.
Loopback only; every run is bounded. No timing assertions beyond what every figure must be."""
import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

GILBENCH = os.environ.get("GILBENCH", "build/gilbench")
SOURCE = Path(os.environ.get("GILBENCH_SOURCE_DIR", Path(__file__).resolve().parents[2]))
PROBE = SOURCE / "bench" / "cpython_probe.py"

sys.path.insert(0, str(PROBE.parent))
import cpython_probe  # noqa: E402 -- from bench/, which is no package

NEW_GIL_KEYS = {"cpu_2t", "cpu_2t_si0.5ms", "cpu_2t_si50ms"} | {
    f"{figure}_si{label}" for figure in ("switches", "runlength", "convoy") for label in ("0.5ms", "5ms", "50ms")}
OLD_GIL_KEYS = {"cpu_2t_old", "convoy_old_ms"}
TOP_KEYS = {"format", "python", "implementation", "executable", "gil", "rounds", "created", "command", "figures"}


@pytest.fixture
def url():
    proc = subprocess.Popen([GILBENCH, "serve", "--latency", "0.001", "--max-seconds", "100"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("http://127.0.0.1:"), line
        yield line
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def probe(python, *args, timeout=60):
    return subprocess.run([python, str(PROBE), *args], capture_output=True, text=True, timeout=timeout)


def test_handovers_are_takes_by_another_thread_than_the_previous_take():
    # Time order: A0.0 B0.1 B0.2 A0.3 A0.5 B0.6: hand-overs at 0.1, 0.3, 0.6 (not the first take,
    # nor a take by the thread that took last).
    takes = [[0.0, 0.3, 0.5], [0.1, 0.2, 0.6]]
    assert cpython_probe.handovers(takes) == [0.1, 0.3, 0.6]
    assert cpython_probe.handovers([[0.0, 1.0, 2.0], []]) == []
    assert cpython_probe.handovers([[], []]) == []
    assert cpython_probe.handovers([[0.2], [0.1], [0.3]]) == [0.2, 0.3]
    assert cpython_probe.median([0.2, 0.3]) == 0.25
    assert cpython_probe.median([3.0, 1.0, 2.0]) == 2.0


def test_probed_countdown_notes_a_take_only_when_another_ran_last():
    last, takes = [None], []
    cpython_probe.probed_countdown(1000, 7, last, takes)
    assert len(takes) == 1 and last == [7]
    cpython_probe.probed_countdown(1000, 7, last, takes)
    assert len(takes) == 1


def test_figures_of_a_round_follow_the_contract():
    m = {"cpu-1t": {"wall_s": 2.0}, "convoy-alone": {"mean_latency_s": 0.0012}}
    for i, label in enumerate(("0.5ms", "5ms", "50ms")):
        m["cpu-2t-si" + label] = {"wall_s": 2.0 + i}
        m["handover-si" + label] = {"switches_per_s": 100.0 / (i + 1), "runlength_s": 0.01 * (i + 1)}
    m["convoy-si0.5ms"] = {"mean_latency_s": 0.0012 + 3 * 0.0005}
    m["convoy-si5ms"] = {"mean_latency_s": 0.0012 + 2 * 0.005}
    m["convoy-si50ms"] = {"mean_latency_s": 0.0012 + 1 * 0.05}
    f = cpython_probe.figures_of(m)
    assert set(f) == NEW_GIL_KEYS
    assert f["cpu_2t_si0.5ms"] == 1.0 and f["cpu_2t"] == 1.5 and f["cpu_2t_si50ms"] == 2.0
    assert f["switches_si5ms"] == 50.0 and f["runlength_si50ms"] == pytest.approx(0.03)
    assert f["convoy_si0.5ms"] == pytest.approx(3) and f["convoy_si5ms"] == pytest.approx(2)
    assert f["convoy_si50ms"] == pytest.approx(1)


def check_reference(path, python, gil, keys):
    ref = json.loads(Path(path).read_text())
    assert set(ref) == TOP_KEYS
    assert ref["format"] == "gilbench-fidelity-reference/1"
    assert ref["gil"] == gil and ref["rounds"] == 1 and ref["implementation"] == "CPython"
    assert os.path.realpath(ref["executable"]) == os.path.realpath(python)
    assert ref["created"].endswith("Z") and "cpython_probe.py" in ref["command"]
    assert set(ref["figures"]) == keys
    for key, values in ref["figures"].items():
        assert len(values) == 1 and all(isinstance(v, float) and math.isfinite(v) for v in values), (key, values)
    return ref


def test_quick_run_under_python3_writes_every_new_gil_figure(url, tmp_path):
    out = tmp_path / "ref.json"
    r = probe(sys.executable, "--url", url, "--quick", "--rounds", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "round 1/1" in r.stderr
    ref = check_reference(out, sys.executable, "new", NEW_GIL_KEYS)
    assert ref["python"] == "%d.%d.%d" % sys.version_info[:3]
    # Ratios, rates and times are positive; so is a convoy (a CPU thread beside the GETs costs
    # them switch intervals): zero would mean the cell ran without it.
    assert all(v[0] > 0 for v in ref["figures"].values()), ref["figures"]


def test_quick_run_under_python27_writes_the_old_gil_figures(url, tmp_path):
    python27 = os.environ.get("GILBENCH_PYTHON27")
    if not python27:
        pytest.fail("GILBENCH_PYTHON27 is not set: ctest sets it (test bench.cpython_probe_python27) where "
                    "configure found a Python 2.7; run this test through ctest or set it to a python2.7")
    out = tmp_path / "ref27.json"
    r = probe(python27, "--url", url, "--quick", "--rounds", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    ref = check_reference(out, python27, "old", OLD_GIL_KEYS)
    assert ref["python"].startswith("2.7.")
    # convoy_old_ms is a difference of two means, near zero where the old GIL hands over
    # quickly: only its being finite is certain. The wall ratio is positive.
    assert ref["figures"]["cpu_2t_old"][0] > 0


def test_no_url_is_a_usage_error_that_names_the_fix(tmp_path):
    r = probe(sys.executable, "--quick", "--out", str(tmp_path / "x.json"))
    assert r.returncode == 2
    assert "--url is required" in r.stderr and "gilbench serve" in r.stderr
    assert not (tmp_path / "x.json").exists()


def test_a_url_nobody_serves_fails_at_once_and_writes_nothing(tmp_path):
    with socket.socket() as s:   # a loopback port that was free a moment ago: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "x.json"
    r = probe(sys.executable, "--url", f"http://127.0.0.1:{port}/?delay=0.001", "--quick", "--rounds", "1",
              "--out", str(out), "--timeout", "2")
    assert r.returncode == 1
    assert "GET http://127.0.0.1:%d/" % port in r.stderr and "gilbench serve" in r.stderr
    assert not out.exists()


def test_list_prints_interpreters_that_exist(tmp_path):
    versions = tmp_path / "versions"
    for name in ("2.7.18", "3.12.1", "3.13.0t", "pypy3.9-7.3.11", "3.9.18"):
        (versions / name / "bin").mkdir(parents=True)
        exe = versions / name / "bin" / "python"
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
    r = subprocess.run([sys.executable, str(PROBE), "--list"], capture_output=True, text=True, timeout=30,
                       env={**os.environ, "PYENV_ROOT": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(versions / v / "bin" / "python") for v in ("2.7.18", "3.9.18", "3.12.1")]
