"""`pip install` of analysis/ works as README says, offline, on Debian's packages: a venv that sees
the system's numpy/pandas/h5py/matplotlib (--system-site-packages), `pip install --no-deps
--no-build-isolation` (setuptools from python3-setuptools, nothing from the network), then the
venv's gilbench-table and gilbench-report run from the installed copy, not the checkout.

Needs python3-venv (scripts/install-deps.sh); where it is missing, run_pytest.py --needs venv
decides before any test runs. Here a missing venv fails, naming the package."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ANALYSIS = Path(__file__).resolve().parents[2] / "analysis"
PYTHON = "/usr/bin/python3"   # the system interpreter whose packages the venv shares
STEP_TIMEOUT = 240             # seconds per step: a hang fails, a slow machine does not


def run(cmd, **kw):
    kw.setdefault("timeout", STEP_TIMEOUT)
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    base = tmp_path_factory.mktemp("pip-install")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV"))}
    # Offline and quiet: no index, no version check, nothing cached outside the test's directory.
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_CACHE_DIR="1", PIP_NO_INPUT="1")
    v = base / "venv"
    p = run([PYTHON, "-m", "venv", "--system-site-packages", v], env=env)
    assert p.returncode == 0, f"python3 -m venv failed (install python3-venv: scripts/install-deps.sh):\n{p.stderr}"
    # From a copy: pip builds in the source tree, which must stay clean (build/, *.egg-info).
    src = base / "analysis"
    shutil.copytree(ANALYSIS, src, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    p = run([v / "bin" / "python", "-m", "pip", "install", "--no-deps", "--no-build-isolation", src], env=env)
    assert p.returncode == 0, f"pip install --no-deps --no-build-isolation ./analysis failed:\n{p.stdout}\n{p.stderr}"
    return v, env, base


def test_installed_package_is_the_venvs(venv):
    v, env, base = venv
    p = run([v / "bin" / "python", "-c", "import gilbench_analysis, pandas; print(gilbench_analysis.__file__)"],
            env=env, cwd=base)
    assert p.returncode == 0, p.stderr
    where = Path(p.stdout.strip()).resolve()
    assert where.is_relative_to(v.resolve()), f"gilbench_analysis imported from {where}, not the venv {v}"


@pytest.mark.parametrize("tool", ["gilbench-table", "gilbench-report"])
def test_entry_points_run(venv, tool):
    v, env, base = venv
    exe = v / "bin" / tool
    assert exe.is_file(), f"pip did not install {exe} ([project.scripts] in analysis/pyproject.toml)"
    p = run([exe, "--help"], env=env, cwd=base)
    assert p.returncode == 0 and f"usage: {tool}" in p.stdout, p.stderr


def test_installed_table_writes_csv(venv, results_file):
    v, env, base = venv
    p = run([v / "bin" / "gilbench-table", Path(results_file).resolve(), "--format", "csv", "--table", "cells"],
            env=env, cwd=base)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("cell,name,workload,gil,ranks,threads"), lines[:1]
    assert len(lines) > 1 and "b'" not in p.stdout
