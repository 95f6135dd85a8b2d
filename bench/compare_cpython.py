#!/usr/bin/python3
"""gilbench beside real CPython: the reference ratios, measured in one run, side by side.

    source scripts/mpi-env.sh            # as root in a container
    /usr/bin/python3 bench/compare_cpython.py            # ~10 min on a 2-core machine
    /usr/bin/python3 bench/compare_cpython.py --quick    # ~2 min, fewer rounds, smaller cells

For every reference ratio (docs/gil-fidelity.md) it prints CPython's value, gilbench's value
and gilbench/CPython, each the median over the rounds with the min-max range. A round runs
every cell once with the machine's CPython (bench/cpython_cells.py, fresh interpreter per
cell) and once with gilbench (`mpirun -np 2 gilbench run` of a generated job, one trial per
cell); the two sides alternate which goes first, so drift of a shared machine hits both. Both
send their HTTP requests to one `gilbench serve` process. Round 0 is a warm-up and also sizes
gilbench's countdown so one thread takes as long as CPython's (countdown sizes differ; the
ratios are what is compared). With the micro-benchmarks built, each round also measures the
interpreter's speed against CPython's on the countdown, and what the GIL checks cost.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py

ROOT = Path(__file__).resolve().parent.parent
CELLS_SCRIPT = Path(__file__).resolve().parent / "cpython_cells.py"
PYTHON = "/usr/bin/python3"

# The reference ratios: name, description, numerator cell, denominator cell, quantity.
# Cells are the same names on both sides; quantity "wall" compares wall times, "latency" the
# mean latency of the I/O thread's requests.
RATIOS = [
    ("cpu_threads_2", "CPU: 2 threads / 1 thread", "cpu-2t", "cpu-1t", "wall"),
    ("cpu_threads_4", "CPU: 4 threads / 1 thread", "cpu-4t", "cpu-1t", "wall"),
    ("cpu_procs_2", "CPU: 2 processes / 1 process", "cpu-2p", "cpu-1t", "wall"),
    ("io_threads_2", "I/O: 2 threads / 1 thread", "io-2t", "io-1t", "wall"),
    ("io_threads_4", "I/O: 4 threads / 1 thread", "io-4t", "io-1t", "wall"),
    ("switch_0.5ms", "CPU 2 threads, interval 0.5 ms / 1 thread", "cpu-2t-si0.5ms", "cpu-1t", "wall"),
    ("switch_5ms", "CPU 2 threads, interval 5 ms / 1 thread", "cpu-2t", "cpu-1t", "wall"),
    ("switch_50ms", "CPU 2 threads, interval 50 ms / 1 thread", "cpu-2t-si50ms", "cpu-1t", "wall"),
    ("convoy_1cpu", "I/O latency beside 1 CPU thread / alone", "convoy-1cpu", "convoy-alone", "latency"),
]
TOLERANCE = 0.10


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="~2 min: 5 rounds, smaller cells")
    p.add_argument("--rounds", type=int, help="measured rounds (default 15, --quick 5)")
    p.add_argument("--gilbench", default=str(ROOT / "build" / "gilbench"), help="gilbench binary")
    p.add_argument("--micro", default=str(ROOT / "build" / "bench" / "gilbench_micro"),
                   help="gilbench_micro binary (skipped if missing)")
    p.add_argument("--mpirun", default="mpirun", help="MPI launcher")
    # Open MPI binds each rank to one core when there are <= 2 ranks: a rank's threads would
    # then share one core, while CPython's threads may use all of them. That alone halves
    # what a CPU thread costs an I/O thread (docs/gil-fidelity.md), so unbind.
    p.add_argument("--mpirun-args", default="--bind-to none",
                   help="extra launcher arguments (default: %(default)s)")
    p.add_argument("--json", help="also write every measurement here (JSON)")
    p.add_argument("--keep", help="keep gilbench's HDF5 results in this directory")
    return p.parse_args()


class Sizes:
    def __init__(self, quick):
        # CPython's countdown (~15 ns/step here). Large enough that the ~30 ms CPython pays to
        # fork, start and join two processes stays small beside the work (gilbench's ranks
        # run before the clock starts); docs/gil-fidelity.md shows what smaller sizes do.
        self.cpu_work = 40_000_000 if quick else 60_000_000
        self.io_requests = 8                                   # split over 1, 2, 4 threads
        self.io_latency = 0.05
        self.convoy_requests = 100 if quick else 200
        self.convoy_latency = 0.001
        self.speed_work = 2_000_000


# --- CPython -------------------------------------------------------------------------------

def cpython(cell):
    out = subprocess.run([PYTHON, str(CELLS_SCRIPT), json.dumps(cell)], capture_output=True, text=True,
                         timeout=600)
    if out.returncode != 0:
        sys.exit(f"compare_cpython: CPython cell {cell} failed:\n{out.stderr}")
    return json.loads(out.stdout)


def cpython_round(sizes, urls, part):
    n = sizes.cpu_work
    cells = {
        "cpu-1t": {"kind": "cpu", "threads": 1, "work": n},
        "cpu-2t": {"kind": "cpu", "threads": 2, "work": n},
        "cpu-4t": {"kind": "cpu", "threads": 4, "work": n},
        "cpu-2p": {"kind": "procs", "processes": 2, "work": n},
        "cpu-2t-si0.5ms": {"kind": "cpu", "threads": 2, "work": n, "switch_interval": 0.0005},
        "cpu-2t-si50ms": {"kind": "cpu", "threads": 2, "work": n, "switch_interval": 0.05},
        "io-1t": {"kind": "io", "threads": 1, "requests": sizes.io_requests, "url": urls["io"]},
        "io-2t": {"kind": "io", "threads": 2, "requests": sizes.io_requests, "url": urls["io"]},
        "io-4t": {"kind": "io", "threads": 4, "requests": sizes.io_requests, "url": urls["io"]},
    }
    convoy = {
        "convoy-alone": {"kind": "convoy", "requests": sizes.convoy_requests, "url": urls["convoy"]},
        "convoy-1cpu": {"kind": "convoy", "requests": sizes.convoy_requests, "cpu_threads": 1,
                        "url": urls["convoy"]},
    }
    return {name: cpython(cell) for name, cell in (cells if part == "main" else convoy).items()}


# --- gilbench ------------------------------------------------------------------------------

def job_texts(sizes, urls, gil_work):
    """Two jobs: the CPU and I/O cells, and the convoy cells (run right after CPython's)."""
    cells = [
        ("cpu-1t", {"workload": "cpu", "work": gil_work}),
        ("cpu-2t", {"workload": "cpu", "work": gil_work, "threads": 2}),
        ("cpu-4t", {"workload": "cpu", "work": gil_work, "threads": 4}),
        ("cpu-2p", {"workload": "cpu", "work": gil_work, "ranks": 2}),
        ("cpu-2t-si0.5ms", {"workload": "cpu", "work": gil_work, "threads": 2, "switch_interval": 0.0005}),
        ("cpu-2t-si50ms", {"workload": "cpu", "work": gil_work, "threads": 2, "switch_interval": 0.05}),
        ("io-1t", {"workload": "io", "work": sizes.io_requests, "url": urls["io"]}),
        ("io-2t", {"workload": "io", "work": sizes.io_requests, "threads": 2, "url": urls["io"]}),
        ("io-4t", {"workload": "io", "work": sizes.io_requests, "threads": 4, "url": urls["io"]}),
    ]
    convoy = [
        ("convoy-alone", {"workload": "io", "work": sizes.convoy_requests, "url": urls["convoy"]}),
        ("convoy-1cpu", {"workload": "mixed", "work": sizes.convoy_requests, "threads": 2, "io_threads": 1,
                         "url": urls["convoy"]}),
    ]
    return cells_to_toml(cells), cells_to_toml(convoy)


def cells_to_toml(cells):
    lines = ['# Generated by bench/compare_cpython.py: one trial per cell per round.',
             '[job]', 'name = "fidelity"', '[defaults]', 'gil = "new"', 'switch_interval = 0.005',
             'warmups = 0', 'repeats = 1']
    for name, settings in cells:
        lines += ['', '[[cell]]', f'name = "{name}"']
        lines += [f'{k} = {json.dumps(v)}' for k, v in settings.items()]
    return "\n".join(lines) + "\n"


def gilbench_run(args, job_path, out_path):
    cmd = [args.mpirun, "-np", "2", *shlex.split(args.mpirun_args), args.gilbench, "run", str(job_path),
           "-o", str(out_path), "-q"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        sys.exit(f"compare_cpython: {shlex.join(cmd)} failed ({out.returncode}):\n{out.stderr}\n{out.stdout}")
    return read_results(out_path)


def read_results(path):
    """{cell name: {"wall_s": .., "latencies_s": [..]}} from the last run in the file."""
    with h5py.File(path, "r") as f:
        run = f["runs"][sorted(f["runs"])[-1]]
        names = {int(c["cell"]): c["name"].decode() for c in run["cells"][:]}
        result = {}
        trials = run["trials"][:]
        for t in trials[trials["warmup"] == 0]:
            cell = result.setdefault(names[int(t["cell"])], {"wall_s": float(t["wall_s"]), "walls_s": [],
                                                             "latencies_s": []})
            cell["walls_s"].append(float(t["wall_s"]))
        if "requests" in run:
            for r in run["requests"][:]:
                name = names[int(r["cell"])]
                if name in result:
                    result[name]["latencies_s"].append(float(r["end_s"] - r["start_s"]))
        return result


def calibrate(args, sizes, urls, tmp):
    """gilbench's countdown size for which one thread takes as long as CPython's."""
    probe = 3 * sizes.cpu_work
    job = tmp / "calibrate.toml"
    job.write_text(cells_to_toml([("cpu-1t", {"workload": "cpu", "work": probe, "repeats": 3})]))
    gil_s = min(gilbench_run(args, job, tmp / "calibrate.h5")["cpu-1t"]["walls_s"])
    cpy_s = min(cpython({"kind": "cpu", "threads": 1, "work": sizes.cpu_work})["wall_s"] for _ in range(3))
    return max(1000, round(probe * cpy_s / gil_s))


# --- interpreter speed ---------------------------------------------------------------------

def micro_round(args, sizes):
    if not Path(args.micro).exists():
        return None
    cmd = [args.micro, "--benchmark_filter=^BM_countdown_(new_gil|without_checks)/",
           "--benchmark_repetitions=5", "--benchmark_format=json", "--benchmark_min_time=0.05"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        sys.exit(f"compare_cpython: {shlex.join(cmd)} failed:\n{out.stderr}")
    best = {}
    for b in json.loads(out.stdout)["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        name = b["run_name"].split("/")[0]
        steps = int(b["run_name"].split("/")[1])
        ns = b["cpu_time"] * {"ms": 1e6, "us": 1e3, "ns": 1.0}[b["time_unit"]] / steps
        best[name] = min(best.get(name, ns), ns)
    cpy = cpython({"kind": "speed", "work": sizes.speed_work})["ns_per_step"]
    return {"cpython_ns": cpy, "gilbench_ns": best["BM_countdown_new_gil"],
            "unchecked_ns": best["BM_countdown_without_checks"]}


# --- statistics and the table --------------------------------------------------------------

def quantity(cell, kind):
    if kind == "wall":
        return cell["wall_s"]
    return statistics.fmean(cell["latencies_s"])


def summary(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def fmt(s, digits=3):
    return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}-{s['max']:.{digits}f})"


def report(rounds, speeds, command, elapsed):
    rows = []
    print(f"\nreference ratios, median (min-max) over {len(rounds)} rounds; "
          f"target: gilbench/CPython within {1 - TOLERANCE:.2f}-{1 + TOLERANCE:.2f}\n")
    print(f"{'ratio':<44} {'CPython':>22} {'gilbench':>22} {'gil/CPy':>8}")
    for key, desc, num, den, kind in RATIOS:
        values = {side: [quantity(r[side][num], kind) / quantity(r[side][den], kind) for r in rounds]
                  for side in ("cpython", "gilbench")}
        c, g = summary(values["cpython"]), summary(values["gilbench"])
        q = g["median"] / c["median"]
        verdict = "ok" if abs(q - 1) <= TOLERANCE else "MISS"
        print(f"{desc:<44} {fmt(c):>22} {fmt(g):>22} {q:>8.3f} {verdict}")
        rows.append({"ratio": key, "description": desc, "cpython": c, "gilbench": g, "quotient": q,
                     "within_10pct": verdict == "ok", "cpython_values": values["cpython"],
                     "gilbench_values": values["gilbench"]})
    speed = None
    if speeds:
        cpy = summary([s["cpython_ns"] for s in speeds])
        gil = summary([s["gilbench_ns"] for s in speeds])
        unchecked = summary([s["unchecked_ns"] for s in speeds])
        ratio = summary([s["cpython_ns"] / s["gilbench_ns"] for s in speeds])
        cost = summary([s["gilbench_ns"] / s["unchecked_ns"] - 1 for s in speeds])
        print("\ninterpreter, countdown ns/step (fastest of 5, CPU time), median (min-max):")
        print(f"  CPython 3.11 {fmt(cpy, 2)}   gilbench (new GIL) {fmt(gil, 2)}   "
              f"without GIL checks {fmt(unchecked, 2)}")
        print(f"  speed vs CPython {fmt(ratio, 2)}x (target >= 3)   "
              f"cost of the GIL checks {fmt({k: v * 100 if k != 'n' else v for k, v in cost.items()}, 1)} % "
              f"(target <= 5)")
        speed = {"cpython_ns": cpy, "gilbench_ns": gil, "unchecked_ns": unchecked, "speedup": ratio,
                 "check_cost": cost, "raw": speeds}
    print(f"\n{len(rounds)} rounds in {elapsed / 60:.1f} min: {command}")
    return {"ratios": rows, "interpreter": speed}


def main():
    args = parse_args()
    sizes = Sizes(args.quick)
    n_rounds = args.rounds or (5 if args.quick else 15)
    if not Path(args.gilbench).exists():
        sys.exit(f"compare_cpython: no gilbench at {args.gilbench}: build it (scripts/build.sh) or pass --gilbench")
    if os.geteuid() == 0:  # what scripts/mpi-env.sh sets: Open MPI refuses root without it
        os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    os.environ.setdefault("OMPI_MCA_rmaps_base_oversubscribe", "1")
    command = "/usr/bin/python3 bench/compare_cpython.py " + shlex.join(sys.argv[1:])
    started = time.monotonic()

    server = subprocess.Popen([args.gilbench, "serve", "--max-seconds", "3600"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        base = server.stdout.readline().strip().split("?")[0]
        if not base.startswith("http://"):
            sys.exit(f"compare_cpython: `{args.gilbench} serve` printed no URL")
        urls = {"io": f"{base}?delay={sizes.io_latency}", "convoy": f"{base}?delay={sizes.convoy_latency}"}
        with tempfile.TemporaryDirectory(prefix="gilbench-fidelity-") as tmp_name:
            tmp = Path(args.keep) if args.keep else Path(tmp_name)
            tmp.mkdir(parents=True, exist_ok=True)
            gil_work = calibrate(args, sizes, urls, tmp)
            print(f"countdown: CPython {sizes.cpu_work:,} steps, gilbench {gil_work:,} steps "
                  f"(same single-thread time)", file=sys.stderr)
            jobs = {"main": tmp / "fidelity.toml", "convoy": tmp / "fidelity-convoy.toml"}
            for part, text in zip(("main", "convoy"), job_texts(sizes, urls, gil_work)):
                jobs[part].write_text(text)
            rounds, speeds = [], []
            for r in range(n_rounds + 1):  # round 0: warm-up, not counted
                sides = {"cpython": {}, "gilbench": {}}
                order = ("cpython", "gilbench") if r % 2 else ("gilbench", "cpython")
                # Each part runs on both sides back to back, so both see the same machine.
                for part in ("main", "convoy"):
                    for side in order:
                        if side == "cpython":
                            sides[side].update(cpython_round(sizes, urls, part))
                        else:
                            sides[side].update(gilbench_run(args, jobs[part], tmp / f"round-{r:02d}-{part}.h5"))
                speed = micro_round(args, sizes)
                if r > 0:
                    rounds.append(sides)
                    if speed:
                        speeds.append(speed)
                print(f"round {r}/{n_rounds} done ({(time.monotonic() - started) / 60:.1f} min)", file=sys.stderr)
    finally:
        server.terminate()
        server.wait(timeout=10)

    result = report(rounds, speeds, command, time.monotonic() - started)
    if args.json:
        result.update({"command": command, "rounds": rounds, "cpython_work": sizes.cpu_work,
                       "gilbench_work": gil_work, "python": sys.version})
        Path(args.json).write_text(json.dumps(result, indent=1))
    misses = [r["ratio"] for r in result["ratios"] if not r["within_10pct"]]
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
