"""An installed gilbench (cmake --install of this build into a prefix of its own, as the .deb,
the Lmod module and Spack install it) names only what is installed in its hints: the serve
command's reference writer, the report's way to run over several nodes, the Fidelity section's
reference files (issue 29). A checkout's hints (scripts/, bench/) are tested where they are
printed (tests/analysis, tests/integration)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SOURCE = Path(os.environ.get("GILBENCH_SOURCE_DIR", Path(__file__).resolve().parents[2]))
BUILD = Path(os.environ.get("GILBENCH_BUILD_DIR", SOURCE / "build"))
MPIEXEC = os.environ.get("MPIEXEC", "mpiexec")
JOB = """[job]
name = "one-node"

[[cell]]
name = "cpu-1x1"
workload = "cpu"
work = 200000
repeats = 2
warmups = 0
"""


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    assert (BUILD / "CMakeCache.txt").is_file(), f"no build in {BUILD}: set GILBENCH_BUILD_DIR"
    prefix = tmp_path_factory.mktemp("installed") / "prefix"
    p = subprocess.run(["cmake", "--install", str(BUILD), "--prefix", str(prefix)], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    return prefix


def env_without_checkout():
    env = {k: v for k, v in os.environ.items() if k not in ("GILBENCH_SHARE", "PYTHONPATH")}
    if os.getuid() == 0:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return env


def named_paths(text):
    """Every scripts/..., bench/... or jobs/... path a text names."""
    return [p.rstrip(".") for p in re.findall(r"[\w./-]*(?:scripts|bench|jobs)/[\w.-]+", text)]


def test_serve_names_the_installed_reference_writer(prefix):
    p = subprocess.run([str(prefix / "bin" / "gilbench"), "serve", "--help"], capture_output=True, text=True,
                       timeout=30, env=env_without_checkout())
    assert p.returncode == 0, p.stderr
    probe = prefix / "share" / "gilbench" / "bench" / "cpython_probe.py"
    assert str(probe) in p.stdout, p.stdout
    assert probe.is_file()
    assert "scripts/fidelity" not in p.stdout, p.stdout
    for path in named_paths(p.stdout):
        assert Path(path).is_absolute() and Path(path).exists(), f"serve --help names {path}, not installed"


def test_the_report_of_a_one_node_run_names_installed_batch_scripts(prefix, tmp_path):
    job = tmp_path / "one-node.toml"
    job.write_text(JOB)
    out = tmp_path / "one-node.h5"
    run = subprocess.run([MPIEXEC, "-np", "1", str(prefix / "bin" / "gilbench"), "run", str(job), "-o", str(out), "-q"],
                         capture_output=True, text=True, timeout=120, env=env_without_checkout(), cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    report = subprocess.run([str(prefix / "bin" / "gilbench-report"), str(out), "-o", str(tmp_path / "report")],
                            capture_output=True, text=True, timeout=300, env=env_without_checkout(), cwd=tmp_path)
    assert report.returncode == 0, report.stdout + report.stderr
    text = (tmp_path / "report" / "report.md").read_text()
    batch = prefix / "share" / "gilbench" / "slurm" / "scaling.sbatch"
    assert f"sbatch -N 2 {batch}" in text, [line for line in text.splitlines() if "node" in line.lower()][:5]
    assert batch.is_file()
    assert "scripts/vcluster" not in text
    for path in named_paths(text):
        assert Path(path).is_absolute() and Path(path).exists(), f"the report names {path}, not installed"
    fidelity = subprocess.run([str(prefix / "bin" / "gilbench-report"), str(out), "--fidelity"], capture_output=True,
                              text=True, timeout=120, env=env_without_checkout(), cwd=tmp_path)
    assert fidelity.returncode == 1, fidelity.stdout + fidelity.stderr
    assert f"run {prefix}/share/gilbench/jobs/fidelity.toml for them" in fidelity.stderr, fidelity.stderr
    assert "scripts/" not in fidelity.stderr


def test_the_fidelity_hints_name_the_installed_probe(prefix, tmp_path):
    code = ("from gilbench_analysis.fidelity import load_reference, ReferenceError\n"
            "try:\n    load_reference('/nonexistent/ref.json')\n"
            "except ReferenceError as e:\n    print(e)\n")
    env = env_without_checkout()
    env["PYTHONPATH"] = str(prefix / "share" / "gilbench" / "python")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env,
                       cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert str(prefix / "share" / "gilbench" / "bench" / "cpython_probe.py") in p.stdout, p.stdout
