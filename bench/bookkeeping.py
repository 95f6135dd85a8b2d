#!/usr/bin/python3
"""Per-trial bookkeeping of `gilbench run` (barrier, gather, append, flush, summary).

Runs a job of N tiny trials (one cell: 2 threads (--threads), a countdown of 2 steps per thread, so the work itself
is microseconds) and the same job with 1 trial (the start-up: MPI, topology, file, servers),
each under `mpirun -np R` for every R asked, and prints

    time per trial = (run time - start-up time) / (N - 1)

and the same for the CPU time of all processes (min over --repeat runs each).

A benchmark, not a test: the figures depend on the machine, its load and its disk.

    bench/bookkeeping.py [--gilbench build/gilbench] [--trials 2000] [--ranks 1,2,4] [--repeat 3] [--threads 2]

The best of --repeat runs counts (noise only adds time). Ranks beyond the cores share them.
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

JOB = """[job]
name = "bookkeeping"
[[cell]]
name = "tiny"
workload = "cpu"
threads = {threads}
ranks = {ranks}
work = 2
scaling = "weak"
warmups = 0
repeats = {repeats}
"""


def run_once(gilbench, ranks, repeats, workdir, threads=2):
    job = os.path.join(workdir, f"job-{ranks}-{repeats}.toml")
    with open(job, "w") as f:
        f.write(JOB.format(ranks=ranks, repeats=repeats, threads=threads))
    out = os.path.join(workdir, f"out-{ranks}-{repeats}.h5")
    if os.path.exists(out):
        os.remove(out)
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    cmd = ["mpirun", "-np", str(ranks), "--bind-to", "none", gilbench, "run", job, "-o", out, "--quiet"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    r = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=600)
    took = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit(f"bookkeeping: {' '.join(cmd)} exited {r.returncode}:\n{r.stderr}")
    # CPU time of mpirun and every rank (they are its children): less disturbed by other load
    # on the machine than the wall time, though it includes the ranks' waiting spins.
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return took, cpu


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gilbench", default="build/gilbench")
    p.add_argument("--trials", type=int, default=2000)
    p.add_argument("--ranks", default="2", help="comma-separated rank counts, e.g. 1,2,4")
    p.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best counts")
    p.add_argument("--threads", type=int, default=2, help="threads per rank of the tiny cell")
    a = p.parse_args()
    gilbench = os.path.abspath(a.gilbench)
    print(f"{'ranks':>5} {'trials':>6} {'run s':>8} {'start-up s':>10} {'ms/trial':>9} {'cpu ms/trial':>12}")
    with tempfile.TemporaryDirectory(prefix="gilbench-bookkeeping-") as workdir:
        for ranks in [int(x) for x in a.ranks.split(",")]:
            startup = min(run_once(gilbench, ranks, 1, workdir, a.threads) for _ in range(a.repeat))
            full = min(run_once(gilbench, ranks, a.trials, workdir, a.threads) for _ in range(a.repeat))
            per = (full[0] - startup[0]) / (a.trials - 1) * 1000.0
            cpu = (full[1] - startup[1]) / (a.trials - 1) * 1000.0
            print(f"{ranks:>5} {a.trials:>6} {full[0]:>8.2f} {startup[0]:>10.2f} {per:>9.3f} {cpu:>12.3f}", flush=True)


if __name__ == "__main__":
    main()
