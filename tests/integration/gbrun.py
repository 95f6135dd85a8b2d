"""Helpers for the integration tests that launch `mpirun ... gilbench run` themselves.

Environment (set by tests/integration/CMakeLists.txt): GILBENCH (the binary), MPIEXEC,
GILBENCH_SOURCE_DIR, and Open MPI's run-as-root / oversubscribe variables.
"""
import collections
import os
import signal
import subprocess
import time
from pathlib import Path

import h5py

GILBENCH = os.environ.get("GILBENCH", "gilbench")
MPIEXEC = os.environ.get("MPIEXEC", "mpiexec")
SOURCE = Path(os.environ.get("GILBENCH_SOURCE_DIR", Path(__file__).resolve().parents[2]))


def command(np, *args):
    """np=None: gilbench alone, an MPI singleton of one rank (no mpirun, which takes 2 s to
    give up after a rank exits non-zero)."""
    if np is None:
        return [GILBENCH, *map(str, args)]
    return [MPIEXEC, "-n", str(np), GILBENCH, *map(str, args)]


def run(np, *args, timeout=240):
    """Runs gilbench under mpirun to the end; returns the CompletedProcess."""
    return subprocess.run(command(np, *args), capture_output=True, text=True, timeout=timeout)


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def read_run(path, run=None):
    """The tables and attributes of one run (default: the latest) as plain Python data."""
    with h5py.File(path, "r", locking=False) as f:
        runs = sorted(f["runs"])
        g = f["runs"][run or runs[-1]]
        return {
            "runs": runs,
            "root": dict(f.attrs),
            "attrs": dict(g.attrs),
            **{name: g[name][:] for name in ("cells", "trials", "workers", "trace", "requests", "summary")},
            # Files from before the errors table have none.
            "errors": g["errors"][:] if "errors" in g else [],
        }


def check_consistent(r):
    """What every readable results file promises, complete or not: no trial twice, and each
    stored trial with all of its cell's workers, exactly once."""
    cells = {int(c["cell"]): c for c in r["cells"]}
    trials = collections.Counter((int(t["cell"]), int(t["trial"])) for t in r["trials"])
    dup = [k for k, n in trials.items() if n > 1]
    assert not dup, f"trials stored twice: {dup}"
    workers = collections.Counter((int(w["cell"]), int(w["trial"]), int(w["rank"]), int(w["thread"]))
                                  for w in r["workers"])
    dup = [k for k, n in workers.items() if n > 1]
    assert not dup, f"worker rows stored twice: {dup}"
    for (c, t) in trials:
        ranks, threads = int(cells[c]["ranks"]), int(cells[c]["threads"])
        got = sorted((k[2], k[3]) for k in workers if k[0] == c and k[1] == t)
        assert got == [(p, q) for p in range(ranks) for q in range(threads)], (c, t, got)
    orphans = [k for k in workers if (k[0], k[1]) not in trials]
    return orphans


class Background:
    """`mpirun ... gilbench run` in the background, its stderr read line by line."""

    def __init__(self, np, *args):
        self.proc = subprocess.Popen(command(np, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.lines = []

    def wait_for_lines(self, pattern, count, timeout=60):
        """Reads stderr until `count` lines contain `pattern`."""
        deadline = time.monotonic() + timeout
        seen = 0
        while seen < count:
            assert time.monotonic() < deadline, f"no {count} '{pattern}' lines in {timeout} s:\n" + "".join(self.lines)
            line = self.proc.stderr.readline()
            assert line, "gilbench ended early:\n" + "".join(self.lines)
            self.lines.append(line)
            seen += pattern in line

    def ranks(self):
        """PIDs of the ranks: mpirun's children (it launches local ranks itself)."""
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def finish(self, timeout=60):
        out, err = self.proc.communicate(timeout=timeout)
        self.lines.append(err)
        return self.proc.returncode, out, "".join(self.lines)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
