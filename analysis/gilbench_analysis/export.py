"""Open data: a run's tables as CSV, JSON, Markdown, netCDF (xarray) or a pyperf suite.

    from gilbench_analysis import load
    from gilbench_analysis.export import export_table, write_netcdf, pyperf_suite
    r = load("results/seed.h5")
    export_table(r, "trials", "csv", "trials.csv")
    write_netcdf(r, "seed.nc")                 # needs python3-xarray and python3-h5netcdf
    json.dump(pyperf_suite(r), open("seed.pyperf.json", "w"))

Every table comes out as load() returns it: string columns decoded, columns in the documented
order (load.COLUMNS, then any the loader adds, such as workers.host), missing values (NaN) as an
empty CSV field, JSON null, an empty Markdown cell or a netCDF NaN. docs/open-data.md describes
each format; docs/hdf5-schema.md says what each column means.
"""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd

from .load import COLUMNS, TABLES, Results
from .tables import seed_summary

# Tables `table_frame` gives: the file's own, and the seed table in long form (one row per slot).
EXPORT_TABLES = TABLES + ("seed",)
TEXT_FORMATS = ("csv", "json", "markdown")

# The netCDF file: the root group is the cells × trials view (wall times as a 2-D array); each
# table is also stored whole in a group of its own, one dimension per table, named so that
# xarray shows what a row is.
ROW_DIMS = {"cells": "cell_row", "trials": "trial_row", "workers": "worker_row", "trace": "event_row",
            "requests": "request_row", "summary": "summary_row", "errors": "error_row", "seed": "seed_row"}
# Under one group, not the root: a table's name may be a variable's too (cells.trace).
NETCDF_GROUP = "tables"
# pyperf's JSON format version 1.0 (pyperf >= 1.0): warm-ups are (loops, value per loop) pairs.
PYPERF_VERSION = "1.0"


def table_frame(results: Results, name: str) -> pd.DataFrame:
    """The table `name` (EXPORT_TABLES) with its documented columns first, in load.COLUMNS order."""
    if name == "seed":
        return seed_summary(results)
    if name not in TABLES:
        raise ValueError(f"no table {name!r}; tables are {', '.join(EXPORT_TABLES)}")
    df = getattr(results, name)
    documented = [c for c in COLUMNS[name] if c in df.columns]
    return df[documented + [c for c in df.columns if c not in COLUMNS[name]]].reset_index(drop=True)


def _plain(value):
    """A cell's value as a plain Python value for JSON: numpy scalars unwrapped, NaN as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bytes):  # not from load(), which decodes; a hand-built frame may have them
        return value.decode("utf-8", errors="replace")
    return value


def table_records(df: pd.DataFrame) -> list[dict]:
    """Rows as dicts in column order, values JSON-ready (NaN as None)."""
    columns = list(df.columns)
    return [{c: _plain(v) for c, v in zip(columns, row)} for row in df.itertuples(index=False, name=None)]


def _markdown_cell(value) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, float):
        text = repr(value)   # the shortest text that reads back as the same float
    else:
        text = str(value)
    # A pipe would end the cell and a newline the row (errors.detail holds tracebacks).
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r\n", "<br>").replace("\n", "<br>")


def markdown_text(df: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table; numeric columns right-aligned."""
    numeric = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    lines = ["| " + " | ".join(_markdown_cell(c) for c in df.columns) + " |",
             "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    for row in df.itertuples(index=False, name=None):
        lines.append("| " + " | ".join(_markdown_cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def export_table(results: Results, name: str, fmt: str, out) -> None:
    """Writes table `name` as `fmt` (TEXT_FORMATS) to `out`, a path or an open text file."""
    if fmt not in TEXT_FORMATS:
        raise ValueError(f"format {fmt!r}: one of {', '.join(TEXT_FORMATS)}")
    df = table_frame(results, name)
    if fmt == "csv":
        text = df.to_csv(index=False, na_rep="", lineterminator="\n")
    elif fmt == "json":
        text = json.dumps(table_records(df), allow_nan=False, ensure_ascii=False) + "\n"
    else:
        text = markdown_text(df)
    if hasattr(out, "write"):
        out.write(text)
    else:
        with open(out, "w", encoding="utf-8", newline="") as f:
            f.write(text)


# ---------------------------------------------------------------------------------------------
# netCDF (xarray)

def _xarray():
    try:
        import xarray
        import h5netcdf  # noqa: F401  (the engine xarray writes with; import it to name the fix)
    except ImportError as e:
        raise RuntimeError(f"the netCDF export needs xarray and h5netcdf ({e}): install python3-xarray and "
                           "python3-h5netcdf (Debian), or pip install xarray h5netcdf") from e
    return xarray


def _attr_value(value):
    """A results-file attribute as a netCDF attribute: scalars as they are, lists as JSON text
    (a netCDF attribute cannot hold an empty list or a list of strings of every kind)."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return value
    return json.dumps(_plain(value) if not isinstance(value, (list, tuple)) else [_plain(v) for v in value])


def _variable(series: pd.Series) -> np.ndarray:
    # Strings as fixed numpy unicode (xarray writes them as netCDF strings); an empty table's
    # object column has no strings to infer the type from.
    if series.dtype == object:
        return np.array([str(v) for v in series], dtype=str) if len(series) else np.array([], dtype="<U1")
    return series.to_numpy()


def _table_dataset(xarray, df: pd.DataFrame, dim: str, attrs: dict):
    return xarray.Dataset({c: ((dim,), _variable(df[c])) for c in df.columns}, attrs=attrs)


def cells_by_trial(results: Results):
    """The run as an xarray Dataset with dimensions (cell, trial): wall_s, warmup and io_errors
    per trial (NaN where a cell has no such trial), the cell's settings as coordinates along
    `cell`, and gilbench's own statistics (the summary table) as variables along `cell`."""
    xarray = _xarray()
    cells = results.cells.sort_values("cell").reset_index(drop=True)
    trials = results.trials
    cell_ids = cells["cell"].to_numpy()
    n_trials = int(trials["trial"].max()) + 1 if not trials.empty else 0
    trial_ids = np.arange(n_trials, dtype="int32")
    index = {c: i for i, c in enumerate(cell_ids)}
    grids = {}
    for col in ("wall_s", "warmup", "io_errors"):
        grid = np.full((len(cell_ids), n_trials), np.nan)
        for c, t, v in zip(trials["cell"], trials["trial"], trials[col]):
            if c in index:
                grid[index[c], t] = v
        grids[col] = grid
    coords = {"cell": ("cell", cell_ids), "trial": ("trial", trial_ids)}
    for col in cells.columns:
        if col != "cell":
            coords[col] = ("cell", _variable(cells[col]))
    data = {col: (("cell", "trial"), grid) for col, grid in grids.items()}
    summary = results.summary.set_index("cell").reindex(cell_ids)
    for col in summary.columns:
        # The summary's `trials` (trials run) would read as the dimension; name it for what it is.
        name = "summary_trials" if col == "trials" else col
        if summary[col].dtype == object:
            data[name] = ("cell", _variable(summary[col].fillna("")))
        else:
            # Integers stay integers unless a cell has no summary row yet (then float, NaN).
            data[name] = ("cell", summary[col].to_numpy())
    attrs = {k: _attr_value(v) for k, v in {**results.root, **results.attrs}.items()}
    attrs.update(source_file=results.path, run=results.run,
                 description="gilbench run: trial wall times per cell (dims cell, trial); the tables "
                             "whole in groups " + ", ".join(f"{NETCDF_GROUP}/{t}" for t in EXPORT_TABLES)
                             + " (docs/open-data.md)")
    ds = xarray.Dataset(data, coords=coords, attrs=attrs)
    ds["wall_s"].attrs.update(units="s", long_name="wall time of the trial (slowest rank)")
    ds["warmup"].attrs.update(long_name="1: warm-up trial, left out of statistics")
    ds["io_errors"].attrs.update(long_name="failed HTTP requests in the trial (> 0: left out of statistics)")
    return ds


def write_netcdf(results: Results, path) -> None:
    """Writes the run as netCDF-4 (HDF5, engine h5netcdf): the root group is cells_by_trial();
    group tables/<table> holds each table whole along dimension ROW_DIMS[table]."""
    xarray = _xarray()
    path = str(path)
    # Integer grids with gaps are stored as integers with a fill value, as CF does; xarray
    # reads them back as floats with NaN for the gaps.
    encoding = {"warmup": {"dtype": "int8", "_FillValue": -1}, "io_errors": {"dtype": "int64", "_FillValue": -1}}
    cells_by_trial(results).to_netcdf(path, mode="w", engine="h5netcdf", encoding=encoding)
    for name in EXPORT_TABLES:
        df = table_frame(results, name)
        ds = _table_dataset(xarray, df, ROW_DIMS[name], {"table": name, "schema": "docs/hdf5-schema.md"})
        ds.to_netcdf(path, mode="a", group=f"{NETCDF_GROUP}/{name}", engine="h5netcdf")


# ---------------------------------------------------------------------------------------------
# pyperf

def _pyperf_date(utc: str) -> str | None:
    # pyperf dates are ISO 8601 with a space separator and no zone ("2016-10-21 03:14:19").
    m = re.fullmatch(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?Z?", utc or "")
    return f"{m.group(1)} {m.group(2)}" if m else None


def _metadata(items: dict) -> dict:
    """pyperf accepts metadata values of type int, float or str, strings non-empty and on one
    line: leave out what is empty, flatten what is not."""
    out = {}
    for k, v in items.items():
        v = _plain(v)
        if v is None or isinstance(v, bool):
            continue
        if isinstance(v, (list, tuple)):
            v = ", ".join(str(_plain(x)) for x in v)
        if isinstance(v, str):
            v = " ".join(v.split())
            if not v:
                continue
        if isinstance(v, float) and not math.isfinite(v):
            continue
        out[k] = v
    return out


# Cell settings carried into each benchmark's metadata (prefixed "gilbench_"), and what of the run.
PYPERF_CELL_FIELDS = ("cell", "workload", "gil", "engine", "parallel", "ranks", "threads", "work", "scaling",
                      "switch_interval_s", "io_threads", "placement", "function", "python_path")


def pyperf_suite(results: Results) -> dict:
    """The run's cell timings as a pyperf benchmark suite (pyperf's JSON format 1.0): one benchmark
    per cell, named after the cell, with one run whose values are the cell's measured wall times
    in seconds (warm-ups and trials with I/O errors left out, as in every statistic) and whose
    warm-ups are the warm-up trials. A cell with no clean measured trial has no benchmark.
    Load it with pyperf.BenchmarkSuite.load(path); compare two with `python3 -m pyperf compare_to`."""
    trials = results.trials
    measured = results.measured
    warmups = trials[trials["warmup"] != 0]
    benchmarks = []
    for _, cell in results.cells.sort_values("cell").iterrows():
        values = [float(v) for v in measured.loc[measured["cell"] == cell["cell"]].sort_values("trial")["wall_s"]
                  if v > 0]
        if not values:
            continue
        warm = [[1, float(v)] for v in warmups.loc[warmups["cell"] == cell["cell"]].sort_values("trial")["wall_s"]
                if v >= 0]
        meta = {"name": cell["name"], "unit": "second", "loops": 1}
        meta.update(_metadata({f"gilbench_{k}": cell[k] for k in PYPERF_CELL_FIELDS if k in cell.index}))
        run = {"values": values}
        if warm:
            run["warmups"] = warm
        benchmarks.append({"metadata": meta, "runs": [run]})
    a = results.attrs
    suite_meta = _metadata({
        "description": f"gilbench job {a.get('job_name', '')}: {results.path} /runs/{results.run}",
        "date": _pyperf_date(a.get("started_utc", "")),
        "hostname": a.get("hosts"), "platform": a.get("os"), "cpu_model_name": a.get("cpu_model"),
        "gilbench_version": a.get("gilbench_version"), "gilbench_git_sha": a.get("git_sha"),
        "gilbench_job": a.get("job_name"), "gilbench_run": results.run, "gilbench_status": results.status,
        "mpi_library": a.get("mpi_library"), "compiler": a.get("compiler"),
    })
    return {"version": PYPERF_VERSION, "metadata": suite_meta, "benchmarks": benchmarks}


def write_pyperf(results: Results, out) -> int:
    """Writes pyperf_suite() as JSON to a path or open text file; returns the number of benchmarks."""
    suite = pyperf_suite(results)
    if not suite["benchmarks"]:
        raise ValueError(f"{results.label()}: no cell has a measured trial, so there is no benchmark to write "
                         "(pyperf needs at least one); let the run finish, or pick another --run")
    text = json.dumps(suite, indent=1, sort_keys=True, allow_nan=False, ensure_ascii=False) + "\n"
    if hasattr(out, "write"):
        out.write(text)
    else:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
    return len(suite["benchmarks"])
