"""Disturbed trials (issue 26): the runner flags a trial the machine took time from
(`trials.disturbed`, the reason in `trials.disturbance`); the analysis keeps it in the file, leaves
it out of every statistic and of the pairing, and marks its cell with the count and the reason.

The file is the small seed job's, edited with h5edit: nine rounds per cell with hand-made wall
times (a drift shared by the cells of a round, as on a busy machine), three trials flagged."""
import math

import h5py
import numpy as np
import pandas as pd
import pytest

from gilbench_analysis import load
from gilbench_analysis.paired import paired_ratio
from gilbench_analysis.report import ReportOptions, write_report
from gilbench_analysis.fidelity import BY_KEY, figure_rounds
from gilbench_analysis.tables import cell_summary, seed_summary, seed_table_text
from h5edit import copy_file, read_table, rewrite_table

ROUNDS = 9
REASON = "other processes used 1.30 CPUs; the reference loop ran 14 % slow"
# (cell name, trial) flagged disturbed: two of the CPU multi-thread cell's, one of its base's.
FLAGGED = {("cpu-multi-thread", 3): REASON, ("cpu-multi-thread", 5): REASON,
           ("cpu-single-thread", 7): "steal 12 % of the node's CPU time"}
# The layout's time relative to its single thread, and the machine's drift per round (shared).
FACTOR = {"single-thread": 1.0, "multi-thread": 1.1, "multi-process": 0.6}
DRIFT = [1.0, 1.12, 0.93, 1.05, 0.97, 1.18, 0.9, 1.02, 1.08]
JITTER = [0.0, 0.01, -0.01, 0.02, -0.02, 0.005, -0.005, 0.015, -0.015]


def wall(name: str, trial: int) -> float:
    factor = next(v for k, v in FACTOR.items() if name.endswith(k))
    if (name, trial) in FLAGGED:
        return 5.0                          # far off: any statistic that kept it would show it
    jitter = JITTER[trial - 1] if "single" not in name else 0.0
    return factor * DRIFT[trial - 1] * (1 + jitter) * (0.2 if name.startswith("io") else 0.01)


@pytest.fixture(scope="module")
def disturbed_file(results_file, tmp_path_factory):
    path = copy_file(results_file, tmp_path_factory.mktemp("disturbed") / "disturbed.h5")
    with h5py.File(path, "r+") as h:
        g = h["runs"][sorted(h["runs"])[-1]]
        cells = read_table(g, "cells")
        old = read_table(g, "trials")
        rows = []
        for _, c in cells.iterrows():
            rows.append(dict(cell=c["cell"], trial=0, warmup=1, wall_s=1.0))
            rows += [dict(cell=c["cell"], trial=k, warmup=0, wall_s=wall(c["name"], k)) for k in range(1, ROUNDS + 1)]
        t = pd.DataFrame(rows)
        t["cell"] = t["cell"].astype(old["cell"].dtype)
        t["trial"] = t["trial"].astype(old["trial"].dtype)
        t["warmup"] = t["warmup"].astype(np.uint8)
        t["io_errors"] = np.zeros(len(t), dtype=np.int64)
        names = t["cell"].map(cells.set_index("cell")["name"])
        reasons = [FLAGGED.get((n, k), "") for n, k in zip(names, t["trial"])]
        for col in ("others_cpus", "steal", "reference_slowdown", "cpu_share"):
            t[col] = np.nan
        t.loc[[r == REASON for r in reasons], "others_cpus"] = 1.3
        t["disturbed"] = np.array([1 if r else 0 for r in reasons], dtype=np.uint8)
        t["disturbance"] = pd.Series(reasons, dtype=object)
        rewrite_table(g, "trials", t)
        g.attrs["order"] = "rounds"
        g.attrs["disturbed_trials"] = "drop"   # the fixtures' runs keep them (GILBENCH_DISTURBED=keep)
    return path


def test_an_older_file_gets_the_defaults(results_file):
    r = load(results_file)
    with h5py.File(results_file, "r") as h:
        written = h["runs"][sorted(h["runs"])[-1]]["trials"].dtype.names
    if "disturbed" not in written:
        assert (r.trials["disturbed"] == 0).all() and (r.trials["disturbance"] == "").all()
        assert r.trials["others_cpus"].isna().all() and r.trials["cpu_share"].isna().all()
    flagged = r.trials[(r.trials["warmup"] == 0) & (r.trials["io_errors"] == 0) & (r.trials["disturbed"] == 1)]
    assert r.disturbed.index.equals(flagged.index)


def test_a_run_that_keeps_disturbed_trials_counts_them(disturbed_file, tmp_path):
    path = copy_file(disturbed_file, tmp_path / "kept.h5")
    with h5py.File(path, "r+") as h:
        h["runs"][sorted(h["runs"])[-1]].attrs["disturbed_trials"] = "keep"
    r = load(path)
    assert r.keeps_disturbed and len(r.disturbed) == 3
    assert len(r.measured) == len(r.trials[r.trials["warmup"] == 0])
    assert not load(disturbed_file).keeps_disturbed


def test_statistics_leave_disturbed_trials_out(disturbed_file):
    r = load(disturbed_file)
    assert len(r.disturbed) == 3 and (r.disturbed["disturbed"] == 1).all()
    assert not r.measured["disturbed"].any() and len(r.measured) == 6 * ROUNDS - 3
    assert r.failed.empty
    s = cell_summary(r).set_index("name")
    mt = s.loc["cpu-multi-thread"]
    assert (mt["count"], mt["failed"], mt["disturbed"]) == (ROUNDS - 2, 0, 2)
    assert mt["disturbance"] == REASON and mt["max"] < 1.0          # the 5 s trials are not in it
    kept = [wall("cpu-multi-thread", k) for k in range(1, ROUNDS + 1) if k not in (3, 5)]
    assert mt["median"] == pytest.approx(np.median(kept))
    assert s.loc["cpu-single-thread", "disturbance"] == "steal 12 % of the node's CPU time"
    assert s.loc["io-multi-thread", "disturbed"] == 0 and s.loc["io-multi-thread", "disturbance"] == ""


def test_pairing_skips_the_rounds_of_disturbed_trials(disturbed_file):
    r = load(disturbed_file)
    s = seed_summary(r).set_index(["workload", "layout"])
    # Multi thread against its single thread: rounds 3 and 5 (its own) and 7 (the base's) are out.
    mt = s.loc[("cpu", "multi thread")]
    rounds = [k for k in range(1, ROUNDS + 1) if k not in (3, 5, 7)]
    expected = paired_ratio([wall("cpu-multi-thread", k) for k in rounds],
                            [wall("cpu-single-thread", k) for k in rounds], method="order")
    assert mt["pairs"] == len(rounds) == 6
    # The median of the per-round ratios (for an even count the mean of the middle two, as gilbench's
    # own table computes it) and the order-statistic interval.
    ratios = [wall("cpu-multi-thread", k) / wall("cpu-single-thread", k) for k in rounds]
    assert (mt["paired_ratio"], mt["ratio_low"], mt["ratio_high"]) == pytest.approx(
        (np.median(ratios), expected.low, expected.high))
    assert mt["ratio_level"] >= 0.95 and mt["ratio_low"] > 1.0      # 1.1× with jitter ±2 %: they differ
    # Multi process: only the base's round 7 is out.
    mp = s.loc[("cpu", "multi process")]
    rounds = [k for k in range(1, ROUNDS + 1) if k != 7]
    ratios = [wall("cpu-multi-process", k) / wall("cpu-single-thread", k) for k in rounds]
    assert mp["pairs"] == ROUNDS - 1 and mp["paired_ratio"] == pytest.approx(np.median(ratios))
    assert mp["ratio_high"] < 1.0
    assert s.loc[("io", "multi thread"), "pairs"] == ROUNDS
    table = seed_table_text(r)
    assert table.loc["multi thread", "CPU-bound"].endswith(" (2 of 9 disturbed)")
    assert " 1.1" in table.loc["multi thread", "CPU-bound"] and "x [" in table.loc["multi thread", "CPU-bound"]


def test_the_report_marks_the_cells_and_says_why(disturbed_file, tmp_path):
    written = write_report([("disturbed", load(disturbed_file))], tmp_path / "report", ReportOptions(html=False))
    md = open(written.markdown, encoding="utf-8").read()
    mark = f"⚠ 2 of 9 trials disturbed: {REASON}; rerun on an idle node"
    cells = next(line for line in md.splitlines() if line.startswith("| 1 | cpu-multi-thread |"))
    assert mark in cells
    seed = md.split("## Seed table", 1)[1].split("\n## ", 1)[0]
    row = next(line for line in seed.splitlines() if line.startswith("| multi thread |"))
    assert mark in row and "× [" in row
    assert "⚠ 1 of 9 trials disturbed: steal 12 % of the node's CPU time; rerun on an idle node" in seed
    assert "3 measured trial(s) were disturbed (in `cpu-single-thread`, `cpu-multi-thread`)" in md
    assert "an interval that excludes 1.00" in seed.lower() or "interval that excludes 1.00" in seed
    assert "took its trials cell by cell" not in seed                # order = "rounds": interleaved
    assert "nan" not in seed.lower()


def test_fidelity_rounds_leave_disturbed_trials_out():
    from gilbench_analysis import Results
    cells = pd.DataFrame([dict(cell=0, name="cpu-1t-emulated", engine="emulated", warmups=0, workload="cpu",
                               io_threads=0),
                          dict(cell=1, name="cpu-2t-emulated", engine="emulated", warmups=0, workload="cpu",
                               io_threads=0)])
    trials = pd.DataFrame([(c, k, 0, 1.0 + c, 0, int(c == 1 and k == 2), "steal" if c == 1 and k == 2 else "")
                           for c in (0, 1) for k in range(4)],
                          columns=["cell", "trial", "warmup", "wall_s", "io_errors", "disturbed", "disturbance"])
    r = Results(path="hand-made.h5", run="run-000", root={}, attrs={}, cells=cells, trials=trials,
                workers=pd.DataFrame())
    got = figure_rounds(r, BY_KEY["cpu_2t"], "emulated")
    assert sorted(got) == [0, 1, 3] and all(math.isclose(v, 2.0) for v in got.values())


def test_ratio_text_shows_the_level_below_95_percent_and_a_dash_without_pairs():
    from gilbench_analysis.tables import ratio_text
    row = dict(paired_ratio=1.114, ratio_low=1.041, ratio_high=1.188, ratio_level=0.96875)
    assert ratio_text(row) == "1.11× [1.04, 1.19]"
    assert ratio_text(dict(row, ratio_level=0.75, ratio_low=0.98, ratio_high=1.25)) == "1.11× [0.98, 1.25] (75 %)"
    assert ratio_text(dict(row, ratio_level=0.75), console=True) == " 1.11x [1.04, 1.19] (75%)"
    assert ratio_text(dict(row, ratio_low=float("nan"))) == "–"
    assert ratio_text(dict(row, paired_ratio=float("nan")), console=True) == ""


def test_marks_name_failed_and_disturbed_trials():
    from gilbench_analysis.report import _marked
    assert _marked("0.41", 3, 0) == "0.41"
    assert _marked("0.41", 2, 1) == "0.41 ⚠ 1 of 3 failed"
    assert _marked("0.41", 3, 0, 2, "steal 12 %") == "0.41 ⚠ 2 of 5 trials disturbed: steal 12 %; rerun on an idle node"
    assert _marked("0.41", 2, 1, 2, "") == "0.41 ⚠ 1 of 5 failed ⚠ 2 of 5 trials disturbed; rerun on an idle node"
    assert _marked("", 0, 0, 3, "x") == "⚠ 3 of 3 trials disturbed: x; rerun on an idle node"


def test_two_runs_compared_mark_the_disturbed_side(results_file, disturbed_file, tmp_path):
    runs = [("clean", load(results_file)), ("disturbed", load(disturbed_file))]
    written = write_report(runs, tmp_path / "report", ReportOptions(html=False))
    md = open(written.markdown, encoding="utf-8").read()
    cells = md.split("## Cells", 1)[1].split("\n## ", 1)[0]
    row = next(line for line in cells.splitlines() if line.startswith("| cpu-multi-thread |"))
    clean_side, disturbed_side = row.split("|")[5:7]
    assert "⚠" not in clean_side
    assert f"⚠ 2 of 9 trials disturbed: {REASON}; rerun on an idle node" in disturbed_side
    assert "left out of that side's median and of the ratio" in cells
    base = next(line for line in cells.splitlines() if line.startswith("| cpu-single-thread |"))
    assert "⚠ 1 of 9 trials disturbed: steal 12 % of the node's CPU time" in base.split("|")[6]
