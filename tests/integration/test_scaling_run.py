"""A small scaling job run for real on 2 and on 4 (oversubscribed) ranks: every planned cell,
trial, worker and summary row is in the file, the table names every cell, and the run
records where and how it ran.

ctest runs one world size per test: pytest -k np2 / -k np4.
"""
import numpy as np
import pytest

import gbrun

WARMUPS, REPEATS = 1, 2
THREADS = [1, 2]
CPU_WORK = {"strong": 120_000, "weak": 40_000}
IO_WORK = {"strong": 8, "weak": 2}
BUDGET_REPEATS = 50


def cells_text(world):
    ranks = list(range(1, world + 1))
    blocks = []
    for workload, work in (("cpu", CPU_WORK), ("io", IO_WORK)):
        blocks.append(f"""
[[cell]]
name = "{workload}-{{scaling}}-{{ranks}}x{{threads}}"
workload = "{workload}"
scaling = ["strong", "weak"]
work = [{work['strong']}, {work['weak']}]
zip = ["scaling", "work"]
ranks = {ranks}
threads = {THREADS}
""")
    # A cell whose 50 repeats take at least 50 x 0.05 s: its 0.2 s budget stops it early.
    blocks.append(f"""
[[cell]]
name = "budget"
workload = "io"
work = 1
latency = 0.05
repeats = {BUDGET_REPEATS}
time_budget = 0.2
""")
    return f"""
[job]
name = "small-scaling"

[defaults]
warmups = {WARMUPS}
repeats = {REPEATS}
latency = 0.005
switch_interval = 0.001
""" + "".join(blocks)


def expected_cells(world):
    cells = []
    for workload, work in (("cpu", CPU_WORK), ("io", IO_WORK)):
        for scaling in ("strong", "weak"):
            for p in range(1, world + 1):
                for t in THREADS:
                    cells.append((f"{workload}-{scaling}-{p}x{t}", workload, scaling, p, t, work[scaling]))
    cells.append(("budget", "io", "strong", 1, 1, 1))
    return cells


@pytest.fixture(scope="module", params=[2, 4], ids=["np2", "np4"])
def result(request, tmp_path_factory):
    world = request.param
    d = tmp_path_factory.mktemp(f"scaling{world}")
    job = d / "small_scaling.toml"
    job.write_text(cells_text(world))
    out = d / "scaling.h5"
    p = gbrun.run(world, "run", job, "-o", out, "--progress", "lines")
    assert p.returncode == 0, p.stdout + p.stderr
    return world, p, gbrun.read_run(out)


def test_table_names_every_cell(result):
    world, p, _ = result
    for name, *_ in expected_cells(world):
        assert f"\n{name} " in p.stdout, name
    assert "95% CI of median" in p.stdout and "ranks min/avg/max s" in p.stdout
    assert f"job 'small-scaling': {len(expected_cells(world))} cells" in p.stderr


def test_progress_lines_count_cells_and_time_left(result):
    world, p, r = result
    lines = [l for l in p.stderr.splitlines() if ": trial " in l]
    assert len(lines) == len(r["trials"])
    n = len(expected_cells(world))
    assert lines[0].startswith(f"gilbench: cell 1/{n} ")
    assert all("elapsed " in l and ", left " in l for l in lines)
    assert lines[-1].startswith(f"gilbench: cell {n}/{n} budget: ")


def test_cells_are_the_expanded_sweep(result):
    world, _, r = result
    cells = r["cells"]
    got = [(gbrun.text(c["name"]), gbrun.text(c["workload"]), gbrun.text(c["scaling"]), int(c["ranks"]),
            int(c["threads"]), int(c["work"])) for c in cells]
    assert got == expected_cells(world)
    assert list(cells["cell"]) == list(range(len(got)))
    assert [float(b) for b in cells["time_budget_s"]] == [0.0] * (len(got) - 1) + [0.2]


def test_every_trial_and_worker_row_is_there(result):
    world, _, r = result
    assert gbrun.text(r["attrs"]["status"]) == "complete"
    assert gbrun.check_consistent(r) == []
    trials, workers = r["trials"], r["workers"]
    for i, (name, workload, scaling, p, t, work) in enumerate(expected_cells(world)):
        rows = trials[trials["cell"] == i]
        if name == "budget":
            continue
        assert list(rows["trial"]) == list(range(WARMUPS + REPEATS)), name
        assert list(rows["warmup"]) == [1] * WARMUPS + [0] * REPEATS, name
        for trial in range(WARMUPS + REPEATS):
            w = workers[(workers["cell"] == i) & (workers["trial"] == trial)]
            assert len(w) == p * t, name
            field = "ops" if workload == "cpu" else "io_requests"
            total = work if scaling == "strong" else work * p * t
            assert int(w[field].sum()) == total, (name, trial)
            assert set(w["node"].tolist()) == {0}


def test_time_budget_stops_repeats_early(result):
    world, _, r = result
    i = len(expected_cells(world)) - 1
    rows = r["trials"][r["trials"]["cell"] == i]
    measured = int((rows["warmup"] == 0).sum())
    assert 1 <= measured < BUDGET_REPEATS
    assert list(rows["trial"]) == list(range(len(rows)))
    s = r["summary"][i]
    assert gbrun.text(s["state"]) == "budget"
    assert int(s["n"]) == measured and int(s["trials"]) == len(rows)


def test_summary_has_one_row_per_cell_with_consistent_statistics(result):
    world, _, r = result
    s = r["summary"]
    assert list(s["cell"]) == list(range(len(expected_cells(world))))
    for row in s[:-1]:
        assert gbrun.text(row["state"]) == "complete"
        assert int(row["n"]) == REPEATS and int(row["trials"]) == WARMUPS + REPEATS
    for row in s:
        assert row["min_s"] <= row["median_s"] <= row["max_s"]
        assert row["ci_low_s"] <= row["median_s"] <= row["ci_high_s"]
        assert 0 < row["ci_level"] < 1
        assert row["std_s"] >= 0
        assert 0 < row["rank_min_s"] <= row["rank_avg_s"] <= row["rank_max_s"]
    # The summary agrees with the trials it summarises.
    trials = r["trials"]
    for i, row in enumerate(s):
        walls = trials[(trials["cell"] == i) & (trials["warmup"] == 0)]["wall_s"]
        assert row["median_s"] == pytest.approx(float(np.median(walls)), rel=1e-12)
        assert row["max_s"] == pytest.approx(float(walls.max()), rel=1e-12)


def test_provenance(result):
    world, _, r = result
    root, a = r["root"], r["attrs"]
    for key in ("schema", "gilbench_version", "git_sha", "created_utc", "command_line", "mpi_library",
                "hdf5_version", "curl_version", "compiler"):
        assert gbrun.text(root[key]), key
    for key in ("gilbench_version", "git_sha", "command_line", "mpi_library", "hdf5_version", "curl_version",
                "compiler", "started_utc", "finished_utc", "job", "job_name", "os"):
        assert gbrun.text(a[key]), key
    assert "slurm_job_id" in a
    assert int(a["ranks"]) == world
    assert int(a["nodes"]) == len(a["hosts"]) == len(a["cpu_model"]) == len(a["cores"]) == 1
    assert list(a["ranks_per_node"]) == [world]
    assert list(a["rank_node"]) == [0] * world
    assert len(a["rank_cpus"]) == world and min(a["rank_cpus"]) >= 1
    assert gbrun.text(a["cpu_model"][0])
    assert int(a["cores"][0]) >= 1
    assert "[[cell]]" in gbrun.text(a["job"])
    assert "run" in gbrun.text(a["command_line"])


def documented_schema():
    """Tables -> {field: type} and the run attribute names, read from docs/hdf5-schema.md."""
    import re
    doc = (gbrun.SOURCE / "docs" / "hdf5-schema.md").read_text()
    tables, attrs, section = {}, set(), None
    for line in doc.splitlines():
        m = re.match(r"## `/runs/<run>/(\w+)`", line)
        if m:
            section = m.group(1)
            tables[section] = {}
            continue
        if line.startswith("## "):
            section = "attrs" if line.startswith("## Run attributes") else None
            continue
        cols = [c.strip() for c in line.split("|")[1:-1]]
        if section is None or len(cols) < 2 or not cols[0].startswith("`"):
            continue
        names = re.findall(r"`(\w+)`", cols[0])
        if section == "attrs":
            attrs.update(names)
        else:
            for n in names:
                tables[section][n] = cols[1]
    return tables, attrs


def test_file_matches_the_documented_schema(result):
    _, _, r = result
    tables, attrs = documented_schema()
    assert set(tables) == {"cells", "trials", "workers", "trace", "requests", "summary", "errors"}
    for name, fields in tables.items():
        dtype = r[name].dtype
        assert set(fields) <= set(dtype.names), (name, set(fields) - set(dtype.names))
        for field, kind in fields.items():
            t = dtype[field]
            if kind == "string":
                assert t.kind == "O", (name, field, t)
            elif kind == "float64":
                assert t == np.float64, (name, field, t)
            elif kind in ("int32", "int64", "uint8"):
                assert t == np.dtype(kind), (name, field, t)
    assert attrs <= set(r["attrs"]), attrs - set(r["attrs"])
