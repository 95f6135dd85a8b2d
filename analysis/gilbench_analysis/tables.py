"""Tables from loaded results: per-cell statistics and the seed's threads-vs-processes table.

A run may hold cells of several engines (cells.engine: "emulated", "cpython", ...); the seed
table then has one CPU-bound and one I/O-bound column per engine, headed with the engine's label
(cells.engine_label), as gilbench prints it. GIL counters an engine does not measure
(cells.gil_counters = 0: the real interpreter does not report them) are stored as -1 / NaN ("not
measured", docs/hdf5-schema.md); no statistic here counts them as zeros."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .load import Results

# The seed table's rows: one thread; T threads sharing a GIL; P processes (ranks); T threads in
# interpreters of their own (a GIL each, PEP 684); T threads with no GIL (free-threaded: the
# ideal `none` or a 3.13t / 3.14t profile). The first three are the seed's own.
SEED_ROWS = ("single thread", "multi thread", "multi process", "subinterpreters", "free-threaded")
# What each row means, for the report (the first cell in plan order fills a row).
SEED_ROW_TEXT = {
    "single thread": "one thread on one rank, under a GIL",
    "multi thread": "T threads of one rank sharing its one GIL (parallel = \"threads\")",
    "multi process": "P ranks (processes) of one thread each, a GIL each",
    "subinterpreters": "T threads of one rank, each in an interpreter with its own GIL (parallel = "
                       "\"subinterpreters\", PEP 684)",
    "free-threaded": "T threads of one rank with no GIL (gil = \"none\", or the free-threaded-3.13 / -3.14 "
                     "profiles, which add those builds' single-thread overhead)",
}
SEED_COLUMNS = {"cpu": "CPU-bound", "io": "I/O-bound"}


def gil_counted(results: Results, cells) -> pd.Series:
    """For each cell index in `cells`: were its workers' GIL counters measured (cells.gil_counters)?"""
    counted = results.cells.set_index("cell")["gil_counters"].astype(bool)
    return pd.Series(cells).map(counted).fillna(False).astype(bool)


def engine_order(cells: pd.DataFrame) -> dict:
    """engine name -> its place among the run's engines: the order they first appear in `cells`."""
    return {e: i for i, e in enumerate(cells["engine"].drop_duplicates())}


def cell_summary(results: Results) -> pd.DataFrame:
    """Median, min, max, mean and std of the measured (non-warm-up) wall times per cell.

    Trials with I/O errors are left out (`results.measured`); `failed` counts them, so count +
    failed is the number of measured trials stored. Cells with no measured trial (an
    interrupted run, or every trial failed) keep their row, with count 0."""
    stats = results.measured.groupby("cell")["wall_s"].agg(["count", "median", "min", "max", "mean", "std"])
    cells = results.cells.set_index("cell")[["name", "workload", "gil", "parallel", "ranks", "threads", "work",
                                             "engine", "function"]]
    out = cells.join(stats, how="left")
    out["failed"] = results.failed.groupby("cell").size()
    out = out.reset_index()
    out["count"] = out["count"].fillna(0).astype(int)
    out["failed"] = out["failed"].fillna(0).astype(int)
    return out


def failure_text(count: int, failed: int) -> str:
    """'' for a clean cell, else how many of its measured trials failed: '1 of 3 failed'."""
    return f"{failed} of {count + failed} failed" if failed else ""


def gil_summary(results: Results) -> pd.DataFrame:
    """Per cell, over measured trials: GIL hand-offs and how much of the workers' time went to
    waiting for the GIL (wait / (end - start), summed over workers). Cells whose counters were
    not measured (cells.gil_counters = 0) get NaN, never 0; `measured` says which cells have them."""
    w = results.workers.merge(results.measured[["cell", "trial"]], on=["cell", "trial"])
    cells = w["cell"].unique()
    w = w[gil_counted(results, w["cell"]).to_numpy()]
    if w.empty:
        if len(cells):
            return pd.DataFrame({"cell": cells, "acquisitions": np.nan, "forced_drops": np.nan,
                                 "wait_share": np.nan, "measured": False})
        return pd.DataFrame(columns=["cell", "acquisitions", "forced_drops", "wait_share", "measured"])
    busy = (w["end_s"] - w["start_s"]).clip(lower=0)
    w = w.assign(busy=busy)
    g = w.groupby("cell")
    trials = results.measured.groupby("cell").size()
    out = pd.DataFrame({
        "acquisitions": g["gil_acquisitions"].sum() / trials,
        "forced_drops": g["gil_forced_drops"].sum() / trials,
        "wait_share": g["gil_wait_s"].sum() / g["busy"].sum().replace(0, np.nan),
    })
    out = out.reindex(pd.Index(cells, name="cell"))
    out["measured"] = out["acquisitions"].notna()
    return out.reset_index()


def seed_layout(ranks: int, threads: int, lock_free: bool = False, parallel: str = "threads") -> str | None:
    """The seed-table row a cell of this shape fills (SEED_ROWS), or None. lock_free: the
    cell's GIL policy has no lock (cells.lock_free)."""
    if ranks == 1 and threads == 1:
        return None if lock_free else "single thread"
    if ranks > 1 and threads == 1:
        return "multi process"
    if ranks == 1 and threads > 1:
        if parallel == "subinterpreters":
            return "subinterpreters"
        return "free-threaded" if lock_free else "multi thread"
    return None


def seed_summary(results: Results) -> pd.DataFrame:
    """One row per filled slot of the seed table (layout × workload × engine): the cell that
    fills it, its shape, measured repeats, median/min/max wall time and the ratio to the single
    thread of the same workload and engine. Per workload, the engines come in the order they
    first appear in the run's cells table; engine_label is what tables call the engine.

    Where several cells fit one slot, the first in plan order is used, as in gilbench's own
    table; cells with no measured trial (an interrupted run) leave their slot empty."""
    s = cell_summary(results)
    cells = results.cells.set_index("cell")
    s["engine_label"] = s["cell"].map(cells["engine_label"])
    s["lock_free"] = s["cell"].map(cells["lock_free"]).astype(bool)
    # A cell whose every measured trial failed keeps its slot (median NaN), to show the failure.
    s = s[s["workload"].isin(SEED_COLUMNS) & ((s["count"] > 0) | (s["failed"] > 0))].copy()
    s["layout"] = [seed_layout(r, t, free, p)
                   for r, t, free, p in zip(s["ranks"], s["threads"], s["lock_free"], s["parallel"])]
    s = s.dropna(subset=["layout"]).drop_duplicates(subset=["layout", "workload", "engine"])
    single = s[s["layout"] == "single thread"].set_index(["workload", "engine"])["median"]
    s["ratio"] = [single.get((w, e), np.nan) for w, e in zip(s["workload"], s["engine"])]
    s["ratio"] = s["median"] / s["ratio"]
    s["layout"] = pd.Categorical(s["layout"], SEED_ROWS, ordered=True)
    s["engine_order"] = s["engine"].map(engine_order(results.cells))
    s = s.sort_values(["workload", "engine_order", "layout"])
    s["layout"] = s["layout"].astype(str)
    return s[["layout", "workload", "engine", "engine_label", "name", "ranks", "threads", "gil", "parallel", "count",
              "failed", "median", "min", "max", "ratio"]].reset_index(drop=True)


def seed_engines(summary: pd.DataFrame) -> list[str]:
    """The engines a seed summary has cells of, in the order of their first rows (seed_summary
    lists each workload's engines in the order the run's cells table first names them)."""
    return list(summary["engine"].drop_duplicates())


def seed_engine_labels(summary: pd.DataFrame) -> dict:
    """engine name -> its label (cells.engine_label), for the engines of a seed summary."""
    return dict(zip(summary["engine"], summary["engine_label"]))


def seed_columns(summary: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(workload, engine, header) of each column of the seed table, in gilbench's order: CPU-bound
    then I/O-bound, each once per engine, headed with its label ("CPU-bound, emulated",
    "CPU-bound, CPython"); with one engine the plain "CPU-bound" and "I/O-bound", as before
    there were engines."""
    engines = seed_engines(summary)
    labels = seed_engine_labels(summary)
    out = []
    for w, wname in SEED_COLUMNS.items():
        for e in engines:
            if ((summary["workload"] == w) & (summary["engine"] == e)).any():
                out.append((w, e, wname if len(engines) == 1 else f"{wname}, {labels[e]}"))
    return out


def _seed_pivot(s: pd.DataFrame, values: str) -> pd.DataFrame:
    cols = seed_columns(s)
    header = {(w, e): h for w, e, h in cols}
    s = s.assign(column=[header[w, e] for w, e in zip(s["workload"], s["engine"])])
    table = s.pivot(index="layout", columns="column", values=values)
    table.columns.name = "workload"
    order = [r for r in SEED_ROWS if r in table.index]
    return table.reindex(order)[[h for _, _, h in cols]]


def seed_table_text(results: Results) -> pd.DataFrame:
    """seed_table as text, as gilbench prints it: '0.412 s', '0.412 s (1 of 3 failed)' for a cell
    with failed trials (median over the others), 'failed (3 of 3)' when every one failed."""
    s = seed_summary(results)
    if s.empty:
        return pd.DataFrame(columns=[c for c in SEED_COLUMNS.values()])

    def text(row):
        if row["count"] == 0:
            return f"failed ({row['failed']} of {row['failed']})"
        value = f"{row['median']:.3f} s"
        return f"{value} ({failure_text(row['count'], row['failed'])})" if row["failed"] else value

    s = s.assign(text=[text(r) for _, r in s.iterrows()])
    return _seed_pivot(s, "text").fillna("-")


def seed_table(results: Results) -> pd.DataFrame:
    """Rows single thread / multi thread / multi process, columns CPU-bound / I/O-bound (median s
    over the clean measured trials; NaN where every one failed: see seed_table_text). A run with
    cells of both engines has a column per workload and engine: "CPU-bound, emulated", ..."""
    s = seed_summary(results)
    if s.empty:
        return pd.DataFrame(columns=[c for c in SEED_COLUMNS.values()])
    return _seed_pivot(s, "median")
