"""Shared by the virtual-cluster tests: running scripts/vcluster, and what to look at after
its teardown. Nothing here sends to the cluster's addresses from this namespace."""
import os
import subprocess
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2]
VCLUSTER = SOURCE / "scripts" / "vcluster"
GILBENCH = os.environ.get("GILBENCH", str(SOURCE / "build" / "gilbench"))
SUBNET = "10.231.0.0/24"


def vc(*args, timeout=120, env_dir=None, check=True, cwd=None, env=None):
    """Runs `scripts/vcluster ARGS...` with state in env_dir."""
    full_env = dict(os.environ, VCLUSTER_DIR=str(env_dir), **(env or {}))
    r = subprocess.run([str(VCLUSTER), *map(str, args)], capture_output=True, text=True, timeout=timeout,
                       env=full_env, cwd=cwd)
    if check and r.returncode != 0:
        raise AssertionError(f"vcluster {' '.join(map(str, args))} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def guard_route_present():
    out = subprocess.run(["ip", "route", "show", SUBNET], capture_output=True, text=True).stdout
    return "blackhole" in out


def root_links():
    """Names of the network links in this (the root) namespace."""
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line}


def node_namespaces(state):
    """The network namespaces of the nodes' pause processes (while the cluster is up)."""
    out = set()
    for f in (Path(state) / "run").glob("node*.pid"):
        out.add(os.readlink(f"/proc/{f.read_text().strip()}/ns/net"))
    return out


def processes_in(namespaces):
    """{pid: comm} of the processes in any of these network namespaces."""
    out = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if os.readlink(p / "ns" / "net") in namespaces:
                    out[int(p.name)] = (p / "comm").read_text().strip()
            except OSError:
                pass
    return out
