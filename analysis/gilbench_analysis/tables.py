"""Tables from loaded results: per-cell statistics and the seed's threads-vs-processes table."""
from __future__ import annotations

import pandas as pd

from .load import Results


def cell_summary(results: Results) -> pd.DataFrame:
    """Median, min, max, mean and std of the measured (non-warm-up) wall times per cell."""
    measured = results.trials[results.trials["warmup"] == 0]
    stats = measured.groupby("cell")["wall_s"].agg(["count", "median", "min", "max", "mean", "std"])
    cells = results.cells.set_index("cell")[["name", "workload", "gil", "ranks", "threads", "work"]]
    return cells.join(stats, how="left").reset_index()


def _layout(ranks: int, threads: int) -> str | None:
    if ranks == 1 and threads == 1:
        return "single thread"
    if ranks == 1 and threads > 1:
        return "multi thread"
    if ranks > 1 and threads == 1:
        return "multi process"
    return None


def seed_table(results: Results) -> pd.DataFrame:
    """Rows single thread / multi thread / multi process, columns CPU-bound / I/O-bound (median s).

    Where several cells fit one slot, the first is used, as in gilbench's own table."""
    summary = cell_summary(results)
    summary["layout"] = [_layout(r, t) for r, t in zip(summary["ranks"], summary["threads"])]
    summary = summary.dropna(subset=["layout"]).drop_duplicates(subset=["layout", "workload"])
    table = summary.pivot(index="layout", columns="workload", values="median")
    table = table.rename(columns={"cpu": "CPU-bound", "io": "I/O-bound"})
    order = [r for r in ("single thread", "multi thread", "multi process") if r in table.index]
    return table.reindex(order)
