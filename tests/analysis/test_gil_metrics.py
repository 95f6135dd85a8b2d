"""GIL figures in the units of gil_load, gilknocker, ccbench and POP: hand-made traces and worker
rows with answers known by hand, then the report section on a file the real binary wrote."""
import numpy as np
import pandas as pd
import pytest

from gilbench_analysis import load
from gilbench_analysis.cli import report_main
from gilbench_analysis.gil_metrics import (ccbench_latency, ccbench_throughput, cumulative_share, gil_metrics,
                                           handovers, lost_after_io, pop_breakdown, pop_factors, trial_metrics,
                                           union_length)
from gilbench_analysis.load import COLUMNS, DEFAULTS, ENGINE_COLUMNS, Results, engine_columns_for_old_file

MS = 1e-3


def frame(name, rows):
    """A table of `name` with every column load() guarantees: given values, else the loader's
    defaults (0 / "" where it has none); cells get their engine columns as a file without them
    would (engine_columns_for_old_file)."""
    df = pd.DataFrame(rows)
    for col, dtype in COLUMNS[name].items():
        if col not in df.columns and not (name == "cells" and col in ENGINE_COLUMNS):
            df[col] = DEFAULTS.get((name, col), "" if dtype == "object" else 0)
    return engine_columns_for_old_file(df) if name == "cells" else df


def cell(i, name, **kw):
    return dict(dict(cell=i, name=name, workload="cpu", gil="new", ranks=1, threads=1, work=1000, scaling="strong",
                     switch_interval_s=0.001, check_interval=100, engine="emulated", latency_s=0.0, io_threads=0,
                     trace=1, repeats=1), **kw)


def results(cells, trials, workers, trace=(), requests=()):
    return Results(path="hand-made.h5", run="run-000", root={}, attrs={}, cells=frame("cells", cells),
                   trials=frame("trials", trials), workers=frame("workers", workers),
                   trace=frame("trace", list(trace)) if trace else frame("trace", []).iloc[0:0],
                   requests=frame("requests", list(requests)) if requests else frame("requests", []).iloc[0:0])


def ev(thread, *pairs, rank=0, cell=0, trial=0):
    return [dict(cell=cell, trial=trial, rank=rank, thread=thread, t_s=t * MS, event=e) for t, e in pairs]


def alternating(rank=0, cell=0, trial=0):
    """Two threads taking turns, 1 ms holds each, 0 to 10 ms: thread 0 holds [0,1), [2,3) … [8,9),
    thread 1 holds [1,2) … [9,10); both workers run from 0 to 10 ms."""
    t0 = ev(0, *[p for k in range(0, 10, 2) for p in ((k, "take"), (k + 1, "drop"))], rank=rank, cell=cell, trial=trial)
    t1 = ev(1, *[p for k in range(1, 10, 2) for p in ((k, "take"), (k + 1, "drop"))], rank=rank, cell=cell, trial=trial)
    workers = [dict(cell=cell, trial=trial, rank=rank, thread=h, start_s=0.0, end_s=10 * MS, ops=500,
                    gil_acquisitions=5, gil_hold_s=5 * MS, gil_wait_s=5 * MS) for h in (0, 1)]
    return pd.DataFrame(t0 + t1), pd.DataFrame(workers)


# ---------------------------------------------------------------------------------------------
# Pure pieces

def test_union_and_cumulative_share():
    assert union_length([0, 1, 5], [2, 3, 6]) == pytest.approx(4.0)     # [0,3) and [5,6)
    assert union_length([0, 0], [1, 1]) == pytest.approx(1.0)           # the same interval twice counts once
    assert union_length([], []) == 0.0
    c = cumulative_share([0, 5], [1, 10], 0.0, [1, 5, 10, 0])
    assert c[:3] == pytest.approx([1.0, 0.2, 0.6]) and np.isnan(c[3])


def test_handovers_count_only_takes_by_another_thread():
    trace = pd.DataFrame(ev(0, (0, "take"), (1, "drop"), (2, "take"), (3, "drop"))   # re-takes: no switch
                         + ev(1, (4, "take"), (5, "drop")) + ev(0, (6, "take"), (7, "drop"))
                         + ev(0, (0.5, "take"), rank=1))                                  # another rank's GIL
    h = handovers(trace)
    assert h.groupby("rank")["switch"].sum().to_dict() == {0: 2, 1: 0}


# ---------------------------------------------------------------------------------------------
# gil_load and gilknocker units, switches

def test_two_threads_alternating_1ms_holds():
    trace, workers = alternating()
    m = trial_metrics(trace, workers, switch_interval_s=0.001)
    t = m.threads.set_index("thread")
    assert t["held"].to_numpy() == pytest.approx([0.5, 0.5])
    # Thread 0 waits [1,2) … [7,8) (4 ms: after its last drop at 9 ms it wants nothing);
    # thread 1 waits from its start: [0,1) … [8,9) (5 ms).
    assert t["wait"].to_numpy() == pytest.approx([0.4, 0.5])
    assert list(t["takes"]) == [5, 5] and list(t["switches_in"]) == [4, 5]
    r = m.ranks.iloc[0]
    assert r["held_any"] == pytest.approx(1.0)
    assert r["contention"] == pytest.approx(0.9)           # someone waited from 0 to 9 ms
    assert r["switches"] == 9 and r["switches_per_s"] == pytest.approx(900.0)
    assert t["switches_in_per_s"].sum() == pytest.approx(r["switches_per_s"])
    # Cumulative: always someone waiting up to 7.5 ms, so 1.0 at 25, 50 and 75 %.
    assert [r["contention_at_25"], r["contention_at_50"], r["contention_at_75"]] == pytest.approx([1, 1, 1])


def test_one_thread_alone_holds_without_contention():
    trace = pd.DataFrame(ev(0, (1, "take"), (9, "drop")))
    workers = pd.DataFrame([dict(rank=0, thread=0, start_s=0.0, end_s=10 * MS, io_requests=0)])
    m = trial_metrics(trace, workers, 0.005)
    assert m.threads.iloc[0]["held"] == pytest.approx(0.8) and m.threads.iloc[0]["wait"] == pytest.approx(0.1)
    assert m.ranks.iloc[0]["switches"] == 0
    # The wait before its first take is the only one: 1 ms out of the first 2.5.
    assert m.ranks.iloc[0]["contention_at_25"] == pytest.approx(0.4)


def io_and_cpu_trace(lost_ms=(2.0,)):
    """Thread 0 makes blocking calls; each returns (io_end) while thread 1 holds the GIL, which it
    gets back lost_ms later; thread 1 holds the GIL in between."""
    t, e0, e1 = 0.0, [], []
    for lost in lost_ms:
        e0 += [(t, "take"), (t + 0.1, "drop"), (t + 0.1, "io_start"), (t + 5.1, "io_end"), (t + 5.1 + lost, "take"),
               (t + 5.2 + lost, "drop")]
        e1 += [(t + 0.1, "take"), (t + 5.1 + lost, "drop")]
        t += 5.2 + lost
    return pd.DataFrame(ev(0, *e0) + ev(1, *e1)), t


def test_lost_switch_intervals_per_io_request():
    trace, end = io_and_cpu_trace((2.0,))
    workers = pd.DataFrame([dict(rank=0, thread=h, start_s=0.0, end_s=end * MS, io_requests=1 - h) for h in (0, 1)])
    calls = lost_after_io(trace)
    assert len(calls) == 1 and calls["lost_s"].iloc[0] == pytest.approx(2 * MS)
    t = trial_metrics(trace, workers, switch_interval_s=0.001).threads.set_index("thread")
    assert t.at[0, "lost_per_call"] == pytest.approx(2.0) and t.at[0, "lost_per_request"] == pytest.approx(2.0)
    assert np.isnan(t.at[1, "lost_per_call"])          # no blocking call
    # Per call is the mean; per request adds a request's calls (two calls, one request here).
    trace2, end2 = io_and_cpu_trace((2.0, 4.0))
    w2 = pd.DataFrame([dict(rank=0, thread=h, start_s=0.0, end_s=end2 * MS, io_requests=1 - h) for h in (0, 1)])
    t2 = trial_metrics(trace2, w2, 0.001).threads.set_index("thread")
    assert t2.at[0, "lost_per_call"] == pytest.approx(3.0) and t2.at[0, "lost_per_request"] == pytest.approx(6.0)
    # A switch interval of 2 ms halves them; the old GIL has none: not computable.
    assert trial_metrics(trace, workers, 0.002).threads.set_index("thread").at[0, "lost_per_call"] == \
        pytest.approx(1.0)
    assert np.isnan(trial_metrics(trace, workers, 0.001, gil="old").threads.set_index("thread").at[0, "lost_per_call"])


def test_gil_metrics_over_a_run_sums_trials_and_skips_what_it_cannot_compute():
    tr_a, w_a = alternating(cell=0, trial=1)
    tr_b, w_b = alternating(cell=0, trial=2)
    w_b = w_b.assign(end_s=w_b["end_s"] * 1.0)
    cpy = pd.DataFrame(ev(0, (0, "take"), (2, "take"), cell=1, trial=1) + ev(1, (1, "take"), cell=1, trial=1))
    nogil = pd.DataFrame(ev(0, (0, "io_start"), (1, "io_end"), cell=2, trial=1))
    warm, w_warm = alternating(cell=3, trial=0)
    r = results(
        cells=[cell(0, "threads", threads=2), cell(1, "cpython", threads=2, engine="cpython"),
               cell(2, "nogil", gil="none", workload="io"), cell(3, "warm", threads=2)],
        trials=[dict(cell=0, trial=k, warmup=0, wall_s=0.01) for k in (1, 2)]
        + [dict(cell=1, trial=1, warmup=0, wall_s=0.01), dict(cell=2, trial=1, warmup=0, wall_s=0.01),
           dict(cell=3, trial=0, warmup=1, wall_s=0.01), dict(cell=3, trial=1, warmup=0, wall_s=0.01)],
        workers=pd.concat([w_a, w_b, w_warm]).to_dict("records")
        + [dict(cell=1, trial=1, rank=0, thread=h, start_s=0.0, end_s=3 * MS, gil_acquisitions=-1,
                gil_wait_s=np.nan, gil_hold_s=np.nan, gil_forced_drops=-1) for h in (0, 1)]
        + [dict(cell=2, trial=1, rank=0, thread=0, start_s=0.0, end_s=1 * MS)],
        trace=pd.concat([tr_a, tr_b, cpy, nogil, warm]).to_dict("records"))
    m = gil_metrics(r)
    c = m.cells.set_index("name")
    assert c.at["threads", "trials"] == 2 and c.at["threads", "contention"] == pytest.approx(0.9)
    assert c.at["threads", "switches_per_s"] == pytest.approx(900.0)
    # cpython: takes only. Switches count (1 → 0 → … : takes at 0, 1, 2 ms by 0, 1, 0), the rest is NaN.
    assert c.at["cpython", "switches_per_s"] == pytest.approx(2 / 0.003)
    assert np.isnan(c.at["cpython", "contention"]) and np.isnan(c.at["cpython", "held_any"])
    assert m.threads[m.threads["name"] == "cpython"]["held"].isna().all()
    assert "nogil" not in c.index
    why = dict(m.skipped)
    assert "takes only" in why["cpython"] and "no GIL" in why["nogil"]
    assert m.warmups_only == ["warm"] and c.at["warm", "trials"] == 1


# ---------------------------------------------------------------------------------------------
# ccbench view

def test_ccbench_throughput_as_percent_of_one_thread():
    walls = {0: 1.0, 1: 2.0, 2: 1.25, 3: 1.0}   # 1 thread, 2 threads (half as fast), 4 threads, other interval
    cells = [cell(0, "t1"), cell(1, "t2", threads=2), cell(2, "t4", threads=4),
             cell(3, "t2-5ms", threads=2, switch_interval_s=0.005)]
    trials = [dict(cell=c, trial=k, warmup=0, wall_s=w) for c, w in walls.items() for k in (0, 1)]
    workers = [dict(cell=c["cell"], trial=k, rank=0, thread=h, ops=1000 // c["threads"])
               for c in cells for k in (0, 1) for h in range(c["threads"])]
    fams = ccbench_throughput(results(cells, trials, workers))
    assert len(fams) == 1                               # the 5 ms cell has no one-thread partner
    t = fams[0].table
    assert list(t["threads"]) == [1, 2, 4]
    assert t["throughput_per_s"].to_numpy() == pytest.approx([1000, 500, 800])
    assert t["percent"].to_numpy() == pytest.approx([100, 50, 80])
    assert "switch interval 1 ms" in fams[0].title and "1,000 steps in total" in fams[0].title


def test_ccbench_latency_beside_cpu_threads():
    cells = [cell(0, "io-alone", workload="io", latency_s=0.05),
             cell(1, "mixed-1", workload="mixed", threads=2, io_threads=1, latency_s=0.05),
             cell(2, "mixed-3", workload="mixed", threads=4, io_threads=1, latency_s=0.05)]
    trials = [dict(cell=c, trial=0, warmup=0, wall_s=1.0) for c in range(3)]
    req = []
    for c, extra in ((0, 0.0), (1, 0.010), (2, 0.030)):   # 100 requests: 50 ms + extra + k × 0.1 ms
        req += [dict(cell=c, trial=0, rank=0, thread=0, request=k, start_s=0.0,
                     end_s=0.05 + extra + k * 1e-4, ok=1) for k in range(100)]
    fams = ccbench_latency(results(cells, trials, [], requests=req))
    assert len(fams) == 1
    t = fams[0].table
    assert list(t["cpu_threads"]) == [0, 1, 3] and list(t["name"]) == ["io-alone", "mixed-1", "mixed-3"]
    base = 0.05 + np.array([0.0, 0.010, 0.030])
    assert t["p50_s"].to_numpy() == pytest.approx(base + 49.5e-4)
    assert t["p90_s"].to_numpy() == pytest.approx(base + 89.1e-4)
    assert t["p99_s"].to_numpy() == pytest.approx(base + 98.01e-4)


# ---------------------------------------------------------------------------------------------
# POP

def test_pop_factors_by_hand():
    w = pd.DataFrame([dict(rank=0, thread=0, start_s=0.0, end_s=10.0, gil_wait_s=0.0),
                      dict(rank=1, thread=0, start_s=0.0, end_s=10.0, gil_wait_s=5.0)])
    f = pop_factors(w, [10.0])
    assert (f["load_balance"], f["serialisation"], f["transfer"], f["parallel"]) == pytest.approx((0.75, 1, 1, 0.75))
    # Two threads sharing a GIL, each waiting half of its 10 s, in a trial of 12.5 s.
    w = pd.DataFrame([dict(rank=0, thread=h, start_s=0.0, end_s=10.0, gil_wait_s=5.0) for h in (0, 1)])
    f = pop_factors(w, [12.5])
    assert (f["load_balance"], f["serialisation"], f["transfer"], f["parallel"]) == pytest.approx((1, 0.5, 0.8, 0.4))
    assert f["parallel"] == pytest.approx(f["load_balance"] * f["serialisation"] * f["transfer"])


def counted(**kw):
    """A worker row of the emulated engine: its GIL counters were measured."""
    return dict(gil_acquisitions=1, gil_forced_drops=0, gil_hold_s=0.0, **kw)


def test_pop_breakdown_flags_factors_below_0_8():
    cells = [cell(0, "threads", threads=2), cell(1, "ranks", ranks=2), cell(2, "one"),
             cell(3, "cpython", threads=2, engine="cpython")]
    trials = [dict(cell=c, trial=k, warmup=0, wall_s=1.0) for c in range(4) for k in (0, 1)] + \
        [dict(cell=0, trial=2, warmup=1, wall_s=9.0)]   # a warm-up: left out
    workers = []
    for k in (0, 1, 2):
        workers += [counted(cell=0, trial=k, rank=0, thread=h, start_s=0.0, end_s=1.0, gil_wait_s=0.5) for h in (0, 1)]
    for k in (0, 1):
        workers += [counted(cell=1, trial=k, rank=r, thread=0, start_s=0.0, end_s=1.0 if r else 0.5, gil_wait_s=0.0)
                    for r in (0, 1)]
        workers += [counted(cell=2, trial=k, rank=0, thread=0, start_s=0.0, end_s=1.0, gil_wait_s=0.0)]
        workers += [dict(cell=3, trial=k, rank=0, thread=h, start_s=0.0, end_s=1.0, gil_wait_s=np.nan,
                         gil_acquisitions=-1, gil_forced_drops=-1) for h in (0, 1)]
    p, skipped = pop_breakdown(results(cells, trials, workers))
    p = p.set_index("name")
    assert set(p.index) == {"threads", "ranks"}          # one worker: no breakdown; cpython: no waits
    assert p.at["threads", "trials"] == 2
    assert p.at["threads", "serialisation"] == pytest.approx(0.5) and p.at["threads", "below"] == "serialisation"
    assert p.at["ranks", "load_balance"] == pytest.approx(0.75) and p.at["ranks", "below"] == "load balance"
    assert p.at["ranks", "serialisation"] == pytest.approx(1.0)
    assert skipped and skipped[0][0] == "cpython" and "not measured" in skipped[0][1]


# ---------------------------------------------------------------------------------------------
# On a file of the real binary

def test_report_has_the_gil_metrics_section(results_file, tmp_path, capsys):
    r = load(results_file)
    m = gil_metrics(r)
    traced = set(r.cells.loc[r.cells["trace"] == 1, "name"])
    assert set(m.cells["name"]) == traced
    # Invariants (no timing): fractions in [0, 1], a thread never both holds and waits at once.
    t = m.threads
    assert ((t["held"] >= 0) & (t["wait"] >= 0) & (t["held"] + t["wait"] <= 1 + 1e-9)).all()
    assert (m.cells["contention"].between(0, 1)).all()
    assert (m.cells.set_index("name").loc[["cpu-single-thread", "io-single-thread"], "switches_per_s"] == 0).all()
    assert report_main([results_file, "-o", str(tmp_path), "--no-html"]) == 0
    capsys.readouterr()
    md = (tmp_path / "report.md").read_text()
    section = md[md.index("## GIL metrics"):md.index("## I/O latency")]
    for name in traced:
        assert f"| {name} |" in section
    assert "### ccbench view" in section and "| 2 | cpu-multi-thread |" in section   # T = 2 beside T = 1
    assert "| 1 | cpu-single-thread | 2 |" in section and "| 100 % |" in section
    assert "latency view not shown: no mixed cell" in section
    assert "### POP efficiency breakdown" in section
    pop = section[section.index("### POP efficiency breakdown"):]
    assert "| cpu-multi-thread | cpu | new | 1 × 2 |" in pop and "| cpu-multi-process | cpu | new | 2 × 1 |" in pop
    assert "| cpu-single-thread |" not in pop
