"""Tables from loaded results: per-cell statistics and the seed's threads-vs-processes table.

A run may hold cells of several engines (cells.engine: "emulated", "cpython", ...); the seed
table then has one CPU-bound and one I/O-bound column per engine, headed with the engine's label
(cells.engine_label), as gilbench prints it. GIL counters an engine does not measure
(cells.gil_counters = 0: the real interpreter does not report them) are stored as -1 / NaN ("not
measured", docs/hdf5-schema.md); no statistic here counts them as zeros."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from .load import Results
from .paired import paired_ratio

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

    Trials with I/O errors and disturbed trials are left out (`results.measured`); `failed` and
    `disturbed` count them, so count + failed + disturbed is the number of measured trials
    stored, and `disturbance` is the first reason the runner gave for a disturbed one ("" when
    none was). Cells with no measured trial (an interrupted run, or every trial failed) keep
    their row, with count 0."""
    stats = results.measured.groupby("cell")["wall_s"].agg(["count", "median", "min", "max", "mean", "std"])
    cells = results.cells.set_index("cell")[["name", "workload", "gil", "parallel", "ranks", "threads", "work",
                                             "engine", "function"]]
    out = cells.join(stats, how="left")
    out["failed"] = results.failed.groupby("cell").size()
    d = results.disturbed
    out["disturbed"] = d.groupby("cell").size()
    out = out.reset_index()
    out["count"] = out["count"].fillna(0).astype(int)
    out["failed"] = out["failed"].fillna(0).astype(int)
    out["disturbed"] = out["disturbed"].fillna(0).astype(int)
    out["disturbance"] = out["cell"].map(disturbance_reasons(results)).fillna("").astype(object)
    return out


def disturbance_reasons(results: Results) -> dict:
    """{cell: the reason the runner gave for its first disturbed trial (trial order), or ""}."""
    d = results.disturbed
    if d.empty:
        return {}
    reasons = d["disturbance"] if "disturbance" in d.columns else pd.Series("", index=d.index)
    d = d.assign(reason=reasons.fillna("").astype(str)).sort_values(["cell", "trial"])
    out = {}
    for cell, g in d.groupby("cell"):
        given = [r for r in g["reason"] if r]
        out[int(cell)] = given[0] if given else ""
    return out


def failure_text(count: int, failed: int, disturbed: int = 0) -> str:
    """'' for a clean cell, else how many of its measured trials failed: '1 of 3 failed' (the
    measured trials: clean, failed and disturbed ones)."""
    return f"{failed} of {count + failed + disturbed} failed" if failed else ""


def disturbance_text(count: int, failed: int, disturbed: int, disturbance: str = "") -> str:
    """'' for a cell without disturbed trials, else how many of its measured trials the runner
    flagged and why: '2 of 5 trials disturbed: other processes used 1.30 CPUs; rerun on an idle
    node'."""
    if not disturbed:
        return ""
    why = f": {disturbance}" if disturbance else ""
    return f"{disturbed} of {count + failed + disturbed} trials disturbed{why}; rerun on an idle node"


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
    fills it, its shape, measured repeats (count; failed and disturbed: left out), median/min/max
    wall time, the ratio of its median to the single thread's of the same workload and engine
    (`ratio`) and the paired estimate of that ratio (seed_ratio): `paired_ratio`, the median of
    the per-round ratios (trials with the same number ran in the same round), with its
    order-statistic interval `ratio_low`..`ratio_high` at level `ratio_level` over `pairs`
    rounds (NaN with fewer than 2 pairs, and for the single thread itself). Per workload, the
    engines come in the order they first appear in the run's cells table; engine_label is what
    tables call the engine.

    Where several cells fit one slot, the first in plan order is used, as in gilbench's own
    table; cells with no measured trial (an interrupted run) leave their slot empty."""
    s = cell_summary(results)
    cells = results.cells.set_index("cell")
    s["engine_label"] = s["cell"].map(cells["engine_label"])
    s["lock_free"] = s["cell"].map(cells["lock_free"]).astype(bool)
    # A cell whose every measured trial failed keeps its slot (median NaN), to show the failure.
    s = s[s["workload"].isin(SEED_COLUMNS) & ((s["count"] > 0) | (s["failed"] > 0) | (s["disturbed"] > 0))].copy()
    s["layout"] = [seed_layout(r, t, free, p)
                   for r, t, free, p in zip(s["ranks"], s["threads"], s["lock_free"], s["parallel"])]
    s = s.dropna(subset=["layout"]).drop_duplicates(subset=["layout", "workload", "engine"])
    single = s[s["layout"] == "single thread"].set_index(["workload", "engine"])["median"]
    s["ratio"] = [single.get((w, e), np.nan) for w, e in zip(s["workload"], s["engine"])]
    s["ratio"] = s["median"] / s["ratio"]
    base = s[s["layout"] == "single thread"].set_index(["workload", "engine"])["cell"]
    estimates = [seed_ratio(results, c, base.get((w, e))) if l != "single thread" else None
                 for c, w, e, l in zip(s["cell"], s["workload"], s["engine"], s["layout"])]
    s["pairs"] = [e.n if e is not None else 0 for e in estimates]
    for col, attr in (("paired_ratio", "value"), ("ratio_low", "low"), ("ratio_high", "high"),
                      ("ratio_level", "level")):
        s[col] = [getattr(e, attr) if e is not None and e.n >= 2 else np.nan for e in estimates]
    s["layout"] = pd.Categorical(s["layout"], SEED_ROWS, ordered=True)
    s["engine_order"] = s["engine"].map(engine_order(results.cells))
    s = s.sort_values(["workload", "engine_order", "layout"])
    s["layout"] = s["layout"].astype(str)
    return s[["layout", "workload", "engine", "engine_label", "cell", "name", "ranks", "threads", "gil", "parallel",
              "count", "failed", "disturbed", "disturbance", "median", "min", "max", "ratio", "paired_ratio",
              "ratio_low", "ratio_high", "ratio_level", "pairs"]].reset_index(drop=True)


def round_walls(results: Results, cell) -> pd.Series:
    """The cell's measured wall times (warm-ups, failed and disturbed trials left out) by trial
    number: the round they ran in (`order` = "rounds": trial k of every cell ran in round k;
    "cells": trial k of each cell, not adjacent in time)."""
    m = results.measured
    t = m[m["cell"] == cell]
    # Keyed by round: a retry of a disturbed trial stands in for the round it repeats.
    key = t["round"] if "round" in t.columns else t["trial"]
    return pd.Series(t["wall_s"].to_numpy(dtype=float), index=key.astype(int).to_numpy()).sort_index()


def seed_ratio(results: Results, cell, base_cell):
    """paired.Estimate of cell's time over base_cell's: the median of the per-round ratios, with
    the order-statistic interval of the median (paired_ratio, method "order"): the numbers
    gilbench's console table prints (src/report/summary.cpp, paired_ratio); None without a base
    cell."""
    if base_cell is None or (isinstance(base_cell, float) and np.isnan(base_cell)):
        return None
    a, b = round_walls(results, cell), round_walls(results, int(base_cell))
    common = a.index.intersection(b.index)
    a, b = a.loc[common].to_numpy(), b.loc[common].to_numpy()
    keep = (a > 0) & (b > 0)
    est = paired_ratio(a[keep], b[keep], method="order")
    # paired_ratio's centre is exp(median log ratio): for an even count the geometric mean of the
    # middle two; gilbench's table takes their arithmetic mean (the interval's ends agree).
    if est.n >= 2:
        est = replace(est, value=float(np.median(a[keep] / b[keep])))
    return est


def ratio_text(row, console: bool = False) -> str:
    """A seed row's paired ratio as the report writes it: '1.11× [1.04, 1.19]', with the level
    where it is below 95 % ('1.11× [0.98, 1.25] (75 %)'), '–' with fewer than 2 pairs.
    console: as gilbench's own table prints it after the median, ' 1.11x [1.04, 1.19] (75%)',
    '' with fewer than 2 pairs."""
    if not np.isfinite(row["paired_ratio"]) or not np.isfinite(row["ratio_low"]):
        return "" if console else "–"
    times, pct = ("x", "%") if console else ("×", " %")
    text = f"{row['paired_ratio']:.2f}{times} [{row['ratio_low']:.2f}, {row['ratio_high']:.2f}]"
    if row["ratio_level"] < 0.95:
        text += f" ({row['ratio_level'] * 100:.0f}{pct})"
    return (" " + text) if console else text


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
    """seed_table as text, as gilbench prints it: '0.412 s' for a single thread, '0.457 s 1.11x
    [1.04, 1.19]' for the others (the paired ratio to the single thread: ratio_text), '0.412 s
    (1 of 3 failed)' for a cell with failed trials (median over the others), '(2 of 5
    disturbed)' likewise, 'failed (3 of 3)' when every one failed."""
    s = seed_summary(results)
    if s.empty:
        return pd.DataFrame(columns=[c for c in SEED_COLUMNS.values()])

    def text(row):
        total = row["count"] + row["failed"] + row["disturbed"]
        marks = (f" ({row['failed']} of {total} failed)" if row["failed"] else "") + \
                (f" ({row['disturbed']} of {total} disturbed)" if row["disturbed"] else "")
        if row["count"] == 0:
            return f"failed ({row['failed']} of {total})" if row["failed"] else "-" + marks
        value = f"{row['median']:.3f} s"
        if row["layout"] != "single thread":
            value += ratio_text(row, console=True)
        return value + marks

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
