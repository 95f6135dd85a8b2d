"""Signals that used to leave a run mislabelled:

- rank 0's stderr closed under it (mpirun exits first, e.g. `timeout -s TERM 2.5 mpirun ...`):
  the next progress line raised SIGPIPE, which killed rank 0 before it marked the run, so the
  file said "running". Now SIGPIPE is ignored and console output to a closed pipe is dropped.
- a signal only another rank received: the ranks agreed to stop, but rank 0 reported "signal 0".
  The signal number now travels with the agreement.

Each trial waits 0.1 s for the embedded server, so a run of 40 trials lasts seconds, and the
test acts after the first trials have finished (progress lines on stderr).
"""
import os
import signal
import subprocess
import time

import gbrun

JOB = """
[job]
name = "signals"

[[cell]]
name = "io-{ranks}"
workload = "io"
work = 1
scaling = "weak"
latency = 0.1
ranks = RANKS
warmups = 0
repeats = 20
"""


def write_job(tmp_path, ranks):
    path = tmp_path / "signals.toml"
    path.write_text(JOB.replace("RANKS", ranks))
    return path


def test_a_closed_stderr_pipe_does_not_keep_rank0_from_marking_the_run(tmp_path):
    job = write_job(tmp_path, "1")
    out = tmp_path / "r.h5"
    # One rank, no mpirun: its stderr is this pipe, which the test closes as mpirun would.
    proc = subprocess.Popen(gbrun.command(None, "run", job, "-o", out, "--progress", "lines"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, bufsize=1)
    try:
        seen = 0
        deadline = time.monotonic() + 60
        while seen < 2:
            assert time.monotonic() < deadline, "no progress lines"
            line = proc.stderr.readline()
            assert line, "gilbench ended early"
            seen += ": trial " in line
        proc.stderr.close()
        # Several trials end meanwhile (0.1 s each), each with a progress line to the closed pipe.
        time.sleep(0.8)
        assert proc.poll() is None, f"gilbench died writing to a closed stderr (exit status {proc.returncode})"
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert rc == 128 + signal.SIGTERM
    r = gbrun.read_run(out)
    assert gbrun.text(r["attrs"]["status"]) == "interrupted"
    assert 2 <= len(r["trials"]) < 40
    assert gbrun.check_consistent(r) == []


def world_rank(pid):
    """The MPI world rank of a process started by mpirun (Open MPI sets it in the environment)."""
    with open(f"/proc/{pid}/environ", "rb") as f:
        env = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
    return int(env.get(b"OMPI_COMM_WORLD_RANK", b"-1"))


def test_a_signal_only_another_rank_received_is_named(tmp_path):
    job = write_job(tmp_path, "[1, 2]")
    out = tmp_path / "r.h5"
    bg = gbrun.Background(2, "run", job, "-o", out, "--progress", "lines")
    try:
        bg.wait_for_lines(": trial ", 3)
        ranks = {world_rank(pid): pid for pid in bg.ranks()}
        assert set(ranks) == {0, 1}, ranks
        os.kill(ranks[1], signal.SIGUSR1)   # rank 1 alone: rank 0 never sees it
        rc, _, err = bg.finish(timeout=60)
    finally:
        bg.kill()
    assert f"interrupted by SIGUSR1 (signal {int(signal.SIGUSR1)})" in err, err
    assert rc == 128 + signal.SIGUSR1, err
    r = gbrun.read_run(out)
    assert gbrun.text(r["attrs"]["status"]) == "interrupted"
    assert 3 <= len(r["trials"]) < 40
    assert gbrun.check_consistent(r) == []
