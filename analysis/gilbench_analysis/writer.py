"""Is a run's writer still alive? A run's `status` attribute says "running" from its start until
its writer closes it; a writer killed before it could (SIGKILL from a launcher's teardown, a lost
node) leaves "running" behind. This module tells such a run from a live one, for every reader
(gilbench-table, gilbench-report), by what the writer leaves in the file and beside it
(docs/hdf5-schema.md, "Whether a run's writer is alive"):

- the run attributes `writer` ("pid N on host H since T") and `heartbeat_utc` (refreshed with
  every trial and status it writes);
- the writer lock `FILE.lock`, a POSIX record lock gilbench holds while it writes (its text
  names the holder the same way).

On the writer's host the lock answers exactly: held by that pid, the run is live; not held, its
writer is gone and the run reads "interrupted (its writer is gone)". From another host (a login
node reading a compute node's file over NFS or Lustre, where record locks may not reach across
nodes) nothing is relabelled: the run reads "unknown (writer on host H, last seen T)".
"""
import fcntl
import os
import re
import socket
import struct
from datetime import datetime, timezone

GONE = "interrupted (its writer is gone)"
_IDENTITY = re.compile(r"pid (\d+) on host (\S+) since (\S+)")
# struct flock on Linux: l_type, l_whence (short), l_start, l_len (off_t), l_pid (pid_t), padded.
_FLOCK = "@hhqqi4x"


def parse_identity(text):
    """(pid, host) from "pid N on host H since T"; None for anything else."""
    m = _IDENTITY.match(text or "")
    return (int(m.group(1)), m.group(2)) if m else None


def lock_holder(lock_path):
    """What the writer lock says now: "held" (some process holds it), "free" (the file is there
    and nobody holds it), "absent" (no lock file) or "unknown" (this file system has no record
    locks). Asks with F_GETLK, which takes no lock, so a writer starting meanwhile is never
    refused because of this reader."""
    try:
        fd = os.open(lock_path, os.O_RDONLY)
    except FileNotFoundError:
        return "absent"
    except OSError:
        return "unknown"
    try:
        probe = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        try:
            answer = fcntl.fcntl(fd, fcntl.F_GETLK, probe)
        except OSError:
            return "unknown"
        return "free" if struct.unpack(_FLOCK, answer)[0] == fcntl.F_UNLCK else "held"
    finally:
        os.close(fd)


def _lock_text(lock_path):
    try:
        with open(lock_path, encoding="utf-8", errors="replace") as f:
            return f.read(512).strip()
    except OSError:
        return ""


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _age(heartbeat, now):
    try:
        then = datetime.strptime(heartbeat, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return ""
    seconds = max(0, int(((now or datetime.now(timezone.utc)) - then).total_seconds()))
    return f", {seconds} s ago"


def run_status(results_path, attrs, hostname=None, now=None):
    """The run's status as a reader should say it: the stored one, except for a "running" run
    whose writer is gone (GONE) or cannot be seen from here ("unknown (...)")."""
    status = attrs.get("status", "")
    if status != "running":
        return status
    lock_path = f"{results_path}.lock"
    here = hostname or socket.gethostname()
    writer = parse_identity(attrs.get("writer", ""))
    heartbeat = attrs.get("heartbeat_utc", "")
    if writer is None:
        # A file from before the attributes: only the lock can tell, and only where it is free.
        return GONE if lock_holder(lock_path) in ("free", "absent") else status
    pid, host = writer
    if host != here:
        seen = f", last seen {heartbeat}{_age(heartbeat, now)}" if heartbeat else ""
        return f"unknown (writer on host {host}{seen})"
    state = lock_holder(lock_path)
    if state == "held":
        holder = parse_identity(_lock_text(lock_path))
        # Held by another start (a --resume of it now running writes its own `writer`).
        return status if holder is None or holder[0] == pid else GONE
    if state == "unknown":   # no record locks here: the pid is all there is
        return status if _pid_alive(pid) else GONE
    return GONE
