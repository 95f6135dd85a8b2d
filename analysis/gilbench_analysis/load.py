"""Turns a gilbench HDF5 file (schema gilbench/1, docs/hdf5-schema.md) into pandas DataFrames.

    from gilbench_analysis import load
    r = load("results/seed.h5")            # the latest run; load(path, "run-000") for another
    r.cells, r.trials, r.workers, r.trace, r.requests, r.summary, r.attrs

Fields are read by name, never by position, and tables or fields that a file does not have yet
(`requests`, `cells.io_threads`, `cells.placement`, `trials.io_errors`, `workers.trace_dropped`,
...) come back empty or with their documented default (0: older files flagged no failed trial),
so files of older and newer gilbench/1 writers load alike. What each cell's engine measured
(`cells.gil_counters`, `trace_events`, ...: ENGINE_COLUMNS) is read from the file, or, for a
file written before those columns, filled in by engine_columns_for_old_file. Runs that were
interrupted (or are still being written) load too: only trials that are in `trials` count, as
the schema says.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import h5py
import numpy as np
import pandas as pd

from .writer import run_status

SCHEMA = "gilbench/1"
TABLES = ("cells", "trials", "workers", "trace", "requests", "summary", "errors")

# Columns each table is guaranteed to have after loading, with their dtype. A table missing
# from the file comes back empty with these columns, and a column missing from an older file
# gets its entry in DEFAULTS, else 0 or "" (cells.io_threads: 0, as the schema says for cells
# that are not mixed), so code downstream needs no special case. tests/analysis/
# test_schema_columns.py checks these against what the binary writes and docs/hdf5-schema.md.
COLUMNS = {
    "cells": {"cell": "int32", "name": "object", "workload": "object", "gil": "object",
              "ranks": "int32", "threads": "int32", "work": "int64", "scaling": "object",
              "switch_interval_s": "float64", "check_interval": "int32", "url": "object",
              "latency_s": "float64", "keep_alive": "uint8", "repeats": "int32",
              "warmups": "int32", "trace": "uint8", "io_threads": "int32", "placement": "object",
              "io_timeout_s": "float64", "time_budget_s": "float64", "precision": "float64", "engine": "object",
              "function": "object", "python_path": "object", "parallel": "object",
              # What the cell's engine measured, written from its description (the writer's
              # engine_columns(), src/model/engines.hpp): the analysis asks these, never the
              # engine's name. Files written before them get engine_columns_for_old_file().
              "engine_label": "object", "engine_real": "uint8", "gil_counters": "uint8",
              "trace_events": "object", "request_timings": "uint8", "lock_free": "uint8"},
    # What the machine did meanwhile (others_cpus, steal, reference_slowdown, cpu_share: NaN =
    # not measured) and whether the runner flagged the trial disturbed (`disturbance`: why).
    "trials": {"cell": "int32", "trial": "int32", "warmup": "uint8", "wall_s": "float64",
               "io_errors": "int64", "others_cpus": "float64", "steal": "float64",
               "reference_slowdown": "float64", "cpu_share": "float64", "disturbed": "uint8",
               "disturbance": "object", "round": "int32"},
    "workers": {"cell": "int32", "trial": "int32", "rank": "int32", "thread": "int32",
                "node": "int32", "start_s": "float64", "end_s": "float64", "ops": "int64",
                "gil_acquisitions": "int64", "gil_wait_s": "float64", "gil_hold_s": "float64",
                "gil_forced_drops": "int64", "io_requests": "int64", "io_errors": "int64",
                "trace_dropped": "int64", "cpu_s": "float64"},
    "trace": {"cell": "int32", "trial": "int32", "rank": "int32", "thread": "int32",
              "t_s": "float64", "event": "object"},
    "requests": {"cell": "int32", "trial": "int32", "rank": "int32", "thread": "int32",
                 "request": "int32", "start_s": "float64", "end_s": "float64", "ok": "uint8"},
    # The statistics gilbench printed, one row per cell (state "pending" until the cell ran).
    "summary": {"cell": "int32", "state": "object", "trials": "int32", "n": "int32",
                "median_s": "float64", "min_s": "float64", "max_s": "float64", "mean_s": "float64",
                "std_s": "float64", "ci_low_s": "float64", "ci_high_s": "float64",
                "ci_level": "float64", "rank_min_s": "float64", "rank_avg_s": "float64",
                "rank_max_s": "float64", "failed_trials": "int32", "disturbed_trials": "int32"},
    # What went wrong in each worker that failed: a request's error, or a Python traceback.
    "errors": {"cell": "int32", "trial": "int32", "rank": "int32", "thread": "int32",
               "message": "object", "detail": "object"},
}

# Defaults other than 0 / "": files written before cells.placement ran every cell on the first
# `ranks` world ranks, as the launcher placed them, which is what "launch" means; files written
# before cells.io_timeout_s gave each HTTP GET 30 s, gilbench's default; files written before
# cells.engine ran every cell on the emulated engine; before cells.parallel every rank's threads
# shared one interpreter ("threads"); before workers.cpu_s it was not measured, nor, before the
# trials' disturbance probes, what the machine did meanwhile (NaN; `disturbed` 0: none flagged).
DEFAULTS = {("cells", "placement"): "launch", ("cells", "io_timeout_s"): 30.0, ("cells", "engine"): "emulated",
            ("cells", "parallel"): "threads", ("workers", "cpu_s"): float("nan"),
            **{("trials", c): float("nan") for c in ("others_cpus", "steal", "reference_slowdown", "cpu_share")}}
# The engine whose cells ran before cells.engine existed: gilbench's default. Titles leave it
# unnamed (as they read before there were engines) and name any other engine by its label.
DEFAULT_ENGINE = DEFAULTS["cells", "engine"]
ENGINE_COLUMNS = ("engine_label", "engine_real", "gil_counters", "trace_events", "request_timings", "lock_free")


def engine_columns_for_old_file(cells: pd.DataFrame) -> pd.DataFrame:
    """`cells` with the engine columns a file written before them lacks, filled in from
    `engine` and `gil` (and, for the cpython engine's trace, `workload` and `parallel`) as the
    engines of that time measured; columns the table has are kept as they are.

    The one place in analysis/ that maps engine names to what they measured, and GIL names to
    "no lock": everything else reads the columns. An engine this function does not know gets
    its name as the label and nothing measured."""
    missing = [c for c in ENGINE_COLUMNS if c not in cells.columns]
    if not missing:
        return cells
    lock_free_gils = ("none", "free-threaded-3.13", "free-threaded-3.14")   # model::lock_free

    def described(row) -> tuple:   # (label, real, gil_counters, trace_events, request_timings)
        engine = row.get("engine", DEFAULT_ENGINE)
        if engine == "emulated":
            return "emulated", 0, 1, "full", 1
        if engine == "cpython":   # its probe sees takes in a countdown whose threads share a GIL
            probed = row.get("workload") == "cpu" and row.get("parallel", DEFAULTS["cells", "parallel"]) == "threads"
            return "CPython", 1, 0, "takes" if probed else "none", 1
        return engine, 0, 0, "none", 0

    rows = [described(r) for _, r in cells.iterrows()]
    values = dict(zip(ENGINE_COLUMNS[:5], zip(*rows))) if rows else {c: () for c in ENGINE_COLUMNS[:5]}
    values["lock_free"] = tuple(g in lock_free_gils for g in cells["gil"])
    out = cells.copy()
    for col in missing:
        dtype = COLUMNS["cells"][col]
        out[col] = pd.Series(list(values[col]), index=cells.index, dtype=dtype)
    return out


class SchemaError(ValueError):
    """The file is not a readable gilbench/1 results file (or lacks the run asked for)."""


@dataclass
class Results:
    """One run of a results file. Warm-up trials are kept (flagged); see `measured`."""
    path: str
    run: str
    root: dict
    attrs: dict
    cells: pd.DataFrame
    trials: pd.DataFrame
    workers: pd.DataFrame
    trace: pd.DataFrame = field(default_factory=lambda: _empty("trace"))
    requests: pd.DataFrame = field(default_factory=lambda: _empty("requests"))
    summary: pd.DataFrame = field(default_factory=lambda: _empty("summary"))
    errors: pd.DataFrame = field(default_factory=lambda: _empty("errors"))
    notes: list = field(default_factory=list)   # what the loader had to work around

    @property
    def status(self) -> str:
        """The stored status, but a "running" run whose writer is gone reads "interrupted (its
        writer is gone)", and one written on another host "unknown (writer on host ...)"
        (writer.py)."""
        return run_status(self.path, self.attrs)

    @property
    def stored_status(self) -> str:
        return self.attrs.get("status", "")

    @property
    def hosts(self) -> list:
        hosts = self.attrs.get("hosts", [])
        return [hosts] if isinstance(hosts, str) else list(hosts)

    @property
    def measured(self) -> pd.DataFrame:
        """Trials that count in statistics: warm-ups, failed trials (I/O errors) and disturbed
        trials left out.

        A trial with `io_errors > 0` timed failed requests (refused at once, or a timeout), not
        the workload, so every statistic here leaves it out, as gilbench's own summary does;
        `failed` lists them. A trial the runner flagged `disturbed` (other processes, steal, a
        slow reference loop: `disturbance` says which) timed the machine's load as much as the
        workload: left out likewise (`disturbed` lists them), unless the run kept them (run
        attribute `disturbed_trials` = "keep": gilbench run --disturbed keep)."""
        out = self.trials[(self.trials["warmup"] == 0) & ~self._with_io_errors()]
        if self.keeps_disturbed:
            return out
        return out[~self._flagged_disturbed().loc[out.index]]

    @property
    def keeps_disturbed(self) -> bool:
        """Whether the run counts its disturbed trials in the statistics (`gilbench run --disturbed
        keep`); runs before the attribute had no disturbed trials."""
        value = self.attrs.get("disturbed_trials", "drop") if isinstance(self.attrs, dict) else "drop"
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        return str(value) == "keep"

    @property
    def failed(self) -> pd.DataFrame:
        """Measured (non-warm-up) trials with I/O errors: flagged, left out of `measured`."""
        return self.trials[(self.trials["warmup"] == 0) & self._with_io_errors()]

    @property
    def disturbed(self) -> pd.DataFrame:
        """Measured (non-warm-up) trials without I/O errors that the runner flagged disturbed
        (`trials.disturbed` = 1): kept in the file, left out of `measured`. A failed trial that
        was disturbed too counts as failed only, as gilbench's summary counts it."""
        return self.trials[(self.trials["warmup"] == 0) & ~self._with_io_errors() & self._flagged_disturbed()]

    def _with_io_errors(self) -> pd.Series:
        # load() always adds the column; a Results built by hand may lack it (no failures known).
        if "io_errors" not in self.trials.columns:
            return pd.Series(False, index=self.trials.index)
        return self.trials["io_errors"] > 0

    def _flagged_disturbed(self) -> pd.Series:
        # Files written before the column, and Results built by hand, flagged none.
        if "disturbed" not in self.trials.columns:
            return pd.Series(False, index=self.trials.index)
        return self.trials["disturbed"].fillna(0).astype(int) != 0

    def cell(self, key) -> pd.Series:
        """A cell's row by index (int) or name (str)."""
        cells = self.cells
        match = cells[cells["cell"] == key] if isinstance(key, (int, np.integer)) else cells[cells["name"] == key]
        if match.empty:
            raise KeyError(f"{self.path} /runs/{self.run}: no cell {key!r}; "
                           f"cells are {', '.join(cells['name'])}")
        return match.iloc[0]

    def label(self) -> str:
        return f"{self.path} /runs/{self.run}"


def _empty(name: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in COLUMNS[name].items()})


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        return [_text(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _decode(column: pd.Series) -> pd.Series:
    # Decode each distinct value once: a trace has millions of rows but five event names.
    codes, uniques = pd.factorize(column, sort=False)
    names = np.array([_text(u) for u in uniques] + [""], dtype=object)
    return pd.Series(names[codes], index=column.index, dtype=object)


def _read_table(node, name: str) -> pd.DataFrame:
    # The schema allows a compound dataset or a group with one dataset per column; a group
    # lists its members alphabetically, so put the documented columns first, in their order.
    if isinstance(node, h5py.Group):
        names = [n for n in node if isinstance(node[n], h5py.Dataset)]
        names = [n for n in COLUMNS[name] if n in names] + [n for n in names if n not in COLUMNS[name]]
        df = pd.DataFrame({n: node[n][:] for n in names})
    else:
        df = pd.DataFrame(node[:])
    for col in df.columns:
        if df[col].dtype == object:
            df[col] = _decode(df[col])
    return df


def _with_defaults(name: str, df: pd.DataFrame) -> pd.DataFrame:
    if df.empty and len(df.columns) == 0:
        return _empty(name)
    df = df.copy()
    for col, dtype in COLUMNS[name].items():
        if col in df.columns or (name == "cells" and col in ENGINE_COLUMNS):
            continue
        if (name, col) == ("trials", "round") and "trial" in df.columns:
            # Before retries of disturbed trials every trial was its own round.
            df[col] = df["trial"].astype(dtype)
        elif (name, col) in DEFAULTS:
            df[col] = pd.Series(DEFAULTS[name, col], index=df.index, dtype=dtype)
        elif dtype == "object":
            df[col] = ""
        else:
            df[col] = pd.Series(0, index=df.index, dtype=dtype)
    return engine_columns_for_old_file(df) if name == "cells" else df


def _open_checked(path: str) -> tuple[h5py.File, bool]:
    """Opens read-only; returns (file, was_locked). A run still writing holds the HDF5 lock,
    so a refused open is retried without locking, which the schema allows for readers."""
    try:
        f, locked = h5py.File(path, "r"), False
    except FileNotFoundError as e:
        raise SchemaError(f"{path}: no such file; pass a results file written by `gilbench run -o FILE`") from e
    except OSError as e:
        if "lock" not in str(e).lower():
            raise SchemaError(f"{path}: not a readable HDF5 file ({e}); "
                              "pass a results file written by `gilbench run -o FILE`") from e
        try:
            f, locked = h5py.File(path, "r", locking=False), True
        except OSError as e2:
            raise SchemaError(f"{path}: cannot read it while it is being written ({e2}); "
                              "wait for the run to finish or copy the file") from e2
    schema = _text(f.attrs.get("schema", ""))
    if schema != SCHEMA:
        f.close()
        found = f"schema {schema!r}" if schema else "no 'schema' attribute"
        raise SchemaError(f"{path}: has {found}, expected {SCHEMA!r}: it is not a gilbench results "
                          "file of this version; write it with `gilbench run` (docs/hdf5-schema.md)")
    return f, locked


def list_runs(path: str) -> list[str]:
    f, _ = _open_checked(path)
    with f:
        return sorted(f["runs"].keys()) if "runs" in f else []


def load(path: str, run: str | None = None, *, trace: bool = True) -> Results:
    """Loads one run (default: the latest) of a results file: complete, interrupted or running.

    trace=False skips the trace table (it can hold millions of rows)."""
    path = str(path)
    f, was_locked = _open_checked(path)
    with f:
        runs = sorted(f["runs"].keys()) if "runs" in f else []
        if not runs:
            raise SchemaError(f"{path}: has no runs yet (the first trial has not finished); "
                              "run `gilbench run JOB -o FILE` to completion, or wait")
        if run is None:
            run = runs[-1]
        if run not in runs:
            raise SchemaError(f"{path}: no run {run!r}; it has {', '.join(runs)} (pass one of them as --run)")
        g = f["runs"][run]
        frames = {}
        for name in TABLES:
            if name == "trace" and not trace:
                frames[name] = _empty(name)
            else:
                frames[name] = _with_defaults(name, _read_table(g[name], name) if name in g else _empty(name))
        results = Results(path=path, run=run,
                          root={k: _text(v) for k, v in f.attrs.items()},
                          attrs={k: _text(v) for k, v in g.attrs.items()}, **frames)
    if was_locked:
        results.notes.append("read while the run was still writing it (HDF5 file lock bypassed)")
    _drop_unfinished(results)
    _add_hosts(results)
    return results


def _drop_unfinished(r: Results) -> None:
    # A run killed mid-trial may leave workers/trace/requests rows whose trial never reached
    # `trials` (the writer appends `trials` last): join on trials to ignore them.
    keys = pd.MultiIndex.from_frame(r.trials[["cell", "trial"]])
    for name in ("workers", "trace", "requests", "errors"):
        df = getattr(r, name)
        if df.empty:
            continue
        keep = pd.MultiIndex.from_frame(df[["cell", "trial"]]).isin(keys)
        if not keep.all():
            r.notes.append(f"{(~keep).sum()} {name} rows of unfinished trials left out")
            setattr(r, name, df[keep].reset_index(drop=True))


def _add_hosts(r: Results) -> None:
    hosts = r.hosts
    if not r.workers.empty:
        r.workers["host"] = [hosts[n] if 0 <= n < len(hosts) else f"node {n}" for n in r.workers["node"]]
