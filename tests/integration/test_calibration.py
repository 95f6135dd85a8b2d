"""The emulated engine's calibration end to end: `mpirun -np 2 gilbench run` on a tiny emulated
io job stores the urllib costs it used (run attribute urllib_costs_ns, 19 per node, named by
urllib_costs_fields) and how it had them (calibration): measured by the embedded CPython on the
first run, read from the cache (under XDG_CACHE_HOME) on the next, the documented fallback with
--no-calibration, measured again with --recalibrate; a job without emulated io cells calibrates
nothing. No timing bounds.
"""
import os

import gbrun

IO_JOB = """\
[job]
name = "calibration"

[defaults]
latency = 0.001
warmups = 0
repeats = 1

[[cell]]
name = "io"
workload = "io"
work = 4
threads = 2
ranks = 2
"""

CPU_JOB = IO_JOB.replace('workload = "io"', 'workload = "cpu"').replace("work = 4", "work = 10000")

# workloads::UrllibCosts::fields' names, and its fallback() in their order (docs/hdf5-schema.md).
FIELDS = [f"{step}_{kind}_ns" for kind in ("warm", "cold") for step in (
    "before_request", "after_resolve", "after_socket", "after_connect", "after_send", "after_recv", "after_close")] + [
    "countdown_per_1000_ns", "urllib_per_1000_instructions_ns", "cold_scale_500us_permille",
    "cold_scale_50ms_permille", "old_gil_countdown_per_1000_ns"]
FALLBACK = [47000, 600, 500, 3500, 14000, 78000, 4000, 277000, 3200, 51000, 48000, 131500, 389000, 55800,
            43000, 30200, 250, 1300, 43000]


def run_job(tmp_path, text, *options):
    job = tmp_path / "job.toml"
    job.write_text(text)
    out = tmp_path / "out.h5"
    p = gbrun.run(2, "run", job, "-o", out, "-q", *options)
    assert p.returncode == 0, p.stderr
    attrs = gbrun.read_run(out)["attrs"]
    costs = [int(v) for v in attrs["urllib_costs_ns"]]
    if costs:  # named beside the values, record version 5 (docs/hdf5-schema.md)
        assert [gbrun.text(f) for f in attrs["urllib_costs_fields"]] == FIELDS
        assert int(attrs["urllib_costs_version"]) == 5
    return costs, gbrun.text(attrs["calibration"])


def test_measured_then_cached_then_fallback_then_recalibrated(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    costs, how = run_job(tmp_path, IO_JOB)
    assert how == "measured"
    assert len(costs) == len(FIELDS) and all(c > 0 for c in costs), costs
    files = os.listdir(cache / "gilbench")
    assert len(files) == 1 and files[0].startswith("urllib-costs-"), files
    # The cache keeps the record by name: one `name value` line per field.
    lines = (cache / "gilbench" / files[0]).read_text().splitlines()
    assert lines[0] == "gilbench urllib costs 5" and "record_version 5" in lines, lines
    assert [line for line in lines if line.split(" ")[0] in FIELDS] == [f"{f} {c}" for f, c in zip(FIELDS, costs)]

    cached, how = run_job(tmp_path, IO_JOB)
    assert how.startswith("cached 20"), how
    assert cached == costs

    fallback, how = run_job(tmp_path, IO_JOB, "--no-calibration")
    assert how == "fallback: --no-calibration"
    assert fallback == FALLBACK

    again, how = run_job(tmp_path, IO_JOB, "--recalibrate")
    assert how == "measured"
    assert len(again) == len(FIELDS) and all(c > 0 for c in again), again


def test_a_job_without_emulated_io_calibrates_nothing(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    costs, how = run_job(tmp_path, CPU_JOB)
    assert costs == [] and how == ""
    assert not cache.exists()


def test_both_calibration_options_are_refused(tmp_path):
    job = tmp_path / "job.toml"
    job.write_text(IO_JOB)
    p = gbrun.run(None, "run", job, "-o", tmp_path / "x.h5", "--recalibrate", "--no-calibration")
    assert p.returncode != 0
    assert "excludes" in p.stderr, p.stderr


def test_a_resumed_run_keeps_the_costs_of_its_first_start(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    # The first cell's function raises: --stop-on-failure leaves the run 'failed' after it,
    # before the io cell, and --resume continues it.
    (tmp_path / "failing.py").write_text("def run(work, index, count):\n    raise RuntimeError('on purpose')\n")
    job = tmp_path / "job.toml"
    raises = ('[[cell]]\nname = "raises"\nengine = "cpython"\nworkload = "python"\n'
              'function = "failing:run"\npython_path = ["."]\nwork = 1\n\n')
    job.write_text(IO_JOB.replace("[[cell]]", raises + "[[cell]]", 1))
    out = tmp_path / "out.h5"
    first = gbrun.run(2, "run", job, "-o", out, "-q", "--no-calibration", "--stop-on-failure")
    assert first.returncode == 3, first.stderr
    second = gbrun.run(2, "run", job, "-o", out, "-q", "--resume", "--recalibrate")
    assert "the resumed run keeps its urllib costs (fallback: --no-calibration); --recalibrate does not change " \
        "them" in second.stderr, second.stderr
    assert not cache.exists()  # nothing measured
    r = gbrun.read_run(out)
    assert r["runs"] == ["run-000"]
    assert [int(v) for v in r["attrs"]["urllib_costs_ns"]] == FALLBACK


OLD_GIL_JOB = CPU_JOB.replace('workload = "cpu"', 'workload = "cpu"\ngil = "old"')


def test_old_gil_ticks_timed_on_a_python2_or_the_run_stops(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # A stand-in Python 2 (a /bin/sh script printing what the real one's program prints).
    python2 = tmp_path / "python2"
    python2.write_text("#!/bin/sh\necho 'gilbench-old-gil 2.7.18 13000'\n")
    python2.chmod(0o755)
    costs, how = run_job(tmp_path, OLD_GIL_JOB, "--old-gil-python", python2)
    assert f"; old GIL ticks timed on Python 2.7.18 ({python2}): 13.0 ns per countdown iteration" in how, how
    assert costs[FIELDS.index("old_gil_countdown_per_1000_ns")] == 13000
    # Without one, the embedded countdown times the ticks.
    costs, how = run_job(tmp_path, OLD_GIL_JOB)
    assert "old GIL" not in how
    assert costs[FIELDS.index("old_gil_countdown_per_1000_ns")] == costs[FIELDS.index("countdown_per_1000_ns")]
    # A Python 3 is refused by its version, and the run stops before any trial.
    job = tmp_path / "job.toml"
    p = gbrun.run(2, "run", job, "-o", tmp_path / "py3.h5", "-q", "--old-gil-python", "/usr/bin/python3")
    assert p.returncode != 0
    assert "--old-gil-python: '/usr/bin/python3' is Python 3." in p.stderr and "which has the new GIL" in p.stderr
