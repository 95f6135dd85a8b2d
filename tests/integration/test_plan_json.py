"""`gilbench plan --json`: the expanded plan for scripts. Its cells are the rows the run writes
to the results file's `cells` table (same keys, same values), overrides apply as in the table,
and a bad job gives the usual one-line error and no JSON."""
import json
import os
import subprocess
from pathlib import Path

import h5py

GILBENCH = os.environ.get("GILBENCH", "gilbench")
SOURCE = Path(os.environ.get("GILBENCH_SOURCE_DIR", Path(__file__).resolve().parents[2]))
SMALL_SEED = SOURCE / "tests" / "integration" / "small_seed.toml"
EXTRA = {"workers", "trials"}  # in the plan only: derived from the cell


def plan(*args):
    p = subprocess.run([GILBENCH, "plan", *map(str, args)], capture_output=True, text=True, timeout=30)
    return p


def plan_json(*args):
    p = plan("--json", *args)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_cells_are_the_rows_the_run_wrote(results_file):
    doc = plan_json(SMALL_SEED)
    assert doc["job"] == "small-seed" and doc["path"] == str(SMALL_SEED)
    with h5py.File(results_file, "r") as f:
        runs = sorted(f["runs"])
        table = f["runs"][runs[-1]]["cells"][()]
    columns = set(table.dtype.names)
    assert len(doc["cells"]) == len(table)
    for cell, row in zip(doc["cells"], table):
        assert set(cell) - EXTRA == columns, f"plan keys {sorted(set(cell) - EXTRA)} vs cells columns {sorted(columns)}"
        for key in columns:
            stored = row[key]
            stored = stored.decode() if isinstance(stored, bytes) else stored.item()
            if isinstance(cell[key], bool):
                stored = bool(stored)
            assert cell[key] == stored, f"cell {cell['cell']} {key}: plan {cell[key]!r}, file {stored!r}"
        assert cell["workers"] == cell["ranks"] * cell["threads"]
        assert cell["trials"] == cell["warmups"] + cell["repeats"]
    assert doc["max_ranks"] == 2
    assert doc["trials"] == sum(c["trials"] for c in doc["cells"]) == 6 * 3


def test_sweeps_and_overrides_as_in_the_table():
    job = SOURCE / "jobs" / "scaling.toml"
    doc = plan_json(job, "--threads", "2", "--repeats", "4")
    assert doc["job"] == "scaling" and doc["max_ranks"] == 4 and len(doc["cells"]) == 64
    assert {c["threads"] for c in doc["cells"]} == {2} and {c["repeats"] for c in doc["cells"]} == {4}
    assert [c["cell"] for c in doc["cells"]] == list(range(64))
    # The same cells, in the same order, as the console table names them.
    text = plan(job, "--threads", "2", "--repeats", "4").stdout
    rows = [l.split() for l in text.splitlines() if l.strip()[:1].isdigit()]
    assert [r[1] for r in rows] == [c["name"] for c in doc["cells"]]


def test_bad_job_gives_the_error_and_no_json(tmp_path):
    job = tmp_path / "bad.toml"
    job.write_text("[[cell]]\nworkload = 'cpu'\nwork = 10\nthreds = 2\n")
    p = plan("--json", job)
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.startswith("gilbench: error: ") and "threds" in p.stderr
