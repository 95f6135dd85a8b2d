"""Scaling metrics and fits on synthetic data with known answers, and the grouping of cells
into scaling curves on a synthetic run."""
import numpy as np
import pandas as pd
import pytest

from gilbench_analysis.load import Results, _empty, _with_defaults
from gilbench_analysis.scaling import (amdahl_speedup, efficiency, fit_amdahl, fit_gustafson, fit_table,
                                       gustafson_speedup, karp_flatt, scaling_families, speedup)

N = np.array([1, 2, 4, 8, 16, 32])


def amdahl_times(s, t1, n, repeats=5, noise=0.01, seed=1):
    """Wall times following Amdahl's law with multiplicative noise (1 % by default)."""
    rng = np.random.default_rng(seed)
    nn = np.repeat(n, repeats)
    t = t1 * (s + (1 - s) / nn) * (1 + noise * rng.standard_normal(len(nn)))
    return nn, t


def test_amdahl_recovers_a_serial_fraction_of_0_1_within_0_01():
    n, t = amdahl_times(0.1, 2.0, N)
    fit = fit_amdahl(n, t)
    assert abs(fit.serial_fraction - 0.1) < 0.01
    assert abs(fit.t1 - 2.0) < 0.02
    assert not fit.clamped and fit.points == len(n) and fit.distinct_n == len(N)


@pytest.mark.parametrize("s", [0.0, 0.05, 0.5, 0.95, 1.0])
def test_amdahl_exact_data_is_fitted_exactly(s):
    n, t = amdahl_times(s, 3.0, N, repeats=1, noise=0.0)
    fit = fit_amdahl(n, t)
    assert fit.serial_fraction == pytest.approx(s, abs=1e-9)
    assert fit.t1 == pytest.approx(3.0, rel=1e-9)
    assert fit.rms == pytest.approx(0.0, abs=1e-9)


def test_amdahl_times_that_grow_with_n_are_clamped_to_s_1():
    # The old GIL on a multicore: more threads, more time. Amdahl cannot describe it.
    n = np.array([1, 2, 4, 1, 2, 4])
    t = np.array([1.0, 1.6, 2.7, 1.02, 1.58, 2.75])
    fit = fit_amdahl(n, t)
    assert fit.clamped and fit.serial_fraction == 1.0


def test_amdahl_needs_two_worker_counts():
    with pytest.raises(ValueError, match="two or more worker counts, got N = \\[4.0\\]"):
        fit_amdahl([4, 4, 4], [1.0, 1.1, 0.9])


def test_gustafson_recovers_the_serial_fraction():
    rng = np.random.default_rng(2)
    n = np.repeat(N, 5)
    s = gustafson_speedup(0.1, n) * (1 + 0.01 * rng.standard_normal(len(n)))
    fit = fit_gustafson(n, s, t1=1.5)
    assert abs(fit.serial_fraction - 0.1) < 0.01
    assert fit.t1 == 1.5 and not fit.clamped


def test_gustafson_flags_a_fraction_outside_0_1():
    fit = fit_gustafson([1, 2, 4], [1.0, 0.6, 0.4])   # slower per unit of work than one worker
    assert fit.serial_fraction > 1 and fit.clamped


def test_karp_flatt_of_amdahl_data_is_its_serial_fraction():
    sp = amdahl_speedup(0.1, N)
    e = karp_flatt(sp, N)
    assert np.isnan(e[0])
    assert e[1:] == pytest.approx(np.full(len(N) - 1, 0.1), abs=1e-12)


def test_speedup_and_efficiency_strong_and_weak():
    assert speedup(2.0, [1.0, 0.5]) == pytest.approx([2.0, 4.0])
    assert efficiency([2.0, 4.0], [2, 8]) == pytest.approx([1.0, 0.5])
    # Weak: every worker did the single worker's work; N T1 / T.
    assert speedup(1.0, [1.0, 2.0], "weak", [4, 4]) == pytest.approx([4.0, 2.0])
    with pytest.raises(ValueError, match="needs the worker counts"):
        speedup(1.0, [1.0], "weak")


def synthetic_run(s_threads=0.9, s_ranks=0.05, t1=1.0, repeats=3):
    """A run whose cells follow Amdahl exactly: threads (new GIL) with s_threads, ranks with
    s_ranks, a weak-scaling family of ranks with Gustafson fraction 0.2, plus a cell that
    belongs to no family."""
    shapes = [("1x1", 1, 1, "strong", 1), ("1x2", 1, 2, "strong", 1), ("1x4", 1, 4, "strong", 1),
              ("2x1", 2, 1, "strong", 1), ("4x1", 4, 1, "strong", 1), ("8x1", 8, 1, "strong", 1),
              ("2x2", 2, 2, "strong", 1),
              ("w1x1", 1, 1, "weak", 2), ("w2x1", 2, 1, "weak", 2), ("w4x1", 4, 1, "weak", 2),
              ("lonely", 1, 2, "strong", 99)]
    cells = pd.DataFrame([dict(cell=i, name=name, workload="cpu", gil="new", ranks=p, threads=t, work=w,
                               scaling=sc, switch_interval_s=0.005, check_interval=100, url="", latency_s=0.0,
                               keep_alive=0, repeats=repeats, warmups=1, trace=0)
                          for i, (name, p, t, sc, w) in enumerate(shapes)])
    rows = []
    for i, (name, p, t, sc, w) in enumerate(shapes):
        n = p * t
        if sc == "weak":
            time = n * t1 / gustafson_speedup(0.2, n)
        elif p == 1:
            time = t1 * (s_threads + (1 - s_threads) / n)
        else:
            time = t1 * (s_ranks + (1 - s_ranks) / n)
        rows.append(dict(cell=i, trial=0, warmup=1, wall_s=100.0))  # a warm-up to ignore
        rows += [dict(cell=i, trial=k + 1, warmup=0, wall_s=time) for k in range(repeats)]
    trials = pd.DataFrame(rows)
    return Results(path="synthetic.h5", run="run-000", root={}, attrs={"status": "complete"},
                   cells=_with_defaults("cells", cells), trials=trials, workers=_empty("workers"))


def test_families_group_threads_ranks_and_hybrids_and_fit_each():
    fams = scaling_families(synthetic_run())
    strong = next(f for f in fams if f.scaling == "strong")
    weak = next(f for f in fams if f.scaling == "weak")
    assert len(fams) == 2   # the cell with other work forms no family
    labels = {s.label: s for s in strong.series}
    assert set(labels) == {"threads, GIL new", "ranks, GIL new", "ranks × threads, GIL new"}
    threads, ranks = labels["threads, GIL new"], labels["ranks, GIL new"]
    assert list(threads.points["n"]) == [1, 2, 4] and list(ranks.points["n"]) == [1, 2, 4, 8]
    assert threads.fit.serial_fraction == pytest.approx(0.9, abs=1e-9)
    assert ranks.fit.serial_fraction == pytest.approx(0.05, abs=1e-9)
    assert labels["ranks × threads, GIL new"].fit is None
    # Warm-ups (100 s) are left out, so the speed-ups are Amdahl's.
    assert ranks.points["speedup"].to_numpy() == pytest.approx(amdahl_speedup(0.05, [1, 2, 4, 8]))
    assert ranks.points["karp_flatt"].iloc[1:].to_numpy() == pytest.approx([0.05] * 3)
    assert weak.series[0].fit.law == "Gustafson"
    assert weak.series[0].fit.serial_fraction == pytest.approx(0.2, abs=1e-9)
    table = fit_table(strong)
    assert list(table["law"].unique()) == ["Amdahl"] and len(table) == 2
