"""Turns a gilbench HDF5 file into pandas DataFrames (docs/hdf5-schema.md)."""
from __future__ import annotations

from dataclasses import dataclass, field

import h5py
import numpy as np
import pandas as pd

SCHEMA = "gilbench/1"
TABLES = ("cells", "trials", "workers", "trace")


class SchemaError(ValueError):
    """The file is not a gilbench/1 results file."""


@dataclass
class Results:
    path: str
    run: str
    root: dict
    attrs: dict
    cells: pd.DataFrame
    trials: pd.DataFrame
    workers: pd.DataFrame
    trace: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def status(self) -> str:
        return self.attrs.get("status", "")


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        return [_text(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _frame(dataset) -> pd.DataFrame:
    df = pd.DataFrame(dataset[:])
    for col in df.columns:
        if df[col].dtype == object:
            df[col] = df[col].map(_text)
    return df


def _open_checked(path: str) -> h5py.File:
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise SchemaError(f"{path}: not a readable HDF5 file ({e}); pass a file written by gilbench run") from e
    schema = _text(f.attrs.get("schema", ""))
    if schema != SCHEMA:
        f.close()
        raise SchemaError(f"{path}: schema is {schema!r}, expected {SCHEMA!r}; "
                          "this is not a gilbench results file (or one of another version)")
    return f


def list_runs(path: str) -> list[str]:
    with _open_checked(path) as f:
        return sorted(f.get("runs", {}).keys())


def load(path: str, run: str | None = None) -> Results:
    """Loads one run (default: the latest) of a results file, complete or interrupted."""
    with _open_checked(path) as f:
        runs = sorted(f.get("runs", {}).keys())
        if not runs:
            raise SchemaError(f"{path}: has no runs yet")
        if run is None:
            run = runs[-1]
        if run not in runs:
            raise SchemaError(f"{path}: no run {run!r}; it has {', '.join(runs)}")
        g = f["runs"][run]
        frames = {name: _frame(g[name]) if name in g else pd.DataFrame() for name in TABLES}
        return Results(path=path, run=run,
                       root={k: _text(v) for k, v in f.attrs.items()},
                       attrs={k: _text(v) for k, v in g.attrs.items()},
                       **frames)
