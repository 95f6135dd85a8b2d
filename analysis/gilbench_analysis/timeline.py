"""Who held the GIL when: a traced trial as intervals per thread (the picture of Beazley's
"Understanding the Python GIL" talks), computed from the `trace` table.

Each thread's lane is a sequence of states:
  hold  from `take` to `drop`          (running bytecode)
  io    from `io_start` to `io_end`    (blocking call, GIL released)
  wait  from `drop` (when no I/O follows) or `io_end` or the worker's start, to the next `take`
and the drop requests (`request`: a waiter's switch interval ran out) are instants on the lane of
the thread that set them.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .load import Results


@dataclass
class Timeline:
    cell: int
    name: str
    trial: int
    gil: str
    switch_interval_s: float
    check_interval: int
    lanes: list            # [(rank, thread)] in display order
    intervals: pd.DataFrame  # rank, thread, state (hold|io|wait), start_s, end_s
    requests: pd.DataFrame   # rank, thread, t_s: drop requests
    t_end: float           # end of the trial (s, on the trace's clock)
    truncated_at: float | None = None  # set when only the first part is kept


def lane_intervals(events: pd.DataFrame, start_s: float | None = None, end_s: float | None = None) -> pd.DataFrame:
    """States of one thread from its events (t_s, event), sorted by time; see module doc."""
    rows = []
    ev = events.sort_values("t_s", kind="stable")
    state, since = ("wait", start_s) if start_s is not None else (None, None)
    for e, t in zip(ev["event"].to_numpy(), ev["t_s"].to_numpy()):
        if e == "request":
            continue
        new = {"take": "hold", "drop": "wait", "io_start": "io", "io_end": "wait"}.get(e)
        if new is None:
            continue
        if state is not None and since is not None and t > since:
            rows.append((state, since, t))
        state, since = new, t
    if state == "hold" and since is not None and end_s is not None and end_s > since:
        rows.append((state, since, end_s))   # the trace stopped while holding
    return pd.DataFrame(rows, columns=["state", "start_s", "end_s"])


def pick_trials(results: Results, limit_per_workload: int = 1) -> list[tuple[int, int]]:
    """Traced (cell, trial) pairs worth drawing: the first measured trial of the first traced
    cell with 2+ threads on a rank, per workload (cpu, mixed, io) in that order. Only cells with
    a full trace (cells.trace_events = "full") are drawn: a trace of takes only (the cpython
    engine's, seen from Python, no drops) is enough to count hand-overs but not to draw who held
    the GIL when."""
    trace = results.trace
    if trace.empty:
        return []
    traced = trace[["cell", "trial"]].drop_duplicates().merge(results.measured[["cell", "trial"]])
    if traced.empty:   # only warm-ups traced: better than nothing
        traced = trace[["cell", "trial"]].drop_duplicates()
    cells = results.cells.set_index("cell")
    picks = []
    for workload in ("cpu", "mixed", "io"):
        got = 0
        for cell in sorted(traced["cell"].unique()):
            c = cells.loc[cell]
            if c["workload"] != workload or c["threads"] < 2 or c["trace_events"] != "full":
                continue
            trial = int(traced.loc[traced["cell"] == cell, "trial"].min())
            picks.append((int(cell), trial))
            got += 1
            if got >= limit_per_workload:
                break
    return picks


def timeline(results: Results, cell: int, trial: int, max_events: int = 4000) -> Timeline:
    """The Timeline of one traced trial. With more than max_events events only the first
    max_events are drawn (a plot of 10^5 slivers shows nothing), and truncated_at says where."""
    t = results.trace[(results.trace["cell"] == cell) & (results.trace["trial"] == trial)]
    if t.empty:
        raise ValueError(f"cell {cell} trial {trial} has no trace rows (run the cell with trace = true)")
    t = t.sort_values("t_s", kind="stable")
    truncated = None
    if len(t) > max_events:
        truncated = float(t["t_s"].iloc[max_events])
        t = t[t["t_s"] < truncated]
    w = results.workers[(results.workers["cell"] == cell) & (results.workers["trial"] == trial)]
    lanes, intervals, t_end = trial_intervals(t, w, truncated)
    req = t[t["event"] == "request"][["rank", "thread", "t_s"]].reset_index(drop=True)
    c = results.cell(int(cell))
    return Timeline(cell=int(cell), name=c["name"], trial=int(trial), gil=c["gil"],
                    switch_interval_s=float(c["switch_interval_s"]),
                    check_interval=int(c["check_interval"]), lanes=lanes,
                    intervals=intervals, requests=req, t_end=t_end, truncated_at=truncated)


def trial_intervals(trace: pd.DataFrame, workers: pd.DataFrame, truncated_at: float | None = None):
    """The states of every thread of one trial: (lanes, intervals, t_end). trace: the trial's
    events; workers: its `workers` rows (start_s / end_s bound each lane; a lane without a row is
    bounded by the trace). Shared by the timeline and gil_metrics, so both see the same states."""
    t = trace.sort_values("t_s", kind="stable")
    starts = workers.set_index(["rank", "thread"])["start_s"].to_dict()
    ends = workers.set_index(["rank", "thread"])["end_s"].to_dict()
    t_end = truncated_at if truncated_at is not None else max([t["t_s"].max() if not t.empty else 0.0,
                                                               *ends.values()])
    lanes = sorted(set(zip(t["rank"], t["thread"])) | set(starts))
    frames = []
    for rank, thread in lanes:
        ev = t[(t["rank"] == rank) & (t["thread"] == thread)]
        end = ends.get((rank, thread), t_end)
        iv = lane_intervals(ev, starts.get((rank, thread)), min(end, t_end))
        frames.append(iv.assign(rank=rank, thread=thread))
    intervals = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["state", "start_s", "end_s", "rank", "thread"])
    return ([(int(r), int(h)) for r, h in lanes], intervals[["rank", "thread", "state", "start_s", "end_s"]],
            float(t_end))


def timeline_stats(tl: Timeline) -> pd.DataFrame:
    """Per lane: time holding, in I/O and waiting (s), GIL takes, drop requests set."""
    iv = tl.intervals.assign(d=tl.intervals["end_s"] - tl.intervals["start_s"])
    table = iv.pivot_table(index=["rank", "thread"], columns="state", values="d", aggfunc="sum", fill_value=0.0)
    for s in ("hold", "io", "wait"):
        if s not in table.columns:
            table[s] = 0.0
    table["takes"] = iv[iv["state"] == "hold"].groupby(["rank", "thread"]).size()
    table["drop_requests"] = tl.requests.groupby(["rank", "thread"]).size()
    return table[["hold", "io", "wait", "takes", "drop_requests"]].fillna(0).reset_index()
