"""Checks the HDF5 file written by `mpirun -np 2 gilbench run small_seed.toml` (ctest fixture),
and what that run printed.

Run by ctest as: tests/run_pytest.py -- tests/integration/test_seed_file.py --results FILE --seed-log LOG
"""
import subprocess

import h5py
import numpy as np
import pytest

CELLS = ["cpu-single-thread", "cpu-multi-thread", "cpu-multi-process",
         "io-single-thread", "io-multi-thread", "io-multi-process"]
LAYOUT = {"cpu-single-thread": (1, 1), "cpu-multi-thread": (1, 2), "cpu-multi-process": (2, 1),
          "io-single-thread": (1, 1), "io-multi-thread": (1, 2), "io-multi-process": (2, 1)}
WARMUPS, REPEATS = 1, 2


@pytest.fixture(scope="module")
def run(results_file):
    with h5py.File(results_file, "r") as f:
        runs = sorted(f["runs"])
        assert runs, "no /runs/<run> group"
        g = f["runs"][runs[-1]]
        yield {
            "root": dict(f.attrs),
            "attrs": dict(g.attrs),
            "cells": g["cells"][:],
            "trials": g["trials"][:],
            "workers": g["workers"][:],
            "trace": g["trace"][:],
        }


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def cell_index(run, name):
    names = [text(n) for n in run["cells"]["name"]]
    return names.index(name)


def test_the_run_printed_the_seed_table(request):
    log = request.config.getoption("--seed-log")
    if not log:
        pytest.fail("pass --seed-log FILE (ctest does this after running the small seed job)")
    out = open(log).read()
    for row in ("single thread", "multi thread (2 threads)", "multi process (2 ranks)"):
        line = next((l for l in out.splitlines() if l.startswith(row)), None)
        assert line is not None, f"no '{row}' row in the seed table:\n{out}"
        # Two times in seconds, CPU-bound then I/O-bound.
        assert line.count(" s") >= 2, line
    assert "results: " in out


def test_h5dump_reads_the_file(results_file):
    # HDF5's own tool, not only h5py, must read the header and every attribute.
    p = subprocess.run(["h5dump", "-H", "-A", results_file], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    for dataset in ("cells", "trials", "workers", "trace", "summary"):
        assert f'DATASET "{dataset}"' in p.stdout, dataset


def test_root_and_run_attributes(run):
    assert text(run["root"]["schema"]) == "gilbench/1"
    for key in ("gilbench_version", "git_sha", "created_utc", "command_line", "mpi_library",
                "hdf5_version", "curl_version", "compiler"):
        assert text(run["root"][key]), key
    assert text(run["attrs"]["status"]) == "complete"
    assert int(run["attrs"]["ranks"]) == 2
    assert "[[cell]]" in text(run["attrs"]["job"])
    assert text(run["attrs"]["finished_utc"])


def test_cells_table(run):
    cells = run["cells"]
    assert [text(n) for n in cells["name"]] == CELLS
    for row in cells:
        name = text(row["name"])
        assert (int(row["ranks"]), int(row["threads"])) == LAYOUT[name]
        assert text(row["workload"]) == name.split("-")[0]
        assert text(row["gil"]) == "new"
        assert int(row["repeats"]) == REPEATS and int(row["warmups"]) == WARMUPS


def test_trials_table(run):
    trials = run["trials"]
    assert len(trials) == len(CELLS) * (WARMUPS + REPEATS)
    for c in range(len(CELLS)):
        rows = trials[trials["cell"] == c]
        assert list(rows["trial"]) == list(range(WARMUPS + REPEATS))
        assert list(rows["warmup"].astype(bool)) == [True] * WARMUPS + [False] * REPEATS
        assert np.all(rows["wall_s"] > 0)


def test_workers_table(run):
    workers = run["workers"]
    for name in CELLS:
        c = cell_index(run, name)
        ranks, threads = LAYOUT[name]
        rows = workers[workers["cell"] == c]
        assert len(rows) == (WARMUPS + REPEATS) * ranks * threads, name
        for t in range(WARMUPS + REPEATS):
            per = rows[rows["trial"] == t]
            pairs = sorted(zip(per["rank"].tolist(), per["thread"].tolist()))
            assert pairs == [(r, th) for r in range(ranks) for th in range(threads)]
        assert np.all(rows["end_s"] >= rows["start_s"])
        assert np.all(rows["gil_acquisitions"] >= 1)
        assert np.all(rows["gil_acquisitions"] >= rows["gil_forced_drops"])
        if name.startswith("cpu"):
            # strong scaling: the workers of a trial together count down exactly the total
            for t in range(WARMUPS + REPEATS):
                assert rows[rows["trial"] == t]["ops"].sum() == 3_000_000
        else:
            assert np.all(rows["io_errors"] == 0)
            for t in range(WARMUPS + REPEATS):
                assert rows[rows["trial"] == t]["io_requests"].sum() == 4


def test_wall_is_span_of_workers(run):
    trials, workers = run["trials"], run["workers"]
    for tr in trials:
        w = workers[(workers["cell"] == tr["cell"]) & (workers["trial"] == tr["trial"])]
        assert tr["wall_s"] == pytest.approx(w["end_s"].max() - w["start_s"].min(), rel=1e-9, abs=1e-9)


def intervals(events, start, end):
    """Pairs each `start` event with the next `end` event of the same thread."""
    out, opened = [], None
    for t, e in events:
        if e == start:
            assert opened is None, f"two {start} events without {end}"
            opened = t
        elif e == end:
            assert opened is not None, f"{end} without {start}"
            out.append((opened, t))
            opened = None
    assert opened is None, f"{start} never closed"
    return out


def thread_intervals(run, cell_name, trial, start, end):
    c = cell_index(run, cell_name)
    tr = run["trace"]
    sel = tr[(tr["cell"] == c) & (tr["trial"] == trial) & (tr["rank"] == 0)]
    per_thread = {}
    for th in sorted(set(sel["thread"].tolist())):
        rows = sel[sel["thread"] == th]
        rows = rows[np.argsort(rows["t_s"], kind="stable")]
        events = [(float(r["t_s"]), text(r["event"])) for r in rows]
        per_thread[th] = intervals([e for e in events if e[1] in (start, end)], start, end)
    return per_thread


def overlap(a, b):
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


@pytest.mark.parametrize("trial", range(WARMUPS + REPEATS))
def test_cpu_threads_never_hold_the_gil_at_once(run, trial):
    held = thread_intervals(run, "cpu-multi-thread", trial, "take", "drop")
    assert sorted(held) == [0, 1]
    assert all(held[t] for t in held), "each thread held the GIL at least once"
    for a in held[0]:
        for b in held[1]:
            assert overlap(a, b) == 0.0, f"thread 0 held {a} while thread 1 held {b}"


@pytest.mark.parametrize("trial", range(WARMUPS + REPEATS))
def test_io_threads_wait_for_responses_at_the_same_time(run, trial):
    io = thread_intervals(run, "io-multi-thread", trial, "io_start", "io_end")
    assert sorted(io) == [0, 1]
    # Each thread's 2 requests release the GIL around the 11 blocking calls of urllib's GET
    # with a timeout (getaddrinfo, socket, settimeout's ioctl, connect, poll, SO_ERROR, poll,
    # send, poll, recv, close: http/plain_http.cpp): 22 GIL-free stretches per thread.
    assert len(io[0]) == 22 and len(io[1]) == 22, (len(io[0]), len(io[1]))
    together = sum(overlap(a, b) for a in io[0] for b in io[1])
    # Each of a thread's 2 requests waits >= 50 ms at the server; with the GIL released while
    # waiting, the two threads' waits run side by side (ideally ~100 ms in all). Holding the
    # GIL through a wait would give 0; at least one request's delay must overlap.
    assert together >= 0.05, f"the two I/O threads waited together for only {together * 1e3:.1f} ms"
