"""The node dimension of a run: which ranks sat on which host, which nodes each cell spanned,
and what the workers of each node did.

A run over several hosts can place a cell's ranks within one node or across nodes
(cells.placement: launch, pack, spread), and only then does the interconnect enter the
timings. These functions answer where the ranks were (from the run attributes `hosts`,
`rank_node`, `cores` and from workers.node, which is exact even after a resume on other hosts)
and whether one node's workers were slower than the others' (a busier or slower host, a remote
I/O server). Pure pandas; report.py formats them and plots.py draws them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .latency import request_latencies
from .load import Results

BREAKDOWN_COLUMNS = ["cell", "name", "placement", "ranks", "threads", "nodes", "node", "host", "node_ranks",
                     "rank_list", "workers", "trials", "busy_median_s", "slowest_median_s", "ops_per_trial",
                     "io_requests_per_trial", "io_errors_per_trial", "requests", "latency_median_s",
                     "gil_wait_share"]


def compact_ranks(ranks) -> str:
    """World ranks as a short list: consecutive runs become "a–b" ("0–3, 6"); "–" for none."""
    values = sorted({int(r) for r in ranks})
    if not values:
        return "–"
    parts, start, prev = [], values[0], values[0]
    for v in values[1:] + [None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        parts.append(f"{start}" if start == prev else f"{start}–{prev}")
        if v is not None:
            start = prev = v
    return ", ".join(parts)


def ranks_per_node_text(rank_nodes) -> str:
    """How a cell's ranks fall on nodes, in node order, from the node of each rank:
    [0, 0, 1, 1, 2] → "2 + 2 + 1". One number means one node."""
    counts = pd.Series(list(rank_nodes), dtype=int).value_counts().sort_index()
    return " + ".join(str(int(c)) for c in counts) if len(counts) else "–"


def _attr_list(results: Results, name: str) -> list:
    v = results.attrs.get(name, [])
    if isinstance(v, (str, int, float, np.integer, np.floating)):
        return [v]
    return list(v)


def _rank_node_pairs(results: Results) -> pd.DataFrame:
    """Every (world rank, node) pair the run knows of: the rank_node attribute (the first
    start) and the workers rows (every trial, resumed ones included)."""
    attr = [(r, int(n)) for r, n in enumerate(_attr_list(results, "rank_node"))]
    pairs = pd.DataFrame(attr, columns=["rank", "node"])
    if not results.workers.empty:
        pairs = pd.concat([pairs, results.workers[["rank", "node"]]], ignore_index=True)
    return pairs.astype(int).drop_duplicates().sort_values(["node", "rank"], ignore_index=True)


def node_placement(results: Results) -> pd.DataFrame:
    """One row per node: its index, host, world ranks on it, online cores and the requests its
    embedded server answered (NaN: none ran there, or the file predates `server_requests`).
    Nodes are the entries of `hosts` plus any index a rank refers to beyond it."""
    hosts = results.hosts
    cores = _attr_list(results, "cores")
    served = _attr_list(results, "server_requests")   # -1: no server on that node
    pairs = _rank_node_pairs(results)
    count = max([len(hosts)] + [int(n) + 1 for n in pairs["node"]])
    rows = []
    for node in range(count):
        ranks = pairs.loc[pairs["node"] == node, "rank"].tolist()
        rows.append(dict(node=node, host=hosts[node] if node < len(hosts) else f"node {node}",
                         ranks=ranks, ranks_text=compact_ranks(ranks), rank_count=len(ranks),
                         cores=int(cores[node]) if node < len(cores) else np.nan,
                         server_requests=int(served[node]) if node < len(served) and served[node] >= 0 else np.nan))
    return pd.DataFrame(rows, columns=["node", "host", "ranks", "ranks_text", "rank_count", "cores",
                                       "server_requests"])


def used_nodes(results: Results) -> pd.DataFrame:
    """The rows of node_placement that held at least one rank."""
    p = node_placement(results)
    return p[p["rank_count"] > 0].reset_index(drop=True)


def cell_nodes(results: Results) -> pd.DataFrame:
    """Per cell with workers: its placement, nodes spanned, the world ranks it used and how
    they fell on nodes ("2 + 1"), from workers.rank/node (the ranks the cell really ran on)."""
    w = results.workers
    cols = ["cell", "name", "placement", "ranks", "threads", "nodes", "world_ranks", "ranks_per_node"]
    if w.empty:
        return pd.DataFrame(columns=cols)
    cells = results.cells.set_index("cell")
    rows = []
    for cell, g in w[["cell", "rank", "node"]].drop_duplicates().groupby("cell"):
        if cell not in cells.index:
            continue
        c = cells.loc[cell]
        rows.append(dict(cell=int(cell), name=c["name"], placement=c["placement"],
                         ranks=int(c["ranks"]), threads=int(c["threads"]), nodes=int(g["node"].nunique()),
                         world_ranks=compact_ranks(g["rank"]),
                         ranks_per_node=ranks_per_node_text(g.drop_duplicates("rank")["node"])))
    return pd.DataFrame(rows, columns=cols)


def _request_nodes(results: Results, lat: pd.DataFrame) -> pd.DataFrame:
    """Latencies with the node of the rank that made each request: the node its workers row of
    that trial names, else the rank_node attribute."""
    if lat.empty:
        return lat.assign(node=pd.Series(dtype=int))
    by_trial = results.workers[["cell", "trial", "rank", "node"]].drop_duplicates(["cell", "trial", "rank"])
    out = lat.merge(by_trial, on=["cell", "trial", "rank"], how="left")
    attr = _attr_list(results, "rank_node")
    fallback = out["rank"].map(lambda r: int(attr[r]) if 0 <= r < len(attr) else -1)
    out["node"] = out["node"].fillna(fallback).astype(int)
    return out[out["node"] >= 0]


def node_breakdown(results: Results) -> pd.DataFrame:
    """One row per (cell, node) over the measured trials: the node's ranks and workers, their
    busy time (end_s − start_s: median over workers and trials; the slowest worker: median over
    trials of the node's maximum), ops and I/O per trial, the median latency of the node's
    requests (requests table, else the trace; NaN without either) and the GIL wait share.
    A node whose workers are consistently slower shows what the cell's wall time waited for."""
    w = results.workers.merge(results.measured[["cell", "trial"]], on=["cell", "trial"])
    if w.empty:
        return pd.DataFrame(columns=BREAKDOWN_COLUMNS)
    w = w.assign(busy=(w["end_s"] - w["start_s"]).clip(lower=0))
    lat, _ = request_latencies(results)
    lat = _request_nodes(results, lat[lat["ok"] == 1]) if not lat.empty else lat.assign(node=pd.Series(dtype=int))
    spans = cell_nodes(results).set_index("cell")
    counted = results.cells.set_index("cell")["gil_counters"].astype(bool)
    hosts = results.hosts
    per_trial = w.groupby(["cell", "node", "trial"]).agg(slowest=("busy", "max"), ops=("ops", "sum"),
                                                         io_requests=("io_requests", "sum"),
                                                         io_errors=("io_errors", "sum"))
    rows = []
    for (cell, node), g in w.groupby(["cell", "node"]):
        t = per_trial.loc[(cell, node)]
        req = lat.loc[(lat["cell"] == cell) & (lat["node"] == node), "latency_s"]
        busy = g["busy"].sum()
        s = spans.loc[cell]
        rows.append(dict(cell=int(cell), name=s["name"], placement=s["placement"], ranks=s["ranks"],
                         threads=s["threads"], nodes=s["nodes"], node=int(node),
                         host=hosts[node] if 0 <= node < len(hosts) else f"node {node}",
                         node_ranks=int(g["rank"].nunique()), rank_list=compact_ranks(g["rank"]),
                         workers=int(len(g[["rank", "thread"]].drop_duplicates())), trials=len(t),
                         busy_median_s=float(g["busy"].median()), slowest_median_s=float(t["slowest"].median()),
                         ops_per_trial=float(t["ops"].mean()), io_requests_per_trial=float(t["io_requests"].mean()),
                         io_errors_per_trial=float(t["io_errors"].mean()), requests=int(len(req)),
                         latency_median_s=float(req.median()) if len(req) else np.nan,
                         gil_wait_share=_wait_share(g, busy) if counted.get(cell, False) else np.nan))
    return pd.DataFrame(rows, columns=BREAKDOWN_COLUMNS)


def _wait_share(g: pd.DataFrame, busy: float) -> float:
    """GIL wait over busy time of a cell whose GIL counters were measured (cells.gil_counters;
    the others' stored NaN, which a plain sum would count as 0, is never read here); NaN for a
    node without busy time or a wait missing."""
    if busy <= 0 or g["gil_wait_s"].isna().any():
        return np.nan
    return float(g["gil_wait_s"].sum() / busy)


def node_families(families) -> list:
    """The scaling families where nodes matter: some cell spans more than one node, or the
    family compares placements."""
    return [f for f in families
            if len(f.placements) > 1 or any((s.points["nodes"] > 1).any() for s in f.series)]


def family_node_table(family, spans: pd.DataFrame) -> pd.DataFrame:
    """The cells of a family with more than one rank, one row per series point: nodes spanned,
    ranks per node, median wall time, speed-up and efficiency against the series' baseline.
    spans: cell_nodes() of the run."""
    by_cell = spans.set_index("cell") if not spans.empty else pd.DataFrame(columns=["ranks_per_node"])
    frames = []
    for s in family.series:
        p = s.points[s.points["ranks"] > 1]
        if p.empty:
            continue
        frames.append(pd.DataFrame({
            "series": s.label, "placement": s.placement, "cell": p["name"].to_numpy(),
            "ranks": p["ranks"].to_numpy(), "threads": p["threads"].to_numpy(), "n": p["n"].to_numpy(),
            "nodes": p["nodes"].to_numpy(),
            "ranks_per_node": [by_cell["ranks_per_node"].get(c, "–") for c in p["cell"]],
            "t_median": p["t_median"].to_numpy(), "speedup": p["speedup"].to_numpy(),
            "efficiency": p["efficiency"].to_numpy(), "baseline": s.baseline}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
