"""The writer, the loader and the schema document name the same columns: every table of a file
written by the real binary (ctest's small seed job) has exactly the columns
analysis/gilbench_analysis/load.py declares (COLUMNS), and each is in docs/hdf5-schema.md's table
for it. A column added to the writer (a new cell setting: one entry in src/model/cell_fields.cpp)
fails here until load.py and the docs have it too."""
import importlib
import re
from pathlib import Path

import h5py
import pytest

# The module, not the function gilbench_analysis.load that shadows its name in the package.
load_module = importlib.import_module("gilbench_analysis.load")

SCHEMA_DOC = Path(__file__).resolve().parents[2] / "docs" / "hdf5-schema.md"
TABLES = ("cells", "trials", "workers", "trace", "requests", "summary")


def documented_columns(table: str) -> list[str]:
    """The field names in the first column of the doc's `/runs/<run>/TABLE` table, in order
    (a row may name several: "`min_s`, `max_s`")."""
    text = SCHEMA_DOC.read_text(encoding="utf-8")
    heading = f"## `/runs/<run>/{table}`"
    assert heading in text, f"docs/hdf5-schema.md has no section {heading}"
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    names = []
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        first_cell = line.split("|")[1]
        names += re.findall(r"`([A-Za-z0-9_]+)`", first_cell)
    return names


@pytest.fixture(scope="module")
def written(results_file):
    """Column names of each table of the latest run, as the binary wrote them."""
    with h5py.File(results_file, "r") as f:
        run = f["runs"][sorted(f["runs"])[-1]]
        return {name: list(run[name].dtype.names) for name in TABLES if name in run}


def test_the_seed_file_has_every_table(written):
    assert set(written) == set(TABLES)


@pytest.mark.parametrize("table", TABLES)
def test_loader_declares_exactly_the_written_columns(written, table):
    declared = list(load_module.COLUMNS[table])
    assert sorted(declared) == sorted(written[table]), (
        f"{table}: written but not in load.py COLUMNS: {sorted(set(written[table]) - set(declared))}; "
        f"in COLUMNS but not written: {sorted(set(declared) - set(written[table]))}")


@pytest.mark.parametrize("table", TABLES)
def test_schema_doc_lists_exactly_the_written_columns(written, table):
    documented = documented_columns(table)
    assert len(documented) == len(set(documented)), f"{table}: a column is documented twice"
    assert sorted(documented) == sorted(written[table]), (
        f"{table}: written but not in docs/hdf5-schema.md: {sorted(set(written[table]) - set(documented))}; "
        f"documented but not written: {sorted(set(documented) - set(written[table]))}")


@pytest.mark.parametrize("table", TABLES)
def test_loader_dtypes_match_the_file(written, results_file, table):
    with h5py.File(results_file, "r") as f:
        dtype = f["runs"][sorted(f["runs"])[-1]][table].dtype
    for name, declared in load_module.COLUMNS[table].items():
        kind = dtype.fields[name][0]
        if declared == "object":
            assert h5py.check_string_dtype(kind) is not None, f"{table}.{name}"
        else:
            assert kind.name == declared, f"{table}.{name}: file {kind.name}, load.py {declared}"
