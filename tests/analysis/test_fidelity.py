"""The Fidelity section: emulated cells against their `-cpython` twins, and reference files.

The verdict (an equivalence test on the interval of the paired difference), the hand-over count
and the round pairing are checked on hand-made numbers (no timing assertion anywhere); one test
runs tests/analysis/small_fidelity.toml with the real binary (mpirun -n 2, a few seconds) and
checks the section is there with finite numbers."""
import json
import math
import subprocess
from pathlib import Path

import h5py
import pandas as pd
import pytest

from gilbench_analysis import Results, load
from gilbench_analysis.cli import report_main
from gilbench_analysis.fidelity import (BY_KEY, FEW, OUTSIDE, UNDECIDED, WITHIN, ReferenceError, compare,
                                        emulated_figures, fidelity, figure_rounds, handover_times, load_reference,
                                        median_run_length, pair_rounds, parse_reference, section_markdown,
                                        switches_per_s, tally, verdict)
from gilbench_analysis.paired import Estimate
from gilbench_analysis.timeline import pick_trials
from h5edit import copy_file, read_table, rewrite_table

JOB = Path(__file__).resolve().parent / "small_fidelity.toml"


# --- verdicts -------------------------------------------------------------------------------

def est(value, low, high, n=10):
    return Estimate(value, low, high, n, 0.95, "bootstrap")


def test_verdict_is_an_equivalence_test_on_the_interval():
    assert verdict(est(0.02, 0.01, 0.025), 0.03) == WITHIN
    assert verdict(est(-0.05, -0.06, -0.04), 0.03) == OUTSIDE
    assert verdict(est(0.10, 0.05, 0.15), 0.03) == OUTSIDE
    assert verdict(est(0.02, -0.01, 0.05), 0.03) == UNDECIDED        # straddles +0.03
    assert verdict(est(0.0, -0.2, 0.2), 0.03) == UNDECIDED           # wider than the band: never a pass
    assert verdict(est(0.0, math.nan, math.nan), 0.03) == UNDECIDED


def test_verdict_edge_is_within():
    # 1.03 - 1.00 is 0.030000000000000027 in floating point: an interval ending exactly on the band is within.
    assert verdict(est(0.02, 0.0, 1.03 - 1.00), 0.03) == WITHIN
    assert verdict(est(-0.02, 0.97 - 1.00, 0.0), 0.03) == WITHIN
    assert verdict(est(0.02, 0.0, 0.031), 0.03) == UNDECIDED


def rounds(values):
    return dict(enumerate(values))


def test_compare_pairs_rounds_within_outside_undecided():
    # Within: per round the emulated ratio is 0.005-0.015 above the real one.
    real = rounds([1.00, 1.02, 0.98, 1.01, 0.99, 1.00, 1.03, 0.97])
    emu = rounds([r + d for r, d in zip(real.values(), [0.01, 0.005, 0.015, 0.01, 0.01, 0.005, 0.015, 0.01])])
    c = compare("cpu_2t", real, emu)
    assert c.paired and c.verdict == WITHIN and c.band == pytest.approx(0.03) and not c.relative
    assert c.estimate.n == 8 and c.estimate.value == pytest.approx(0.01)
    assert 0.005 <= c.estimate.low <= 0.01 <= c.estimate.high <= 0.015
    assert c.verdict_text == WITHIN
    # Outside: 0.08-0.12 above in every round.
    emu = rounds([r + d for r, d in zip(real.values(), [0.1, 0.08, 0.12, 0.1, 0.09, 0.11, 0.1, 0.1])])
    c = compare("cpu_2t", real, emu)
    assert c.verdict == OUTSIDE and c.estimate.low > 0.03
    # Undecided: differences from -0.02 to +0.06: the interval straddles +0.03; the text gives it and the
    # rounds that would decide it.
    emu = rounds([r + d for r, d in zip(real.values(), [-0.02, 0.06, 0.0, 0.05, -0.01, 0.04, 0.03, 0.01])])
    c = compare("cpu_2t", real, emu)
    assert c.verdict == UNDECIDED and c.estimate.low < 0.03 < c.estimate.high
    assert c.decision.more_rounds > 0
    assert c.verdict_text.startswith(f"undecided after 8 rounds (interval [{c.estimate.low:+.3g}, "
                                     f"{c.estimate.high:+.3g}]); about {c.decision.more_rounds} more rounds")
    # The bootstrap is seeded: the same rounds give the same interval.
    assert compare("cpu_2t", real, emu).estimate == c.estimate


def test_a_noisy_machine_widens_nothing_the_rounds_share():
    # Each round moves both sides by up to ±10 % (the machine); the emulation is 0.01 above in
    # every round. Judged by the paired difference: within band, where comparing the real side's
    # spread with the band called it "too noisy" before.
    drift = [0.9, 1.1, 1.0, 0.92, 1.08, 1.05, 0.95, 1.0]
    c = compare("cpu_2t", rounds(drift), rounds([d + 0.01 for d in drift]))
    assert c.verdict == WITHIN and c.real.noise > 0.03
    # The same values unpaired (as a reference file's) cannot cancel the drift: undecided.
    u = compare("cpu_2t", drift, [d + 0.01 for d in drift])
    assert not u.paired and u.verdict == UNDECIDED


def test_compare_pairs_only_rounds_both_sides_have():
    real = rounds([1.0, 1.0, 1.0, 1.0])
    emu = {1: 1.01, 2: 1.01, 3: 1.01, 7: 5.0}                       # round 7 has no real partner
    c = compare("cpu_2t", real, emu)
    assert c.estimate.n == 3 and c.verdict == WITHIN
    assert (c.real.rounds, c.emulated.rounds) == (4, 4)
    # Fewer than 3 pairs: too few rounds, never a pass.
    assert compare("cpu_2t", rounds([1.0, 1.0]), rounds([1.0] * 3)).verdict == FEW
    assert compare("cpu_2t", {0: 1.0, 1: 1.0, 2: 1.0}, {2: 1.0, 3: 1.0, 4: 1.0}).verdict == FEW


def test_compare_relative_band_uses_the_relative_difference_per_round():
    # switches: ±5 %; per round (emulated - real) / |real|.
    c = compare("switches_si5ms", rounds([200.0, 210.0, 190.0]), rounds([209.0, 219.45, 198.55]))
    assert c.relative and c.band == pytest.approx(10.0) and c.verdict == WITHIN
    assert c.estimate.value == pytest.approx(0.045)
    assert c.relative_difference == pytest.approx(0.045)
    assert compare("switches_si5ms", rounds([200.0] * 3), rounds([210.0] * 3)).verdict == WITHIN     # on the edge
    assert compare("switches_si5ms", rounds([200.0] * 3), rounds([211.0] * 3)).verdict == OUTSIDE
    # convoy: ±20 %.
    assert compare("convoy_si5ms", rounds([2.0] * 3), rounds([2.39] * 3)).verdict == WITHIN
    assert compare("convoy_si5ms", rounds([2.0] * 3), rounds([1.59] * 3)).verdict == OUTSIDE
    # A negative real value: relative to its magnitude.
    assert compare("convoy_si5ms", rounds([-2.0] * 3), rounds([-2.3] * 3)).verdict == WITHIN
    # Spread rounds: undecided, the interval in per cent.
    c = compare("switches_si5ms", rounds([200.0] * 6), rounds([190.0, 215.0, 200.0, 212.0, 196.0, 209.0]))
    assert c.verdict == UNDECIDED and "%" in c.verdict_text


def test_compare_unpaired_lists_and_tally():
    # Lists (a reference file's rounds) cannot be paired: the difference of the means.
    c = compare("cpu_2t", [1.0, 1.01, 0.99, 1.0], [1.02, 1.02, 1.03])
    assert not c.paired and c.estimate.method == "unpaired"
    assert c.estimate.value == pytest.approx(1.02333 - 1.0, abs=1e-4)
    assert compare("cpu_2t", [1.0] * 3, [1.1] * 3).verdict == OUTSIDE
    assert compare("cpu_2t", [1.0] * 3, [1.01] * 3).verdict == WITHIN
    assert compare("cpu_2t", [1.0, 1.0], [1.0] * 3).verdict == FEW
    assert compare("cpu_2t", [], [1.0]) is None
    assert compare("cpu_2t", [1.0], [float("nan")]) is None
    cs = [compare("cpu_2t", rounds([1.0] * 3), rounds([1.0] * 3)),
          compare("cpu_2t", rounds([1.0] * 3), rounds([2.0] * 3)),
          compare("cpu_2t", rounds([1.0] * 4), rounds([0.9, 1.1, 1.0, 1.05])), compare("cpu_2t", [1.0], [1.0])]
    assert tally(cs) == {WITHIN: 1, OUTSIDE: 1, UNDECIDED: 1, FEW: 1}


# --- hand-overs -----------------------------------------------------------------------------

def test_handovers_count_only_takes_by_another_thread():
    # Takes (unsorted, as two threads' rows come): thread 0 at 0, 1, 2 (re-takes), 1 at 3,
    # 0 at 5, 0 at 6 (re-take), 1 at 8. Hand-overs at 3, 5, 8.
    times = [0.0, 3.0, 1.0, 5.0, 2.0, 6.0, 8.0]
    threads = [0, 1, 0, 0, 0, 0, 1]
    assert handover_times(times, threads).tolist() == [3.0, 5.0, 8.0]
    assert switches_per_s(times, threads) == pytest.approx(2 / 5.0)   # 2 gaps over 3..8
    assert median_run_length(times, threads) == pytest.approx(2.5)     # gaps 2 and 3
    assert median_run_length([0, 1], [0, 1]) != median_run_length([0, 1], [0, 1])   # one hand-over: NaN
    assert handover_times([1.0], [0]).tolist() == []
    assert math.isnan(switches_per_s([0.0, 1.0, 2.0], [0, 0, 0]))    # only re-takes: no rate
    assert math.isnan(switches_per_s([0.0, 1.0], [0, 1]))             # one hand-over: no span


def _results(cells, trials, trace=None, requests=None):
    """A Results built by hand: cells as (name, engine, warmups[, workload, io_threads])."""
    rows = []
    for i, c in enumerate(cells):
        name, engine, warmups = c[:3]
        workload, io_threads = (c[3], c[4]) if len(c) > 3 else ("cpu", 0)
        rows.append(dict(cell=i, name=name, engine=engine, warmups=warmups, workload=workload,
                         io_threads=io_threads))
    t = pd.DataFrame(trials, columns=["cell", "trial", "warmup", "wall_s", "io_errors"])
    empty = pd.DataFrame(columns=["cell", "trial", "rank", "thread", "t_s", "event"])
    req = pd.DataFrame(columns=["cell", "trial", "rank", "thread", "request", "start_s", "end_s", "ok"])
    return Results(path="hand-made.h5", run="run-000", root={}, attrs={}, cells=pd.DataFrame(rows), trials=t,
                   workers=pd.DataFrame(), trace=trace if trace is not None else empty,
                   requests=requests if requests is not None else req)


def test_handover_figures_from_a_hand_made_trace():
    cells = [("handover-si5ms-emulated", "emulated", 1), ("handover-si5ms-cpython", "cpython", 1)]
    # Trial 0 is a warm-up (its takes must not count); trial 1 = round 1, wall 2 s.
    ev = [(0, 0, 0, 0, 0.0, "take"), (0, 0, 0, 1, 0.1, "take"),
          (0, 1, 0, 0, 0.0, "take"), (0, 1, 0, 0, 0.004, "take"), (0, 1, 0, 1, 0.005, "take"),
          (0, 1, 0, 0, 0.010, "take"), (0, 1, 0, 1, 0.016, "take"), (0, 1, 0, 1, 0.016, "drop"),
          (0, 1, 1, 1, 0.012, "take"), (0, 1, 1, 0, 0.013, "take")]   # rank 1: not counted
    trace = pd.DataFrame(ev, columns=["cell", "trial", "rank", "thread", "t_s", "event"])
    r = _results(cells, [(0, 0, 1, 1.0, 0), (0, 1, 0, 2.0, 0), (1, 0, 1, 1.0, 0), (1, 1, 0, 1.0, 0)], trace)
    # Hand-overs at 5, 10 and 16 ms: 2 in the 11 ms from the first to the last (the wall time,
    # 2 s, does not count), run lengths 5 and 6 ms.
    assert figure_rounds(r, BY_KEY["switches_si5ms"], "emulated") == {1: pytest.approx(2 / 0.011)}
    assert figure_rounds(r, BY_KEY["runlength_si5ms"], "emulated") == {1: pytest.approx(0.0055)}
    # A trial whose trace was cut short (trace_dropped on rank 0) gives no round.
    r.workers = pd.DataFrame([(0, 1, 0, 0, 5)], columns=["cell", "trial", "rank", "thread", "trace_dropped"])
    assert figure_rounds(r, BY_KEY["switches_si5ms"], "emulated") == {}
    r.workers = pd.DataFrame()
    # The cpython cell has no take events: no rounds, and the figure is left out with a note.
    assert figure_rounds(r, BY_KEY["switches_si5ms"], "cpython") == {}
    f = fidelity(r)
    assert f.rows == [] and [k for k, _ in f.left_out] == ["switches_si5ms", "runlength_si5ms"]


# --- rounds ---------------------------------------------------------------------------------

def test_pair_rounds_drops_rounds_missing_on_either_side():
    assert pair_rounds({0: 2.0, 1: 3.0, 2: 4.0}, {0: 1.0, 2: 2.0, 3: 9.0}, lambda a, b: a / b) == {0: 2.0, 2: 2.0}
    assert pair_rounds({0: 1.0}, {0: 0.0}, lambda a, b: a / b if b else None) == {}


def test_ratio_rounds_skip_warmups_and_failed_trials():
    cells = [("cpu-1t-emulated", "emulated", 1), ("cpu-2t-emulated", "emulated", 1),
             ("cpu-1t-cpython", "cpython", 2), ("cpu-2t-cpython", "cpython", 2)]
    trials = [
        # emulated, warmups 1: trial 0 is the warm-up; cpu-2t's trial 2 (round 1) failed.
        (0, 0, 1, 99.0, 0), (0, 1, 0, 1.0, 0), (0, 2, 0, 1.0, 0), (0, 3, 0, 1.0, 0),
        (1, 0, 1, 99.0, 0), (1, 1, 0, 1.2, 0), (1, 2, 0, 5.0, 3), (1, 3, 0, 1.4, 0),
        # cpython, warmups 2: rounds 0 and 1 are trials 2 and 3; cpu-1t has no trial 3 (missing).
        (2, 0, 1, 99.0, 0), (2, 1, 1, 99.0, 0), (2, 2, 0, 2.0, 0),
        (3, 0, 1, 99.0, 0), (3, 1, 1, 99.0, 0), (3, 2, 0, 2.2, 0), (3, 3, 0, 3.0, 0)]
    r = _results(cells, trials)
    # Rounds are trial numbers: round k ran trial k of every cell.
    emu = figure_rounds(r, BY_KEY["cpu_2t"], "emulated")
    assert emu == {1: pytest.approx(1.2), 3: pytest.approx(1.4)}
    real = figure_rounds(r, BY_KEY["cpu_2t"], "cpython")
    assert real == {2: pytest.approx(1.1)}
    assert figure_rounds(r, BY_KEY["cpu_4t"], "emulated") is None       # cells missing: left out
    f = fidelity(r)
    keys = [row.comparison.key for row in f.rows]
    assert keys == ["cpu_2t", "cpu_2t"]                                  # CPU ratios and switch interval
    assert f.rows[0].comparison.emulated.rounds == 2 and f.rows[0].comparison.real.rounds == 1
    assert f.counts == {WITHIN: 0, OUTSIDE: 0, UNDECIDED: 0, FEW: 1}     # one figure, counted once


def test_trial_noise_is_the_one_thread_cells_spread_over_its_median():
    cells = [("cpu-1t-emulated", "emulated", 0), ("cpu-2t-emulated", "emulated", 0),
             ("cpu-1t-cpython", "cpython", 0), ("cpu-2t-cpython", "cpython", 0)]
    walls = {0: [1.0, 1.0, 1.0, 1.0, 1.0], 1: [1.0] * 5, 2: [0.8, 0.9, 1.0, 1.1, 1.2], 3: [1.0] * 5}
    trials = [(c, t, 0, w, 0) for c, ws in walls.items() for t, w in enumerate(ws)]
    f = fidelity(_results(cells, trials))
    # cpython: p25 0.9, p75 1.1, median 1.0 -> +-10 %; emulated: no spread at all.
    assert f.trial_noise == {"cpython": pytest.approx(0.1), "emulated": pytest.approx(0.0)}
    md = section_markdown(_results(cells, trials))
    assert "±10.0 % of its median on the real side and ±0.0 % on the emulated side" in md
    # Without the cpython cell, no note: the noise that decides the verdict is the real side's.
    f2 = fidelity(_results(cells[1:2] + cells[3:], [(0, t, 0, 1.0, 0) for t in range(5)] +
                           [(1, t, 0, 1.0, 0) for t in range(5)]))
    assert f2 is not None and f2.trial_noise == {}


def test_convoy_rounds_use_the_io_threads_requests():
    cells = [("convoy-si5ms-emulated", "emulated", 0, "mixed", 1), ("convoy-alone-emulated", "emulated", 0, "io", 0)]
    trials = [(0, 0, 0, 1.0, 0), (1, 0, 0, 1.0, 0)]
    req = pd.DataFrame([(0, 0, 0, 0, 0, 0.0, 0.012, 1), (0, 0, 0, 0, 1, 0.1, 0.108, 1),   # mean 10 ms
                        (0, 0, 0, 0, 2, 0.2, 9.0, 0),                                     # failed: left out
                        (0, 0, 0, 1, 0, 0.2, 5.0, 1),                # thread 1 is the CPU thread: left out
                        (1, 0, 0, 0, 0, 0.0, 0.002, 1), (1, 0, 0, 0, 1, 0.1, 0.102, 1)],  # mean 2 ms
                       columns=["cell", "trial", "rank", "thread", "request", "start_s", "end_s", "ok"])
    r = _results(cells, trials, requests=req)
    assert figure_rounds(r, BY_KEY["convoy_si5ms"], "emulated") == {0: pytest.approx(1.6)}   # 8 ms / 5 ms


def test_no_twins_no_section():
    r = _results([("cpu-1t-emulated", "emulated", 0), ("cpu-1t-cpython", "emulated", 0)], [(0, 0, 0, 1.0, 0)])
    assert fidelity(r) is None and section_markdown(r) is None


# --- reference files ------------------------------------------------------------------------

GOOD = {"format": "gilbench-fidelity-reference/1", "python": "3.12.7", "implementation": "CPython",
        "executable": "/usr/bin/python3.12", "gil": "new", "rounds": 3, "created": "2026-12-01T23:00:00Z",
        "command": "python bench/cpython_probe.py", "figures": {"cpu_2t": [1.0, 1.01, None], "later_key": [1]}}


def test_reference_parses_and_drops_null_rounds(tmp_path):
    p = tmp_path / "py312.json"
    p.write_text(json.dumps(GOOD))
    ref = load_reference(p)
    assert ref.python == "3.12.7" and ref.gil == "new" and ref.interpreter == "CPython 3.12.7 (/usr/bin/python3.12)"
    assert ref.figures == {"cpu_2t": [1.0, 1.01]} and ref.unknown == ["later_key"]


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("format"), "no 'format' key"),
    (lambda d: d.update(format="gilbench-fidelity-reference/2"), "'gilbench-fidelity-reference/2' is not"),
    (lambda d: d.pop("figures"), "'figures' is missing"),
    (lambda d: d.update(figures={"cpu_2t": 1.0}), "figure 'cpu_2t' is not a list"),
    (lambda d: d.update(figures={"cpu_2t": ["fast"]}), "figure 'cpu_2t' holds 'fast'"),
    (lambda d: d.update(gil="newer"), "'gil' is 'newer'"),
    (lambda d: d.pop("python"), "'python'"),
])
def test_reference_errors_name_the_file_and_the_problem(tmp_path, change, message):
    data = json.loads(json.dumps(GOOD))
    change(data)
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(data))
    with pytest.raises(ReferenceError) as e:
        load_reference(p)
    assert str(p) in str(e.value) and message in str(e.value)


def test_reference_file_errors(tmp_path):
    with pytest.raises(ReferenceError, match="cannot read it"):
        load_reference(tmp_path / "missing.json")
    p = tmp_path / "broken.json"
    p.write_text("{not json")
    with pytest.raises(ReferenceError, match=r"broken\.json: not valid JSON"):
        load_reference(p)
    with pytest.raises(ReferenceError, match="expected a JSON object, found list"):
        parse_reference([1, 2], "x.json")


# --- a real two-engine file -----------------------------------------------------------------

@pytest.fixture(scope="module")
def fidelity_file(gilbench_binary, tmp_path_factory):
    mpiexec, exe = gilbench_binary
    out = tmp_path_factory.mktemp("fidelity") / "fidelity.h5"
    p = subprocess.run([mpiexec, "-n", "2", exe, "run", str(JOB), "-o", str(out), "-q"],
                       capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr
    return str(out)


def _finite(side):
    return all(math.isfinite(v) for v in (side.median, side.p25, side.p75)) and side.rounds >= 1


def test_real_file_section(fidelity_file, tmp_path, capsys):
    r = load(fidelity_file)
    f = fidelity(r)
    assert f is not None
    keys = {row.comparison.key for row in f.rows}
    assert {"cpu_2t", "cpu_2r", "io_2t", "convoy_si5ms"} <= keys
    for row in f.rows:
        assert _finite(row.comparison.real) and _finite(row.comparison.emulated)
        assert row.comparison.verdict in (WITHIN, OUTSIDE, UNDECIDED, FEW)
        assert row.comparison.paired
    # Both hand-over cells are traced (the cpython one by its probe): both sides' figures exist.
    emu = emulated_figures(r)
    assert emu["switches_si5ms"] and all(v > 0 for v in emu["switches_si5ms"].values())
    assert {"cpu_2t_old", "convoy_old_ms"} <= set(emu)
    assert {"switches_si5ms", "runlength_si5ms"} <= keys
    # The GIL timeline never draws a cpython cell: its trace has takes but no drops.
    cells = r.cells.set_index("cell")
    picks = pick_trials(r)
    assert picks and all(cells.at[c, "engine"] == "emulated" for c, _ in picks)
    assert sum(f.counts.values()) == len(keys)

    ref = tmp_path / "py27.json"
    ref.write_text(json.dumps({"format": "gilbench-fidelity-reference/1", "python": "2.7.18", "gil": "old",
                               "figures": {"cpu_2t_old": [1.5, 1.6, 1.55], "convoy_old_ms": [10.0, 12.0]}}))
    assert report_main([fidelity_file, "--fidelity", "--reference", str(ref)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# gilbench fidelity")
    assert "## Fidelity: the emulated GIL against the real CPython" in out
    for heading in ("### CPU ratios", "### I/O ratios", "### Switch interval", "### Convoy",
                    "### Other CPython versions"):
        assert heading in out
    assert "`cpu_2t_old`" in out and "CPython 2.7.18 (old GIL)" in out
    assert f"**{f.counts[WITHIN]} within band, {f.counts[OUTSIDE]} outside, {f.counts[UNDECIDED]} undecided" in out
    assert "too noisy" not in out
    assert "cannot be paired with this run's" in out                 # the reference rows: unpaired
    assert r.attrs.get("python_version", "").split()[0] in out
    assert "nan" not in out.lower()

    # The full report has the section too; a bad reference is refused with its name.
    rep = tmp_path / "rep"
    assert report_main([fidelity_file, "-o", str(rep), "--no-html", "--reference", str(ref)]) == 0
    assert "## Fidelity: the emulated GIL against the real CPython" in (rep / "report.md").read_text()
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert report_main([fidelity_file, "--fidelity", "--reference", str(bad)]) == 1
    assert "bad.json: no 'format' key" in capsys.readouterr().err


def test_fidelity_option_refuses_a_file_without_twins(fidelity_file, tmp_path, capsys):
    # The same cells with the cpython ones renamed away: no twins, no section, exit status 1.
    copy = copy_file(fidelity_file, tmp_path / "no-twins.h5")
    with h5py.File(copy, "r+") as h:
        g = h["runs"][sorted(h["runs"])[-1]]
        cells = read_table(g, "cells")
        cells["name"] = [n.replace("-cpython", "-real") for n in cells["name"]]
        rewrite_table(g, "cells", cells)
    assert load(copy).cells["name"].str.endswith("-real").sum() == 8
    assert report_main([copy, "--fidelity"]) == 1
    err = capsys.readouterr().err
    assert "no twin cells" in err and "jobs/fidelity.toml" in err
    with pytest.raises(SystemExit):
        report_main([copy, "--fidelity", "-o", str(tmp_path / "x")])
