"""The time-limit path: the batch shell gets SIGUSR1 (as from --signal=B:USR1@<grace>), passes
it on, gilbench stops after its current trial; then the run is finished by a requeue (same
job id) and by a resubmission with --resume, without repeating finished trials.

The signal is sent with `scancel --batch --signal=USR1` once the file holds a few trials:
that is exactly what Slurm does at the grace time (the batch shell alone gets the signal),
without waiting a minute for the smallest time limit, and never before a trial is stored."""
import re
import time

import pytest

from slurm_cluster import SOURCE, USR1, read_runs, wait_for_trials

SEED = SOURCE / "slurm" / "seed.sbatch"
LONG = SOURCE / "tests" / "slurm" / "long.toml"


def planned_pairs(cells):
    """Every (cell, trial) the job plans: warm-ups first, then repeats."""
    return {(int(c["cell"]), t) for c in cells for t in range(int(c["warmups"]) + int(c["repeats"]))}


def measured(runs):
    """[(cell, trial, wall_s)] of the measured trials of every run, in file order."""
    return [(int(r["cell"]), int(r["trial"]), float(r["wall_s"]))
            for name in sorted(runs) for r in runs[name][1] if not r["warmup"]]


def interrupt(cluster, job_id, out, after, timeout=60):
    """Waits for AFTER stored trials, signals the batch shell, waits for the job to end."""
    wait_for_trials(out, after, timeout=timeout)
    cluster.run("scancel", "--batch", "--signal=USR1", job_id)
    (record,) = cluster.wait(job_id)
    return record


def start_requeued_now(cluster, job_id, timeout=60):
    """A requeued job waits ~2 minutes before it may start; set its start time to now. Started
    at once, the relaunch can race the previous run's clean-up on the node and fail at launch
    (FAILED, exit 1, run time 0, nothing in its log: seen under load). Such a launch failure is
    not what this test is about, so requeue again, after a pause, up to a few times."""
    deadline = time.monotonic() + timeout
    time.sleep(1)
    while time.monotonic() < deadline:
        records = cluster.jobs(job_id)
        state = records[0]["JobState"] if records else ""
        if state in ("RUNNING", "COMPLETED"):
            return
        if state == "PENDING":
            cluster.run("scontrol", "update", f"jobid={job_id}", "starttime=now", check=False)
        elif state == "FAILED" and records[0].get("RunTime") == "00:00:00":
            time.sleep(1)
            cluster.run("scontrol", "requeue", job_id, check=False)
        time.sleep(0.5)
    pytest.fail(f"requeued job {job_id} did not start within {timeout} s: {cluster.jobs(job_id)}\n"
                f"{cluster.job_outputs()}")


def test_interrupted_run_is_saved(cluster, tmp_path):
    job = cluster.sbatch(SEED, LONG, cwd=tmp_path)
    out = tmp_path / "results" / f"long-{job}.h5"
    record = interrupt(cluster, job, out, after=3)
    assert record["ExitCode"] == f"{128 + USR1}:0", cluster.job_outputs()

    runs = read_runs(out)  # an ordinary (locking) open: the writer is gone and the file is whole
    assert list(runs) == ["run-000"]
    attrs, trials, cells = runs["run-000"]
    assert attrs["status"] == "interrupted"
    assert attrs["finished_utc"]
    pairs = [(int(r["cell"]), int(r["trial"])) for r in trials]
    assert len(pairs) == len(set(pairs))
    assert 3 <= len(pairs) < len(planned_pairs(cells))
    log = (tmp_path / f"gilbench-seed-{job}.out").read_text()
    assert "SIGUSR1 (time limit near): asking gilbench to stop after the current trial" in log
    assert f"to finish the run: sbatch slurm/seed.sbatch {LONG} --resume results/long-{job}.h5" in log


def test_resume_finishes_without_repeating_trials(cluster, tmp_path):
    job = cluster.sbatch(SEED, LONG, cwd=tmp_path)
    out = tmp_path / "results" / f"long-{job}.h5"
    log = tmp_path / f"gilbench-seed-{job}.out"
    interrupt(cluster, job, out, after=3)
    first = measured(read_runs(out))

    # 1. Requeued (as sbatch --requeue does after a node failure): same job id, same file, so
    #    the script passes --resume by itself. Requeued jobs wait 2 minutes; start it now.
    cluster.run("scontrol", "requeue", job)
    start_requeued_now(cluster, job)
    record = interrupt(cluster, job, out, after=len(first) + 3, timeout=150)
    assert int(record["Restarts"]) >= 1 and record["ExitCode"] == f"{128 + USR1}:0", cluster.job_outputs()
    # Its own file: a restart, and the file's run names this batch job (docs/cluster.md).
    assert re.search(rf"restart \d+ of job [^/\s]+/{job}: results/long-{job}\.h5 holds this job's run",
                     log.read_text()), log.read_text()
    assert f"resuming the latest run in results/long-{job}.h5" in log.read_text()
    second = measured(read_runs(out))

    # 2. Resubmitted by hand with --resume FILE: a new job id, the same file.
    again = cluster.sbatch(SEED, LONG, "--resume", f"results/long-{job}.h5", cwd=tmp_path)
    (record,) = cluster.wait(again)
    assert record["ExitCode"] == "0:0", cluster.job_outputs()
    assert not (tmp_path / "results" / f"long-{again}.h5").exists()

    runs = read_runs(out)
    latest = runs[max(runs)]
    assert latest[0]["status"] == "complete"
    final = measured(runs)
    pairs = [(c, t) for c, t, _ in final]
    assert len(pairs) == len(set(pairs)), "a measured trial was run twice"
    cells = runs["run-000"][2]
    warmups = {(int(c["cell"]), t) for c in cells for t in range(int(c["warmups"]))}
    assert set(pairs) == planned_pairs(cells) - warmups
    # What was stored before each interruption is still there, unchanged.
    assert set(first) <= set(second) <= set(final)
