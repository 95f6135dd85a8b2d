"""Fixtures: a throw-away local Slurm per pytest process (see slurm_cluster.py)."""
import contextlib
import os
import shutil
import subprocess

import pytest

from slurm_cluster import SLURM_LOCAL, Cluster, ps_in, ps_of


@contextlib.contextmanager
def local_slurm():
    """A new cluster (scripts/slurm-local), stopped on the way out; nothing of it may be left."""
    start = subprocess.run([str(SLURM_LOCAL), "start", "--cpus", "4", "--watch", str(os.getpid()),
                            "--max-time", "900"], capture_output=True, text=True, timeout=120)
    # Whether Slurm can run here was decided before pytest started (tests/run_pytest.py
    # --needs slurm); from here on, one that does not start is a failure.
    assert start.returncode == 0, f"scripts/slurm-local start failed:\n{start.stderr}"
    folder = start.stdout.strip().splitlines()[-1]
    ok = False
    try:
        yield Cluster(folder)
        ok = True
    finally:
        stop = subprocess.run([str(SLURM_LOCAL), "stop", folder], capture_output=True, text=True, timeout=120)
        left = ps_of(folder)
        if stop.returncode == 0 and not left and ok:
            shutil.rmtree(folder, ignore_errors=True)
        assert stop.returncode == 0, f"scripts/slurm-local stop failed:\n{stop.stderr}"
        assert not left, f"processes of {folder} left after stop: {sorted(left)}"


@pytest.fixture(scope="session")
def slurm():
    with local_slurm() as cluster:
        yield cluster


@pytest.fixture
def cluster(slurm, tmp_path):
    """The session's cluster, with this test's submit directory (tmp_path)."""
    slurm.cwd = tmp_path
    yield slurm
    # Nothing of this test may still run: its jobs ran in tmp_path.
    left = ps_in(tmp_path)
    assert not left, f"processes still running in {tmp_path}: {sorted(left)}"


@pytest.fixture
def fresh_cluster(tmp_path):
    """A cluster of this test's own, which has run no job yet, with tmp_path as the submit
    directory: its first job gets the configured FirstJobId."""
    with local_slurm() as fresh:
        fresh.cwd = tmp_path
        yield fresh
        left = ps_in(tmp_path)
        assert not left, f"processes still running in {tmp_path}: {sorted(left)}"
