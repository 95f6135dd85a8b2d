"""The Debian package, installed with apt into a bare Debian 12 root: the seed job and its report
run from the installed files only (scripts/deb-install-check --quick; 10-20 min, most of it apt).

Also checked without a root: the package's file list and fields (cheap, from the same .deb).
ctest runs this through tests/run_pytest.py --needs debootstrap (root, debootstrap, a mirror)."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("GILBENCH_BUILD_DIR", SOURCE / "build"))


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    out = tmp_path_factory.mktemp("package")
    p = subprocess.run(["cpack", "-G", "DEB", "-B", str(out)], cwd=BUILD, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    debs = list(out.glob("gilbench_*.deb"))
    assert len(debs) == 1, list(out.iterdir())
    return debs[0]


def field(deb, name):
    return subprocess.run(["dpkg-deb", "--field", str(deb), name], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_the_package_holds_the_install_layout(deb):
    files = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True,
                           check=True).stdout
    for path in ("./usr/bin/gilbench", "./usr/bin/gilbench-report", "./usr/bin/gilbench-table",
                 "./usr/share/gilbench/jobs/seed.toml", "./usr/share/gilbench/jobs/examples/userwork.py",
                 "./usr/share/gilbench/slurm/seed.sbatch", "./usr/share/gilbench/slurm/common.sh",
                 "./usr/share/gilbench/python/gilbench_analysis/cli/report.py",
                 "./usr/share/doc/gilbench/README.md", "./usr/share/doc/gilbench/docs/job-file.md"):
        assert f" {path}\n" in files + "\n", path
    assert "__pycache__" not in files
    assert field(deb, "Package") == "gilbench"
    depends = field(deb, "Depends")
    # Linked libraries (dpkg-shlibdeps) and what is run: mpirun, the analysis' Python modules.
    for dep in ("openmpi-bin", "python3-h5py", "python3-pandas", "python3-matplotlib", "libhdf5-", "libopenmpi",
                "libboost-mpi", "libcurl4", "libpython3"):
        assert dep in depends, depends


def test_apt_installs_it_and_the_seed_job_and_report_run_in_a_fresh_root(deb):
    # On disk, not in /tmp: /tmp may be a tmpfs (it is inside scripts/fresh-debian-check), and the
    # root with its packages takes ~1.7 GB.
    parent = Path(tempfile.mkdtemp(prefix="gilbench-deb-check.", dir="/var/tmp"))
    root = parent / "root"
    try:
        p = subprocess.run([str(SOURCE / "scripts" / "deb-install-check"), "--deb", str(deb), "--root", str(root),
                            "--quick"], capture_output=True, text=True, timeout=2400)
        assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]
        assert "the seed job and its report ran from the installed package" in p.stdout
        assert "median wall time" in p.stdout   # the seed table, printed by the installed binary
        assert not root.exists()                 # removed at the end (no --keep)
    finally:
        shutil.rmtree(parent, ignore_errors=True)
