"""Example user workloads for gilbench's `workload = "python"` cells.

gilbench calls `callable(work, index, count)` in each worker thread: `work` is this worker's
share of the cell's work (strong scaling: the cell's total split over ranks x threads; weak:
the cell's `work` for every worker), `index` is the worker's place among all of the cell's
workers (0 .. count-1, over every rank), `count` how many there are. The return value, an int,
is stored as the worker's `ops`; None stores `work`.

Two kinds, to show both answers to "threads or processes?":
  pure_python  - a loop of Python bytecode: holds the GIL throughout, so threads of one
                 process take turns and only processes (ranks) add speed;
  sha256_mib   - hashlib over 1 MiB buffers: CPython releases the GIL while it hashes a buffer
                 larger than 2047 bytes, so threads of one process run in parallel.
"""
import hashlib

_BLOCK = bytes(range(256)) * 4096  # 1 MiB, made once per process at import


def pure_python(work, index, count):
    """`work` iterations of an arithmetic loop in pure Python."""
    total = 0
    for i in range(work):
        total += i & 7
    return work


def sha256_mib(work, index, count):
    """SHA-256 of `work` buffers of 1 MiB; the GIL is released while each is hashed."""
    h = hashlib.sha256()
    for _ in range(work):
        h.update(_BLOCK)
    h.hexdigest()
    return work
