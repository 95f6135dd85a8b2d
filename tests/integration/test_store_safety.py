"""What the results file survives, tested on the real binary: a second writer of the same -o
path (with HDF5's own lock switched off, as many clusters do), a full disk in the middle of a
run and at start-up (a small tmpfs, mounted here: the tests run as root in CI), and --resume
after a start that was refused once the file existed.

Every run is an MPI singleton (gilbench alone, no mpirun) on loopback, bounded by timeouts.
"""
import collections
import errno
import os
import subprocess
from pathlib import Path

import pytest

import gbrun

# I/O trials wait at least 0.05 s for the embedded server, so a run of 2 x 40 of them lasts
# long enough to do something to it in the middle; trace rows make each trial's rows sizeable.
CELLS = 2
TRIALS = 40
JOB = f"""
[job]
name = "store-safety"

[defaults]
latency = 0.05
warmups = 0
repeats = {TRIALS}
trace = true

[[cell]]
name = "io-1"
workload = "io"
work = 1

[[cell]]
name = "io-2"
workload = "io"
work = 1
threads = 2
scaling = "weak"
"""

TINY = """
[job]
name = "tiny"

[[cell]]
name = "tiny"
workload = "cpu"
work = 1000
warmups = 0
repeats = 2
"""


@pytest.fixture
def job(tmp_path):
    path = tmp_path / "safety.toml"
    path.write_text(JOB)
    return path


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def saved_trials(lines):
    """Trials the run said it saved: one progress line each, printed after the flush."""
    return sum(": trial " in line for line in lines)


def check_readable(out, at_least):
    """The file opens, holds every trial reported saved with its workers exactly once, and no
    zero-filled worker rows (rows of fill values from a write that failed)."""
    r = gbrun.read_run(out)
    assert gbrun.check_consistent(r) == []
    assert len(r["trials"]) >= at_least, (len(r["trials"]), at_least)
    w = r["workers"]
    assert (w["end_s"] > 0).all() and (w["end_s"] >= w["start_s"]).all(), "zero-filled workers rows"
    assert (r["trials"]["wall_s"] > 0).all(), "zero-filled trials rows"
    return r


def check_complete(out):
    r = check_readable(out, CELLS * TRIALS)
    assert gbrun.text(r["attrs"]["status"]) == "complete"
    trials = collections.Counter(int(t["cell"]) for t in r["trials"])
    assert trials == {c: TRIALS for c in range(CELLS)}
    return r


# ---- a second writer ----------------------------------------------------------------------

def test_second_writer_is_refused_even_with_hdf5_locking_off(job, tiny, tmp_path, monkeypatch):
    # What many clusters export, and what readers of a live file set: before gilbench had a
    # lock of its own, both writers exited 0 and neither run could be read back.
    monkeypatch.setenv("HDF5_USE_FILE_LOCKING", "FALSE")
    out = tmp_path / "r.h5"
    first = gbrun.Background(None, "run", job, "-o", out, "--progress", "lines")
    try:
        first.wait_for_lines(": trial ", 2)
        for extra in ([], ["--overwrite"], ["--resume"]):
            p = gbrun.run(None, "run", tiny, "-o", out, "-q", *extra, timeout=60)
            assert p.returncode != 0, (extra, p.stderr)
            assert f"is being written by another gilbench (pid {first.proc.pid} on host " in p.stderr, p.stderr
            assert "choose another -o path" in p.stderr, p.stderr
            assert ": trial " not in p.stderr
        rc, _, err = first.finish(timeout=120)
    finally:
        first.kill()
    assert rc == 0, err
    r = check_complete(out)
    assert r["runs"] == ["run-000"]
    assert not Path(str(out) + ".lock").exists()


# ---- a full disk --------------------------------------------------------------------------

@pytest.fixture
def small_fs(tmp_path):
    """A 12 MiB tmpfs, unmounted afterwards."""
    d = tmp_path / "fs"
    d.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(d)], check=True)
    yield d
    subprocess.run(["umount", "-l", str(d)], check=False)


def fill(d, leave=0):
    """Writes d/filler until only about `leave` bytes are free (0: until ENOSPC)."""
    st = os.statvfs(d)
    want = max(0, st.f_bavail * st.f_frsize - leave)
    block = b"\xa5" * 65536
    with open(d / "filler", "ab") as f:
        try:
            while want > 0:
                n = f.write(block[: min(len(block), want)])
                want -= n
            f.flush()
            if leave == 0:
                while True:
                    f.write(block)
                    f.flush()
        except OSError as e:
            assert e.errno == errno.ENOSPC, e


def free(d):
    (d / "filler").unlink()


def no_crash(p_rc, err):
    assert p_rc not in (-11, 139, -6, 134), f"crashed (rc {p_rc}):\n{err}"
    assert "Segmentation" not in err and "Aborted" not in err, err


def test_disk_full_mid_run_keeps_saved_trials_and_resume_finishes(job, small_fs):
    out = small_fs / "r.h5"
    bg = gbrun.Background(None, "run", job, "-o", out, "--progress", "lines")
    try:
        bg.wait_for_lines(": trial ", 3)
        fill(small_fs)
        rc, _, err = bg.finish(timeout=120)
    finally:
        bg.kill()
    no_crash(rc, err)
    assert rc != 0, err
    assert "disk full" in err and "--resume" in err, err
    saved = saved_trials(bg.lines)
    assert 3 <= saved < CELLS * TRIALS, err
    r = check_readable(out, saved)
    assert gbrun.text(r["attrs"]["status"]) in ("running", "failed")

    free(small_fs)
    p = gbrun.run(None, "run", job, "-o", out, "--resume", "-q", timeout=240)
    assert p.returncode == 0, p.stderr
    r = check_complete(out)
    assert r["runs"] == ["run-000"]


@pytest.mark.parametrize("leave", [0, 16 << 10, 700 << 10, 1040 << 10, 1100 << 10, 1200 << 10])
def test_disk_full_at_start_fails_cleanly_and_resume_starts_once_there_is_room(tiny, small_fs, leave):
    out = small_fs / "r.h5"
    fill(small_fs, leave)
    p = gbrun.run(None, "run", tiny, "-o", out, "--resume", "-q", timeout=120)
    no_crash(p.returncode, p.stderr)
    if p.returncode == 0:  # there was room after all
        assert gbrun.text(gbrun.read_run(out)["attrs"]["status"]) == "complete"
        return
    assert "disk full" in p.stderr and "free space in" in p.stderr, p.stderr
    if out.exists():  # whatever was left opens (no runs, or a run without trials)
        with gbrun.h5py.File(out, "r", locking=False) as f:
            assert f.attrs["schema"] == "gilbench/1"
    free(small_fs)
    p = gbrun.run(None, "run", tiny, "-o", out, "--resume", "-q", timeout=120)
    assert p.returncode == 0, p.stderr
    r = gbrun.read_run(out)
    assert gbrun.text(r["attrs"]["status"]) == "complete"
    assert len(r["trials"]) == 2


# ---- --resume after a refused start -------------------------------------------------------

def test_resume_after_a_start_refused_at_setup_starts_the_run(tiny, tmp_path):
    out = tmp_path / "r.h5"
    io = tmp_path / "io.toml"
    io.write_text(TINY.replace('workload = "cpu"', 'workload = "io"').replace("work = 1000", "work = 1"))
    # The file is made before the URL is probed: the refused start leaves it without runs.
    p = gbrun.run(None, "run", io, "-o", out, "--url", "http://127.0.0.1:9/", timeout=60)
    assert p.returncode != 0 and "cannot reach --url/url" in p.stderr, p.stderr
    # A batch script that always passes --resume must still get its run.
    p = gbrun.run(None, "run", io, "-o", out, "--resume", "-q", timeout=120)
    assert p.returncode == 0, p.stderr
    assert "it has no runs yet): starting a new run" in p.stderr, p.stderr
    r = gbrun.read_run(out)
    assert r["runs"] == ["run-000"] and gbrun.text(r["attrs"]["status"]) == "complete"
