"""Slurm over the virtual cluster (scripts/vcluster slurm-up): slurm/scaling.sbatch on 2 and 3
nodes, and a teardown that leaves nothing behind.

Needs root with CAP_SYS_ADMIN/CAP_NET_ADMIN, slurm-wlm and munge: ctest runs it through
tests/run_pytest.py --needs namespaces --needs slurm, which skips the whole suite, with the
reason, before it starts where they are missing. Every Slurm command runs inside node1 (`vcluster slurm ...`): nothing
is sent to the nodes' addresses from this namespace.
"""
import os
import re
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from vc_helpers import GILBENCH, SOURCE, guard_route_present, node_namespaces, root_links, vc

SCALING = SOURCE / "slurm" / "scaling.sbatch"
JOB = Path(__file__).resolve().parent / "slurm_nodes.toml"
NODES = ["node1", "node2", "node3"]


def processes():
    """{pid: (start time, comm, net namespace, command line, environment)} of every process."""
    out = {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
            out[int(p.name)] = (stat.rsplit(")", 1)[1].split()[19], (p / "comm").read_text().strip(),
                                os.readlink(p / "ns" / "net"), (p / "cmdline").read_bytes(),
                                (p / "environ").read_bytes())
        except OSError:
            pass  # gone meanwhile, or a kernel thread
    return out


def of_cluster(procs, state, namespaces):
    """The processes that belong to the cluster: inside a node, or naming its state folder."""
    marker = f"GILBENCH_VCLUSTER={state}".encode()
    return {pid: info for pid, info in procs.items()
            if info[2] in namespaces or str(state).encode() in info[3] or marker in info[4].split(b"\0")}


@pytest.fixture(scope="module")
def cluster():
    # Directly under /tmp, short, searchable by all: munged's socket lives here (pytest's tmp
    # folders are 0700). `down` removes it, even when run by the watchdog.
    state = Path(tempfile.mkdtemp(prefix="gilbench-vcs.", dir="/tmp"))
    state.chmod(0o755)
    links_before = root_links()
    # --watch: should this process die without its teardown, the cluster goes down by itself.
    vc("up", 3, "--watch", os.getpid(), env_dir=state)
    namespaces = node_namespaces(state)
    ours = {}
    try:
        up = vc("slurm-up", env_dir=state, check=False, timeout=90)
        assert up.returncode == 0, f"slurm-up failed ({up.returncode}):\n{up.stdout}\n{up.stderr}"
        yield state
    finally:
        ours = of_cluster(processes(), state, namespaces)
        down = vc("down", env_dir=state, check=False, timeout=120)
        state_left = state.exists()
    # Teardown left nothing behind: every process the cluster had is gone (the same PID with
    # the same start time would be the same process), nothing runs in the nodes' namespaces
    # or names the state folder, no guard route, no new links, no state.
    assert down.returncode == 0, f"vcluster down failed:\n{down.stdout}\n{down.stderr}"
    assert {"munged", "slurmctld", "slurmd", "sleep"} <= {info[1] for info in ours.values()}
    now = processes()
    left = {pid: now[pid][1] for pid, info in ours.items() if pid in now and now[pid][0] == info[0]}
    assert not left, f"processes left by the virtual cluster: {left}"
    left = {pid: info[1] for pid, info in of_cluster(now, state, namespaces).items()}
    assert not left, f"processes still inside the nodes or using {state}: {left}"
    assert not guard_route_present()
    assert root_links() == links_before
    assert not state_left, f"{state} is still there after vcluster down"


def test_every_node_runs_a_slurmd(cluster):
    r = vc("slurm", "sinfo", "-h", "-N", "-o", "%N %c %t %P", env_dir=cluster)
    assert sorted(r.stdout.split("\n")[:-1]) == [f"{n} 2 idle vc*" for n in NODES]
    # Each task runs inside its node: its hostname is that node's.
    r = vc("slurm", "srun", "-N", 3, "hostname", env_dir=cluster, timeout=60)
    assert sorted(r.stdout.split()) == NODES
    config = vc("slurm", "scontrol", "show", "config", env_dir=cluster).stdout
    for key, value in (("MpiDefault", "pmix"), ("EnforcePartLimits", "ALL")):
        assert re.search(rf"^{key}\s*=\s*{value}$", config, re.M), f"{key} is not {value}:\n{config}"


def test_slurm_up_and_down_twice_are_harmless(cluster):
    assert "already up" in vc("slurm-up", env_dir=cluster).stdout
    pid_files = sorted((cluster / "slurm" / "run").glob("*.pid"))
    assert [f.stem for f in pid_files] == ["munged", "slurmctld", "slurmd-node1", "slurmd-node2", "slurmd-node3"]
    daemons = [int(f.read_text()) for f in pid_files]
    vc("slurm-down", env_dir=cluster)
    assert not [pid for pid in daemons if Path(f"/proc/{pid}").exists()]
    assert "not up" in vc("slurm-down", env_dir=cluster).stdout
    assert vc("status", env_dir=cluster).stdout.count(" up") == 3  # the nodes stay
    vc("slurm-up", env_dir=cluster, timeout=90)
    assert "idle" in vc("slurm", "sinfo", "-h", "-o", "%t", env_dir=cluster).stdout


def test_a_job_larger_than_the_cluster_is_refused(cluster, tmp_path):
    r = vc("slurm", "sbatch", "-N", 4, "--wrap", "true", env_dir=cluster, cwd=tmp_path, check=False)
    assert r.returncode != 0 and "Node count specification invalid" in r.stderr


# srun places tasks block-wise (2 nodes: ranks 0,1 | 2,3) or, asked to, cyclic (3 nodes:
# 0,3 | 1 | 2), so the 4-rank cells span every node of the job. mpirun inside the allocation
# (sites without PMIx in Slurm) starts the ranks of nodes 2 and 3 through its own daemons,
# which a single-node Slurm never exercises.
@pytest.mark.parametrize("nodes,launcher,distribution,placement", [
    (2, "srun", "block", ["node1", "node1", "node2", "node2"]),
    (3, "srun", "cyclic", ["node1", "node2", "node3", "node1"]),
    (3, "mpirun", "block", ["node1", "node1", "node2", "node2"]),
])
def test_scaling_sbatch_spans_the_nodes(cluster, tmp_path, nodes, launcher, distribution, placement):
    # --time: a job that hangs ends by itself (the script's warning comes 120 s before).
    r = vc("slurm", "sbatch", "--parsable", "--wait", "--time=00:03:00", "-N", nodes, "--ntasks-per-node=2",
           "--cpus-per-task=1", f"--distribution={distribution}", SCALING, JOB, "--", "-q",
           env_dir=cluster, cwd=tmp_path, timeout=150, check=False,
           env={"GILBENCH": GILBENCH, "GILBENCH_ROOT": str(SOURCE), "GILBENCH_LAUNCHER": launcher})
    logs = "".join(f"---- {f.name}\n{f.read_text()}" for f in tmp_path.glob("*.out"))
    assert r.returncode == 0, f"sbatch --wait exited {r.returncode}:\n{r.stdout}\n{r.stderr}\n{logs}"
    job_id = r.stdout.split()[-1]
    assert f"{nodes} node(s) node[1-{nodes}], {2 * nodes} task(s), 1 CPU(s) per task" in logs
    assert f"running: {launcher} " in logs
    with h5py.File(tmp_path / "results" / f"slurm_nodes-{job_id}.h5", "r") as f:
        g = f["runs"]["run-000"]
        assert g.attrs["status"] == "complete"
        hosts = [h.decode() if isinstance(h, bytes) else h for h in g.attrs["hosts"]]
        assert sorted(hosts) == NODES[:nodes]
        assert int(g.attrs["nodes"]) == nodes and int(g.attrs["ranks"]) == 2 * nodes
        cells = [n.decode() for n in g["cells"]["name"]]
        trials, workers = g["trials"][:], g["workers"][:]
        assert len(trials) == len(cells) == 5  # one trial each
        assert {int(r): hosts[int(n)] for r, n in zip(workers["rank"], workers["node"])} == dict(enumerate(placement))
        for name in ("cpu-4-ranks", "io-4-ranks"):
            w = workers[workers["cell"] == cells.index(name)]
            assert len(np.unique(w["node"])) == len(set(placement))
        # placement = "spread": rank 0 and the first rank of the next node, under any launch order.
        spread = workers[workers["cell"] == cells.index("cpu-2-ranks-spread")]
        assert [hosts[int(n)] for n in spread["node"]] == ["node1", "node2"]
        io = workers[workers["cell"] == cells.index("io-4-ranks")]
        # Each rank asked its own node's embedded server at 127.0.0.1: no errors means every
        # node served its own ranks.
        assert int(io["io_errors"].sum()) == 0
        assert int(io["ops"].sum()) == int(io["io_requests"].sum()) > 0
        # ... and each node's server counted exactly its own ranks' requests.
        assert list(g.attrs["server_requests"]) == [int(io["io_requests"][io["node"] == n].sum()) for n in range(nodes)]
