#!/usr/bin/python3
"""Which trial order gives the steadiest paired ratios here? (issue 26: the default order.)

Runs one small job (the emulated countdown as 1 thread and 2 threads, and a 2-rank cell) in each
order, `cells`, `rounds` and `alternating`, interleaving the runs (order A, B, C, then again)
so a drift of the machine falls on every order alike, and per run computes the 2-thread cell's
per-round ratio to the 1-thread cell. Prints, per order, the median over runs of the ratios'
spread (p75 - p25 of the per-round ratios within a run: the paired noise an interval is made
from) and of the 95 % interval's width (the order-statistic interval of the median), and the
spread of the runs' medians (how much the answer moves from run to run).

    /usr/bin/python3 bench/order_noise.py --gilbench build/gilbench --runs 4 --repeats 10

Needs mpirun (2 ranks, --bind-to none) and the analysis package beside it (numpy, h5py).
Measures the machine: exit status 0 whatever it finds; 2 for bad arguments.
"""
import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analysis"))
from gilbench_analysis.paired import order_interval  # noqa: E402

JOB = """
[job]
name = "order-noise"

[defaults]
workload = "cpu"
work = {work}
warmups = 1
repeats = {repeats}

[[cell]]
name = "one"

[[cell]]
name = "two"
threads = 2

[[cell]]
name = "ranks"
ranks = 2
"""
ORDERS = ("cells", "rounds", "alternating")


def ratios(path):
    with h5py.File(path, "r") as f:
        t = f["runs"][sorted(f["runs"])[-1]]["trials"][:]
    t = t[t["warmup"] == 0]
    one = {int(r["round"]): float(r["wall_s"]) for r in t if r["cell"] == 0 and not r["disturbed"]}
    two = {int(r["round"]): float(r["wall_s"]) for r in t if r["cell"] == 1 and not r["disturbed"]}
    return np.array([two[k] / one[k] for k in sorted(one) if k in two])


def main():
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("--gilbench", default="build/gilbench")
    a.add_argument("--mpirun", default="mpirun")
    a.add_argument("--runs", type=int, default=4)
    a.add_argument("--repeats", type=int, default=10)
    a.add_argument("--work", type=int, default=50_000_000)
    args = a.parse_args()
    if args.runs < 1 or args.repeats < 2:
        a.error("--runs >= 1 and --repeats >= 2")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    found = {o: [] for o in ORDERS}
    with tempfile.TemporaryDirectory() as d:
        job = Path(d) / "job.toml"
        job.write_text(JOB.format(work=args.work, repeats=args.repeats))
        for i in range(args.runs):
            for order in ORDERS:
                out = Path(d) / f"{order}-{i}.h5"
                subprocess.run([args.mpirun, "-np", "2", "--bind-to", "none", args.gilbench, "run", str(job),
                                "-o", str(out), "-q", "--order", order, "--disturbed", "keep"],
                               check=True, env=env, capture_output=True)
                found[order].append(ratios(out))
    print(f"order_noise: {args.runs} runs per order, {args.repeats} rounds each, 2-thread / 1-thread ratio")
    print(f"{'order':<12} {'per-round spread':>17} {'interval width':>15} {'run medians':>22}")
    for order in ORDERS:
        spreads = [np.percentile(r, 75) - np.percentile(r, 25) for r in found[order]]
        widths = [order_interval(r)[1] - order_interval(r)[0] for r in found[order]]
        medians = [float(np.median(r)) for r in found[order]]
        print(f"{order:<12} {np.median(spreads):>17.3f} {np.median(widths):>15.3f} "
              f"{min(medians):>10.3f}-{max(medians):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
