"""engine = "cpython" end to end: `mpirun -np 2 gilbench run` on a job with cells of both
engines (the countdown as 1 thread, 2 threads and 2 ranks, GETs, and the user's own function
from a module next to the job file) writes one file; the analysis loader reads it. Then the
ways such a run is refused or fails: a module that does not import (every rank stops, the
traceback in the message) and a function that raises (its trials flagged, the traceback printed
once, exit status 3).
"""
import math
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
    # The seed table once per engine, each with its three rows.
    for engine in ("emulated", "cpython"):
        table = p.stdout[p.stdout.index(f"engine {engine}:"):]
        assert [line.split()[0] for line in table.splitlines()[2:5]] == ["single", "multi", "multi"], p.stdout
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
