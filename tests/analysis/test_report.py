"""gilbench-report end to end: every section and figure on files of the real binary, the
comparison mode, sections skipped with a note, tables gilbench does not write yet (requests,
mixed cells) on an edited copy, and the command line's errors."""
import re
import subprocess
import sys
from pathlib import Path

import h5py
import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from gilbench_analysis import list_runs, load
from gilbench_analysis.cli import report_main
from gilbench_analysis.latency import request_latencies
from h5edit import copy_file, read_table, rewrite_table

TOOL = Path(__file__).resolve().parents[2] / "analysis" / "gilbench-report"


def make_report(tmp_path_factory, capsys, *args):
    out = tmp_path_factory.mktemp("report")
    rc = report_main([*map(str, args), "-o", str(out)])
    text = capsys.readouterr()
    assert rc == 0, text.err
    return out, (out / "report.md").read_text(), text.out


def figures(md: str) -> list[str]:
    return re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)


def table_row(md: str, column: str, first: str) -> dict:
    """The row starting with `first` of the Markdown table that has `column`, as a dict."""
    lines = md.splitlines()
    for i, line in enumerate(lines):
        cols = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and column in cols:
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                cells = [c.strip() for c in row.strip().strip("|").split("|")]
                if cells[0] == first:
                    return dict(zip(cols, cells))
    raise AssertionError(f"no row {first!r} in a table with column {column!r}")


def check_pngs(out: Path, md: str):
    """Every figure the report names exists, is a PNG of a real size and is not blank."""
    names = figures(md)
    assert names, "no figures"
    html = (out / "report.html").read_text()
    for name in names:
        png = out / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        img = matplotlib.image.imread(png)
        assert img.shape[0] >= 400 and img.shape[1] >= 600, (name, img.shape)
        assert img[..., :3].std() > 0.05, f"{name} looks blank"
        assert f'src="{name}"' in html
    return names


@pytest.fixture(scope="module")
def seed_report(results_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("seed-report")
    assert report_main([results_file, "-o", str(out)]) == 0
    return out, (out / "report.md").read_text()


def test_seed_report_has_every_section_and_figure(seed_report):
    out, md = seed_report
    names = check_pngs(out, md)
    assert names == ["seed.png", "scaling-1-cpu-strong.png", "scaling-2-io-strong.png",
                     "timeline-1-cpu-multi-thread.png", "timeline-2-io-multi-thread.png", "latency-cdf.png"]
    for heading in ("## Cells", "## Seed table: threads against processes", "## Strong and weak scaling",
                    "## Nodes", "## GIL timeline", "## I/O latency", "## Switch-interval sweep"):
        assert heading in md
    # The seed table: each layout with median, spread and the ratio to one thread.
    row = next(l for l in md.splitlines() if l.startswith("| multi process |"))
    assert re.search(r"\d\.\d+ \(\d\.\d+–\d\.\d+\), \d\.\d\d×", row)
    assert "from the `requests` table" in md or "from the trace (the file has no `requests` table)" in md


def test_sections_without_data_are_skipped_with_one_line(seed_report):
    _, md = seed_report
    notes = [l for l in md.splitlines() if l.startswith("> *skipped:")]
    assert len(notes) == 3
    assert any("no mixed-workload cell" in n for n in notes)
    assert any("switch interval" in n for n in notes)
    assert any("the run used one node" in n for n in notes)   # ctest's runs are on one host


def test_scaling_report(scaling_file, tmp_path_factory, capsys):
    out, md, stdout = make_report(tmp_path_factory, capsys, scaling_file)
    names = check_pngs(out, md)
    assert "scaling-1-cpu-strong.png" in names and "scaling-2-cpu-weak.png" in names
    assert "timeline-1-strong-new-2x2.png" in names
    assert "Amdahl serial fraction s" in md and "Gustafson serial fraction s" in md and "Karp–Flatt e" in md
    for series in ("threads, GIL new", "threads, GIL old", "threads, GIL none", "ranks, GIL new",
                   "ranks × threads, GIL new"):
        assert f"| {series} |" in md
    assert "skipped: no per-request latencies" in md and "skipped: no cells that differ only" in md
    assert "report:" in stdout and "note: skipped" in stdout


def test_switch_interval_report(switch_file, tmp_path_factory, capsys):
    out, md, _ = make_report(tmp_path_factory, capsys, switch_file)
    names = check_pngs(out, md)
    assert {"switch-interval.png", "latency-cdf.png", "convoy.png"} <= set(names)
    assert "skipped: no family of cells with a 1 × 1 baseline" in md
    assert "skipped:" not in md.replace("skipped: no family of cells", "").replace("skipped: the run used one node", "")
    sweep = md[md.index("## Switch-interval sweep"):]
    intervals = [l.split("|")[1].strip() for l in sweep.splitlines() if re.match(r"\| [\d.]+ \|", l)]
    assert intervals == ["0.2", "1", "5"] * 3   # a table for the cpu, the io and the mixed family
    assert "from the `requests` table" in md


def test_comparison_of_two_files(results_file, tmp_path_factory, capsys):
    # A "second cluster" twice as slow: every cell's ratio is 2.
    slow = copy_file(results_file, tmp_path_factory.mktemp("slow") / "slow.h5")
    with h5py.File(slow, "a") as f:
        g = f["runs"][list_runs(slow)[-1]]
        trials = read_table(g, "trials")
        rewrite_table(g, "trials", trials.assign(wall_s=trials["wall_s"] * 2))
    out, md, _ = make_report(tmp_path_factory, capsys, results_file, slow, "--label", "fast", "--label", "slow")
    names = check_pngs(out, md)
    assert "compare-cells.png" in names and "seed.png" in names
    assert md.startswith("# gilbench comparison: fast and slow")
    rows = [l for l in md.splitlines() if l.startswith("| ") and l.rstrip().endswith("× |")]
    ratios = [l.rstrip(" |").split("| ")[-1] for l in rows if "slow / fast" not in l]
    assert ratios.count("2.00×") == 6
    assert "| fast: CPU-bound | fast: I/O-bound | slow: CPU-bound | slow: I/O-bound |" in md


def future_file(results_file, path):
    """The small seed file plus what other parts of gilbench will write: a mixed cell (one CPU
    and one I/O thread on one rank, cells.io_threads) and a `requests` table."""
    path = copy_file(results_file, path)
    base = load(results_file)
    trace_lat, _ = request_latencies(base)
    with h5py.File(path, "a") as f:
        g = f["runs"][base.run]
        cells = read_table(g, "cells")
        cells["io_threads"] = np.where(cells["workload"] == "io", cells["threads"], 0).astype("int32")
        mixed = cells.iloc[[4]].copy()   # io-multi-thread as a template
        mixed = mixed.assign(cell=6, name="mixed-1cpu-1io", workload="mixed", io_threads=1)
        rewrite_table(g, "cells", pd.concat([cells, mixed], ignore_index=True).astype(cells.dtypes.to_dict()))
        trials = read_table(g, "trials")
        new_trials = pd.DataFrame(dict(cell=6, trial=[0, 1, 2], warmup=[1, 0, 0], wall_s=[0.3, 0.3, 0.31], io_errors=0))
        # The columns of the trials' disturbance probes, where the file has them: clean trials.
        for col in trials.columns.difference(new_trials.columns):
            new_trials[col] = ("" if trials[col].dtype == object else 0 if col == "disturbed"
                               else new_trials["trial"] if col == "round" else np.nan)
        rewrite_table(g, "trials", pd.concat([trials, new_trials], ignore_index=True).astype(trials.dtypes.to_dict()))
        workers = read_table(g, "workers")
        w = workers[workers["cell"] == 4].copy()
        w["cell"] = 6
        w.loc[w["thread"] == 0, "io_requests"] = 0
        rewrite_table(g, "workers", pd.concat([workers, w], ignore_index=True).astype(workers.dtypes.to_dict()))
        # requests: the io cells' requests as the trace saw them, and the mixed cell's I/O thread
        # waiting ~a switch interval longer for the GIL after each response.
        req = trace_lat[["cell", "trial", "rank", "thread", "request", "start_s", "end_s"]].copy()
        mix = pd.DataFrame(dict(cell=6, trial=np.repeat([1, 2], 4), rank=0, thread=1, request=np.tile(range(4), 2)))
        mix["start_s"] = mix["request"] * 0.06
        mix["end_s"] = mix["start_s"] + 0.05 + 0.001 + 0.001 * mix["request"]
        req = pd.concat([req, mix], ignore_index=True)
        req["ok"] = np.uint8(1)
        req = req.astype(dict(cell="int32", trial="int32", rank="int32", thread="int32", request="int64", ok="uint8"))
        rewrite_table(g, "requests", req)
    return path, trace_lat


def test_tables_gilbench_will_write_requests_and_mixed_cells(results_file, tmp_path_factory, capsys):
    path, trace_lat = future_file(results_file, tmp_path_factory.mktemp("future") / "future.h5")
    r = load(path)
    assert r.cell("mixed-1cpu-1io")["io_threads"] == 1
    lat, source = request_latencies(r)
    assert source == "requests"
    io = lat[lat["cell"] != 6].sort_values(["cell", "trial", "rank", "thread", "request"])
    assert io["latency_s"].to_numpy() == pytest.approx(
        trace_lat.sort_values(["cell", "trial", "rank", "thread", "request"])["latency_s"].to_numpy())
    out, md, _ = make_report(tmp_path_factory, capsys, path)
    names = check_pngs(out, md)
    assert "convoy.png" in names
    assert "from the `requests` table" in md
    assert table_row(md, "CPU threads beside", "mixed-1cpu-1io")["CPU threads beside"] == "1"
    assert "skipped: no mixed-workload" not in md


def test_timeline_option_picks_the_cell(results_file, tmp_path_factory, capsys):
    out, md, _ = make_report(tmp_path_factory, capsys, results_file, "--timeline", "io-multi-thread:2", "--no-html")
    assert [n for n in figures(md) if n.startswith("timeline")] == ["timeline-1-io-multi-thread.png"]
    assert "cell 'io-multi-thread', trial 2" in md
    assert not (out / "report.html").exists()


def test_command_line_errors(results_file, tmp_path, capsys):
    # The script itself, once: a wrong file gets one clear line and exit status 1, no report.
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.attrs["schema"] = "other/9"
    p = subprocess.run([sys.executable, str(TOOL), str(other), "-o", str(tmp_path / "r")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    assert p.stderr.strip().startswith("gilbench-report: error:") and "expected 'gilbench/1'" in p.stderr
    assert not (tmp_path / "r").exists()
    # The rest through its entry point.
    assert report_main([results_file, "-o", str(tmp_path / "r"), "--timeline", "nope"]) == 1
    assert "no cell 'nope'; cells are cpu-single-thread" in capsys.readouterr().err
    for args, message in ((["--run", "run-000", "--run", "run-001"], "give --run once per FILE"),
                          ([results_file, results_file], "one FILE, or two to compare"),
                          (["--timeline", "cpu-multi-thread:x"], "expected CELL or CELL:TRIAL")):
        with pytest.raises(SystemExit) as e:
            report_main([results_file, *args, "-o", str(tmp_path / "r")])
        assert e.value.code == 2 and message in capsys.readouterr().err
