"""writer.run_status: a run left "running" by a writer that is gone reads as such; a live one, or
one written on another host, is never relabelled. The lock is a real POSIX record lock held by a
child process this test starts and stops."""
import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest

from gilbench_analysis import writer
from gilbench_analysis.writer import GONE, run_status

HOST = socket.gethostname()
HOLDER = r"""
import fcntl, os, socket, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
line = f"pid {os.getpid()} on host {socket.gethostname()} since 2026-12-07T17:00:00Z\n"
os.ftruncate(fd, 0)
os.pwrite(fd, line.encode(), 0)
print("locked", flush=True)
time.sleep(60)
"""


@pytest.fixture
def holder(tmp_path):
    """A process holding FILE.lock as gilbench's writer would; killed at the end."""
    results = tmp_path / "r.h5"
    p = subprocess.Popen([sys.executable, "-c", HOLDER, f"{results}.lock"], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "locked"
    yield results, p
    p.kill()
    p.wait(timeout=10)


def running(pid, host=HOST, heartbeat="2026-12-07T17:00:05Z"):
    return {"status": "running", "writer": f"pid {pid} on host {host} since 2026-12-07T17:00:00Z",
            "heartbeat_utc": heartbeat}


def test_a_closed_run_reads_as_stored(tmp_path):
    for status in ("complete", "interrupted", "failed", ""):
        assert run_status(tmp_path / "r.h5", {"status": status}) == status


def test_a_live_writer_holding_the_lock_is_running(holder):
    results, p = holder
    assert writer.lock_holder(f"{results}.lock") == "held"
    assert run_status(results, running(p.pid)) == "running"


def test_a_killed_writer_is_gone(holder):
    results, p = holder
    p.kill()
    p.wait(timeout=10)
    assert writer.lock_holder(f"{results}.lock") == "free"   # the lock died with it; the file stays
    assert run_status(results, running(p.pid)) == GONE


def test_the_lock_held_by_another_start_means_this_runs_writer_is_gone(holder):
    results, p = holder
    assert run_status(results, running(p.pid + 100000)) == GONE


def test_no_lock_file_means_gone(tmp_path):
    assert writer.lock_holder(tmp_path / "r.h5.lock") == "absent"
    assert run_status(tmp_path / "r.h5", running(os.getpid())) == GONE


def test_another_hosts_run_is_unknown_never_relabelled(tmp_path):
    now = datetime(2026, 12, 7, 17, 1, 5, tzinfo=timezone.utc)
    said = run_status(tmp_path / "r.h5", running(123, host="compute-7"), hostname="login-1", now=now)
    assert said == "unknown (writer on host compute-7, last seen 2026-12-07T17:00:05Z, 60 s ago)"
    assert run_status(tmp_path / "r.h5", {"status": "running", "writer": "pid 1 on host n2 since x"},
                      hostname="login-1") == "unknown (writer on host n2)"


def test_a_file_from_before_the_attributes_asks_the_lock_only(holder, tmp_path):
    results, p = holder
    assert run_status(results, {"status": "running"}) == "running"
    assert run_status(tmp_path / "old.h5", {"status": "running"}) == GONE


def test_without_record_locks_the_pid_decides(tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "lock_holder", lambda path: "unknown")
    assert run_status(tmp_path / "r.h5", running(os.getpid())) == "running"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=30)
    time.sleep(0.1)
    assert run_status(tmp_path / "r.h5", running(dead.pid)) == GONE


def test_identity_parsing():
    assert writer.parse_identity("pid 42 on host n1 since 2026-12-07T17:00:00Z") == (42, "n1")
    assert writer.parse_identity("pid 42 on host n1 since 2026-12-07T17:00:00Z (finishing)") == (42, "n1")
    assert writer.parse_identity("") is None and writer.parse_identity("garbage") is None
