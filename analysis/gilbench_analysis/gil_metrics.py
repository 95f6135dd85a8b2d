"""GIL figures in the units people already know, computed exactly from gilbench's trace and
counters instead of by sampling (docs/gil-metrics.md has the same definitions, with examples).

From the `trace` table a thread's time is split into states (timeline.lane_intervals: hold from
`take` to `drop`, io from `io_start` to `io_end`, wait from a `drop` not followed by I/O, an
`io_end` or the worker's start, to the next `take`). On one rank (one GIL), for one trial:

- held fraction, per thread (as gil_load by Chris Billington reports it,
  https://github.com/chrisjbillington/gil_load): time the thread held the GIL / its wall time
  (workers.end_s − workers.start_s). gil_load samples who holds the GIL at random moments; here
  every take and drop is known, so the fraction is exact.
- waiting fraction, per thread (gil_load's "wait"): time the thread wanted the GIL and did not
  hold it (the wait state) / its wall time.
- contention, per rank (as gilknocker by Miles Granger reports it,
  https://github.com/milesgranger/gilknocker): the share of the rank's time span (earliest
  worker start to latest worker end) during which at least one of its threads wanted the GIL
  and could not get it: |union of the wait intervals| / span. gilknocker estimates this with a
  probe thread that keeps re-acquiring the GIL and adds up how long each acquisition took over
  the time it ran; the probe is itself one more waiter. Here the workers' own waits are used,
  with no probe. Its cumulative form C(t) = |union of waits ∩ [t0, t]| / (t − t0) is what
  gilknocker's `contention_metric` would read at time t of the trial; the report gives it at
  25, 50 and 75 % of the span (C at 100 % is the contention).
- GIL held by any thread, per rank (gil_load's total "held"): |union of hold intervals| / span.
- switches per second, per rank: takes by a different thread than the previous take on that
  rank (a hand-over; the trial's first take is not one), divided by the span; per thread, the
  hand-overs *to* that thread divided by the same span, so a rank's threads add up to the rank.
- lost switch intervals per I/O request (new GIL only): for each blocking call, the time from
  its `io_end` to the thread's next `take`, divided by the cell's switch interval. "per call" is
  the mean over calls; "per request" is the total over the thread's calls divided by its HTTP
  requests (workers.io_requests): an emulated GET makes 11 blocking calls, as urllib does.

Over the cells of one job:

- ccbench view (CPython's Tools/ccbench, https://github.com/python/cpython/tree/3.11/Tools/ccbench,
  removed from CPython 3.12 by gh-100176):
  CPU throughput with T threads as a percentage of one thread, from cells that differ only in
  their number of threads (one rank): throughput = Σ workers.ops / trials.wall_s, median over
  the measured trials; % = throughput(T) / throughput(1) × 100. ccbench printed the mean and
  standard deviation of its latency pings beside 0…N CPU threads; here, as OSU's benchmarks
  report tails, the 50th, 90th and 99th percentiles of the request latencies of mixed cells
  (N = threads − io_threads CPU threads beside the I/O threads) and, as N = 0, of the io cell
  with the mixed cells' I/O shape (ranks, threads = io_threads, same server delay and GIL).
- POP-style efficiency breakdown per cell of P ranks × T threads (the POP Centre of
  Excellence's standard metrics, https://co-design.pop-coe.eu/metrics/index.html). POP derives
  them from MPI traces, with communication as the overhead; here the overhead is waiting for
  the GIL. Each worker's useful time U is its busy
  time B = end_s − start_s less its GIL wait (workers.gil_wait_s): the time it did the job's
  work (or waited for the server) rather than for the GIL. Summed over the measured trials,
  with W the sum of the trials' wall times:
      load balance          LB   = mean(U) / max(U)
      serialisation eff.    SerE = max(U) / max(B)     (≈ 1 − GIL wait share)
      transfer eff.         TE   = max(B) / W          (what remains: start-up skew, barriers)
      parallel efficiency   PE   = mean(U) / W = LB × SerE × TE
  POP's rule of thumb: a factor below 0.8 is worth a look. T CPU-bound threads under one GIL
  have SerE ≈ 1/T; T ranks keep SerE ≈ 1: that is why threads lose to ranks.

What was measured is read from the cells table, never from the engine's name. Cells whose trace
has takes only (cells.trace_events = "takes": the cpython engine's countdown, no drops, no I/O)
get their switches per second, not the other per-thread figures; cells without GIL counters
(cells.gil_counters = 0) get no POP breakdown. Cells with no lock (cells.lock_free: gil = "none"
or a free-threaded profile) have no GIL to hold, wait for or hand over, and cells with parallel =
"subinterpreters" a GIL per thread: the trace figures are not computed for either.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .latency import latency_summary, request_latencies
from .load import DEFAULT_ENGINE, Results
from .timeline import trial_intervals

POP_THRESHOLD = 0.8              # POP's rule of thumb: a factor below this is worth a look
CUMULATIVE_AT = (0.25, 0.5, 0.75)  # where the report reads the cumulative contention
# A switch interval is the new GIL's: lost intervals mean nothing under the old GIL or none.
LOST_GIL = "new"


# ---------------------------------------------------------------------------------------------
# Pure functions on intervals and events

def union_length(starts, ends) -> float:
    """Total length of the union of intervals [start, end)."""
    iv = sorted((float(s), float(e)) for s, e in zip(starts, ends) if e > s)
    total, cur_s, cur_e = 0.0, None, None
    for s, e in iv:
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s
    return total


def cumulative_share(starts, ends, t0: float, at) -> np.ndarray:
    """C(t) = |union of [start, end) ∩ [t0, t]| / (t − t0) for each t in `at` (NaN where t ≤ t0):
    the running form of a share of time, as gilknocker's metric reads at time t."""
    s = np.asarray(starts, dtype=float)
    e = np.asarray(ends, dtype=float)
    out = []
    for t in np.atleast_1d(np.asarray(at, dtype=float)):
        if t <= t0:
            out.append(np.nan)
            continue
        out.append(union_length(np.clip(s, t0, t), np.clip(e, t0, t)) / (t - t0))
    return np.asarray(out)


def handovers(trace: pd.DataFrame) -> pd.DataFrame:
    """The takes of one trial, per rank in time order, with `switch` = 1 where the taker differs
    from the previous take's thread on that rank (the first take of a rank is no switch)."""
    takes = trace[trace["event"] == "take"].sort_values(["rank", "t_s"], kind="stable")
    prev = takes.groupby("rank")["thread"].shift()
    return takes.assign(switch=(prev.notna() & (takes["thread"] != prev)).astype(int))


def lost_after_io(trace: pd.DataFrame) -> pd.DataFrame:
    """One row per blocking call of one trial whose thread took the GIL again: rank, thread,
    io_end_s, take_s, lost_s = take_s − io_end_s. A call with no take after it (no GIL, or the
    trace ended) has no row."""
    ev = trace[trace["event"].isin(["io_end", "take"])]
    rows = []
    for (rank, thread), lane in ev.groupby(["rank", "thread"], sort=True):
        lane = lane.sort_values("t_s", kind="stable")
        pending = None
        for e, t in zip(lane["event"].to_numpy(), lane["t_s"].to_numpy()):
            if e == "io_end":
                pending = t
            elif pending is not None:   # the take that ends the wait after the call
                rows.append((rank, thread, pending, t, t - pending))
                pending = None
    return pd.DataFrame(rows, columns=["rank", "thread", "io_end_s", "take_s", "lost_s"])


@dataclass
class TrialMetrics:
    threads: pd.DataFrame   # one row per (rank, thread); see trial_metrics
    ranks: pd.DataFrame     # one row per rank


def trial_metrics(trace: pd.DataFrame, workers: pd.DataFrame, switch_interval_s: float, gil: str = "new",
                  cumulative_at=CUMULATIVE_AT) -> TrialMetrics:
    """Every per-thread and per-rank figure of one traced trial (module doc), from the trial's
    trace rows and its workers rows (start_s, end_s, io_requests; any may be missing).

    threads: rank, thread, wall_s, hold_s, wait_s, io_s, held, wait, takes, switches_in,
             switches_in_per_s, io_calls, io_requests, lost_s, lost_per_call, lost_per_request
    ranks:   rank, span_s, held_any, contention, contention_at_<q> (q in cumulative_at, %),
             switches, switches_per_s"""
    lanes, iv, _ = trial_intervals(trace, workers)
    iv = iv.assign(d=iv["end_s"] - iv["start_s"])
    w = workers.set_index(["rank", "thread"]) if not workers.empty else pd.DataFrame()
    sw = handovers(trace)
    lost = lost_after_io(trace)
    per_call = gil == LOST_GIL and switch_interval_s > 0
    rows = []
    for rank, thread in lanes:
        mine = iv[(iv["rank"] == rank) & (iv["thread"] == thread)]
        ev = trace[(trace["rank"] == rank) & (trace["thread"] == thread)]
        if (rank, thread) in w.index:
            start, end = float(w.at[(rank, thread), "start_s"]), float(w.at[(rank, thread), "end_s"])
            requests = int(w.at[(rank, thread), "io_requests"]) if "io_requests" in w.columns else 0
        else:
            start, end, requests = float(ev["t_s"].min()), float(ev["t_s"].max()), 0
        wall = max(end - start, 0.0)
        spent = mine.groupby("state")["d"].sum()
        hold, wait, io = (float(spent.get(s, 0.0)) for s in ("hold", "wait", "io"))
        calls = lost[(lost["rank"] == rank) & (lost["thread"] == thread)]
        lost_s = float(calls["lost_s"].sum())
        rows.append(dict(
            rank=rank, thread=thread, wall_s=wall, hold_s=hold, wait_s=wait, io_s=io,
            held=hold / wall if wall > 0 else np.nan, wait=wait / wall if wall > 0 else np.nan,
            takes=int(((sw["rank"] == rank) & (sw["thread"] == thread)).sum()),
            switches_in=int(sw.loc[(sw["rank"] == rank) & (sw["thread"] == thread), "switch"].sum()),
            io_calls=len(calls), io_requests=requests, lost_s=lost_s,
            lost_per_call=(calls["lost_s"].mean() / switch_interval_s) if per_call and len(calls) else np.nan,
            lost_per_request=(lost_s / requests / switch_interval_s) if per_call and requests and len(calls)
            else np.nan))
    threads = pd.DataFrame(rows)
    ranks = []
    for rank in sorted({r for r, _ in lanes}):
        mine = iv[iv["rank"] == rank]
        if (not w.empty) and rank in w.index.get_level_values(0):
            wr = w.xs(rank, level="rank")
            t0, t1 = float(wr["start_s"].min()), float(wr["end_s"].max())
        else:
            tr = trace[trace["rank"] == rank]["t_s"]
            t0, t1 = float(tr.min()), float(tr.max())
        span = max(t1 - t0, 0.0)
        hold = mine[mine["state"] == "hold"]
        wait = mine[mine["state"] == "wait"]
        switches = int(sw.loc[sw["rank"] == rank, "switch"].sum())
        row = dict(rank=rank, span_s=span,
                   held_any=union_length(hold["start_s"], hold["end_s"]) / span if span > 0 else np.nan,
                   contention=union_length(wait["start_s"], wait["end_s"]) / span if span > 0 else np.nan,
                   switches=switches, switches_per_s=switches / span if span > 0 else np.nan)
        for q, c in zip(cumulative_at, cumulative_share(wait["start_s"], wait["end_s"], t0,
                                                        [t0 + q * span for q in cumulative_at])):
            row[f"contention_at_{round(q * 100)}"] = c
        ranks.append(row)
    threads["switches_in_per_s"] = [
        r["switches_in"] / s if s > 0 else np.nan
        for r, s in zip(threads.to_dict("records"),
                        threads["rank"].map({x["rank"]: x["span_s"] for x in ranks}))]
    return TrialMetrics(threads=threads, ranks=pd.DataFrame(ranks))


# ---------------------------------------------------------------------------------------------
# Per cell, over a run

@dataclass
class GilMetrics:
    threads: pd.DataFrame                      # per (cell, rank, thread), over the trials used
    cells: pd.DataFrame                        # per cell, over its ranks and trials
    skipped: list = field(default_factory=list)  # (cell name, why a figure cannot be computed)
    warmups_only: list = field(default_factory=list)  # cells whose only traced trials are warm-ups


def _traced_trials(results: Results, cell: int) -> tuple[list[int], bool]:
    traced = set(results.trace.loc[results.trace["cell"] == cell, "trial"])
    measured = set(results.measured.loc[results.measured["cell"] == cell, "trial"])
    use = sorted(traced & measured)
    return (use, False) if use else (sorted(traced), True)


def gil_metrics(results: Results) -> GilMetrics:
    """The per-thread and per-cell figures of every traced cell, over its measured traced trials
    (its warm-ups when only they were traced). Times are summed over trials before dividing, so
    a longer trial weighs more, as a longer sample would in gil_load."""
    out_t, out_c, skipped, warm = [], [], [], []
    if results.trace.empty:
        return GilMetrics(pd.DataFrame(), pd.DataFrame(), skipped, warm)
    by_trial = {k: g for k, g in results.trace.groupby(["cell", "trial"])}
    for cell in sorted(results.trace["cell"].unique()):
        c = results.cell(int(cell))
        name, gil, engine = c["name"], c["gil"], c["engine"]
        if c["lock_free"]:
            skipped.append((name, f"gil = \"{gil}\": no GIL to hold, wait for or hand over"))
            continue
        if c.get("parallel", "threads") == "subinterpreters":
            skipped.append((name, "parallel = \"subinterpreters\": each thread has a GIL of its own, and these "
                                  "figures are about threads sharing one"))
            continue
        trials, warmup = _traced_trials(results, int(cell))
        if warmup:
            warm.append(name)
        w_all = results.workers[results.workers["cell"] == cell]
        dropped = [t for t in trials if (w_all.loc[w_all["trial"] == t, "trace_dropped"] > 0).any()]
        if dropped:
            skipped.append((name, f"trial(s) {', '.join(map(str, dropped))} left out: their trace is incomplete "
                                  "(workers.trace_dropped > 0; trace fewer events or shorter cells)"))
            trials = [t for t in trials if t not in dropped]
        if not trials:
            continue
        takes_only = c["trace_events"] == "takes"
        if takes_only:
            skipped.append((name, f"engine {c['engine_label']}: its trace has takes only (no drops, no I/O), so only "
                                  "switches per second are computed; held, waiting, contention and lost intervals "
                                  "cannot be"))
        si = float(c["switch_interval_s"])
        per_t, per_r = [], []
        for trial in trials:
            tr = by_trial[(cell, trial)]
            wk = w_all[w_all["trial"] == trial]
            m = trial_metrics(tr, wk, si, gil)
            per_t.append(m.threads.assign(trial=trial))
            per_r.append(m.ranks.assign(trial=trial))
        th, rk = pd.concat(per_t, ignore_index=True), pd.concat(per_r, ignore_index=True)
        g = th.groupby(["rank", "thread"])
        rank_span = rk.groupby("rank")["span_s"].sum()
        t = pd.DataFrame({
            "wall_s": g["wall_s"].sum(), "hold_s": g["hold_s"].sum(), "wait_s": g["wait_s"].sum(),
            "switches_in": g["switches_in"].sum(), "io_calls": g["io_calls"].sum(),
            "io_requests": g["io_requests"].sum(), "lost_s": g["lost_s"].sum()}).reset_index()
        t["held"] = t["hold_s"] / t["wall_s"].replace(0, np.nan)
        t["wait"] = t["wait_s"] / t["wall_s"].replace(0, np.nan)
        t["switches_in_per_s"] = t["switches_in"] / t["rank"].map(rank_span).replace(0, np.nan)
        lost_ok = gil == LOST_GIL and si > 0
        t["lost_per_call"] = np.where(lost_ok & (t["io_calls"] > 0),
                                      t["lost_s"] / t["io_calls"].replace(0, np.nan) / si, np.nan)
        t["lost_per_request"] = np.where(lost_ok & (t["io_calls"] > 0) & (t["io_requests"] > 0),
                                         t["lost_s"] / t["io_requests"].replace(0, np.nan) / si, np.nan)
        if takes_only:
            t[["held", "wait", "lost_per_call", "lost_per_request"]] = np.nan
        out_t.append(t.assign(cell=int(cell), name=name, trials=len(trials)))
        span = rk["span_s"].sum()
        row = dict(cell=int(cell), name=name, workload=c["workload"], gil=gil, engine=engine,
                   ranks=int(c["ranks"]), threads=int(c["threads"]), switch_interval_s=si, trials=len(trials),
                   held_any=(rk["held_any"] * rk["span_s"]).sum() / span if span > 0 else np.nan,
                   contention=(rk["contention"] * rk["span_s"]).sum() / span if span > 0 else np.nan,
                   switches_per_s=rk["switches"].sum() / span if span > 0 else np.nan,
                   lost_per_call=(t["lost_s"].sum() / t["io_calls"].sum() / si)
                   if lost_ok and t["io_calls"].sum() else np.nan,
                   lost_per_request=(t["lost_s"].sum() / t["io_requests"].sum() / si)
                   if lost_ok and t["io_calls"].sum() and t["io_requests"].sum() else np.nan)
        for q in CUMULATIVE_AT:
            row[f"contention_at_{round(q * 100)}"] = rk[f"contention_at_{round(q * 100)}"].mean()
        if takes_only:
            for k in ("held_any", "contention", "lost_per_call", "lost_per_request",
                      *(f"contention_at_{round(q * 100)}" for q in CUMULATIVE_AT)):
                row[k] = np.nan
        out_c.append(row)
    threads = pd.concat(out_t, ignore_index=True) if out_t else pd.DataFrame()
    if not threads.empty:
        first = ["cell", "name", "rank", "thread", "trials"]
        threads = threads[first + [c for c in threads.columns if c not in first]]
    return GilMetrics(threads, pd.DataFrame(out_c), skipped, warm)


# ---------------------------------------------------------------------------------------------
# ccbench view

def _engine_suffix(engine: str, label: str) -> str:
    """", engine CPython" for a family title: the engine's label, unless it is the default engine
    (whose titles read as they did before there were engines)."""
    return "" if engine == DEFAULT_ENGINE else f", engine {label}"


@dataclass
class ThroughputFamily:
    title: str
    table: pd.DataFrame   # threads, cell, name, trials, throughput_per_s, percent


def _median_throughput(results: Results, cell: int) -> tuple[float, int]:
    m = results.measured[results.measured["cell"] == cell]
    if m.empty:
        return np.nan, 0
    ops = results.workers[results.workers["cell"] == cell].groupby("trial")["ops"].sum()
    tp = (ops.reindex(m["trial"]).to_numpy(dtype=float) / m["wall_s"].to_numpy(dtype=float))
    tp = tp[np.isfinite(tp)]
    return (float(np.median(tp)) if len(tp) else np.nan), len(tp)


def ccbench_throughput(results: Results) -> list[ThroughputFamily]:
    """CPU throughput for T = 1…N threads of one rank as % of one thread, per family of cpu cells
    that differ only in their number of threads and include a one-thread cell."""
    c = results.cells[(results.cells["workload"] == "cpu") & (results.cells["ranks"] == 1)]
    # The engine is part of the family (each engine's countdown is its own work).
    key = ["gil", "parallel", "switch_interval_s", "check_interval", "engine", "scaling", "work"]
    out = []
    for k, fam in c.groupby(key, sort=False):
        fam = fam.sort_values(["threads", "cell"]).drop_duplicates("threads")
        if len(fam) < 2 or fam["threads"].iloc[0] != 1:
            continue
        rows = []
        for _, r in fam.iterrows():
            tp, n = _median_throughput(results, int(r["cell"]))
            rows.append(dict(threads=int(r["threads"]), cell=int(r["cell"]), name=r["name"], trials=n,
                             throughput_per_s=tp))
        t = pd.DataFrame(rows)
        base = t["throughput_per_s"].iloc[0]
        t["percent"] = t["throughput_per_s"] / base * 100 if np.isfinite(base) and base > 0 else np.nan
        gil, parallel, si, ci, engine, scaling, work = k
        policy = {"new": f"new GIL, switch interval {si * 1e3:g} ms", "old": f"old GIL, check interval {ci}",
                  "none": "no GIL"}.get(gil, gil)
        if parallel == "subinterpreters":
            policy += ", threads in subinterpreters (a GIL each)"
        title = (f"CPU-bound, {policy}, {int(work):,} steps " + ("in total" if scaling == "strong" else "per thread")
                 + _engine_suffix(engine, fam["engine_label"].iloc[0]))
        out.append(ThroughputFamily(title, t))
    return out


@dataclass
class LatencyFamily:
    title: str
    table: pd.DataFrame   # cpu_threads, cell, name, requests, p50_s, p90_s, p99_s


def ccbench_latency(results: Results) -> list[LatencyFamily]:
    """Request latency beside 0…N CPU threads: per group of mixed cells with one I/O shape, GIL and
    server delay, plus as 0 CPU threads the io cell of that shape (same ranks, threads = the mixed
    cells' io_threads, delay, GIL and engine; the same switch interval where there is one)."""
    lat, _ = request_latencies(results)
    if lat.empty:
        return []
    s = latency_summary(lat, results)
    if s.empty:
        return []
    cells = results.cells.set_index("cell")
    s = s.assign(engine=[cells.at[x, "engine"] for x in s["cell"]],
                 engine_label=[cells.at[x, "engine_label"] for x in s["cell"]])
    mixed = s[s["workload"] == "mixed"]
    io = s[s["workload"] == "io"]
    out = []
    for (gil, si, delay, engine, ranks, io_threads), fam in mixed.groupby(
            ["gil", "switch_interval_s", "latency_s", "engine", "ranks", "io_threads"], sort=False):
        alone = io[(io["gil"] == gil) & (io["latency_s"] == delay) & (io["engine"] == engine)
                   & (io["ranks"] == ranks) & (io["threads"] == io_threads)]
        if len(alone) > 1 and (alone["switch_interval_s"] == si).any():
            alone = alone[alone["switch_interval_s"] == si]
        rows = pd.concat([alone.iloc[:1].assign(cpu_threads=0), fam], ignore_index=True)
        rows = rows.sort_values(["cpu_threads", "cell"]).drop_duplicates("cpu_threads")
        t = pd.DataFrame({"cpu_threads": rows["cpu_threads"].astype(int), "cell": rows["cell"].astype(int),
                          "name": rows["name"], "requests": rows["requests"].astype(int),
                          "p50_s": rows["median_s"], "p90_s": rows["p90_s"], "p99_s": rows["p99_s"]})
        policy = f"new GIL, switch interval {si * 1e3:g} ms" if gil == "new" else f"{gil} GIL"
        title = (f"{int(io_threads)} I/O thread(s) × {int(ranks)} rank(s), server delay {delay * 1e3:g} ms, {policy}"
                 + _engine_suffix(engine, fam["engine_label"].iloc[0]))
        out.append(LatencyFamily(title, t.reset_index(drop=True)))
    return out


# ---------------------------------------------------------------------------------------------
# POP-style efficiency breakdown

def pop_factors(workers: pd.DataFrame, wall_s) -> dict:
    """POP factors from worker rows (rank, thread, start_s, end_s, gil_wait_s; several trials
    allowed, summed per worker) and the wall times of those trials (module doc)."""
    w = workers.assign(busy=(workers["end_s"] - workers["start_s"]).clip(lower=0))
    w = w.assign(useful=(w["busy"] - w["gil_wait_s"]).clip(lower=0))
    per = w.groupby(["rank", "thread"])[["busy", "useful"]].sum()
    total = float(np.sum(wall_s))
    u_mean, u_max, b_max = per["useful"].mean(), per["useful"].max(), per["busy"].max()
    lb = u_mean / u_max if u_max > 0 else np.nan
    ser = u_max / b_max if b_max > 0 else np.nan
    te = b_max / total if total > 0 else np.nan
    pe = u_mean / total if total > 0 else np.nan
    return dict(workers=len(per), load_balance=lb, serialisation=ser, transfer=te, parallel=pe)


def pop_breakdown(results: Results) -> tuple[pd.DataFrame, list]:
    """Per cell with more than one worker and GIL counters: the POP factors over its measured
    trials, and `below` naming the factors under POP_THRESHOLD. Also the (cell name, reason)
    of cells left out."""
    rows, skipped = [], []
    w_all = results.workers.merge(results.measured[["cell", "trial", "wall_s"]], on=["cell", "trial"])
    for _, c in results.cells.iterrows():
        if int(c["ranks"]) * int(c["threads"]) < 2:
            continue
        w = w_all[w_all["cell"] == c["cell"]]
        if w.empty:
            continue
        if not c["gil_counters"]:
            skipped.append((c["name"], f"GIL waits not measured (engine {c['engine_label']}): no serialisation "
                                       "figure"))
            continue
        walls = w.drop_duplicates("trial")["wall_s"].to_numpy()
        f = pop_factors(w, walls)
        names = {"load_balance": "load balance", "serialisation": "serialisation", "transfer": "transfer"}
        below = [names[k] for k in names if np.isfinite(f[k]) and f[k] < POP_THRESHOLD]
        rows.append(dict(cell=int(c["cell"]), name=c["name"], workload=c["workload"], gil=c["gil"],
                         ranks=int(c["ranks"]), threads=int(c["threads"]), trials=len(walls), **f,
                         below=", ".join(below)))
    return pd.DataFrame(rows), skipped
