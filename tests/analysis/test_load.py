"""The analysis loader on a file written by the real binary (the small seed job of ctest)."""
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "analysis"))
from gilbench_analysis import SchemaError, cell_summary, list_runs, load, seed_table  # noqa: E402

TOOL = Path(__file__).resolve().parents[2] / "analysis" / "gilbench-table"


def test_loads_every_table(results_file):
    r = load(results_file)
    assert r.status == "complete"
    assert list(r.cells["name"])[:2] == ["cpu-single-thread", "cpu-multi-thread"]
    assert isinstance(r.cells["name"][0], str)
    assert {"cell", "trial", "warmup", "wall_s"} <= set(r.trials.columns)
    assert {"rank", "thread", "node", "gil_forced_drops", "io_errors"} <= set(r.workers.columns)
    assert set(r.trace["event"]) >= {"take", "drop", "io_start", "io_end"}
    assert r.run in list_runs(results_file)


def test_summary_and_seed_table(results_file):
    r = load(results_file)
    s = cell_summary(r)
    assert list(s["count"]) == [2] * 6  # repeats only, warm-ups left out
    assert (s["min"] <= s["median"]).all() and (s["median"] <= s["max"]).all()
    t = seed_table(r)
    assert list(t.index) == ["single thread", "multi thread", "multi process"]
    assert list(t.columns) == ["CPU-bound", "I/O-bound"]
    assert t.notna().all().all()


def test_rejects_other_schema(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.attrs["schema"] = "something/2"
    with pytest.raises(SchemaError, match="expected 'gilbench/1'"):
        load(str(other))
    not_h5 = tmp_path / "x.h5"
    not_h5.write_text("hello")
    with pytest.raises(SchemaError, match="not a readable HDF5 file"):
        load(str(not_h5))


def test_command_line_tool(results_file, tmp_path):
    ok = subprocess.run([sys.executable, str(TOOL), results_file], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "multi process" in ok.stdout and "CPU-bound" in ok.stdout
    bad = tmp_path / "bad.h5"
    bad.write_text("x")
    fail = subprocess.run([sys.executable, str(TOOL), str(bad)], capture_output=True, text=True, timeout=60)
    assert fail.returncode == 1 and "gilbench-table: error:" in fail.stderr
