"""A fake engine, end to end: gilbench_fake (gilbench with tests/engine/fake's engine registered)
lists it, refuses what it does not run, runs it under MPI into HDF5, and analysis/ reports on
that file from the cells table's engine columns alone: the analysis has never heard of "fake".

ctest (engine.fake_engine_pytest) sets GILBENCH_FAKE (the executable), MPIEXEC,
GILBENCH_SOURCE_DIR and OMPI_ALLOW_RUN_AS_ROOT. No assertion depends on how fast anything ran."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import pytest

from gilbench_analysis import load, seed_summary, seed_table
from gilbench_analysis.tables import gil_summary

SOURCE = Path(os.environ.get("GILBENCH_SOURCE_DIR") or Path(__file__).resolve().parents[3])
REPORT = SOURCE / "analysis" / "gilbench-report"
FAKE_CELLS = ("fake-1t", "fake-2t", "fake-2r")

JOB = textwrap.dedent("""\
    [job]
    name = "fake-engine"

    [defaults]
    workload = "cpu"
    work = 2_000_000
    repeats = 3
    warmups = 0

    [[cell]]
    name = "fake-1t"
    engine = "fake"

    [[cell]]
    name = "fake-2t"
    engine = "fake"
    threads = 2

    [[cell]]
    name = "fake-2r"
    engine = "fake"
    ranks = 2

    [[cell]]
    name = "emulated-1t"
    engine = "emulated"
    """)


@pytest.fixture(scope="module")
def fake():
    """(gilbench_fake, mpiexec): from the environment ctest gives this test."""
    missing = [n for n in ("GILBENCH_FAKE", "MPIEXEC") if not os.environ.get(n)]
    if missing:
        pytest.fail(f"{' and '.join(missing)} not set (ctest sets them: ctest -R engine.fake_engine_pytest)")
    return os.environ["GILBENCH_FAKE"], os.environ["MPIEXEC"]


def run(cmd, timeout, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kw)


@pytest.fixture(scope="module")
def fake_run(fake, tmp_path_factory):
    """The small job run on 2 ranks: (what it printed, the results file)."""
    exe, mpiexec = fake
    d = tmp_path_factory.mktemp("fake-run")
    (d / "job.toml").write_text(JOB)
    p = run([mpiexec, "-np", "2", "--oversubscribe", "--bind-to", "none", exe, "run", "job.toml", "-o", "tmp.h5",
             "--no-calibration", "-q"], timeout=120, cwd=d)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout, d / "tmp.h5"


@pytest.fixture(scope="module")
def fake_report(fake_run, tmp_path_factory):
    _, h5 = fake_run
    out = tmp_path_factory.mktemp("fake-report")
    p = run([sys.executable, REPORT, h5, "-o", out], timeout=150)
    assert p.returncode == 0, p.stdout + p.stderr
    return (out / "report.md").read_text(encoding="utf-8")


def test_engines_lists_the_fake_engine(fake):
    exe, _ = fake
    p = run([exe, "engines"], timeout=30)
    assert p.returncode == 0, p.stderr
    assert "fake (Fake, a model)" in p.stdout
    assert "emulated (emulated, a model)" in p.stdout
    p = run([exe, "engines", "--json"], timeout=30)
    assert p.returncode == 0, p.stderr
    engines = {e["name"]: e for e in json.loads(p.stdout)["engines"]}
    f = engines["fake"]
    assert (f["label"], f["real"], f["accepts"]["workload"]) == ("Fake", False, ["cpu"])
    assert f["measures"]["cpu/threads"] == {"gil_counters": False, "trace": "none", "request_timings": False,
                                            "calibration": False}


def test_validate_refuses_a_workload_the_fake_engine_does_not_run(fake, tmp_path):
    exe, _ = fake
    job = tmp_path / "io.toml"
    job.write_text('[[cell]]\nname = "fetch"\nengine = "fake"\nworkload = "io"\nwork = 2\n')
    p = run([exe, "validate", job], timeout=30)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "key 'workload': engine = \"fake\" does not run workload = \"io\"" in p.stdout + p.stderr


def test_the_console_table_heads_columns_with_the_label(fake_run):
    stdout, _ = fake_run
    assert "CPU-bound, Fake" in stdout and "CPU-bound, emulated" in stdout, stdout


def test_the_file_says_what_the_fake_engine_measured(fake_run):
    _, h5 = fake_run
    with h5py.File(h5, "r") as f:
        cells = f["runs"][sorted(f["runs"])[-1]]["cells"][:]
    by_name = {c["name"].decode(): c for c in cells}
    for name in FAKE_CELLS:
        c = by_name[name]
        assert c["engine"].decode() == "fake" and c["engine_label"].decode() == "Fake"
        assert (c["gil_counters"], c["engine_real"], c["request_timings"]) == (0, 0, 0)
        assert c["trace_events"].decode() == "none"
    e = by_name["emulated-1t"]
    assert e["engine_label"].decode() == "emulated" and e["gil_counters"] == 1


def test_the_analysis_reads_the_columns_not_the_name(fake_run):
    _, h5 = fake_run
    r = load(str(h5))
    cells = r.cells.set_index("name")
    assert set(cells.loc[list(FAKE_CELLS), "engine_label"]) == {"Fake"}
    # Columns per workload and engine, in the order the cells table names the engines.
    assert list(seed_table(r).columns) == ["CPU-bound, Fake", "CPU-bound, emulated"]
    s = seed_summary(r).set_index(["engine", "layout"])
    assert s.loc[("fake", "multi thread"), "name"] == "fake-2t"
    assert s.loc[("fake", "multi process"), "name"] == "fake-2r"
    g = gil_summary(r).set_index("cell")
    fake_cells = cells.loc[list(FAKE_CELLS), "cell"]
    assert not g.loc[fake_cells, "measured"].any() and g.loc[fake_cells, "wait_share"].isna().all()
    assert g.loc[cells.at["emulated-1t", "cell"], "measured"]


def section(md, heading):
    """The text of a report section: from its '## heading' to the next '## '."""
    return md.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_the_report_names_the_fake_engine_by_its_label(fake_report):
    seed = section(fake_report, "Seed table: threads against processes")
    assert "| median wall time, s (min–max) | CPU-bound, Fake | CPU-bound, emulated |" in seed
    assert "Filled bars: the Fake engine, hatched: the emulated engine." in seed
    assert "![" in seed and "(seed.png)" in seed
    rows = [l for l in section(fake_report, "Cells").splitlines() if any(f"| {n} |" in l for n in FAKE_CELLS)]
    assert len(rows) == 3 and all("| Fake |" in l and l.count("not measured") == 2 for l in rows), rows


def test_the_gil_section_says_the_fake_cells_waits_are_not_measured(fake_report):
    gil = section(fake_report, "GIL metrics")
    notes = [l for l in gil.splitlines() if "`fake-" in l]
    # The cells with more than one worker get no POP breakdown, and say why.
    for name in ("fake-2t", "fake-2r"):
        note = next((l for l in notes if f"`{name}`" in l), None)
        assert note is not None, gil
        assert "GIL waits not measured (engine Fake)" in note and "cpython" not in note.lower()
    assert "cpython" not in gil
