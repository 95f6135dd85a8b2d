"""The analysis loader on files written by the real binary (ctest's small jobs), on edited
copies of them (tables gilbench does not write yet, an interrupted tail) and on wrong files."""
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from gilbench_analysis import SchemaError, cell_summary, list_runs, load, seed_table, seed_table_text
from h5edit import copy_file, read_table, rewrite_table

TOOL = Path(__file__).resolve().parents[2] / "analysis" / "gilbench-table"


def test_loads_every_table(results_file):
    r = load(results_file)
    assert r.status == "complete"
    assert list(r.cells["name"])[:2] == ["cpu-single-thread", "cpu-multi-thread"]
    assert isinstance(r.cells["name"][0], str)
    assert {"cell", "trial", "warmup", "wall_s"} <= set(r.trials.columns)
    assert {"rank", "thread", "node", "gil_forced_drops", "io_errors"} <= set(r.workers.columns)
    assert set(r.trace["event"]) >= {"take", "drop", "io_start", "io_end"}
    assert isinstance(r.trace["event"].iloc[0], str)
    assert r.run in list_runs(results_file)
    assert r.root["schema"] == "gilbench/1"
    assert r.notes == []


def test_tables_and_fields_of_older_files_get_their_defaults(results_file, tmp_path):
    # Files written before the mixed workload have no `requests` table and no cells.io_threads;
    # before the per-request deadline, no cells.io_timeout_s.
    path = copy_file(results_file, tmp_path / "old.h5")
    with h5py.File(path, "a") as f:
        g = f["runs"][list_runs(path)[-1]]
        if "requests" in g:
            del g["requests"]
        cells = read_table(g, "cells")
        rewrite_table(g, "cells", cells.drop(columns=["io_threads", "io_timeout_s"], errors="ignore"))
        # ... and, before trial failures and trace overflows were counted, no trials.io_errors
        # and no workers.trace_dropped.
        rewrite_table(g, "trials", read_table(g, "trials").drop(columns=["io_errors"], errors="ignore"))
        rewrite_table(g, "workers", read_table(g, "workers").drop(columns=["trace_dropped"], errors="ignore"))
    r = load(path)
    assert (r.cells["io_timeout_s"] == 30.0).all()   # gilbench's limit per GET before the field existed
    assert (r.trials["io_errors"] == 0).all() and r.trials["io_errors"].dtype == np.int64
    assert (r.workers["trace_dropped"] == 0).all() and r.workers["trace_dropped"].dtype == np.int64
    assert r.failed.empty and len(r.measured) == int((r.trials["warmup"] == 0).sum())
    assert r.requests.empty
    assert {"cell", "trial", "rank", "thread", "request", "start_s", "end_s", "ok"} <= set(r.requests.columns)
    assert (r.cells["io_threads"] == 0).all()   # the schema's value for cells that are not mixed
    assert r.cells["io_threads"].dtype == np.int32


def test_hosts(results_file):
    r = load(results_file)
    assert r.hosts and set(r.workers["host"]) <= set(r.hosts)


def test_summary_and_seed_table(results_file):
    r = load(results_file)
    s = cell_summary(r)
    assert list(s["count"]) == [2] * 6  # repeats only, warm-ups left out
    assert (s["min"] <= s["median"]).all() and (s["median"] <= s["max"]).all()
    t = seed_table(r)
    assert list(t.index) == ["single thread", "multi thread", "multi process"]
    assert list(t.columns) == ["CPU-bound", "I/O-bound"]
    assert t.notna().all().all()


def test_trials_with_io_errors_are_left_out_and_counted(results_file, tmp_path):
    # The real file's first measured trial of the I/O single-thread cell, marked failed.
    path = copy_file(results_file, tmp_path / "failed.h5")
    with h5py.File(path, "a") as f:
        g = f["runs"][list_runs(path)[-1]]
        trials = read_table(g, "trials")
        cells = read_table(g, "cells")
        io1 = int(cells[(cells["workload"] == "io") & (cells["ranks"] == 1) & (cells["threads"] == 1)]["cell"].iloc[0])
        first = trials[(trials["cell"] == io1) & (trials["warmup"] == 0)].index[0]
        trials.loc[first, "io_errors"] = 4
        rewrite_table(g, "trials", trials)
    r = load(path)
    assert len(r.failed) == 1 and int(r.failed["cell"].iloc[0]) == io1
    assert io1 in set(r.measured["cell"]) and first not in r.measured.index
    s = cell_summary(r).set_index("cell")
    assert (s.loc[io1, "count"], s.loc[io1, "failed"]) == (1, 1)
    assert (s.drop(index=io1)["failed"] == 0).all()
    text = seed_table_text(r)
    assert text.loc["single thread", "I/O-bound"].endswith(" s (1 of 2 failed)")
    assert not text.loc["single thread", "CPU-bound"].endswith("failed)")


def test_trace_off_skips_the_trace(results_file):
    r = load(results_file, trace=False)
    assert r.trace.empty and "event" in r.trace.columns and not r.workers.empty


def test_columnar_tables_load_like_compound_ones(results_file, tmp_path):
    # The schema allows a table to be a group with one dataset per column.
    path = copy_file(results_file, tmp_path / "columnar.h5")
    with h5py.File(path, "a") as f:
        g = f["runs"][list_runs(results_file)[-1]]
        workers = g["workers"][:]
        del g["workers"]
        cols = g.create_group("workers")
        for name in workers.dtype.names:
            cols[name] = workers[name]
    a, b = load(results_file), load(path)
    assert a.workers.equals(b.workers)


def test_unfinished_trial_rows_are_left_out(results_file, tmp_path):
    # A run killed mid-trial: workers/trace rows of a trial that never reached `trials`.
    path = copy_file(results_file, tmp_path / "cut.h5")
    run = list_runs(results_file)[-1]
    with h5py.File(path, "a") as f:
        g = f["runs"][run]
        trials = read_table(g, "trials")
        last = trials.iloc[-1]
        rewrite_table(g, "trials", trials.iloc[:-1])
        g.attrs["status"] = "running"
    r = load(path)
    assert r.stored_status == "running"
    assert r.status == "interrupted (its writer is gone)"   # no process writes the copy (writer.py)
    gone = (r.workers["cell"] == last["cell"]) & (r.workers["trial"] == last["trial"])
    assert not gone.any()
    assert any("unfinished trials left out" in n for n in r.notes)
    assert len(r.trials) == len(load(results_file).trials) - 1


def test_reads_an_interrupted_run_of_the_real_binary(gilbench_binary, tmp_path):
    mpiexec, exe = gilbench_binary
    job = tmp_path / "long.toml"
    # Cells order: every trial of "a" before any of "never-reached" (rounds, the default, would
    # interleave them).
    job.write_text('[job]\norder = "cells"\n[defaults]\nworkload = "cpu"\nwork = 1_000_000\nwarmups = 0\n'
                   'repeats = 400\n[[cell]]\nname = "a"\nthreads = 2\n[[cell]]\nname = "never-reached"\n')
    out = tmp_path / "int.h5"
    proc = subprocess.Popen([mpiexec, "-n", "1", exe, "run", str(job), "-o", str(out), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Read while the run writes (the loader falls back to an unlocked read), until some
        # trials are in; then interrupt as Slurm's --signal would (mpirun forwards SIGUSR1).
        seen, deadline = None, time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                seen = load(str(out))
                if len(seen.trials) >= 3:
                    break
            # Not created yet, or caught mid-write (h5py then raises RuntimeError too, e.g.
            # "Can't determine # of objects (addr overflow ...)" from a half-written group).
            except (SchemaError, OSError, KeyError, RuntimeError):
                pass
            time.sleep(0.05)
        if proc.poll() is not None:
            pytest.fail(f"gilbench ended before it was interrupted (rc {proc.returncode}): {proc.communicate()[1]}")
        assert seen is not None and len(seen.trials) >= 3, "no trial appeared within 60 s"
        assert seen.status == "running"
        proc.send_signal(signal.SIGUSR1)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    r = load(str(out))
    assert r.status == "interrupted"
    s = cell_summary(r).set_index("name")
    assert s.at["a", "count"] >= 3 and s.at["never-reached", "count"] == 0
    assert not r.workers.empty


def test_rejects_other_schema(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.attrs["schema"] = "something/2"
    with pytest.raises(SchemaError, match="has schema 'something/2', expected 'gilbench/1'"):
        load(str(other))
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(SchemaError, match="no 'schema' attribute, expected 'gilbench/1'"):
        load(str(plain))
    not_h5 = tmp_path / "x.h5"
    not_h5.write_text("hello")
    with pytest.raises(SchemaError, match="not a readable HDF5 file"):
        load(str(not_h5))
    with pytest.raises(SchemaError, match="no such file"):
        load(str(tmp_path / "missing.h5"))


def test_unknown_run_names_the_runs(results_file):
    with pytest.raises(SchemaError, match=r"no run 'run-999'; it has run-000"):
        load(results_file, "run-999")


def test_command_line_tool(results_file, tmp_path):
    ok = subprocess.run([sys.executable, str(TOOL), results_file], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "multi process" in ok.stdout and "CPU-bound" in ok.stdout
    bad = tmp_path / "bad.h5"
    bad.write_text("x")
    fail = subprocess.run([sys.executable, str(TOOL), str(bad)], capture_output=True, text=True, timeout=60)
    assert fail.returncode == 1 and "gilbench-table: error:" in fail.stderr
