"""Which results file a batch job writes, and when it resumes one it finds (slurm/common.sh,
gb_choose_output), without Slurm: a job is run as Slurm runs one (a spool copy of the script,
SLURM_* set, a fake srun that runs its command), with a fake gilbench that records its
arguments, in a submit directory holding results files made with h5py.

Job ids repeat (a reset controller starts again at 1, two clusters share a home), so a file by
the job's name is resumed only where Slurm restarted this job (SLURM_RESTART_COUNT > 0) and the
file's latest run names this same batch job (its batch_job attribute); otherwise the job writes
the first free results/<job>-<id>-<n>.h5. The real gilbench writes that attribute as the
scripts spell it (last tests). tests/slurm/test_reused_job_id.py runs the same under a real Slurm.
"""
import os
import shutil
import subprocess
from pathlib import Path

import h5py
import pytest

SOURCE = Path(os.environ.get("GILBENCH_SOURCE_DIR", Path(__file__).resolve().parents[2]))
GILBENCH = os.environ.get("GILBENCH", str(SOURCE / "build" / "gilbench"))

FAKE_GILBENCH = """#!/bin/bash
if [[ $1 == run && $2 == --help ]]; then echo "options: --resume --threads --repeats"; exit 0; fi
echo "gilbench $*" >> "$FAKE_LOG"
while [[ $# -gt 0 ]]; do [[ $1 == -o && ! -e $2 ]] && touch "$2"; shift; done
exit "${FAKE_RC:-0}"
"""
FAKE_SRUN = """#!/bin/bash
while [[ $1 == --* ]]; do shift; done
exec "$@"
"""
STARTED = "2024-05-01T10:00:00Z"


def executable(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


def results_file(path, batch_job="alpha/42", status="interrupted", runs=1, writer=None):
    """A results file whose runs have what the scripts read; batch_job None: no such attribute
    (a file of a gilbench from before it); writer: the latest run's `writer` attribute."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.attrs["schema"] = "gilbench/1"
        for i in range(runs):
            g = f.create_group(f"runs/run-{i:03d}")
            g.attrs["status"] = status if i == runs - 1 else "complete"
            g.attrs["started_utc"] = STARTED
            if batch_job is not None:
                g.attrs["batch_job"] = batch_job if i == runs - 1 else "zeta/1"
            if writer is not None and i == runs - 1:
                g.attrs["writer"] = writer
                g.attrs["heartbeat_utc"] = "2024-05-01T10:05:00Z"
    return path


@pytest.fixture
def site(tmp_path):
    executable(tmp_path / "fakebin" / "srun", FAKE_SRUN)
    executable(tmp_path / "fakebin" / "gilbench", FAKE_GILBENCH)
    submit = tmp_path / "submit"
    submit.mkdir()
    shutil.copy(SOURCE / "tests" / "slurm" / "tiny.toml", submit / "tiny.toml")
    return tmp_path, submit


def job(site, *args, script="seed.sbatch", env=None):
    """Runs a spool copy of slurm/SCRIPT as Slurm would (job 42 of cluster alpha unless ENV says
    otherwise); returns (exit status, its log, the fake gilbench's run command or None)."""
    tmp_path, submit = site
    spool = tmp_path / "spool" / "slurm_script"
    spool.parent.mkdir(exist_ok=True)
    shutil.copy(SOURCE / "slurm" / script, spool)
    log = tmp_path / "gilbench-calls.log"
    log.unlink(missing_ok=True)
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("SLURM_", "GILBENCH", "SRUN_")) and k != "PATH"}
    base.update(PATH=f"{tmp_path / 'fakebin'}:/usr/bin:/bin", FAKE_LOG=str(log),
                GILBENCH=str(tmp_path / "fakebin" / "gilbench"), GILBENCH_ROOT=str(SOURCE),
                SLURM_JOB_ID="42", SLURM_CLUSTER_NAME="alpha", SLURM_SUBMIT_DIR=str(submit),
                SLURM_NTASKS="2", SLURM_JOB_NUM_NODES="1", SLURM_CPUS_PER_TASK="2")
    base.update(env or {})
    p = subprocess.run(["bash", str(spool), *map(str, args)], capture_output=True, text=True, timeout=60,
                       env=base, cwd=tmp_path)
    calls = log.read_text().splitlines() if log.exists() else []
    assert len(calls) <= 1, calls
    return p.returncode, p.stderr, calls[0] if calls else None


def writes(site, out, *args, resume=False, env=None, script="seed.sbatch", job_file="tiny.toml"):
    """Runs the job, which must succeed running JOB_FILE into OUT (with --resume: continuing
    it); returns its log."""
    rc, log, call = job(site, *args, script=script, env=env)
    assert rc == 0, log
    assert call == f"gilbench run {job_file} -o {out}" + (" --resume" if resume else ""), log
    return log


def requeued(count=1, **more):
    return {"SLURM_RESTART_COUNT": str(count), **more}


def test_a_requeue_of_the_same_job_resumes_its_file(site):
    _, submit = site
    results_file(submit / "results" / "tiny-42.h5", "alpha/42", "interrupted")
    log = writes(site, "results/tiny-42.h5", "tiny.toml", resume=True, env=requeued())
    assert ("restart 1 of job alpha/42: results/tiny-42.h5 holds this job's run "
            f"(cluster alpha, job 42, started {STARTED}, interrupted)") in log
    assert "resuming the latest run in results/tiny-42.h5: finished trials are not repeated" in log
    # A run left 'running' by a killed job (a node failure) is resumed as well.
    results_file(submit / "results" / "tiny-42.h5", "alpha/42", "running", runs=3)
    writes(site, "results/tiny-42.h5", "tiny.toml", resume=True, env=requeued(2))


@pytest.mark.parametrize("other", ["beta/42", "alpha/7", "alpha/40_42", "", None])
def test_a_file_of_another_job_with_this_id_is_left_alone(site, other):
    _, submit = site
    theirs = results_file(submit / "results" / "tiny-42.h5", other, "complete")
    before = theirs.read_bytes()
    log = writes(site, "results/tiny-42-2.h5", "tiny.toml", env=requeued())
    who = {"beta/42": "cluster beta, job 42", "alpha/7": "cluster alpha, job 7", "alpha/40_42":
           "cluster alpha, job 40_42", "": "not in a batch job",
           None: "no batch_job attribute: an older gilbench"}[other]
    assert (f"results/tiny-42.h5 holds another job's run ({who}, started {STARTED}, complete): "
            "writing results/tiny-42-2.h5") in log
    assert theirs.read_bytes() == before


def test_a_run_left_running_by_a_writer_that_is_gone_never_reads_as_running(site):
    # Issue 29: the scripts read "running" as the analysis does (writer.py): on this host and
    # its writer's pid gone, "interrupted (its writer is gone)"; from another host, "unknown".
    _, submit = site
    dead = subprocess.Popen(["true"])
    dead.wait(timeout=10)
    here = os.uname().nodename
    results_file(submit / "results" / "tiny-42.h5", "alpha/7", "running",
                 writer=f"pid {dead.pid} on host {here} since {STARTED}")
    log = writes(site, "results/tiny-42-2.h5", "tiny.toml", env=requeued())
    assert (f"results/tiny-42.h5 holds another job's run (cluster alpha, job 7, started {STARTED}, "
            "interrupted (its writer is gone)): writing results/tiny-42-2.h5") in log
    (submit / "results" / "tiny-42-2.h5").unlink()   # the fake gilbench's empty file
    results_file(submit / "results" / "tiny-42.h5", "alpha/7", "running",
                 writer=f"pid 1 on host not-{here} since {STARTED}")
    log = writes(site, "results/tiny-42-2.h5", "tiny.toml", env=requeued())
    assert (f"started {STARTED}, unknown (writer on host not-{here}, last seen 2024-05-01T10:05:00Z))") in log
    assert not [line for line in log.splitlines() if " holds " in line and "running" in line], log


def test_a_first_start_never_resumes_a_file_it_finds(site):
    # A reset controller with the same cluster name: the earlier job 42 wrote the same
    # batch_job, complete or not; only the restart count tells this job from it.
    _, submit = site
    results_file(submit / "results" / "tiny-42.h5", "alpha/42", "complete")
    results_file(submit / "results" / "tiny-42-2.h5", "alpha/42", "interrupted")
    log = writes(site, "results/tiny-42-3.h5", "tiny.toml")
    assert (f"results/tiny-42.h5 holds an earlier job's run with this job's id (cluster alpha, job 42, "
            f"started {STARTED}, complete; this job is a first start, not a requeue)\n") in log
    assert (f"results/tiny-42-2.h5 holds an earlier job's run with this job's id (cluster alpha, job 42, "
            f"started {STARTED}, interrupted; this job is a first start, not a requeue): "
            "writing results/tiny-42-3.h5") in log


def test_a_requeue_resumes_its_own_file_past_an_earlier_jobs(site):
    # That first start wrote tiny-42-3.h5; requeued, it finds it again, not the earlier ones.
    _, submit = site
    results_file(submit / "results" / "tiny-42.h5", "alpha/42", "interrupted")
    results_file(submit / "results" / "tiny-42-2.h5", "beta/42", "interrupted")
    results_file(submit / "results" / "tiny-42-3.h5", "alpha/42", "interrupted")
    writes(site, "results/tiny-42-3.h5", "tiny.toml", resume=True, env=requeued())
    # Interrupted again: the hint names the file it wrote.
    rc, log, _ = job(site, "tiny.toml", env=requeued(2, FAKE_RC="138"))
    assert rc == 138, log
    assert "to finish the run: sbatch slurm/seed.sbatch tiny.toml --resume results/tiny-42-3.h5" in log


def test_a_complete_run_is_never_a_reason_to_fail(site):
    # Requeued after its run completed (scontrol requeue of a finished job): nothing to resume,
    # so it starts anew in the next free name instead of making gilbench refuse --resume.
    _, submit = site
    results_file(submit / "results" / "tiny-42.h5", "alpha/42", "complete")
    log = writes(site, "results/tiny-42-2.h5", "tiny.toml", env=requeued())
    assert (f"results/tiny-42.h5 holds this job id's run (cluster alpha, job 42, started {STARTED}, "
            "complete): nothing left to resume: writing results/tiny-42-2.h5") in log


def test_a_file_that_cannot_be_read_is_left_alone(site):
    _, submit = site
    (submit / "results").mkdir()
    (submit / "results" / "tiny-42.h5").write_text("not HDF5\n")
    results_file(submit / "results" / "tiny-42-2.h5", "alpha/42", "interrupted", runs=0)
    log = writes(site, "results/tiny-42-3.h5", "tiny.toml", env=requeued())
    assert "results/tiny-42.h5: cannot tell whose run it holds (h5dump cannot read it)\n" in log
    assert ("results/tiny-42-2.h5: cannot tell whose run it holds (it holds no run): "
            "writing results/tiny-42-3.h5") in log


def test_what_a_file_says_stays_data(site, tmp_path):
    # Attribute text reaches the log as text, control characters shown as '?', and never runs.
    _, submit = site
    mark = tmp_path / "ran"
    hostile = f'$(touch {mark})`touch {mark}`"\n/\x1b[2J42'
    results_file(submit / "results" / "tiny-42.h5", hostile, f"complete$(touch {mark})")
    log = writes(site, "results/tiny-42-2.h5", "tiny.toml", env=requeued())
    assert not mark.exists()
    assert "\x1b" not in log
    assert "results/tiny-42.h5 holds another job's run (cluster $(touch" in log


def test_an_explicit_resume_is_taken_as_given(site):
    _, submit = site
    results_file(submit / "results" / "tiny-9.h5", "beta/9", "interrupted")
    results_file(submit / "results" / "tiny-9-2.h5", "beta/9", "interrupted")
    for resume, out in [("results/tiny-9.h5", "results/tiny-9.h5"), ("9", "results/tiny-9.h5"),
                        ("9-2", "results/tiny-9-2.h5")]:
        for env in ({}, requeued()):
            log = writes(site, out, "tiny.toml", "--resume", resume, resume=True, env=env)
            assert "holds" not in log
    rc, log, call = job(site, "tiny.toml", "--resume", "9-x")
    assert rc == 2 and call is None
    assert "--resume '9-x': give a results file (.h5) or the job id of the run to continue" in log


def test_an_array_task_checks_its_own_file_and_names_the_new_one_in_its_hint(site):
    _, submit = site
    shutil.copy(submit / "tiny.toml", submit / "other.toml")
    array = {"SLURM_ARRAY_JOB_ID": "40", "SLURM_ARRAY_TASK_ID": "1", "SLURM_JOB_ID": "43"}
    results_file(submit / "results" / "other-40_1.h5", "alpha/40_1", "interrupted")
    sweep = dict(script="sweep-array.sbatch", job_file="other.toml")
    writes(site, "results/other-40_1.h5", "tiny.toml", "other.toml", resume=True, env=requeued(**array), **sweep)

    results_file(submit / "results" / "other-40_1.h5", "beta/40_1", "interrupted")
    rc, log, call = job(site, "tiny.toml", "other.toml", script="sweep-array.sbatch",
                        env={**array, "FAKE_RC": "138"})
    assert rc == 138 and call == "gilbench run other.toml -o results/other-40-2_1.h5", log
    assert "writing results/other-40-2_1.h5" in log
    assert "to finish the run: sbatch --array=1 slurm/sweep-array.sbatch tiny.toml other.toml --resume 40-2" in log
    # That hint, as a new array 50: task 1 continues the file it names.
    writes(site, "results/other-40-2_1.h5", "tiny.toml", "other.toml", "--resume", "40-2", resume=True,
           env={"SLURM_ARRAY_JOB_ID": "50", "SLURM_ARRAY_TASK_ID": "1", "SLURM_JOB_ID": "51"}, **sweep)


def test_without_h5dump_a_file_is_left_alone(tmp_path):
    out = results_file(tmp_path / "results" / "tiny-42.h5", "alpha/42", "interrupted")
    script = (f'source {SOURCE}/slurm/common.sh; PATH=/nonexistent; gb_read_latest_run "$1" && echo read;'
              ' echo "$GB_RUN_PROBLEM"')
    p = subprocess.run(["/bin/bash", "-c", script, "bash", str(out)], capture_output=True, text=True, timeout=30)
    assert p.stdout == "no h5dump to read it: install hdf5-tools or load the HDF5 module\n", p.stderr


# ---- the real gilbench writes batch_job as the scripts spell it -----------------------------

ONE_RANK_JOB = '[[cell]]\nname = "cpu"\nworkload = "cpu"\nwork = 1000\nrepeats = 1\nwarmups = 0\n'


@pytest.mark.parametrize("slurm, expected", [
    ({"SLURM_JOB_ID": "42", "SLURM_CLUSTER_NAME": "alpha"}, "alpha/42"),
    ({"SLURM_JOB_ID": "43", "SLURM_ARRAY_JOB_ID": "40", "SLURM_ARRAY_TASK_ID": "3",
      "SLURM_CLUSTER_NAME": "alpha"}, "alpha/40_3"),
    ({}, ""),
])
def test_gilbench_stores_the_batch_job_the_scripts_compare(tmp_path, slurm, expected):
    if not os.access(GILBENCH, os.X_OK):
        pytest.fail(f"no gilbench at {GILBENCH}: build it (scripts/build.sh) or set GILBENCH")
    (tmp_path / "one.toml").write_text(ONE_RANK_JOB)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SRUN_"))}
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", **slurm)
    out = tmp_path / "results" / "one.h5"
    p = subprocess.run([GILBENCH, "run", "one.toml", "-o", str(out), "-q"], capture_output=True, text=True,
                       timeout=120, env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    with h5py.File(out, "r") as f:
        assert f["runs/run-000"].attrs["batch_job"] == expected
    if not slurm:
        return
    script = f'source {SOURCE}/slurm/common.sh; gb_batch_job; gb_read_latest_run "$1"; echo "$GB_RUN_BATCH_JOB"'
    p = subprocess.run(["/bin/bash", "-c", script, "bash", str(out)], capture_output=True, text=True, timeout=30,
                       env=env)
    assert p.stdout == f"{expected}\n{expected}\n", p.stderr
