"""Tables from loaded results: per-cell statistics and the seed's threads-vs-processes table."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .load import Results

SEED_ROWS = ("single thread", "multi thread", "multi process")
SEED_COLUMNS = {"cpu": "CPU-bound", "io": "I/O-bound"}


def cell_summary(results: Results) -> pd.DataFrame:
    """Median, min, max, mean and std of the measured (non-warm-up) wall times per cell.

    Trials with I/O errors are left out (`results.measured`); `failed` counts them, so count +
    failed is the number of measured trials stored. Cells with no measured trial (an
    interrupted run, or every trial failed) keep their row, with count 0."""
    stats = results.measured.groupby("cell")["wall_s"].agg(["count", "median", "min", "max", "mean", "std"])
    cells = results.cells.set_index("cell")[["name", "workload", "gil", "ranks", "threads", "work"]]
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
    waiting for the GIL (wait / (end - start), summed over workers)."""
    w = results.workers.merge(results.measured[["cell", "trial"]], on=["cell", "trial"])
    if w.empty:
        return pd.DataFrame(columns=["cell", "acquisitions", "forced_drops", "wait_share"])
    busy = (w["end_s"] - w["start_s"]).clip(lower=0)
    w = w.assign(busy=busy)
    g = w.groupby("cell")
    trials = results.measured.groupby("cell").size()
    out = pd.DataFrame({
        "acquisitions": g["gil_acquisitions"].sum() / trials,
        "forced_drops": g["gil_forced_drops"].sum() / trials,
        "wait_share": g["gil_wait_s"].sum() / g["busy"].sum().replace(0, np.nan),
    })
    return out.reset_index()


def _layout(ranks: int, threads: int) -> str | None:
    if ranks == 1 and threads == 1:
        return "single thread"
    if ranks == 1 and threads > 1:
        return "multi thread"
    if ranks > 1 and threads == 1:
        return "multi process"
    return None


def seed_summary(results: Results) -> pd.DataFrame:
    """One row per filled slot of the seed table (layout × workload): the cell that fills it,
    its shape, measured repeats, median/min/max wall time and the ratio to the single thread.

    Where several cells fit one slot, the first in plan order is used, as in gilbench's own
    table; cells with no measured trial (an interrupted run) leave their slot empty."""
    s = cell_summary(results)
    # A cell whose every measured trial failed keeps its slot (median NaN), to show the failure.
    s = s[s["workload"].isin(SEED_COLUMNS) & ((s["count"] > 0) | (s["failed"] > 0))].copy()
    s["layout"] = [_layout(r, t) for r, t in zip(s["ranks"], s["threads"])]
    s = s.dropna(subset=["layout"]).drop_duplicates(subset=["layout", "workload"])
    single = s[s["layout"] == "single thread"].set_index("workload")["median"]
    s["ratio"] = s["median"] / s["workload"].map(single)
    s["layout"] = pd.Categorical(s["layout"], SEED_ROWS, ordered=True)
    s = s.sort_values(["workload", "layout"])
    s["layout"] = s["layout"].astype(str)
    return s[["layout", "workload", "name", "ranks", "threads", "count", "failed", "median", "min", "max",
              "ratio"]].reset_index(drop=True)


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
    table = s.pivot(index="layout", columns="workload", values="text").rename(columns=SEED_COLUMNS)
    table.columns.name = "workload"
    order = [r for r in SEED_ROWS if r in table.index]
    cols = [c for c in SEED_COLUMNS.values() if c in table.columns]
    return table.reindex(order)[cols].fillna("-")


def seed_table(results: Results) -> pd.DataFrame:
    """Rows single thread / multi thread / multi process, columns CPU-bound / I/O-bound (median s
    over the clean measured trials; NaN where every one failed: see seed_table_text)."""
    s = seed_summary(results)
    if s.empty:
        return pd.DataFrame(columns=[c for c in SEED_COLUMNS.values()])
    table = s.pivot(index="layout", columns="workload", values="median")
    table = table.rename(columns=SEED_COLUMNS)
    table.columns.name = "workload"
    order = [r for r in SEED_ROWS if r in table.index]
    cols = [c for c in SEED_COLUMNS.values() if c in table.columns]
    return table.reindex(order)[cols]
