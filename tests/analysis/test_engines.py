"""The report on a run with cells of both engines and the user's own functions.

The real binary runs tests/analysis/small_engines.toml (mpirun -n 2, ~5 s): the seed's layouts on
the emulated engine and on the embedded CPython, and two example functions of
jobs/examples/userwork.py (a pure-Python loop, hashlib over 1 MiB buffers) as 1x1, 1x2, 2x1 and
2x2. Checked: the seed table and figure put the engines side by side, the GIL counters the real
interpreter does not report stay "not measured" everywhere (never 0 or -1), each function gets
its scaling table and a verdict line. No assertion depends on how fast anything ran; the verdict
logic itself is checked on fixed numbers."""
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from gilbench_analysis import load, scaling_families, seed_summary, seed_table, seed_table_text
from gilbench_analysis.cli import report_main, table_main
from gilbench_analysis.functions import function_families, verdict
from gilbench_analysis.nodes import node_breakdown
from gilbench_analysis.report import _urllib_costs
from gilbench_analysis.tables import gil_summary
from test_engine_columns import check_old_file_loads_as_written
from test_report import check_pngs, figures, table_row

JOB = Path(__file__).resolve().parent / "small_engines.toml"
BOTH = ["CPU-bound, emulated", "CPU-bound, CPython", "I/O-bound, emulated", "I/O-bound, CPython"]
FUNCTIONS = ("userwork:pure_python", "userwork:sha256_mib")


@pytest.fixture(scope="module")
def engines_file(gilbench_binary, tmp_path_factory):
    mpiexec, exe = gilbench_binary
    out = tmp_path_factory.mktemp("engines") / "engines.h5"
    p = subprocess.run([mpiexec, "-n", "2", exe, "run", str(JOB), "-o", str(out), "-q"],
                       capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr
    return str(out)


@pytest.fixture(scope="module")
def engines_report(engines_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("engines-report")
    assert report_main([engines_file, "-o", str(out)]) == 0
    return out, (out / "report.md").read_text()


def test_seed_table_has_a_column_per_workload_and_engine(engines_file):
    r = load(engines_file)
    assert set(r.cells["engine"]) == {"emulated", "cpython"}
    t = seed_table(r)
    assert list(t.columns) == BOTH
    assert list(t.index) == ["single thread", "multi thread", "multi process"]
    assert t.notna().all().all()
    assert list(seed_table_text(r).columns) == BOTH
    # Each engine's ratios are against its own single thread, and its slots hold its own cells.
    s = seed_summary(r)
    single = s[s["layout"] == "single thread"]
    assert len(single) == 4 and (single["ratio"] == 1.0).all()
    assert all(e in n for n, e in zip(s["name"], s["engine"]))


def test_gil_counters_of_the_real_interpreter_are_not_measured(engines_file):
    r = load(engines_file)
    engine = r.cells.set_index("cell")["engine"]
    g = gil_summary(r).set_index("cell")
    real = g.index[g.index.map(engine) == "cpython"]
    emulated = g.index[g.index.map(engine) == "emulated"]
    assert len(real) == 14 and len(emulated) == 6
    assert g.loc[real, ["acquisitions", "forced_drops", "wait_share"]].isna().all().all()
    assert not g.loc[real, "measured"].any() and g.loc[emulated, "measured"].all()
    assert (g.loc[emulated, "acquisitions"] > 0).all()
    b = node_breakdown(r).set_index("cell")
    assert b.loc[b.index.map(engine) == "cpython", "gil_wait_share"].isna().all()
    assert b.loc[b.index.map(engine) == "emulated", "gil_wait_share"].notna().all()


def test_engine_columns_of_both_engines_and_of_an_old_file(engines_file, tmp_path):
    # As written, and as the loader fills them in for the same file without them.
    cells = check_old_file_loads_as_written(engines_file, tmp_path).set_index("name")
    assert tuple(cells.loc["cpu-emulated-1x2", ["engine_label", "engine_real", "gil_counters", "trace_events",
                                                "request_timings", "lock_free"]]) == ("emulated", 0, 1, "full", 1, 0)
    # The real interpreter: no GIL counters; its trace has a countdown's takes only.
    assert tuple(cells.loc["cpu-cpython-1x2", ["engine_label", "engine_real", "gil_counters", "trace_events"]]) == \
        ("CPython", 1, 0, "takes")
    assert cells.loc["io-cpython-1x2", "trace_events"] == "none" and cells.loc["pure-2x2", "trace_events"] == "none"


def test_scaling_families_keep_engines_and_functions_apart(engines_file):
    r = load(engines_file)
    cells = r.cells.set_index("cell")
    fams = scaling_families(r)
    for f in fams:
        members = {int(c) for s in f.series for c in s.points["cell"]}
        assert len({cells.loc[c, "engine"] for c in members}) == 1, f.title
        assert len({cells.loc[c, "function"] for c in members}) == 1, f.title
    slugs = sorted(f.slug for f in fams)
    assert slugs == ["cpu-cpython-strong", "cpu-strong", "io-cpython-strong", "io-strong",
                     "python-cpython-strong", "python-cpython-strong"]
    titles = [f.title for f in fams]
    assert any(t.startswith("`userwork:pure_python`, strong scaling") for t in titles)
    assert not any("server delay" in t for t in titles if "userwork" in t)


def test_function_families_have_every_shape(engines_file):
    fams = function_families(load(engines_file))
    assert [f.function for f in fams] == list(FUNCTIONS)
    for f in fams:
        d = f.shapes
        assert list(zip(d["ranks"], d["threads"])) == [(1, 1), (1, 2), (2, 1), (2, 2)]
        assert (d["trials"] == 2).all()
        assert d.loc[0, "speedup"] == 1.0
        assert np.isfinite(d["speedup"]).all() and np.isfinite(d["cpu_over_wall"]).all()
        assert (d["cpu_over_wall"] > 0).all()


def test_report_shows_engines_side_by_side_and_verdicts(engines_report):
    out, md = engines_report
    names = check_pngs(out, md)
    assert names[:2] == ["seed.png", "functions.png"]
    assert {"scaling-2-cpu-cpython-strong.png", "scaling-1-cpu-strong.png"} <= set(names)
    assert "| median wall time, s (min–max) | " + " | ".join(BOTH) + " |" in md
    assert "## Your functions: threads or processes?" in md
    for function in FUNCTIONS:
        line = next(l for l in md.splitlines() if l.startswith(f"**`{function}`**: "))
        # Which verdict depends on the machine's load; its form does not.
        # Two trials a cell: two paired rounds, too few for an interval, so the verdict is undecided.
        levels = "scale|scale partly|do not scale|look faster|undecided"
        assert re.search(rf"threads ({levels}) \(2 threads: \d+\.\d×", line), line
        assert re.search(r"processes [a-z ]+ \(2 ranks: \d+\.\d×[,)]", line), line
        assert f"### {function} (strong scaling" in md
    # The functions' tables: one row per shape with speed-up and CPU time / wall.
    row = table_row(md, "CPU time / wall", "2 × 2")
    assert re.fullmatch(r"\d+\.\d\d", row["speed-up"]) and re.fullmatch(r"\d+\.\d\d", row["CPU time / wall"])
    # GIL counters: "not measured" for the real interpreter's cells, numbers for the emulated.
    real = table_row(md, "forced drops / trial", "3")
    assert real["engine"] == "CPython" and real["GIL wait"] == "not measured"
    assert real["forced drops / trial"] == "not measured"
    emulated = table_row(md, "forced drops / trial", "1")
    assert emulated["engine"] == "emulated" and emulated["GIL wait"].endswith("%")
    assert "| -1 |" not in md and "| -2 |" not in md
    assert re.search(r"\| embedded Python \(engine cpython\) \| 3\.\d+\.\d+", md)
    # The emulated io cells' urllib costs and how the run had them (the engines job has some).
    assert re.search(r"\| urllib costs \(emulated I/O\) \| "
                     r"(measured|cached \d{4}-[^|]*|not calibrated, fallback: [^|]*): "
                     r"(\d+\.\d, ){6}\d+\.\d \(cold: (\d+\.\d, ){6}\d+\.\d\) µs, countdown \d+\.\d ns/iteration, "
                     r"urllib \d+\.\d ns/instruction, cold after 0\.5 / 50 ms waits: \d+ / \d+ % "
                     r"\(before request, ", md), md


def test_urllib_costs_row_says_measured_cached_or_not_calibrated():
    def run(**attrs):
        return SimpleNamespace(attrs=attrs)
    costs = np.array([47000, 600, 500, 3500, 14000, 78000, 4000,
                      277000, 3200, 51000, 48000, 131500, 389000, 55800, 43000, 30200, 250, 1300], dtype=np.int64)
    assert _urllib_costs(run()) == "–"
    assert _urllib_costs(run(calibration="measured", urllib_costs_ns=costs)).startswith(
        "measured: 47.0, 0.6, 0.5, 3.5, 14.0, 78.0, 4.0 (cold: 277.0, 3.2, 51.0, 48.0, 131.5, 389.0, 55.8) µs, "
        "countdown 43.0 ns/iteration, urllib 30.2 ns/instruction, cold after 0.5 / 50 ms waits: 25 / 130 % "
        "(before request, after resolve, ")
    # A file from before the cold costs' shares by wait: 16 per node.
    assert _urllib_costs(run(calibration="measured", urllib_costs_ns=costs[:16])).startswith(
        "measured: 47.0, 0.6, 0.5, 3.5, 14.0, 78.0, 4.0 (cold: 277.0, 3.2, 51.0, 48.0, 131.5, 389.0, 55.8) µs, "
        "countdown 43.0 ns/iteration, urllib 30.2 ns/instruction (before request, ")
    # A file from before the interpreter's speeds: 14 per node.
    assert _urllib_costs(run(calibration="measured", urllib_costs_ns=costs[:14])).startswith(
        "measured: 47.0, 0.6, 0.5, 3.5, 14.0, 78.0, 4.0 (cold: 277.0, 3.2, 51.0, 48.0, 131.5, 389.0, 55.8) µs ")
    assert _urllib_costs(run(calibration="fallback: --no-calibration", urllib_costs_ns=list(costs))).startswith(
        "not calibrated, fallback: --no-calibration: 47.0, ")
    # A file from before the cold costs: 7 per node, shown as they are.
    old = _urllib_costs(run(calibration="measured", urllib_costs_ns=costs[:7]))
    assert old.startswith("measured: 47.0, 0.6, 0.5, 3.5, 14.0, 78.0, 4.0 µs (before request, ") and "cold" not in old
    # Two nodes: one group of 18 per node, in hosts order.
    two = _urllib_costs(run(calibration="cached 2026-12-01T18:00:00Z", urllib_costs_ns=np.concatenate([costs, costs])))
    assert two.startswith("cached 2026-12-01T18:00:00Z: 47.0, ") and two.count("; ") == 2  # + the legend's
    # The hosts attribute decides the group size where the count alone could not: 9 nodes of 16
    # are 144 values, as 8 of 18 would be.
    nine = _urllib_costs(run(calibration="measured", hosts=[f"n{i}" for i in range(9)],
                             urllib_costs_ns=np.tile(costs[:16], 9)))
    assert nine.count("cold after") == 0 and nine.count("countdown 43.0") == 9, nine


def test_one_engine_reports_keep_their_columns(results_file, tmp_path):
    # The small seed file (emulated only): no engine column, the plain seed headers, no
    # functions section.
    assert report_main([results_file, "-o", str(tmp_path)]) == 0
    md = (tmp_path / "report.md").read_text()
    assert "| median wall time, s (min–max) | CPU-bound | I/O-bound |" in md
    assert "| engine |" not in md and "Your functions" not in md and "embedded Python" not in md
    assert "functions.png" not in figures(md)


def test_comparison_and_table_tool_name_the_engines(engines_file, tmp_path, capsys):
    assert report_main([engines_file, engines_file, "--label", "a", "--label", "b", "-o", str(tmp_path)]) == 0
    md = (tmp_path / "report.md").read_text()
    capsys.readouterr()
    assert "| a: CPU-bound, emulated | a: CPU-bound, CPython |" in md
    assert md.count("**`userwork:pure_python`**") == 2
    assert table_main([engines_file]) == 0
    text = capsys.readouterr().out
    assert all(h in text for h in BOTH)


def shapes(rows, cpu=None, spread=0.03, pairs=10):
    """A FunctionFamily.shapes frame from (ranks, threads, median s) rows, strong scaling, each
    speed-up with a paired interval of ± `spread` of it over `pairs` rounds."""
    d = pd.DataFrame(rows, columns=["ranks", "threads", "median"])
    d["n"] = d["ranks"] * d["threads"]
    t1 = float(d.loc[(d["ranks"] == 1) & (d["threads"] == 1), "median"].iloc[0]) if (d["n"] == 1).any() else np.nan
    d["speedup"] = t1 / d["median"]
    d["cpu_over_wall"] = cpu if cpu is not None else d["n"].astype(float)
    d["failed"] = 0
    d["speedup_paired"] = d["speedup"]
    d["speedup_low"] = d["speedup"] * (1 - spread)
    d["speedup_high"] = d["speedup"] * (1 + spread)
    d["pairs"] = pairs
    return d


def test_verdicts_on_fixed_numbers():
    gil_bound = verdict(shapes([(1, 1, 1.0), (1, 2, 1.0), (2, 1, 0.52)], cpu=[1.0, 1.0, 1.95]))
    assert gil_bound.startswith("threads do not scale (2 threads: 1.0× [0.97, 1.03], CPU time / wall 1.0: the threads "
                                "take turns holding the GIL); processes do (2 ranks: 1.9× [1.87, 1.98])")
    assert gil_bound.endswith("use processes (ranks, or multiprocessing) for this function, not threads")
    releasing = verdict(shapes([(1, 1, 1.0), (1, 2, 0.53), (2, 1, 0.52)]))
    assert releasing.startswith("threads scale (2 threads: 1.9× [1.83, 1.94]); processes scale too (2 ranks: 1.9×")
    assert verdict(shapes([(1, 1, 1.0), (1, 4, 0.6)])).startswith("threads scale partly (4 threads: 1.7× [")
    starved = verdict(shapes([(1, 1, 1.0), (1, 2, 1.0), (2, 1, 1.0)], cpu=[1.0, 1.0, 1.0]))
    assert "processes do not scale either (2 ranks: 1.0× [0.97, 1.03]), but the 2 ranks together got only 1.0 CPUs" \
        in starved
    # Without a second core, one CPU for two threads says nothing about the GIL.
    assert starved.startswith("threads do not scale (2 threads: 1.0× [0.97, 1.03]);")
    # A speed-up its CPU times do not back: the 1 × 1 trials were slowed by something else.
    noisy = verdict(shapes([(1, 1, 1.0), (1, 2, 0.55)], cpu=[0.88, 0.98]))
    assert noisy.startswith("threads look faster (2 threads: 1.8× [1.76, 1.87]) but used no more CPU than one thread "
                            "(CPU time / wall 1.0, 1 × 1: 0.9)")
    assert "set warmups = 8" in noisy and noisy.endswith("rerun before deciding")
    # A function that waits (little CPU): its CPU times neither confirm nor refute anything.
    waits = verdict(shapes([(1, 1, 1.0), (1, 2, 0.52), (2, 1, 1.0)], cpu=[0.05, 0.05, 0.05]))
    assert waits.startswith("threads scale (2 threads: 1.9× [1.87, 1.98]); processes do not scale (2 ranks: 1.0× "
                            "[0.97, 1.03]): threads are")
    assert verdict(shapes([(1, 2, 1.0), (2, 1, 1.0)])).startswith("no verdict: no measured 1 × 1 cell")
    assert verdict(shapes([(1, 1, 1.0)])).startswith("no verdict: only 1 × 1 was measured")
    failed = shapes([(1, 1, np.nan), (1, 2, 1.0)]).assign(failed=[2, 0])
    assert verdict(failed).startswith("no verdict: every measured trial of the 1 × 1 cell failed")


def test_verdicts_decide_only_on_the_interval():
    # 2 threads at 1.6× scale by the median, but an interval of ±20 % straddles 1.5×: undecided, with
    # the rounds that would decide it (half-width 0.32 must shrink to 1.6 - 1.5 = 0.1: 10 (0.32/0.1)² =
    # 102.4 -> 103 rounds, 93 more).
    v = verdict(shapes([(1, 1, 1.0), (1, 2, 0.625), (2, 1, 0.52)], spread=0.2))
    assert v.startswith("threads undecided (2 threads: 1.6× [1.28, 1.92], after 10 rounds; about 93 more rounds "
                        "would decide it)"), v
    assert "processes undecided (2 ranks: 1.9× [1.54, 2.31]" not in v      # 1.54 > 1.5: decided
    assert "processes do (2 ranks: 1.9× [1.54, 2.31])" in v
    assert v.endswith("about 93 more rounds (repeats) would decide it; rerun with more repeats, or on an idle node")
    # The same medians with a narrow interval: decided.
    assert verdict(shapes([(1, 1, 1.0), (1, 2, 0.625)], spread=0.02)).startswith("threads scale (2 threads: 1.6×")
    # An interval wholly below the partial threshold (1.15×) does not scale; one between the two
    # thresholds scales partly; one across the lower threshold is undecided too.
    assert verdict(shapes([(1, 1, 1.0), (1, 2, 1.0)], spread=0.1)).startswith("threads do not scale")
    assert verdict(shapes([(1, 1, 1.0), (1, 2, 0.77)], spread=0.05)).startswith("threads scale partly")
    assert verdict(shapes([(1, 1, 1.0), (1, 2, 0.87)], spread=0.1)).startswith("threads undecided")
    # Too few paired rounds: no interval, no decision.
    few = shapes([(1, 1, 1.0), (1, 2, 0.5)], pairs=2).assign(speedup_low=np.nan, speedup_high=np.nan)
    assert verdict(few).startswith("threads undecided (2 threads: 2.0×, 2 paired rounds, too few for an interval)")
    assert "at least 3 paired rounds (repeats) are needed to decide it" in verdict(few)
