"""engine = "cpython" end to end: `mpirun -np 2 gilbench run` on a job with cells of both
engines (the countdown as 1 thread, 2 threads and 2 ranks, GETs, and the user's own function
from a module next to the job file) writes one file; the analysis loader reads it. Then the
ways such a run is refused or fails: a module that does not import (every rank stops, the
traceback in the message) and a function that raises (its trials flagged, the traceback printed
once, exit status 3).
"""
import math
import re
import textwrap

import gbrun

USER_MODULE = textwrap.dedent("""\
    import os

    def seen(work, index, count):
        # What each worker got, one file per worker index: the test reads them back.
        with open(os.path.join(os.path.dirname(__file__), f"seen-{index}.txt"), "w") as f:
            f.write(f"{work} {index} {count}")
        return 1000 + index

    def broken(work, index, count):
        return {}["no such key"]
    """)

BOTH_ENGINES = textwrap.dedent("""\
    [defaults]
    repeats = 2
    warmups = 1

    [[cell]]
    name = "cpu-{engine}-{ranks}x{threads}"
    workload = "cpu"
    work = 200000
    engine = ["emulated", "cpython"]
    zip = [["ranks", "threads"]]
    ranks = [1, 1, 2]
    threads = [1, 2, 1]

    [[cell]]
    name = "io-{engine}"
    workload = "io"
    work = 4
    threads = 2
    latency = 0.02
    engine = ["emulated", "cpython"]

    [[cell]]
    name = "mine"
    workload = "python"
    engine = "cpython"
    function = "usermod:seen"
    python_path = ["lib"]
    ranks = 2
    threads = 2
    work = 10
    """)


def write_job(tmp_path, text):
    lib = tmp_path / "lib"
    lib.mkdir(exist_ok=True)
    (lib / "usermod.py").write_text(USER_MODULE)
    job = tmp_path / "job.toml"
    job.write_text(text)
    return job, lib


def test_one_file_holds_both_engines_and_the_loader_reads_it(tmp_path):
    job, lib = write_job(tmp_path, BOTH_ENGINES)
    out = tmp_path / "both.h5"
    p = gbrun.run(2, "run", job, "-o", out, "-q")
    assert p.returncode == 0, p.stderr
    # The seed table: each engine's CPU-bound and I/O-bound columns side by side. The io cells
    # have 2 threads on 1 rank, so only the multi-thread row has I/O times.
    table = p.stdout[p.stdout.index("median wall time"):].splitlines()
    headers = re.findall(r"(?:CPU|I/O)-bound(?:, \w+)?", table[0])
    assert headers == ["CPU-bound, emulated", "CPU-bound, CPython", "I/O-bound, emulated", "I/O-bound, CPython"], \
        p.stdout
    rows = {line[:26].strip(): re.findall(r"\d+\.\d{3} s|-", line[26:]) for line in table[1:4]}
    assert set(rows) == {"single thread", "multi thread (2 threads)", "multi process (2 ranks)"}, p.stdout
    for name, values in rows.items():
        assert len(values) == 4 and all(v != "-" for v in values[:2]), (name, p.stdout)
    assert "-" not in rows["multi thread (2 threads)"], p.stdout
    r = gbrun.read_run(out)
    gbrun.check_consistent(r)
    cells = {gbrun.text(c["name"]): c for c in r["cells"]}
    assert {gbrun.text(c["engine"]) for c in r["cells"]} == {"emulated", "cpython"}
    assert gbrun.text(cells["mine"]["function"]) == "usermod:seen"
    assert gbrun.text(cells["mine"]["python_path"]) == str(lib)
    assert gbrun.text(r["attrs"]["python_version"])[:2] == "3."

    engine_of = {int(c["cell"]): gbrun.text(c["engine"]) for c in r["cells"]}
    for w in r["workers"]:
        cpython = engine_of[int(w["cell"])] == "cpython"
        # The real interpreter's GIL counters are "not measured", never zeros; CPU time is
        # measured for every engine.
        assert (w["gil_acquisitions"] == -1) == cpython
        assert math.isnan(w["gil_hold_s"]) == cpython
        assert w["cpu_s"] >= 0.0
        assert w["io_errors"] == 0
    # The user's function: its return value is ops, and it got (work, index, count) for the
    # workers of both ranks (10 over 4 workers: 3, 3, 2, 2).
    mine = int(cells["mine"]["cell"])
    ops = sorted(int(w["ops"]) for w in r["workers"] if w["cell"] == mine and w["trial"] == 0)
    assert ops == [1000, 1001, 1002, 1003]
    seen = sorted((lib / f"seen-{i}.txt").read_text() for i in range(4))
    assert seen == ["2 2 4", "2 3 4", "3 0 4", "3 1 4"]
    # Requests of the cpython io cell, on the runner's clock.
    io = int(cells["io-cpython"]["cell"])
    req = [q for q in r["requests"] if q["cell"] == io]
    assert len(req) == 4 * 3 and all(q["ok"] == 1 for q in req)
    assert all(q["end_s"] - q["start_s"] >= 0.02 for q in req)

    from gilbench_analysis import load
    res = load(out)
    assert set(res.cells["engine"]) == {"emulated", "cpython"}
    assert res.workers["cpu_s"].notna().all()
    assert len(res.measured) == len(r["cells"]) * 2


def test_a_module_that_does_not_import_stops_every_rank_with_its_traceback(tmp_path):
    job, lib = write_job(tmp_path, BOTH_ENGINES.replace("usermod:seen", "badmod:run"))
    (lib / "badmod.py").write_text("import json\nraise RuntimeError('configuration missing')\n")
    p = gbrun.run(2, "run", job, "-o", tmp_path / "bad.h5", "-q")
    assert p.returncode == 1, p.stderr
    assert "engine 'cpython' could not start on rank 0: cell 'mine': function 'badmod:run': module 'badmod' " \
           "does not import" in p.stderr, p.stderr
    assert "Traceback" in p.stderr and "RuntimeError: configuration missing" in p.stderr, p.stderr


def test_a_function_that_raises_flags_its_trials_and_prints_the_traceback_once(tmp_path):
    job, _ = write_job(tmp_path, BOTH_ENGINES.replace("usermod:seen", "usermod:broken"))
    out = tmp_path / "raises.h5"
    p = gbrun.run(2, "run", job, "-o", out, "-q")
    assert p.returncode == 3, p.stderr  # the run completes; its failed trials make it exit 3
    assert "KeyError: 'no such key'" in p.stderr, p.stderr
    assert p.stderr.count("Traceback") <= 2, p.stderr  # at most once per rank
    assert "Traceback" in p.stderr
    r = gbrun.read_run(out)
    mine = [int(c["cell"]) for c in r["cells"] if gbrun.text(c["name"]) == "mine"][0]
    assert all(t["io_errors"] == 4 for t in r["trials"] if t["cell"] == mine)
    assert all(t["io_errors"] == 0 for t in r["trials"] if t["cell"] != mine)
    assert gbrun.text(r["attrs"]["status"]) == "complete"
    # The traceback is stored with every failed worker of every failed trial, not only printed.
    failed_workers = sum(int(t["io_errors"]) for t in r["trials"])
    assert len(r["errors"]) == failed_workers > 0
    for e in r["errors"]:
        assert int(e["cell"]) == mine
        assert "KeyError" in gbrun.text(e["message"]), e
        detail = gbrun.text(e["detail"])
        assert detail.startswith("Traceback (most recent call last):") and "KeyError: 'no such key'" in detail, detail


STOP_JOB = textwrap.dedent("""\
    [defaults]
    repeats = 3
    warmups = 0
    engine = "cpython"
    ranks = 2
    threads = 1

    [[cell]]
    name = "fine"
    workload = "cpu"
    work = 1000

    [[cell]]
    name = "mine"
    workload = "python"
    function = "usermod:broken"
    python_path = ["lib"]
    work = 10

    [[cell]]
    name = "after"
    workload = "cpu"
    work = 1000
    """)


def test_stop_on_failure_stops_the_run_at_the_first_failed_trial_and_resume_continues(tmp_path):
    job, lib = write_job(tmp_path, STOP_JOB)
    out = tmp_path / "stop.h5"
    p = gbrun.run(2, "run", job, "-o", out, "-q", "--stop-on-failure", "--order", "cells")
    assert p.returncode == 3, p.stderr
    assert "stopped after the first trial with a failure (--stop-on-failure)" in p.stderr, p.stderr
    assert "--resume" in p.stderr, p.stderr
    r = gbrun.read_run(out)
    assert gbrun.text(r["attrs"]["status"]) == "failed"
    names = {int(c["cell"]): gbrun.text(c["name"]) for c in r["cells"]}
    ran = sorted((names[int(t["cell"])], int(t["trial"]), int(t["io_errors"])) for t in r["trials"])
    # The cell before ran whole; the failing cell stopped after its first trial; nothing after it.
    assert ran == [("fine", 0, 0), ("fine", 1, 0), ("fine", 2, 0), ("mine", 0, 2)], ran
    assert len(r["errors"]) == 2 and all("KeyError" in gbrun.text(e["message"]) for e in r["errors"])

    # Fixed, the run resumes where it stopped and completes.
    (lib / "usermod.py").write_text(USER_MODULE.replace('return {}["no such key"]', "return work"))
    p = gbrun.run(2, "run", job, "-o", out, "-q", "--stop-on-failure", "--resume")
    assert p.returncode == 3, p.stderr  # the failed trial stays stored and flagged
    r = gbrun.read_run(out)
    assert gbrun.text(r["attrs"]["status"]) == "complete"
    done = sorted((names[int(t["cell"])], int(t["trial"])) for t in r["trials"])
    assert done == [(n, t) for n in ("after", "fine", "mine") for t in range(3)], done
