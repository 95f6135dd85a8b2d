"""Switch-interval sweeps: cells that differ only in the new GIL's switch interval.

For each such family: the CPU-bound time (wall time of a cpu cell), the I/O request latency
(io and mixed cells, see latency.py) and the GIL hand-offs that drop requests forced, at each
interval.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .latency import request_latencies
from .load import DEFAULT_ENGINE, Results
from .tables import gil_counted

# Everything but the switch interval must match within a family (the engine too: each engine's
# cells are a family of their own, and some measure no forced drops: cells.gil_counters).
SWEEP_KEYS = ("workload", "gil", "ranks", "threads", "io_threads", "work", "scaling",
              "latency_s", "keep_alive", "url", "engine", "function")


@dataclass
class SweepFamily:
    key: tuple
    label: str
    workload: str
    latency_server_s: float
    cpu: pd.DataFrame       # switch_interval_s, median_s, min_s, max_s, trials (empty for io)
    io: pd.DataFrame        # switch_interval_s, median_s, p10_s, p90_s, p99_s, requests (empty without I/O)
    # switch_interval_s, forced_drops_per_s: hand-offs the interval forced (NaN: not measured)
    gil: pd.DataFrame
    engine: str = DEFAULT_ENGINE
    gil_counters: bool = True   # cells.gil_counters: False, the forced drops were not measured


def _label(row) -> str:
    shape = f"{row['ranks']} rank{'s' if row['ranks'] > 1 else ''} × {row['threads']} threads"
    # The default engine's labels stay as they were; another engine's name it by its label.
    on = "" if row.get("engine", DEFAULT_ENGINE) == DEFAULT_ENGINE else f", {row['engine_label']}"
    if row["workload"] == "mixed":
        cpu = int(row["threads"] - row["io_threads"])
        return f"mixed: {cpu} CPU + {int(row['io_threads'])} I/O threads, {shape}{on}"
    what = row["function"] if row["workload"] == "python" and row.get("function") else row["workload"]
    return f"{what}, {shape}{on}"


def cpu_span(results: Results) -> pd.DataFrame:
    """Per measured trial of a cpu (or python) cell: the time the countdown (or the function)
    took, the trial's wall time. Mixed cells have none: their CPU threads count down for as long
    as the I/O lasts."""
    m = results.measured[["cell", "trial", "wall_s"]]
    kinds = results.cells.set_index("cell")["workload"]
    cpu_trials = m[m["cell"].map(kinds).isin(["cpu", "python"])].rename(columns={"wall_s": "cpu_s"})
    return cpu_trials[["cell", "trial", "cpu_s"]].reset_index(drop=True)


def sweep_families(results: Results) -> list[SweepFamily]:
    """Families with two or more switch intervals, new GIL only (the others ignore it)."""
    cells = results.cells[results.cells["gil"] == "new"]
    cells = cells[cells["cell"].isin(results.measured["cell"])]
    if cells.empty:
        return []
    spans = cpu_span(results)
    lat, _ = request_latencies(results)
    w = results.workers.merge(results.measured[["cell", "trial", "wall_s"]])
    # Not measured (cells.gil_counters = 0: stored as -1) is NaN here, so the rate is NaN, not a
    # negative count.
    w = w.assign(forced=w["gil_forced_drops"].where(gil_counted(results, w["cell"]).to_numpy()))
    drops = w.groupby(["cell", "trial"]).agg(d=("forced", lambda v: v.sum(min_count=len(v))),
                                             wall=("wall_s", "first")).reset_index()
    drops["rate"] = drops["d"] / drops["wall"]
    out = []
    for key, fam in cells.groupby(list(SWEEP_KEYS), sort=False):
        if fam["switch_interval_s"].nunique() < 2:
            continue
        first = fam.iloc[0]
        si = fam.set_index("cell")["switch_interval_s"]
        sp = spans[spans["cell"].isin(si.index)].assign(si=lambda d: d["cell"].map(si))
        cpu = sp.groupby("si")["cpu_s"].agg(median_s="median", min_s="min", max_s="max", trials="count")
        lt = lat[lat["cell"].isin(si.index) & (lat["ok"] == 1)] if not lat.empty else lat
        if not lt.empty:
            lt = lt.assign(si=lt["cell"].map(si))
            g = lt.groupby("si")["latency_s"]
            io = pd.DataFrame({"median_s": g.median(), "p10_s": g.quantile(0.1), "p90_s": g.quantile(0.9),
                               "p99_s": g.quantile(0.99), "requests": g.size()})
        else:
            io = pd.DataFrame(columns=["median_s", "p10_s", "p90_s", "p99_s", "requests"])
        dr = drops[drops["cell"].isin(si.index)].assign(si=lambda d: d["cell"].map(si))
        gil = dr.groupby("si")["rate"].median().rename("forced_drops_per_s").to_frame()
        for df in (cpu, io, gil):
            df.index.name = "switch_interval_s"
        out.append(SweepFamily(key=tuple(key), label=_label(first), workload=first["workload"],
                               latency_server_s=float(first["latency_s"]),
                               cpu=cpu.reset_index(), io=io.reset_index(), gil=gil.reset_index(),
                               engine=first["engine"], gil_counters=bool(fam["gil_counters"].all())))
    return out


def sweep_table(family: SweepFamily) -> pd.DataFrame:
    """One row per switch interval: CPU time, I/O latency and forced drops side by side."""
    parts = [family.cpu.set_index("switch_interval_s").add_prefix("cpu_"),
             family.io.set_index("switch_interval_s").add_prefix("io_"),
             family.gil.set_index("switch_interval_s")]
    parts = [p for p in parts if not p.empty]
    table = pd.concat(parts, axis=1).sort_index()
    return table.reset_index()
