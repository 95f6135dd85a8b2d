"""What each cell's engine measured: the cells table's engine columns (engine_label, engine_real,
gil_counters, trace_events, request_timings, lock_free), written from the engine's description.

A file written before them lacks the columns; the loader fills them in from the engine's and the
GIL's names (load.engine_columns_for_old_file, the one place that knows those names). Checked:
on files the real binary wrote, with the columns taken out again, the loader fills in exactly
what the writer wrote (here on the emulated fixture files; test_engines.py and test_four_ways.py
do the same on their files with CPython, subinterpreter and free-threaded cells), and the rules
themselves row by row, an engine the loader has never heard of included."""
import h5py
import numpy as np
import pandas as pd
import pytest

from gilbench_analysis import load
from gilbench_analysis.load import COLUMNS, ENGINE_COLUMNS, engine_columns_for_old_file
from h5edit import copy_file, read_table, rewrite_table


def without_engine_columns(src, dst) -> str:
    """A copy of a results file whose every run's cells table lacks the engine columns, as a
    file written before them."""
    path = copy_file(src, dst)
    with h5py.File(path, "a") as f:
        for run in f["runs"].values():
            cells = read_table(run, "cells")
            assert set(ENGINE_COLUMNS) <= set(cells.columns), "the writer wrote no engine columns"
            rewrite_table(run, "cells", cells.drop(columns=list(ENGINE_COLUMNS)))
    return path


def check_old_file_loads_as_written(path, tmp_path):
    """The loader fills in, for the same file without the columns, the values the writer wrote."""
    written = load(path).cells
    old = without_engine_columns(path, tmp_path / "old.h5")
    with h5py.File(old, "r") as f:
        assert not set(ENGINE_COLUMNS) & set(f["runs"][sorted(f["runs"])[-1]]["cells"].dtype.names)
    filled = load(old).cells
    for col in ENGINE_COLUMNS:
        assert str(filled[col].dtype) == COLUMNS["cells"][col], col
        assert filled[col].tolist() == written[col].tolist(), col
    return written


@pytest.mark.parametrize("fixture", ["results_file", "scaling_file", "switch_file"])
def test_old_emulated_files_get_what_the_writer_wrote(fixture, request, tmp_path):
    cells = check_old_file_loads_as_written(request.getfixturevalue(fixture), tmp_path)
    assert set(cells["engine_label"]) == {"emulated"} and set(cells["trace_events"]) == {"full"}
    assert (cells["gil_counters"] == 1).all() and (cells["engine_real"] == 0).all()
    # The scaling job has cells with gil = "none": no lock.
    assert cells["lock_free"].tolist() == (cells["gil"] == "none").astype(int).tolist()


def rows(*cells):
    return pd.DataFrame([dict(zip(("engine", "workload", "gil", "parallel"), c)) for c in cells])


def test_old_engine_rules_row_by_row():
    out = engine_columns_for_old_file(rows(
        ("emulated", "io", "old", "subinterpreters"),
        ("cpython", "cpu", "new", "threads"),
        ("cpython", "cpu", "new", "subinterpreters"),
        ("cpython", "io", "new", "threads"),
        ("cpython", "python", "none", "threads"),
        ("pypy", "cpu", "new", "threads"),                  # never heard of: its name, nothing measured
        ("emulated", "cpu", "free-threaded-3.13", "threads"),
        ("emulated", "cpu", "free-threaded-3.14", "threads")))
    assert [tuple(r) for r in out[list(ENGINE_COLUMNS)].itertuples(index=False)] == [
        ("emulated", 0, 1, "full", 1, 0),
        ("CPython", 1, 0, "takes", 1, 0),
        ("CPython", 1, 0, "none", 1, 0),
        ("CPython", 1, 0, "none", 1, 0),
        ("CPython", 1, 0, "none", 1, 1),
        ("pypy", 0, 0, "none", 0, 0),
        ("emulated", 0, 1, "full", 1, 1),
        ("emulated", 0, 1, "full", 1, 1)]
    for col in ENGINE_COLUMNS:
        assert str(out[col].dtype) == COLUMNS["cells"][col], col


def test_columns_a_table_has_are_kept():
    # A file that has them is read as written, whatever the engine's name would say.
    cells = rows(("cpython", "cpu", "new", "threads")).assign(gil_counters=np.uint8(1), engine_label="Mine")
    out = engine_columns_for_old_file(cells)
    assert out.at[0, "gil_counters"] == 1 and out.at[0, "engine_label"] == "Mine"
    assert out.at[0, "trace_events"] == "takes" and out.at[0, "engine_real"] == 1
    full = engine_columns_for_old_file(out)
    assert full is out                                     # nothing missing: the table as it is
    empty = engine_columns_for_old_file(rows().reindex(columns=["engine", "workload", "gil", "parallel"]))
    assert empty.empty and set(ENGINE_COLUMNS) <= set(empty.columns)
