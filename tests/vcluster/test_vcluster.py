"""gilbench across the nodes of a virtual cluster (scripts/vcluster), and a clean teardown.

Needs root with CAP_SYS_ADMIN/CAP_NET_ADMIN: ctest runs it through tests/run_pytest.py
--needs namespaces, which skips the whole suite, with the reason, before it starts where they
are missing.
Only addresses inside the cluster's namespaces are used; nothing is sent from this namespace.
The runs keep disturbed trials (--disturbed keep): the nodes are namespaces of one host, whose
/proc/stat counts every node's ranks, so each node sees the others as "other processes".
"""
import os
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

from vc_helpers import GILBENCH, SUBNET, node_namespaces, processes_in, vc

JOB = Path(__file__).resolve().parent / "multi_node.toml"
NODES_JOB = Path(__file__).resolve().parent / "nodes_small.toml"
FOUR_WAYS = Path(__file__).resolve().parents[2] / "jobs" / "four-ways.toml"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    state = tmp_path_factory.mktemp("vc") / "state"
    # --watch: should this process die without its teardown, the cluster goes down by itself.
    vc("up", 3, "--watch", os.getpid(), env_dir=state)
    namespaces = node_namespaces(state)
    try:
        yield state
    finally:
        vc("down", env_dir=state, check=False)
    # Teardown left nothing behind: no guard route, nothing in the nodes' namespaces (their
    # pause processes included), no state.
    routes = subprocess.run(["ip", "route", "show", SUBNET], capture_output=True, text=True).stdout
    assert "blackhole" not in routes
    assert len(namespaces) == 3
    assert not processes_in(namespaces)
    assert not state.exists()


def test_nodes_have_their_own_names_and_addresses(cluster):
    for i in (1, 2, 3):
        assert vc("exec", f"node{i}", "hostname", env_dir=cluster).stdout.strip() == f"node{i}"
        addrs = vc("exec", f"node{i}", "ip", "-brief", "addr", "show", "eth0", env_dir=cluster).stdout
        assert f"10.231.0.{10 + i}/24" in addrs
    # The guard route protects the root namespace while the cluster is up.
    assert "blackhole" in subprocess.run(["ip", "route", "show", SUBNET], capture_output=True, text=True).stdout


def test_up_twice_is_harmless(cluster):
    r = vc("up", 3, env_dir=cluster)
    assert "already up" in r.stdout


def test_gilbench_spans_three_nodes(cluster, tmp_path):
    out = tmp_path / "multi.h5"
    r = vc("mpirun", "-np", 4, "--map-by", "node", GILBENCH, "run", JOB, "-o", out, "-q", "--disturbed", "keep",
           env_dir=cluster, timeout=240)
    assert "results:" in r.stdout
    with h5py.File(out, "r") as f:
        g = f["runs"]["run-000"]
        assert g.attrs["status"] == "complete"
        hosts = [h.decode() if isinstance(h, bytes) else h for h in g.attrs["hosts"]]
        assert sorted(hosts) == ["node1", "node2", "node3"]
        assert int(g.attrs["nodes"]) == 3
        cells = [n.decode() for n in g["cells"]["name"]]
        trials, workers = g["trials"][:], g["workers"][:]
        assert len(trials) == len(cells) * 3  # 1 warm-up + 2 repeats each
        # --map-by node: ranks 0..3 on node1, node2, node3, node1.
        placement = {int(r): hosts[int(n)] for r, n in zip(workers["rank"], workers["node"])}
        assert placement == {0: "node1", 1: "node2", 2: "node3", 3: "node1"}
        for name in ("io-4-ranks", "io-4-ranks-2-threads"):
            c = cells.index(name)
            w = workers[workers["cell"] == c]
            assert len(np.unique(w["node"])) == 3
            # Each rank requested 127.0.0.1 inside its own node: only that node's embedded
            # server can answer there, so no errors means every node served its own ranks.
            assert int(w["io_errors"].sum()) == 0
            assert int(w["ops"].sum()) == int(w["io_requests"].sum()) > 0
        # Each node's server counted exactly the requests of that node's ranks (warm-ups included).
        served = list(g.attrs["server_requests"])
        per_node = [int(workers["io_requests"][workers["node"] == n].sum()) for n in range(3)]
        assert served == per_node and min(per_node) > 0
    line = next(l for l in r.stdout.splitlines() if l.startswith("embedded servers served"))
    for n, host in enumerate(hosts):
        assert f"{host} {per_node[n]}" in line, line


def test_four_ways_job_fills_its_table_across_nodes(cluster, tmp_path):
    # jobs/four-ways.toml as shipped (a repeat, no warm-up, 10 ms GETs to keep it short): the
    # "processes" row runs one rank on each of two nodes (placement spread), the other ways
    # on node1's rank 0.
    out = tmp_path / "four-ways.h5"
    r = vc("mpirun", "-np", 2, "--map-by", "node", GILBENCH, "run", FOUR_WAYS, "-o", out, "-q", "--disturbed", "keep",
           "--repeats", 1, "--warmups", 0, "--latency", 0.01, env_dir=cluster, timeout=240)
    table = r.stdout[r.stdout.index("median wall time, emulated"):]
    for row in ("single thread", "multi thread (2 threads)", "multi process (2 ranks)", "subinterpreters (2)",
                "free-threaded-3.14 (2 threads)"):
        line = next((l for l in table.splitlines() if l.startswith(row + " ")), None)
        assert line is not None and line.count(" s") == 2, table  # a CPU-bound and an I/O-bound time
    with h5py.File(out, "r") as f:
        g = f["runs"]["run-000"]
        assert g.attrs["status"] == "complete"
        hosts = [h.decode() if isinstance(h, bytes) else h for h in g.attrs["hosts"]]
        cells = [n.decode() for n in g["cells"]["name"]]
        workers = g["workers"][:]
        for name in ("cpu-processes", "io-processes"):
            w = workers[workers["cell"] == cells.index(name)]
            assert sorted(hosts[int(n)] for n in w["node"]) == ["node1", "node2"]
            assert int(w["io_errors"].sum()) == 0


def test_opt_in_shared_server_serves_every_node(cluster, tmp_path):
    out = tmp_path / "shared.h5"
    r = vc("mpirun", "-np", 4, "--map-by", "node", GILBENCH, "run", JOB, "-o", out, "-q", "--disturbed", "keep",
           "--shared-server", "node1", env_dir=cluster, timeout=240)
    with h5py.File(out, "r") as f:
        g = f["runs"]["run-000"]
        assert g.attrs["status"] == "complete"
        assert g.attrs["embedded_server"].startswith("http://10.231.0.11:")
        workers = g["workers"][:]
        io = workers[workers["io_requests"] > 0]
        assert len(np.unique(io["node"])) == 3  # requests came from every node ...
        assert int(io["io_errors"].sum()) == 0
        total = int(io["io_requests"].sum())
        # Only node1 ran a server; the others have none (-1).
        assert list(g.attrs["server_requests"]) == [total, -1, -1]
    # ... and node1's one server answered all of them (it says how many it served).
    assert f"served {total} requests" in r.stdout, r.stdout


def test_scaling_command_packs_and_spreads_and_reports_the_nodes(cluster, tmp_path):
    """`scripts/vcluster scaling JOB` (the documented multi-node command): 3 nodes x 2 ranks in
    blocks, packed cells stay on as few nodes as they can, spread cells take one node per rank,
    and the report has the per-node results."""
    out, report = tmp_path / "nodes.h5", tmp_path / "report"
    r = vc("scaling", NODES_JOB, "-o", out, "--report", report, "--", "-q",
           env_dir=cluster, timeout=300, cwd=tmp_path)
    assert "on 3 nodes x 2 ranks" in r.stdout
    with h5py.File(out, "r") as f:
        g = f["runs"]["run-000"]
        assert g.attrs["status"] == "complete"
        hosts = [h.decode() if isinstance(h, bytes) else h for h in g.attrs["hosts"]]
        assert list(g.attrs["rank_node"]) == [0, 0, 1, 1, 2, 2]  # ppr:2:node: blocks of 2
        cells = {n.decode(): i for i, n in enumerate(g["cells"]["name"])}
        assert {p.decode() for p in g["cells"]["placement"]} == {"pack", "spread"}
        trials, workers = g["trials"][:], g["workers"][:]
        assert len(trials) == len(cells) * 3  # every trial of every cell is there
        expected = {  # cell: (world ranks, hosts)
            "cpu-pack-2": ({0, 1}, {"node1"}),
            "cpu-pack-3": ({0, 1, 2}, {"node1", "node2"}),
            "cpu-spread-2": ({0, 2}, {"node1", "node2"}),
            "cpu-spread-3": ({0, 2, 4}, {"node1", "node2", "node3"}),
            "cpu-spread-6": (set(range(6)), {"node1", "node2", "node3"}),
            "io-spread-3": ({0, 2, 4}, {"node1", "node2", "node3"}),
        }
        for name, (ranks, on) in expected.items():
            w = workers[workers["cell"] == cells[name]]
            assert set(w["rank"].tolist()) == ranks, name
            assert {hosts[n] for n in w["node"]} == on, name
        # Strong scaling split the work over the cell's ranks, whichever they were.
        for name in ("cpu-spread-3", "cpu-pack-3"):
            w = workers[(workers["cell"] == cells[name]) & (workers["trial"] == 1)]
            assert int(w["ops"].sum()) == 1_200_000
            assert sorted(w["ops"].tolist()) == [400_000] * 3
        io = workers[workers["cell"] == cells["io-spread-3"]]
        assert int(io["io_errors"].sum()) == 0 and int(io["io_requests"].sum()) == 12 * 3
    text = (report / "report.md").read_text()
    assert "## Nodes" in text
    for host in ("node1", "node2", "node3"):
        assert host in text
    assert list(report.glob("nodes-*.png")), sorted(p.name for p in report.iterdir())


def test_scaling_command_says_which_shape_a_job_needs(cluster, tmp_path):
    r = vc("scaling", NODES_JOB, "--ranks-per-node", 1, "-o", tmp_path / "x.h5", env_dir=cluster, check=False)
    assert r.returncode == 1
    assert "needs 6 ranks, 3 nodes x 1 ranks give 3: raise --ranks-per-node to 2" in r.stderr, r.stderr
    assert not (tmp_path / "x.h5").exists()
    r = vc("scaling", tmp_path / "missing.toml", env_dir=cluster, check=False)
    assert r.returncode == 1 and "no job file" in r.stderr
