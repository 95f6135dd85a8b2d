"""Crash safety, tested by signalling real runs: an interrupted run leaves a readable file with
status 'interrupted' and every finished trial, and `--resume` completes it without repeating
a trial. Also what a dead rank leaves, and the choices around an existing results file.

Each trial waits at least 0.1 s for the embedded server (1 request at latency 0.1), so the
signal always lands while trials remain: the test waits for 3 finished trials (progress
lines on stderr), then signals. 2.7 s of trials remain then: Open MPI's mpirun passes its own
SIGTERM on to the ranks about 1 s after it gets it.
"""
import signal

import pytest

import gbrun

CELLS = 2            # ranks = [1, 2]
TRIALS = 1 + 14      # warm-ups + repeats per cell
JOB = f"""
[job]
name = "interruptible"

[[cell]]
name = "io-{{ranks}}"
workload = "io"
work = 1
scaling = "weak"
latency = 0.1
ranks = [1, 2]
warmups = 1
repeats = {TRIALS - 1}
"""


@pytest.fixture
def job(tmp_path):
    path = tmp_path / "interruptible.toml"
    path.write_text(JOB)
    return path


def interrupt(job, out, how):
    """Starts the job, waits for 3 finished trials, signals; returns (rc, stdout, stderr)."""
    bg = gbrun.Background(2, "run", job, "-o", out, "--progress", "lines")
    try:
        bg.wait_for_lines(": trial ", 3)
        if how == "usr1-to-mpirun":
            bg.signal(signal.SIGUSR1)
        elif how == "term-to-mpirun":
            bg.signal(signal.SIGTERM)
        elif how == "term-to-ranks":
            ranks = bg.ranks()
            assert len(ranks) == 2, ranks
            for pid in ranks:
                gbrun.os.kill(pid, signal.SIGTERM)
        elif how == "kill-rank-1":
            gbrun.os.kill(max(bg.ranks()), signal.SIGKILL)  # the later-started child: rank 1
        return bg.finish(timeout=60)
    finally:
        bg.kill()


def check_complete(out):
    r = gbrun.read_run(out)
    assert r["runs"] == ["run-000"]
    assert gbrun.text(r["attrs"]["status"]) == "complete"
    assert gbrun.check_consistent(r) == []
    assert len(r["trials"]) == CELLS * TRIALS
    for c in range(CELLS):
        rows = r["trials"][r["trials"]["cell"] == c]
        assert sorted(rows["trial"].tolist()) == list(range(TRIALS))
    assert [gbrun.text(s) for s in r["summary"]["state"]] == ["complete"] * CELLS
    return r


@pytest.mark.parametrize("how", ["usr1-to-mpirun", "term-to-ranks", "term-to-mpirun"])
def test_interrupted_run_keeps_finished_trials_and_resume_completes_it(job, tmp_path, how):
    out = tmp_path / "r.h5"
    rc, _, err = interrupt(job, out, how)
    assert rc != 0, err
    r = gbrun.read_run(out)  # readable as it was left
    assert gbrun.text(r["attrs"]["status"]) == "interrupted", err
    assert gbrun.text(r["attrs"]["finished_utc"])
    finished = len(r["trials"])
    assert 3 <= finished < CELLS * TRIALS
    assert gbrun.check_consistent(r) == []   # every stored trial whole, none twice, no stray rows
    assert "--resume" in err                 # the way to finish it is printed
    if how == "usr1-to-mpirun":
        assert "stopping after the current trial" in err
    else:
        # A SIGTERM that reaches rank 0 while a trial runs abandons it; one that reaches it
        # between two trials (mpirun forwards its own about 1 s late) stops the run there.
        assert ("abandoned the trial in progress" in err
                or "interrupted by SIGTERM (signal 15)" in err), err

    p = gbrun.run(2, "run", job, "-o", out, "--resume", "-q")
    assert p.returncode == 0, p.stderr
    assert f"resuming /runs/run-000 (status 'interrupted', {finished} finished trials)" in p.stderr
    assert f"{finished} from before the resume" in p.stdout
    r = check_complete(out)
    assert len(r["attrs"]["resumed_utc"]) == 1
    assert "--resume" in gbrun.text(r["attrs"]["resume_command_lines"][0])


def test_a_dead_rank_leaves_a_readable_file_that_resumes(job, tmp_path):
    out = tmp_path / "r.h5"
    rc, _, err = interrupt(job, out, "kill-rank-1")
    assert rc != 0
    r = gbrun.read_run(out)
    # mpirun answers the death with SIGTERM to rank 0, which marks the run and exits.
    assert gbrun.text(r["attrs"]["status"]) in ("interrupted", "running"), err
    assert len(r["trials"]) >= 3
    assert gbrun.check_consistent(r) == []
    p = gbrun.run(2, "run", job, "-o", out, "--resume", "-q")
    assert p.returncode == 0, p.stderr
    check_complete(out)


TINY = """
[[cell]]
name = "tiny"
workload = "io"
work = 1
warmups = 0
repeats = 1
"""


def test_resume_without_a_file_starts_a_new_run(tmp_path):
    job = tmp_path / "tiny.toml"
    job.write_text(TINY)
    out = tmp_path / "new.h5"
    p = gbrun.run(None, "run", job, "-o", out, "--resume", "-q")
    assert p.returncode == 0, p.stderr
    assert "nothing to resume in" in p.stderr and "starting a new run" in p.stderr
    assert gbrun.read_run(out)["runs"] == ["run-000"]


def test_resume_refusals_name_the_problem_and_change_nothing(tmp_path):
    job = tmp_path / "tiny.toml"
    job.write_text(TINY)
    out = tmp_path / "r.h5"
    assert gbrun.run(None, "run", job, "-o", out, "-q").returncode == 0
    before = out.read_bytes()

    p = gbrun.run(None, "run", job, "-o", out, "--resume")
    assert p.returncode != 0
    assert "nothing to resume in" in p.stderr and "run-000" in p.stderr and "without --resume" in p.stderr

    other = tmp_path / "other.toml"
    other.write_text(TINY.replace("work = 1", "work = 2"))
    with gbrun.h5py.File(out, "r+") as f:   # pretend run-000 was cut short
        f["runs/run-000"].attrs["status"] = "interrupted"
    before = out.read_bytes()
    p = gbrun.run(None, "run", other, "-o", out, "--resume")
    assert p.returncode != 0
    assert "ran another job" in p.stderr, p.stderr

    p = gbrun.run(None, "run", job, "-o", out, "--resume", "--repeats", "3")
    assert p.returncode != 0
    assert "the plan differs: cell 0 'tiny': repeats is 3, was 1" in p.stderr, p.stderr

    p = gbrun.run(None, "run", job, "-o", out, "--resume", "--overwrite")
    assert p.returncode != 0
    assert "use one of them" in p.stderr
    assert out.read_bytes() == before


def test_existing_file_gets_a_new_run_unless_overwrite(tmp_path):
    job = tmp_path / "tiny.toml"
    job.write_text(TINY)
    out = tmp_path / "r.h5"
    for _ in range(2):
        assert gbrun.run(None, "run", job, "-o", out, "-q").returncode == 0
    assert gbrun.read_run(out)["runs"] == ["run-000", "run-001"]
    p = gbrun.run(None, "run", job, "-o", out, "-q", "--overwrite")
    assert p.returncode == 0, p.stderr
    assert gbrun.read_run(out)["runs"] == ["run-000"]


def test_unwritable_output_fails_before_any_work(tmp_path):
    job = tmp_path / "tiny.toml"
    job.write_text(TINY)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    p = gbrun.run(None, "run", job, "-o", blocker / "x.h5")
    assert p.returncode != 0
    assert "cannot write results to" in p.stderr
    assert "job '" not in p.stderr and ": trial " not in p.stderr   # nothing ran
    assert p.stdout == ""
