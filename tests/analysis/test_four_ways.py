"""The seed table four ways: threads, processes, subinterpreters and free-threaded threads.

The real binary runs jobs/four-ways.toml made small (mpirun -n 2, emulated, a few seconds);
checked: each way fills its own row in gilbench-table's seed table and in the report, and the
report says what every row is and that the figures are emulated. The row rule itself is checked
on every shape. No assertion depends on how fast anything ran."""
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from gilbench_analysis import load, seed_summary
from gilbench_analysis.cli import report_main
from gilbench_analysis.load import engine_columns_for_old_file
from gilbench_analysis.tables import SEED_ROW_TEXT, SEED_ROWS, seed_layout
from test_engine_columns import check_old_file_loads_as_written

JOB = Path(__file__).resolve().parents[2] / "jobs" / "four-ways.toml"


@pytest.mark.parametrize("shape, row", [
    ((1, 1, "new", "threads"), "single thread"),
    ((1, 1, "old", "threads"), "single thread"),
    ((1, 1, "none", "threads"), None),                # one free-threaded thread is not the baseline
    ((1, 1, "free-threaded-3.13", "threads"), None),
    ((1, 4, "new", "threads"), "multi thread"),
    ((1, 4, "old", "threads"), "multi thread"),
    ((2, 1, "new", "threads"), "multi process"),
    ((1, 2, "new", "subinterpreters"), "subinterpreters"),
    ((1, 2, "none", "threads"), "free-threaded"),
    ((1, 2, "free-threaded-3.14", "threads"), "free-threaded"),
    ((2, 2, "new", "threads"), None),
])
def test_each_shape_has_its_row(shape, row):
    ranks, threads, gil, parallel = shape
    # Whether the GIL has a lock comes from cells.lock_free, which the loader fills in from the
    # gil's name for a file without it.
    cells = engine_columns_for_old_file(pd.DataFrame([dict(engine="emulated", workload="cpu", gil=gil,
                                                           parallel=parallel)]))
    assert seed_layout(ranks, threads, bool(cells.at[0, "lock_free"]), parallel) == row


def test_every_row_is_explained():
    assert set(SEED_ROW_TEXT) == set(SEED_ROWS)


@pytest.fixture(scope="module")
def four_ways_file(gilbench_binary, tmp_path_factory):
    mpiexec, exe = gilbench_binary
    out = tmp_path_factory.mktemp("four-ways") / "four-ways.h5"
    # Small: one repeat, no warm-up, 10 ms per GET (the countdown stays 50M steps: ~0.5 s a cell).
    p = subprocess.run([mpiexec, "-n", "2", exe, "run", str(JOB), "-o", str(out), "-q", "--repeats", "1",
                        "--warmups", "0", "--latency", "0.01"],
                       capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr
    for row in ("single thread", "multi thread (2 threads)", "multi process (2 ranks)", "subinterpreters (2)",
                "free-threaded-3.14 (2 threads)"):
        assert "\n" + row + " " in p.stdout, p.stdout
    return str(out)


def test_each_way_fills_its_row(four_ways_file):
    s = seed_summary(load(four_ways_file))
    for workload in ("cpu", "io"):
        d = s[s["workload"] == workload].set_index("layout")
        assert list(d.index) == list(SEED_ROWS), d
        assert d.loc["subinterpreters", "name"] == f"{workload}-subinterpreters"
        assert d.loc["free-threaded", "name"] == f"{workload}-free-threaded"
        assert (d["count"] == 1).all()


def test_an_old_file_gets_the_lock_free_column_the_writer_wrote(four_ways_file, tmp_path):
    cells = check_old_file_loads_as_written(four_ways_file, tmp_path)
    free = cells[cells["lock_free"] == 1]
    assert set(free["gil"]) == {"free-threaded-3.14"} and len(free) == 2 and len(cells) == 10
    assert set(cells.loc[cells["parallel"] == "subinterpreters", "trace_events"]) == {"full"}


def test_the_report_explains_each_row(four_ways_file, tmp_path):
    assert report_main([four_ways_file, "-o", str(tmp_path)]) == 0
    md = (tmp_path / "report.md").read_text()
    for row in SEED_ROWS:
        assert f"| {row} |" in md
        assert f"**{row}**: {SEED_ROW_TEXT[row]}" in md
    assert "Every figure is emulated" in md
