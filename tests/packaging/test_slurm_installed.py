"""The batch scripts of slurm/ run from an installed tree (P/share/gilbench/slurm/), without Slurm.

A fake install P holds copies of slurm/ and jobs/ under share/gilbench and a fake bin/gilbench
that records its arguments and writes the -o file. A job is emulated as Slurm runs one: a copy of
the script in a spool folder (so its own place says nothing), SLURM_JOB_ID and SLURM_SUBMIT_DIR
set, and a fake srun that runs the command it is given. The real-Slurm tests (tests/slurm/)
cover the checkout; these cover finding an installed gilbench and keeping the checkout first.
"""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

SOURCE = Path(os.environ.get("GILBENCH_SOURCE_DIR", Path(__file__).resolve().parents[2]))

FAKE_GILBENCH = """#!/bin/bash
echo "$0 $*" >> "$FAKE_LOG"
if [[ $1 == run && $2 == --help ]]; then echo "options: --resume --threads --repeats"; exit 0; fi
while [[ $# -gt 0 ]]; do [[ $1 == -o ]] && touch "$2"; shift; done
exit "${FAKE_RC:-0}"
"""
FAKE_SRUN = """#!/bin/bash
while [[ $1 == --* ]]; do shift; done
exec "$@"
"""


def executable(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


def make_tree(root):
    """slurm/ and jobs/ of this checkout copied under root, and root's bin-less fake binary."""
    shutil.copytree(SOURCE / "slurm", root / "slurm")
    shutil.copytree(SOURCE / "jobs", root / "jobs")


@pytest.fixture
def site(tmp_path):
    prefix = tmp_path / "opt" / "gilbench"
    share = prefix / "share" / "gilbench"
    make_tree(share)
    executable(prefix / "bin" / "gilbench", FAKE_GILBENCH)
    executable(tmp_path / "fakebin" / "srun", FAKE_SRUN)
    submit = tmp_path / "submit"
    submit.mkdir()
    return tmp_path, prefix, share, submit


def job(tmp_path, script, submit, *args, env=None, path_extra=()):
    """Runs a spool copy of `script` as Slurm would; returns (exit status, stderr, gilbench calls)."""
    spool = tmp_path / "spool" / "slurm_script"
    spool.parent.mkdir(exist_ok=True)
    shutil.copy(script, spool)
    log = tmp_path / "gilbench-calls.log"
    log.unlink(missing_ok=True)
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("SLURM_", "GILBENCH", "SRUN_")) and k != "PATH"}
    path = [str(tmp_path / "fakebin"), *map(str, path_extra), "/usr/bin", "/bin"]
    base.update(PATH=":".join(path), FAKE_LOG=str(log), SLURM_JOB_ID="42", SLURM_SUBMIT_DIR=str(submit),
                SLURM_NTASKS="2", SLURM_JOB_NUM_NODES="1", SLURM_CPUS_PER_TASK="2")
    base.update(env or {})
    p = subprocess.run(["bash", str(spool), *map(str, args)], capture_output=True, text=True, timeout=60,
                       env=base, cwd=tmp_path)
    calls = log.read_text().splitlines() if log.exists() else []
    return p.returncode, p.stderr, calls


def test_module_environment_runs_the_installed_seed_job(site):
    tmp_path, prefix, share, submit = site
    # What `module load gilbench` sets: PATH and GILBENCH_SHARE.
    rc, err, calls = job(tmp_path, share / "slurm" / "seed.sbatch", submit,
                         env={"GILBENCH_SHARE": str(share)}, path_extra=[prefix / "bin"])
    assert rc == 0, err
    assert calls[-1] == (f"{prefix}/bin/gilbench run {share}/jobs/seed.toml -o results/seed-42.h5"), calls
    assert (submit / "results" / "seed-42.h5").exists()
    assert f"done: results in {submit}/results/seed-42.h5" in err


def test_binary_on_path_alone_finds_its_share(site):
    # A package installed to /usr: no module, gilbench on PATH, share/gilbench next to it.
    tmp_path, prefix, share, submit = site
    rc, err, calls = job(tmp_path, share / "slurm" / "seed.sbatch", submit, path_extra=[prefix / "bin"])
    assert rc == 0, err
    assert calls[-1].endswith(f"run {share}/jobs/seed.toml -o results/seed-42.h5"), calls


def test_installed_tree_uses_its_own_binary_and_names_itself_in_hints(site):
    tmp_path, prefix, share, submit = site
    job_file = submit / "mine.toml"
    job_file.write_text("")
    rc, err, calls = job(tmp_path, share / "slurm" / "seed.sbatch", submit, "mine.toml",
                         env={"GILBENCH_SHARE": str(share), "FAKE_RC": "1"})
    assert rc == 1
    assert calls[-1].startswith(f"{prefix}/bin/gilbench run mine.toml -o results/mine-42.h5"), calls
    assert f"to finish the run: sbatch {share}/slurm/seed.sbatch mine.toml --resume results/mine-42.h5" in err


def test_nothing_found_says_how_to_fix_it(site):
    tmp_path, _, share, submit = site
    rc, err, calls = job(tmp_path, share / "slurm" / "seed.sbatch", submit)
    assert rc == 2 and not calls
    assert f"gilbench-slurm: error: {submit}/slurm/common.sh not found" in err
    assert "module load gilbench" in err


def test_checkout_in_the_submit_directory_comes_first(site):
    # Submitting from a checkout's root keeps working as before, module loaded or not.
    tmp_path, prefix, share, _ = site
    checkout = tmp_path / "checkout"
    make_tree(checkout)
    executable(checkout / "build" / "gilbench", FAKE_GILBENCH)
    rc, err, calls = job(tmp_path, checkout / "slurm" / "scaling.sbatch", checkout,
                         env={"GILBENCH_SHARE": str(share)}, path_extra=[prefix / "bin"])
    assert rc == 0, err
    want = f"{checkout}/build/gilbench run {checkout}/jobs/scaling.toml -o results/scaling-42.h5"
    assert calls[-1].startswith(want), calls
    assert "to finish" not in err and "done: results in" in err


def test_sweep_list_from_the_installed_tree_without_slurm(site):
    tmp_path, prefix, share, _ = site
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "GILBENCH"))}
    p = subprocess.run(["bash", str(share / "slurm" / "sweep-array.sbatch"), "--list", "a.toml", "b.toml",
                        "--sweep", "gil=new,old"], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[:4] == ["task 0: a.toml --gil new", "task 1: a.toml --gil old",
                         "task 2: b.toml --gil new", "task 3: b.toml --gil old"]
    assert lines[4] == (f"submit with: sbatch --array=0-3 {share}/slurm/sweep-array.sbatch "
                        "a.toml b.toml --sweep gil=new,old")


def test_help_works_from_the_installed_tree(site):
    tmp_path, _, share, _ = site
    p = subprocess.run(["bash", str(share / "slurm" / "seed.sbatch"), "--help"], capture_output=True, text=True,
                       timeout=60, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "The seed experiment on one node" in p.stdout
