"""Per-request I/O latency: from the `requests` table when the file has one, else from the trace.

From the trace, a blocking call lasts from its `io_start` to the thread's next `take` after the
matching `io_end`: the moment the Python code that made it could run again. That includes
waiting to get the GIL back, which is exactly what the convoy effect adds (bpo-7946); the bare
time with the GIL released (io_start → io_end) is kept as `network_s`. gilbench builds without
the `requests` table made one blocking call per request, so for their files a call is a
request; newer builds release the GIL several times per request (like urllib: connect, send,
recv, ...) and always write `requests`, which is then used instead.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .load import Results

COLUMNS = ["cell", "trial", "rank", "thread", "request", "start_s", "end_s", "latency_s", "network_s", "ok"]


def _from_requests(results: Results) -> pd.DataFrame:
    q = results.requests.merge(results.measured[["cell", "trial"]], on=["cell", "trial"])
    out = q.assign(latency_s=q["end_s"] - q["start_s"], network_s=np.nan)
    return out[COLUMNS]


def trace_latencies(trace: pd.DataFrame) -> pd.DataFrame:
    """One row per blocking call: each io_start paired with the next io_end and the next take of
    the same thread (one trial and thread at a time). `request` numbers the calls per thread."""
    io = trace[trace["event"].isin(["io_start", "io_end", "take"])]
    rows = []
    for (cell, trial, rank, thread), lane in io.groupby(["cell", "trial", "rank", "thread"], sort=False):
        lane = lane.sort_values("t_s", kind="stable")
        ev, ts = lane["event"].to_numpy(), lane["t_s"].to_numpy()
        start = end = None
        k = 0
        for e, t in zip(ev, ts):
            if e == "io_start":
                if start is not None and end is not None:   # no take in between (GIL "none")
                    rows.append((cell, trial, rank, thread, k, start, end, end))
                    k += 1
                start, end = t, None
            elif e == "io_end" and start is not None and end is None:
                end = t
            elif e == "take" and start is not None and end is not None:
                rows.append((cell, trial, rank, thread, k, start, t, end))
                k += 1
                start = end = None
        if start is not None and end is not None:   # the trace ended before the GIL came back
            rows.append((cell, trial, rank, thread, k, start, end, end))
    df = pd.DataFrame(rows, columns=["cell", "trial", "rank", "thread", "request", "start_s", "end_s", "io_end_s"])
    df["latency_s"] = df["end_s"] - df["start_s"]
    df["network_s"] = df["io_end_s"] - df["start_s"]
    df["ok"] = np.uint8(1)
    return df[COLUMNS]


def request_latencies(results: Results) -> tuple[pd.DataFrame, str]:
    """Latencies of every request of the measured trials, and where they came from:
    "requests" (the requests table), "trace" (derived from io_start/io_end/take) or "" (none)."""
    if not results.requests.empty:
        return _from_requests(results), "requests"
    trace = results.trace.merge(results.measured[["cell", "trial"]], on=["cell", "trial"])
    if not trace.empty and trace["event"].isin(["io_start"]).any():
        return trace_latencies(trace), "trace"
    return pd.DataFrame(columns=COLUMNS), ""


def cpu_threads_beside(results: Results) -> pd.Series:
    """Per cell: CPU-bound threads sharing a rank's GIL with its I/O threads."""
    c = results.cells.set_index("cell")
    return (c["threads"] - c["io_threads"]).where(c["workload"] == "mixed", 0).clip(lower=0)


def latency_summary(lat: pd.DataFrame, results: Results) -> pd.DataFrame:
    """Per cell: requests, failures, median / p90 / p99 / max latency and the server's delay."""
    if lat.empty:
        return pd.DataFrame()
    ok = lat[lat["ok"] == 1]
    g = ok.groupby("cell")["latency_s"]
    out = pd.DataFrame({
        "requests": lat.groupby("cell").size(),
        "failed": lat.groupby("cell")["ok"].apply(lambda s: int((s == 0).sum())),
        "median_s": g.median(), "p90_s": g.quantile(0.9), "p99_s": g.quantile(0.99), "max_s": g.max(),
    })
    cells = results.cells.set_index("cell")
    out = cells[["name", "workload", "gil", "ranks", "threads", "io_threads", "switch_interval_s", "latency_s"]].join(
        out, how="inner")
    out["cpu_threads"] = cpu_threads_beside(results).reindex(out.index)
    out["extra_s"] = out["median_s"] - out["latency_s"]
    return out.reset_index()


def cdf(values) -> tuple[np.ndarray, np.ndarray]:
    """Empirical CDF: sorted values and the fraction of values <= each."""
    x = np.sort(np.asarray(values, dtype=float))
    x = x[np.isfinite(x)]
    return x, np.arange(1, len(x) + 1) / max(len(x), 1)
