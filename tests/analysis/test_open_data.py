"""Open data (docs/open-data.md): gilbench-table --format csv|json|markdown writes every table as
load() reads it (decoded strings, documented column order, NaN as empty / null); --format netcdf
gives xarray named dimensions; --format pyperf is a pyperf 1.0 benchmark suite of the cells'
measured wall times. Checked on the files the real binary wrote (--results, --switch-results,
--scaling-results) and on a run with awkward strings (pipes, newlines, quotes, non-ASCII)."""
import dataclasses
import functools
import io
import json
import math
import re
import sys

import numpy as np
import pandas as pd
import pytest

from gilbench_analysis import load
from gilbench_analysis.cli import table_main
from gilbench_analysis.export import (EXPORT_TABLES, NETCDF_GROUP, ROW_DIMS, export_table, pyperf_suite,
                                      table_frame)
from gilbench_analysis.load import COLUMNS

FIXTURES = ("results_file", "switch_file", "scaling_file")


@functools.lru_cache(maxsize=None)
def loaded(path):
    """load(path), once per file: the exports only read it (tests that change it copy it first)."""
    return load(path)


@pytest.fixture(params=FIXTURES)
def any_file(request):
    return request.getfixturevalue(request.param)


@pytest.fixture
def awkward(results_file):
    """The seed run with an errors table of strings that CSV, JSON and Markdown must escape."""
    r = load(results_file)
    errors = pd.DataFrame({"cell": np.array([0, 1], dtype="int32"), "trial": np.array([1, 2], dtype="int32"),
                           "rank": np.array([0, 1], dtype="int32"), "thread": np.array([0, 0], dtype="int32"),
                           "message": ['HTTP 503 | "busy", retry', "ZeroDivisionError: división"],
                           "detail": ["", "Traceback (most recent call last):\n  File \"x.py\", line 1\r\n|x|\\"]})
    return dataclasses.replace(r, errors=errors)


def expected_columns(r, name):
    cols = list(getattr(r, name).columns) if name != "seed" else None
    if cols is None:
        return list(table_frame(r, name).columns)
    documented = [c for c in COLUMNS[name] if c in cols]
    return documented + [c for c in cols if c not in COLUMNS[name]]


def same_value(got, want, where):
    """`got` (read back) is `want` (from load()): NaN as None/empty, numbers exactly."""
    if isinstance(want, np.generic):
        want = want.item()
    if isinstance(want, float) and math.isnan(want):
        assert got is None or got == "" or (isinstance(got, float) and math.isnan(got)), f"{where}: {got!r}, want NaN"
    elif isinstance(want, str):
        assert isinstance(got, str) and got == want, f"{where}: {got!r}, want {want!r}"
        assert not got.startswith(("b'", 'b"')), f"{where}: bytes not decoded: {got!r}"
    else:
        assert float(got) == float(want), f"{where}: {got!r}, want {want!r}"


def export(r, name, fmt) -> str:
    out = io.StringIO()
    export_table(r, name, fmt, out)
    return out.getvalue()


def check_csv(r, name, text):
    want = table_frame(r, name)
    got = pd.read_csv(io.StringIO(text), keep_default_na=False, dtype=str)
    assert list(got.columns) == list(want.columns) == expected_columns(r, name)
    assert len(got) == len(want)
    for col in want.columns:
        for i, (g, w) in enumerate(zip(got[col], want[col])):
            same_value(g if isinstance(w, str) or g != "" else None, w, f"csv {name}.{col}[{i}]")


def check_json(r, name, text):
    want = table_frame(r, name)
    rows = json.loads(text)
    assert isinstance(rows, list) and len(rows) == len(want)
    assert "NaN" not in text, "JSON has NaN, which is not JSON: a missing value must be null"
    for i, (row, (_, w)) in enumerate(zip(rows, want.iterrows())):
        assert list(row) == list(want.columns) == expected_columns(r, name), f"json {name}[{i}]: key order"
        for col in want.columns:
            same_value(row[col], w[col], f"json {name}.{col}[{i}]")


def markdown_cells(line):
    assert line.startswith("| ") and line.endswith(" |"), line
    cells = re.split(r"(?<!\\) \| ", line[2:-2] + " ")  # a cell may be empty: "|  |"
    cells[-1] = cells[-1][:-1]

    def unescape(c):
        return re.sub(r"\\(.)", r"\1", c.replace("<br>", "\n"))
    return [unescape(c) for c in cells]


def check_markdown(r, name, text):
    want = table_frame(r, name)
    lines = text.splitlines()
    assert markdown_cells(lines[0]) == list(want.columns) == expected_columns(r, name)
    assert re.fullmatch(r"\|(---:?\|)+", lines[1]) and lines[1].count("|") == len(want.columns) + 1
    assert len(lines) == len(want) + 2
    for i, (line, (_, w)) in enumerate(zip(lines[2:], want.iterrows())):
        cells = markdown_cells(line)
        assert len(cells) == len(want.columns), f"markdown {name}[{i}]: {line!r}"
        for col, c in zip(want.columns, cells):
            w_val = w[col]
            if isinstance(w_val, str):  # Markdown is for reading: a line break of any kind is <br>
                w_val = w_val.replace("\r\n", "\n")
            same_value(c if isinstance(w_val, str) or c != "" else None, w_val, f"markdown {name}.{col}[{i}]")


CHECKS = {"csv": check_csv, "json": check_json, "markdown": check_markdown}


@pytest.mark.parametrize("fmt", sorted(CHECKS))
@pytest.mark.parametrize("name", EXPORT_TABLES)
def test_every_table_round_trips(any_file, name, fmt):
    r = loaded(any_file)
    CHECKS[fmt](r, name, export(r, name, fmt))


@pytest.mark.parametrize("fmt", sorted(CHECKS))
def test_awkward_strings_round_trip(awkward, fmt):
    text = export(awkward, "errors", fmt)
    CHECKS[fmt](awkward, "errors", text)
    if fmt == "markdown":
        assert len(text.splitlines()) == 4, "a newline in a string must not start a Markdown row"


def test_nan_is_empty_in_csv_and_null_in_json(results_file):
    r = load(results_file)
    # A cell whose summary has no statistics yet (pending): NaN in every float column.
    summary = r.summary.copy()
    floats = [c for c, t in COLUMNS["summary"].items() if t == "float64"]
    summary.loc[0, floats] = np.nan
    r = dataclasses.replace(r, summary=summary)
    row0 = export(r, "summary", "csv").splitlines()[1].split(",")
    cols = list(table_frame(r, "summary").columns)
    assert all(row0[cols.index(c)] == "" for c in floats), row0
    rows = json.loads(export(r, "summary", "json"))
    assert all(rows[0][c] is None for c in floats) and rows[1]["median_s"] is not None


def test_cli_writes_each_format(results_file, tmp_path, capsys):
    r = load(results_file)
    for fmt in CHECKS:
        out = tmp_path / f"trials.{fmt}"
        assert table_main([str(results_file), "--format", fmt, "--table", "trials", "-o", str(out)]) == 0
        CHECKS[fmt](r, "trials", out.read_text(encoding="utf-8"))
    # Without --table: the summary table; without -o: standard output.
    capsys.readouterr()
    assert table_main([str(results_file), "--format", "csv"]) == 0
    check_csv(r, "summary", capsys.readouterr().out)


def test_cli_refuses_what_it_cannot_write(results_file, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        table_main([str(results_file), "--format", "netcdf"])
    assert e.value.code == 2 and "name it with -o OUT" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        table_main([str(results_file), "--format", "pyperf", "--table", "cells"])
    assert e.value.code == 2 and "--table does not apply to --format pyperf" in capsys.readouterr().err
    bad = tmp_path / "no-such-dir" / "x.csv"
    assert table_main([str(results_file), "--format", "csv", "-o", str(bad)]) == 1
    assert f"cannot write {bad}" in capsys.readouterr().err


def test_netcdf_without_xarray_names_the_packages(results_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "xarray", None)  # as if python3-xarray were not installed
    assert table_main([str(results_file), "--format", "netcdf", "-o", str(tmp_path / "x.nc")]) == 1
    assert "install python3-xarray and python3-h5netcdf" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# netCDF / xarray

def test_netcdf_has_named_dimensions(any_file, tmp_path):
    try:
        import xarray
    except ImportError as e:  # a dependency (scripts/install-deps.sh), not an option: fail, never skip
        pytest.fail(f"{e}: install python3-xarray and python3-h5netcdf (scripts/install-deps.sh)")
    r = load(any_file)
    path = tmp_path / "run.nc"
    assert table_main([str(any_file), "--format", "netcdf", "-o", str(path)]) == 0

    with xarray.open_dataset(path) as ds:
        trials = r.trials
        assert dict(ds.sizes) == {"cell": len(r.cells), "trial": int(trials["trial"].max()) + 1}
        assert list(ds["wall_s"].dims) == ["cell", "trial"]
        assert list(ds["cell"].values) == sorted(r.cells["cell"])
        assert list(ds["name"].values) == list(r.cells.sort_values("cell")["name"])
        assert ds.attrs["schema"] == "gilbench/1" and ds.attrs["run"] == r.run
        row = {c: i for i, c in enumerate(ds["cell"].values)}
        ci, ti = [row[c] for c in trials["cell"]], list(trials["trial"])
        for var in ("wall_s", "warmup", "io_errors"):
            assert list(ds[var].values[ci, ti]) == list(trials[var]), var
        # A (cell, trial) pair the run does not have is NaN, not 0.
        gaps = np.ones(ds["wall_s"].shape, dtype=bool)
        gaps[ci, ti] = False
        assert np.isnan(ds["wall_s"].values[gaps]).all() and np.isnan(ds["warmup"].values[gaps]).all()
        s = r.summary.set_index("cell")
        assert np.allclose(ds["median_s"].values, s.loc[ds["cell"].values, "median_s"], equal_nan=True)

    for name in EXPORT_TABLES:
        want = table_frame(r, name)
        with xarray.open_dataset(path, group=f"{NETCDF_GROUP}/{name}") as g:
            assert set(g.dims) == ({ROW_DIMS[name]} if len(g.data_vars) else set()), (name, dict(g.dims))
            assert g.sizes.get(ROW_DIMS[name], 0) == len(want)
            assert list(g.data_vars) == list(want.columns), name
            for col in want.columns:
                got, exp = g[col].values, want[col].to_numpy()
                if want[col].dtype == object:
                    assert [str(v) for v in got] == [str(v) for v in exp], f"{name}.{col}"
                else:
                    assert np.array_equal(got.astype(float), exp.astype(float), equal_nan=True), f"{name}.{col}"
    with open(path, "rb") as f:
        assert b"phony_dim" not in f.read(), "an unnamed dimension: xarray would call it phony_dim_N"


# ---------------------------------------------------------------------------------------------
# pyperf

def check_pyperf_layout(data):
    """The rules pyperf 1.0's loader (pyperf/_bench.py, _metadata.py) applies to a suite file:
    version "1.0"; a non-empty list of benchmarks, each with a unique non-empty name in its
    metadata and non-empty runs; values > 0; warm-ups (loops >= 1, value >= 0) pairs; metadata
    values int, float or one-line non-empty str; unit one of second/byte/integer; loops >= 1."""
    assert data["version"] == "1.0"
    assert isinstance(data["benchmarks"], list) and data["benchmarks"]

    def check_meta(meta):
        for k, v in meta.items():
            assert isinstance(k, str)
            assert isinstance(v, (int, float, str)) and not isinstance(v, bool), (k, v)
            if isinstance(v, str):
                assert v.strip() and "\n" not in v and "\r" not in v, (k, v)
        if "unit" in meta:
            assert meta["unit"] in ("second", "byte", "integer")
        if "loops" in meta:
            assert isinstance(meta["loops"], int) and meta["loops"] >= 1

    check_meta(data.get("metadata", {}))
    names = []
    for b in data["benchmarks"]:
        meta = {**data.get("metadata", {}), **b.get("metadata", {})}
        check_meta(b.get("metadata", {}))
        assert meta.get("name"), b
        names.append(meta["name"])
        assert b["runs"], meta["name"]
        for run in b["runs"]:
            check_meta(run.get("metadata", {}))
            values, warmups = run.get("values", []), run.get("warmups", [])
            assert values or warmups
            assert all(isinstance(v, (int, float)) and v > 0 for v in values)
            assert all(len(w) == 2 and isinstance(w[0], int) and w[0] >= 1 and w[1] >= 0 for w in warmups)
    assert len(names) == len(set(names)), "benchmark names must be unique"


def test_pyperf_suite_layout_and_values(any_file, tmp_path):
    r = load(any_file)
    path = tmp_path / "suite.json"
    assert table_main([str(any_file), "--format", "pyperf", "-o", str(path)]) == 0
    data = json.loads(path.read_text())
    check_pyperf_layout(data)
    by_name = {b["metadata"]["name"]: b for b in data["benchmarks"]}
    measured = r.measured
    for _, cell in r.cells.iterrows():
        mine = measured[measured["cell"] == cell["cell"]].sort_values("trial")
        if mine.empty:
            assert cell["name"] not in by_name
            continue
        b = by_name[cell["name"]]
        assert b["metadata"]["unit"] == "second" and b["metadata"]["loops"] == 1
        assert b["metadata"]["gilbench_cell"] == cell["cell"]
        assert b["metadata"]["gilbench_workload"] == cell["workload"]
        (run,) = b["runs"]
        assert run["values"] == list(mine["wall_s"])
        warm = r.trials[(r.trials["cell"] == cell["cell"]) & (r.trials["warmup"] != 0)].sort_values("trial")
        assert run.get("warmups", []) == [[1, w] for w in warm["wall_s"]]
    assert data["metadata"]["gilbench_run"] == r.run
    try:
        import pyperf  # not in Debian 12; where it is installed, its own loader must accept the file
    except ImportError:
        return
    suite = pyperf.BenchmarkSuite.load(str(path))
    assert sorted(suite.get_benchmark_names()) == sorted(by_name)
    for name, b in by_name.items():
        assert list(suite.get_benchmark(name).get_values()) == b["runs"][0]["values"]


def test_pyperf_leaves_out_failed_trials_and_empty_metadata(results_file):
    r = load(results_file)
    trials = r.trials.copy()
    first = trials[(trials["cell"] == 0) & (trials["warmup"] == 0)].index[0]
    trials.loc[first, "io_errors"] = 2      # a failed trial: not a value
    trials.loc[trials["cell"] == 1, "io_errors"] = 1   # every trial of cell 1 failed: no benchmark
    suite = pyperf_suite(dataclasses.replace(r, trials=trials))
    check_pyperf_layout(suite)
    by_name = {b["metadata"]["name"]: b for b in suite["benchmarks"]}
    name0, name1 = r.cell(0)["name"], r.cell(1)["name"]
    assert trials.loc[first, "wall_s"] not in by_name[name0]["runs"][0]["values"]
    assert name1 not in by_name
    # Empty strings (url of a cpu cell, function, python_path) are not pyperf metadata.
    assert "gilbench_function" not in by_name[name0]["metadata"]
