"""The report's node dimension on multi-node files: the real scaling file (2 ranks, one host)
rewritten as a 4-rank run over two hosts, with cells placed within one node ("pack") and across
nodes ("spread"), per-node latencies in a `requests` table, and checked against values worked
out by hand from the edited tables. Also: one-node files get a note, files without
cells.placement load as "launch"."""
import h5py
import numpy as np
import pandas as pd
import pytest

from gilbench_analysis import list_runs, load, scaling_families
from gilbench_analysis.nodes import (cell_nodes, compact_ranks, family_node_table, node_breakdown, node_families,
                                     node_placement, ranks_per_node_text)
from gilbench_analysis.report import write_report
from h5edit import copy_file, read_table, rewrite_table

HOSTS = ["nodeA", "nodeB"]
RANK_NODE = [0, 0, 1, 1]          # block mapping: world ranks 0–1 on nodeA, 2–3 on nodeB
CORES = [4, 8]
# The spread copies of the strong new-GIL cells: (template, new name, factor on the wall times).
SPREAD = [("strong-new-1x1", "strong-new-1x1-spread", 1.1), ("strong-new-2x1", "strong-new-2x1-spread", 1.5),
          ("strong-new-2x2", "strong-new-2x2-spread", 1.25)]
# Per-node request latency of the 2x1 spread cell: node 0 answers in 50 ms, node 1 in 80 ms.
LATENCY = {0: 0.050, 1: 0.080}
REQUESTS_PER_RANK = 4
SERVED = [24, -1]


def _str_attr(values):
    return np.array(values, dtype=h5py.string_dtype("utf-8"))


def multi_node_file(scaling_file, path):
    """The scaling file as a run over two hosts. Its own cells become "pack" (world ranks 0–1,
    all on nodeA) except the weak-scaling ones ("launch", also on nodeA); spread copies of
    three strong new-GIL cells run their second rank on world rank 2 (nodeB), slower."""
    path = copy_file(scaling_file, path)
    with h5py.File(path, "a") as f:
        g = f["runs"][list_runs(path)[-1]]
        g.attrs["hosts"] = _str_attr(HOSTS)
        g.attrs["nodes"] = np.int32(2)
        g.attrs["ranks"] = np.int32(len(RANK_NODE))
        g.attrs["rank_node"] = np.array(RANK_NODE, dtype=np.int32)
        g.attrs["ranks_per_node"] = np.array([2, 2], dtype=np.int32)
        g.attrs["cores"] = np.array(CORES, dtype=np.int32)
        g.attrs["cpu_model"] = _str_attr(["A", "B"])
        g.attrs["rank_cpus"] = np.array([1, 1, 1, 1], dtype=np.int32)
        g.attrs["server_requests"] = np.array(SERVED, dtype=np.int64)   # nodeB ran no server
        cells = read_table(g, "cells")
        cells["placement"] = np.where(cells["scaling"] == "weak", "launch", "pack").astype(object)
        trials, workers = read_table(g, "trials"), read_table(g, "workers")
        new_cells, new_trials, new_workers = [], [], []
        for i, (template, name, factor) in enumerate(SPREAD):
            src = int(cells.loc[cells["name"] == template, "cell"].iloc[0])
            idx = int(cells["cell"].max()) + 1 + i
            new_cells.append(cells[cells["cell"] == src].assign(cell=idx, name=name, placement="spread", trace=0))
            new_trials.append(trials[trials["cell"] == src].assign(cell=idx, wall_s=lambda t: t["wall_s"] * factor))
            w = workers[workers["cell"] == src].assign(cell=idx)
            w["rank"] = np.where(w["rank"] == 1, 2, w["rank"])   # the second rank on the other node
            new_workers.append(w)
        cells = pd.concat([cells, *new_cells], ignore_index=True).astype(cells.dtypes.to_dict())
        trials = pd.concat([trials, *new_trials], ignore_index=True).astype(trials.dtypes.to_dict())
        workers = pd.concat([workers, *new_workers], ignore_index=True).astype(workers.dtypes.to_dict())
        workers["node"] = np.array(RANK_NODE, dtype=np.int32)[workers["rank"]]
        # The 2x1 spread cell also made requests: REQUESTS_PER_RANK per rank and trial.
        spread2 = int(cells.loc[cells["name"] == "strong-new-2x1-spread", "cell"].iloc[0])
        workers.loc[workers["cell"] == spread2, "io_requests"] = REQUESTS_PER_RANK
        workers.loc[(workers["cell"] == spread2) & (workers["rank"] == 2), "io_errors"] = 1
        rows = []
        for trial, rank, thread in workers.loc[workers["cell"] == spread2, ["trial", "rank", "thread"]].to_numpy():
            for k in range(REQUESTS_PER_RANK):
                start = 0.1 * k
                end = start + LATENCY[RANK_NODE[rank]] + 0.001 * k
                rows.append(dict(cell=spread2, trial=trial, rank=rank, thread=thread, request=k,
                                 start_s=start, end_s=end, ok=1))
        requests = pd.DataFrame(rows).astype(dict(cell="int32", trial="int32", rank="int32", thread="int32",
                                                  request="int64", ok="uint8"))
        for name, frame in (("cells", cells), ("trials", trials), ("workers", workers), ("requests", requests)):
            rewrite_table(g, name, frame)
    return path


@pytest.fixture(scope="module")
def multi(scaling_file, tmp_path_factory):
    return multi_node_file(scaling_file, tmp_path_factory.mktemp("multi") / "multi.h5")


@pytest.fixture(scope="module")
def multi_report(multi, tmp_path_factory):
    out = tmp_path_factory.mktemp("multi-report")
    write_report([("multi", load(multi))], out)
    return out, (out / "report.md").read_text()


def measured_workers(path, name):
    """The edited workers table of one cell's measured trials, straight from the file."""
    with h5py.File(path, "r") as f:
        g = f["runs"][list_runs(path)[-1]]
        cells, trials, workers = read_table(g, "cells"), read_table(g, "trials"), read_table(g, "workers")
    cell = int(cells.loc[cells["name"] == name, "cell"].iloc[0])
    # As the statistics count: no warm-ups, and no disturbed trials unless the run keeps them.
    with h5py.File(path, "r") as f:
        keep = f["runs"][list_runs(path)[-1]].attrs.get("disturbed_trials", b"drop")
    keep = (keep.decode() if isinstance(keep, bytes) else str(keep)) == "keep"
    clean = (trials["disturbed"] == 0) if "disturbed" in trials.columns and not keep else True
    measured = trials[(trials["cell"] == cell) & (trials["warmup"] == 0) & clean]["trial"]
    return workers[(workers["cell"] == cell) & workers["trial"].isin(measured)]


def test_text_helpers():
    assert ranks_per_node_text([0, 0, 1, 1, 2]) == "2 + 2 + 1"
    assert ranks_per_node_text([1, 0, 1]) == "1 + 2"     # in node order, not rank order
    assert ranks_per_node_text([3, 3]) == "2"
    assert compact_ranks([0, 3]) == "0, 3"
    assert compact_ranks([1, 0]) == "0–1"
    assert compact_ranks([0, 1, 2, 5, 7, 8]) == "0–2, 5, 7–8"
    assert compact_ranks([]) == "–"


def test_file_without_placement_loads_as_launch(scaling_file, multi, tmp_path):
    path = copy_file(scaling_file, tmp_path / "old.h5")
    with h5py.File(path, "a") as f:
        g = f["runs"][list_runs(path)[-1]]
        rewrite_table(g, "cells", read_table(g, "cells").drop(columns=["placement"], errors="ignore"))
    r = load(path)
    assert list(r.cells["placement"].unique()) == ["launch"]
    # A file that has the field keeps its values.
    placed = load(multi).cells.set_index("name")["placement"]
    assert placed["strong-new-2x1"] == "pack" and placed["strong-new-2x1-spread"] == "spread"
    assert placed["weak-new-2x1"] == "launch"


def test_placement_and_cells_spanning_nodes(multi):
    r = load(multi)
    p = node_placement(r)
    assert list(p["host"]) == HOSTS
    assert list(p["ranks_text"]) == ["0–1", "2–3"]      # rank 3 only from rank_node: no cell used it
    assert list(p["cores"]) == CORES
    assert p["server_requests"].iloc[0] == 24 and np.isnan(p["server_requests"].iloc[1])
    spans = cell_nodes(r).set_index("name")
    assert spans.at["strong-new-2x1", "nodes"] == 1 and spans.at["strong-new-2x1", "ranks_per_node"] == "2"
    assert spans.at["strong-new-2x1-spread", "nodes"] == 2
    assert spans.at["strong-new-2x1-spread", "ranks_per_node"] == "1 + 1"
    assert spans.at["strong-new-2x2-spread", "world_ranks"] == "0, 2"
    assert spans.at["strong-new-1x2", "nodes"] == 1


def test_series_split_by_placement_with_labels_and_baselines(multi):
    r = load(multi)
    fams = scaling_families(r)
    strong = next(f for f in fams if f.scaling == "strong")
    weak = next(f for f in fams if f.scaling == "weak")
    labels = {s.label: s for s in strong.series}
    assert set(labels) == {"threads, GIL new, packed", "threads, GIL old, packed", "threads, GIL none, packed",
                           "ranks, GIL new, packed", "ranks, GIL new, spread over nodes",
                           "ranks × threads, GIL new, packed", "ranks × threads, GIL new, spread over nodes"}
    assert strong.placements == ["pack", "spread"]
    packed, spread = labels["ranks, GIL new, packed"], labels["ranks, GIL new, spread over nodes"]
    assert packed.baseline == "strong-new-1x1" and spread.baseline == "strong-new-1x1-spread"
    assert labels["threads, GIL old, packed"].baseline == "strong-old-1x1"
    assert spread.t1 == pytest.approx(1.1 * packed.t1)
    # Spread: 1.1 × T1 over 1.5 × T(2).
    sp = spread.points.set_index("name")
    pk = packed.points.set_index("name")
    assert sp.at["strong-new-2x1-spread", "speedup"] == pytest.approx(1.1 / 1.5 * pk.at["strong-new-2x1", "speedup"])
    assert sp.at["strong-new-2x1-spread", "nodes"] == 2 and pk.at["strong-new-2x1", "nodes"] == 1
    # One placement, the launcher's: labels as before.
    assert {s.label for s in weak.series} == {"threads, GIL new", "ranks, GIL new", "threads, GIL none"}
    assert node_families(fams) == [strong]
    table = family_node_table(strong, cell_nodes(r)).set_index("cell")
    assert set(table.index) == {"strong-new-2x1", "strong-new-2x2", "strong-new-2x1-spread", "strong-new-2x2-spread"}
    assert table.at["strong-new-2x2-spread", "ranks_per_node"] == "1 + 1"
    assert table.at["strong-new-2x2", "ranks_per_node"] == "2"
    assert table.at["strong-new-2x2-spread", "series"] == "ranks × threads, GIL new, spread over nodes"


def test_node_breakdown_by_hand(multi):
    r = load(multi)
    b = node_breakdown(r).set_index(["name", "node"])
    for name in ("strong-new-2x2-spread", "strong-new-2x1-spread"):
        w = measured_workers(multi, name)
        w = w.assign(busy=w["end_s"] - w["start_s"], node=np.array(RANK_NODE)[w["rank"]])
        trials = w["trial"].nunique()
        for node, host, rank in ((0, "nodeA", 0), (1, "nodeB", 2)):
            mine = w[w["node"] == node]
            row = b.loc[(name, node)]
            assert row["host"] == host and row["rank_list"] == str(rank) and row["nodes"] == 2
            assert row["workers"] == mine["thread"].nunique()
            assert row["busy_median_s"] == pytest.approx(np.median(mine["busy"]))
            assert row["slowest_median_s"] == pytest.approx(np.median(mine.groupby("trial")["busy"].max()))
            assert row["ops_per_trial"] == pytest.approx(mine["ops"].sum() / trials)
            assert row["gil_wait_share"] == pytest.approx(mine["gil_wait_s"].sum() / mine["busy"].sum())
    two = b.loc["strong-new-2x1-spread"]
    assert list(two["io_requests_per_trial"]) == [REQUESTS_PER_RANK, REQUESTS_PER_RANK]
    assert list(two["io_errors_per_trial"]) == [0, 1]
    # Median of 50/51/52/53 ms (node 0) and 80/81/82/83 ms (node 1).
    assert two.at[0, "latency_median_s"] == pytest.approx(LATENCY[0] + 0.0015)
    assert two.at[1, "latency_median_s"] == pytest.approx(LATENCY[1] + 0.0015)
    assert np.isnan(b.loc[("strong-new-2x2-spread", 0), "latency_median_s"])   # no requests there
    assert b.loc[("strong-new-2x1", 0), "nodes"] == 1


def test_report_has_the_nodes_section(multi, multi_report):
    out, md = multi_report
    section = md[md.index("## Nodes"):md.index("## GIL timeline")]
    assert md.index("## Strong and weak scaling") < md.index("## Nodes")
    assert "| 0 | nodeA | 0–1 | 4 | 24 |" in section and "| 1 | nodeB | 2–3 | 8 | – |" in section
    assert "### Within one node and across nodes" in section
    assert "| ranks, GIL new, spread over nodes | strong-new-2x1-spread | 2 × 1 | 2 | 1 + 1 |" in section
    assert "| ranks, GIL new, packed | strong-new-2x1 | 2 × 1 | 1 | 2 |" in section
    assert "![" in section and "(nodes-1-cpu-strong.png)" in section
    png = out / "nodes-1-cpu-strong.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.glob("nodes-2-*.png"))     # the weak family stays on one node
    # The per-node breakdown: both nodes of the spread cells, latencies per node.
    rows = [l for l in section.splitlines() if l.startswith("| strong-new-2x1-spread |")]
    assert len(rows) == 2
    assert "| nodeA |" in rows[0] and "| 51.5 |" in rows[0]
    assert "| nodeB |" in rows[1] and "| 81.5 |" in rows[1]
    assert "`nodes-workers.csv`" in section
    # The CSV: every cell, one row per node it used.
    csv = pd.read_csv(out / "nodes-workers.csv")
    per_cell = csv.groupby("name")["node"].nunique()
    assert set(per_cell.index) == set(load(multi).cells["name"])
    assert set(per_cell[per_cell == 2].index) == {name for _, name, _ in SPREAD if "1x1" not in name}


def test_one_node_run_gets_a_note_and_stale_node_files_go(scaling_file, multi, tmp_path):
    out = tmp_path
    write_report([("multi", load(multi))], out)
    assert list(out.glob("nodes-*.png")) and (out / "nodes-workers.csv").exists()
    write_report([("one", load(scaling_file))], out)
    md = (out / "report.md").read_text()
    host = load(scaling_file).hosts[0]
    section = md[md.index("## Nodes"):md.index("## GIL timeline")]
    assert f"skipped: the run used one node (host {host})" in section
    assert "scripts/vcluster up 3" in section and "slurm/scaling.sbatch" in section
    assert not list(out.glob("nodes-*"))            # the multi-node report's figure and CSV are gone


def test_comparison_prefixes_each_run(scaling_file, multi, tmp_path):
    write_report([("one", load(scaling_file)), ("two", load(multi))], tmp_path)
    md = (tmp_path / "report.md").read_text()
    section = md[md.index("## Nodes"):md.index("## GIL timeline")]
    assert "one: skipped: the run used one node" in section
    assert "### two" in section and "two: Where the world ranks ran" in section
    csv = pd.read_csv(tmp_path / "nodes-workers.csv")
    assert set(csv["run"]) == {"two"}
