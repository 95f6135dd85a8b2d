"""GIL timelines and request latencies from the trace: hand-made events with known answers,
then what must hold on traces the real binary wrote."""
import numpy as np
import pandas as pd
import pytest

from gilbench_analysis import load
from gilbench_analysis.latency import cdf, latency_summary, request_latencies, trace_latencies
from gilbench_analysis.sweep import sweep_families
from gilbench_analysis.timeline import lane_intervals, pick_trials, timeline, timeline_stats


def events(*pairs, cell=0, trial=0, rank=0, thread=0):
    return pd.DataFrame([dict(cell=cell, trial=trial, rank=rank, thread=thread, t_s=t, event=e) for t, e in pairs])


def test_lane_intervals_of_a_cpu_and_an_io_thread():
    cpu = events((0.001, "take"), (0.006, "request"), (0.007, "drop"), (0.012, "take"), (0.015, "drop"))
    iv = lane_intervals(cpu, start_s=0.0, end_s=0.015)
    assert list(map(tuple, iv.to_numpy())) == [("wait", 0.0, 0.001), ("hold", 0.001, 0.007),
                                               ("wait", 0.007, 0.012), ("hold", 0.012, 0.015)]
    io = events((0.0, "take"), (0.001, "drop"), (0.001, "io_start"), (0.101, "io_end"), (0.104, "take"),
                (0.105, "drop"))
    iv = lane_intervals(io, start_s=0.0, end_s=0.105)
    assert list(iv["state"]) == ["hold", "io", "wait", "hold"]
    assert iv["end_s"].iloc[2] - iv["start_s"].iloc[2] == pytest.approx(0.003)   # waited for the GIL after I/O


def test_trace_latency_runs_until_the_gil_is_back():
    ev = pd.concat([
        events((0.0, "take"), (0.001, "drop"), (0.001, "io_start"), (0.101, "io_end"), (0.106, "take"),
               (0.106, "drop"), (0.106, "io_start"), (0.206, "io_end"), (0.207, "take"), (0.207, "drop")),
        # No GIL (policy none): no take, so a request ends at io_end.
        events((0.0, "io_start"), (0.05, "io_end"), (0.05, "io_start"), (0.1, "io_end"), thread=1)])
    lat = trace_latencies(ev)
    t0 = lat[lat["thread"] == 0]
    assert t0["latency_s"].to_numpy() == pytest.approx([0.105, 0.101])
    assert t0["network_s"].to_numpy() == pytest.approx([0.100, 0.100])
    assert lat[lat["thread"] == 1]["latency_s"].to_numpy() == pytest.approx([0.05, 0.05])
    assert list(t0["request"]) == [0, 1]


def test_cdf():
    x, y = cdf([3.0, 1.0, 2.0, np.nan])
    assert list(x) == [1.0, 2.0, 3.0] and y == pytest.approx([1 / 3, 2 / 3, 1.0])


def test_one_thread_at_a_time_holds_a_ranks_gil(results_file, scaling_file, switch_file):
    """Mutual exclusion, seen in the real traces: within a rank, hold intervals never overlap."""
    checked = 0
    for path in (results_file, scaling_file, switch_file):
        r = load(path)
        gil = r.cells.set_index("cell")["gil"]
        for (cell, trial), _ in r.trace.groupby(["cell", "trial"]):
            if gil[cell] == "none":
                continue
            tl = timeline(r, cell, trial, max_events=10**9)
            holds = tl.intervals[tl.intervals["state"] == "hold"]
            for _, h in holds.groupby("rank"):
                h = h.sort_values("start_s")
                assert (h["start_s"].to_numpy()[1:] >= h["end_s"].to_numpy()[:-1]).all(), (path, cell, trial)
                checked += 1
    assert checked > 10


def test_timeline_of_the_traced_multi_thread_cpu_cell(results_file):
    r = load(results_file)
    picks = pick_trials(r)
    cells = r.cells.set_index("cell")
    assert [cells.at[c, "workload"] for c, _ in picks] == ["cpu", "io"]
    cell, trial = picks[0]
    assert cells.at[cell, "name"] == "cpu-multi-thread"
    assert trial == 1   # the first measured trial; trial 0 is the warm-up
    tl = timeline(r, cell, trial)
    assert tl.lanes == [(0, 0), (0, 1)]
    st = timeline_stats(tl)
    # Both threads ran (the countdown is split), and took turns: each took the GIL.
    assert (st["hold"] > 0).all() and (st["takes"] >= 1).all()
    assert tl.t_end > 0 and tl.truncated_at is None
    short = timeline(r, cell, trial, max_events=5)
    assert short.truncated_at is not None and short.t_end == short.truncated_at


def test_timeline_has_a_lane_per_thread_of_every_rank(scaling_file):
    r = load(scaling_file)
    cell = int(r.cell("strong-new-2x2")["cell"])
    assert pick_trials(r) == [(cell, 1)]
    tl = timeline(r, cell, 1)
    assert tl.lanes == [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_blocking_calls_from_the_real_trace(results_file):
    r = load(results_file)
    trace = r.trace.merge(r.measured[["cell", "trial"]])
    calls = trace_latencies(trace)
    cells = r.cells.set_index("cell")
    assert set(cells.loc[calls["cell"].unique(), "workload"]) == {"io"}
    assert (calls["latency_s"] >= calls["network_s"]).all()
    # Each GET on a fresh connection makes the 11 blocking calls of urllib's GET with a timeout
    # (getaddrinfo, socket, settimeout's ioctl, connect, poll, SO_ERROR, poll, send, poll, recv,
    # close: http/plain_http.cpp), each with the GIL released, and waits out the server's delay
    # in one of them: per thread, exactly 11 calls per request, and the calls' time with the
    # GIL released is at least requests × delay.
    per_thread = calls.groupby(["cell", "trial", "rank", "thread"]).agg(n=("latency_s", "size"),
                                                                        io=("network_s", "sum"))
    w = r.workers.set_index(["cell", "trial", "rank", "thread"])
    for key, row in per_thread.iterrows():
        requests = w.at[key, "io_requests"]
        assert requests >= 1
        assert row["n"] == 11 * requests, f"{key}: {row['n']} blocking calls for {requests} requests"
        assert row["io"] >= requests * cells.at[key[0], "latency_s"]
    s = latency_summary(calls, r)
    assert set(s["name"]) == {"io-single-thread", "io-multi-thread", "io-multi-process"}
    assert (s["median_s"] <= s["p99_s"]).all() and (s["cpu_threads"] == 0).all()


def test_latency_prefers_the_requests_table_and_falls_back_to_the_trace(results_file):
    r = load(results_file)
    lat, source = request_latencies(r)
    assert source == ("requests" if not r.requests.empty else "trace")
    r.requests = r.requests.iloc[0:0]
    lat2, source2 = request_latencies(r)
    assert source2 == "trace" and len(lat2) == len(trace_latencies(r.trace.merge(r.measured[["cell", "trial"]])))
    r.trace = r.trace.iloc[0:0]
    lat3, source3 = request_latencies(r)
    assert source3 == "" and lat3.empty


def test_switch_interval_sweep_families(switch_file):
    fams = sweep_families(load(switch_file))
    by = {f.workload: f for f in fams}
    assert set(by) == {"cpu", "io", "mixed"}   # io-alone has one interval: no family
    assert list(by["cpu"].cpu["switch_interval_s"]) == pytest.approx([0.0002, 0.001, 0.005])
    assert list(by["cpu"].cpu["trials"]) == [2, 2, 2]
    assert list(by["io"].io["requests"]) == [12, 12, 12]      # 6 per trial, 2 trials
    assert list(by["mixed"].io["requests"]) == [20, 20, 20]   # the I/O thread's 10 per trial
    assert (by["mixed"].io["median_s"] >= 0.002).all()        # never faster than the server delay
    assert by["cpu"].io.empty and by["io"].cpu.empty and by["mixed"].cpu.empty
    assert by["mixed"].label == "mixed: 1 CPU + 1 I/O threads, 1 rank × 2 threads"


def test_requests_table_of_the_real_binary(switch_file):
    r = load(switch_file)
    lat, source = request_latencies(r)
    assert source == "requests"
    cells = r.cells.set_index("cell")
    for (cell, trial), reqs in lat.groupby(["cell", "trial"]):
        assert len(reqs) == cells.at[cell, "work"]                    # strong scaling: the total
        assert (reqs["latency_s"] >= cells.at[cell, "latency_s"]).all()
        if cells.at[cell, "workload"] == "mixed":
            assert set(reqs["thread"]) == {0}                          # threads 0 … io_threads-1
    s = latency_summary(lat, r).set_index("name")
    assert s.at["mixed-si-1ms", "cpu_threads"] == 1 and s.at["io-alone", "cpu_threads"] == 0
