"""Helpers for the batch-script tests: a local Slurm cluster (scripts/slurm-local) and its jobs.

Each pytest process starts its own cluster in a new /tmp/gilbench-slurm.* folder and stops it
in a `finally`, then checks that none of its processes are left (pgrep on the folder, and the
environment marker slurm-local gives its daemons). slurm-local's watchdog stops the cluster
if this process dies without cleaning up (a ctest timeout kills with SIGKILL). Tests are
skipped, with the reason, only where Slurm cannot start at all (not root, not installed).
"""
import os
import re
import subprocess
import time
from pathlib import Path

import h5py
import pytest

SOURCE = Path(os.environ.get("GILBENCH_SOURCE_DIR", Path(__file__).resolve().parents[2]))
GILBENCH = os.environ.get("GILBENCH", str(SOURCE / "build" / "gilbench"))
SLURM_LOCAL = SOURCE / "scripts" / "slurm-local"
USR1 = 10
DONE_STATES = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
               "PREEMPTED", "BOOT_FAIL", "DEADLINE"}


class Cluster:
    def __init__(self, folder):
        self.folder = Path(folder)
        self.env = {k: v for k, v in os.environ.items()
                    # A test run inside a real allocation must not leak its job into ours.
                    if not k.startswith(("SLURM_", "SBATCH_", "SRUN_", "SALLOC_"))
                    and k != "GILBENCH_SLURM_LOCAL"}
        self.env.update(SLURM_CONF=str(self.folder / "slurm.conf"), GILBENCH=GILBENCH,
                        GILBENCH_ROOT=str(SOURCE))
        # The jobs share this machine with each other (array tasks, tests beside them): they keep
        # disturbed trials in their statistics, flagged, instead of retrying them, so that the
        # trial counts the tests check do not depend on the machine's load (docs/statistics.md).
        self.env.setdefault("GILBENCH_DISTURBED", "keep")

    def run(self, *args, timeout=60, check=True, env=None, cwd=None):
        p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout,
                           env={**self.env, **(env or {})}, cwd=cwd)
        if check and p.returncode != 0:
            pytest.fail(f"{' '.join(map(str, args))} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
        return p

    def sbatch(self, *args, cwd, env=None):
        """Submits; returns the job id (for an array, the array's id)."""
        p = self.run("sbatch", "--parsable", *args, cwd=cwd, env=env)
        return p.stdout.strip().split(";")[0]

    def jobs(self, job_id):
        """scontrol's view of a job (one dict per array task)."""
        p = self.run("scontrol", "show", "job", "-o", job_id, check=False)
        out = []
        for line in p.stdout.splitlines():
            fields = dict(m.groups() for m in re.finditer(r"(\w+)=(\S*)", line))
            if fields:
                out.append(fields)
        return out

    def wait(self, job_id, timeout=120):
        """Waits until the job (every array task) has ended; returns scontrol's records."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            records = self.jobs(job_id)
            if records and all(r["JobState"] in DONE_STATES for r in records):
                return records
            time.sleep(0.2)
        pytest.fail(f"job {job_id} did not end within {timeout} s: {self.jobs(job_id)}\n"
                    f"{self.job_outputs()}")

    def job_outputs(self):
        """The jobs' output files of the current test, for failure messages."""
        text = ""
        for f in sorted(Path(self.cwd).glob("*.out")) if getattr(self, "cwd", None) else []:
            text += f"---- {f.name}\n{f.read_text(errors='replace')}\n"
        return text


def ps_of(folder):
    """Processes tied to a slurm-local folder: on their command line, or in their environment."""
    found = set()
    p = subprocess.run(["pgrep", "-f", str(folder)], capture_output=True, text=True)
    found.update(int(x) for x in p.stdout.split())
    marker = f"GILBENCH_SLURM_LOCAL={folder}".encode()
    for env in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker in env.read_bytes().split(b"\0"):
                found.add(int(env.parent.name))
        except OSError:
            pass
    found.discard(os.getpid())
    return found


def ps_in(folder):
    """Processes whose working directory is FOLDER or below it (a job's steps run in its submit
    directory)."""
    found = set()
    for cwd in Path("/proc").glob("[0-9]*/cwd"):
        try:
            where = Path(os.readlink(cwd))
        except OSError:
            continue
        if where == folder or folder in where.parents:
            found.add(int(cwd.parent.name))
    found.discard(os.getpid())
    return found


def read_runs(path, locking=True):
    """{run name: (attrs, trials rows, cells rows)} of a gilbench results file."""
    kwargs = {} if locking else {"locking": False}
    with h5py.File(path, "r", **kwargs) as f:
        return {name: (dict(g.attrs), g["trials"][:], g["cells"][:]) for name, g in f["runs"].items()}


def wait_for_trials(path, count, timeout=60):
    """Waits until the file holds COUNT trials (all runs); reads without the writer's lock."""
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        try:
            seen = sum(len(trials) for _, trials, _ in read_runs(path, locking=False).values())
            if seen >= count:
                return seen
        except (OSError, KeyError, ValueError):
            pass  # not there yet, or caught between two writes: look again
        time.sleep(0.1)
    pytest.fail(f"{path}: {seen} trials after {timeout} s, waited for {count}")
