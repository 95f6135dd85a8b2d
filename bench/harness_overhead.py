#!/usr/bin/python3
"""What gilbench's harness adds to a trial of the real interpreter, and whether its seed ratios
agree with a plain script's, measured in one run.

    source scripts/mpi-env.sh                       # as root in a container
    /usr/bin/python3 bench/harness_overhead.py      # ~1-2 min on a 2-core machine
    /usr/bin/python3 bench/harness_overhead.py --rounds 4 --ratio-rounds 2 --cpu-work 4000000   # ~20 s

1. Overhead per trial. The same small CPU cell, the seed's countdown (`while n > 0: n -= 1`,
   --steps, default 200,000) in one thread, timed
   - by gilbench's cpython engine (`mpirun -np 1 gilbench run`, engine = "cpython", 1 × 1,
     8 warm-ups, --trials repeats): each trial's wall time from the HDF5 file;
   - by a plain Python script in one process: `threading.Thread(target=countdown)` started and
     joined with `time.perf_counter()` around start and join, --trials times after a warm-up;
     run twice: by /usr/bin/python3 and by a `python3` built here on the shared libpython that
     gilbench embeds (a 3-line Py_BytesMain program, compiled with `python3-config --embed`).
     Debian's /usr/bin/python3 is a separate, statically linked build of the same version, and
     its countdown runs faster than the shared library's, so only the second is the same
     interpreter: the harness's overhead is gilbench against that one.
   --rounds rounds alternate which side goes first, so a shared machine's drift hits both.
   Printed: each side's median with quartiles and range over every trial, and the difference
   of the medians (gilbench - plain), overall and per round (each round's sides ran within a
   second or two of each other: the per-round differences are the fairest figure).
2. Seed ratios. cpu and io cells as 1 thread, 2 threads and 2 processes, with gilbench's
   cpython engine (`mpirun -np 2`, one trial per cell per round after a warm-up, behind a
   warm-up cell that calls each rank's countdown 8 times) and with
   plain scripts (bench/cpython_cells.py's functions, a fresh /usr/bin/python3 per cell, as
   bench/compare_cpython.py runs them; 2 processes doing GETs: forked here, as cpython_cells'
   "procs" forks for the countdown), both against one `gilbench serve`, --ratio-rounds rounds:
   the ratios 2 threads / 1 thread and 2 processes / 1 thread, medians over the rounds.

Not a test: nothing here passes or fails on a time. docs/results.md has figures it printed.
"""
import argparse
import json
import multiprocessing
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
PYTHON = "/usr/bin/python3"
SWITCH_INTERVAL = 0.005   # CPython's default, and the jobs' below
# CPython 3.11 specializes a function's bytecode after its 8th call; until then the countdown
# runs ~1.6x slower per step. The plain side warms it up (cpython_cells.warm_up: 10 calls); so
# must gilbench's side, or its first trials of each rank time the unspecialized countdown.
WARM_CALLS = 8

# The seed ratios: name, numerator cell, denominator cell.
RATIOS = [("CPU: 2 threads / 1 thread", "cpu-1x2", "cpu-1x1"),
          ("CPU: 2 processes / 1 thread", "cpu-2x1", "cpu-1x1"),
          ("I/O: 2 threads / 1 thread", "io-1x2", "io-1x1"),
          ("I/O: 2 processes / 1 thread", "io-2x1", "io-1x1")]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=200_000, help="countdown steps of the overhead cell (%(default)s)")
    # Many short rounds: a shared machine's speed drifts within seconds, and each round's sides
    # run back to back, so a per-round difference sees the least drift.
    p.add_argument("--trials", type=int, default=10, help="overhead trials per side per round (%(default)s)")
    p.add_argument("--rounds", type=int, default=12, help="rounds of the overhead part (%(default)s)")
    p.add_argument("--ratio-rounds", type=int, default=5, help="rounds of the seed ratios (%(default)s)")
    p.add_argument("--cpu-work", type=int, default=10_000_000,
                   help="countdown steps of the seed's cpu cells, in total (%(default)s)")
    p.add_argument("--io-requests", type=int, default=8, help="GETs of the io cells, in total (%(default)s)")
    p.add_argument("--latency", type=float, default=0.05, help="server delay per GET, s (%(default)s)")
    p.add_argument("--gilbench", default=str(ROOT / "build" / "gilbench"), help="gilbench binary")
    p.add_argument("--mpirun", default="mpirun", help="MPI launcher")
    # Open MPI binds each rank to one core when there are <= 2 ranks; CPython's threads may use
    # every core, so unbind (as bench/compare_cpython.py does).
    p.add_argument("--mpirun-args", default="--bind-to none", help="extra launcher arguments (default: %(default)s)")
    p.add_argument("--python", default=PYTHON,
                   help="the Python gilbench was built with (-DGILBENCH_PYTHON; default %(default)s): its "
                        "python3-config builds the shared-library interpreter")
    p.add_argument("--json", help="also write every measurement here (JSON)")
    p.add_argument("--plain", help=argparse.SUPPRESS)   # internal: run one plain-script cell (JSON)
    return p.parse_args()


# --- the plain script's side (runs in a fresh /usr/bin/python3) ------------------------------

def plain_cell(cell):
    """One plain-script measurement, in this interpreter. Kinds: "overhead" (the countdown in
    one thread, `trials` times), "io_procs" (forked processes doing GETs), and
    bench/cpython_cells.py's kinds (cpu, procs, io)."""
    sys.path.insert(0, str(BENCH))
    import cpython_cells as cc
    sys.setswitchinterval(cell.get("switch_interval", SWITCH_INTERVAL))
    cc.warm_up()
    if cell["kind"] == "overhead":
        walls = []
        for _ in range(cell["trials"]):
            walls.append(cc.run_threads(cc.countdown, [(cell["work"],)]))
        return {"walls_s": walls, "python": sys.version}
    if cell["kind"] == "io_procs":
        # As cpython_cells' "procs" does for the countdown: fork, GETs, join; start-up timed.
        url = cell["url"]
        cc.get(url)

        def worker(n):
            for _ in range(n):
                cc.get(url)

        ctx = multiprocessing.get_context("fork")
        procs = [ctx.Process(target=worker, args=(n,)) for n in cc.split(cell["requests"], cell["processes"])]
        start = time.perf_counter()
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        return {"wall_s": time.perf_counter() - start}
    return cc.CELLS[cell["kind"]](cell)


def plain(cell, python=PYTHON):
    out = subprocess.run([python, str(Path(__file__).resolve()), "--plain", json.dumps(cell)],
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        sys.exit(f"harness_overhead: plain cell {cell} failed:\n{out.stderr}")
    return json.loads(out.stdout)


LAUNCHER = "#include <Python.h>\nint main(int argc, char **argv) { return Py_BytesMain(argc, argv); }\n"


def shared_python(python, tmp):
    """A python3 executable on the shared libpython of `python` (what gilbench embeds), built in
    tmp with that Python's python3-config; None (and why) where it cannot be built."""
    config = Path(f"{python}-config")
    if not config.exists():
        return None, f"no {config} (install the -dev package of that Python)"
    flags = []
    for what in ("--cflags", "--ldflags"):
        p = subprocess.run([str(config), what, "--embed"], capture_output=True, text=True)
        if p.returncode != 0:
            return None, f"{config} {what} --embed failed: {p.stderr.strip()}"
        flags += shlex.split(p.stdout)
    libdir = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_config_var('LIBDIR'))"],
                            capture_output=True, text=True).stdout.strip()
    exe = Path(tmp) / "python3-shared"
    cmd = ["cc", "-x", "c", "-", "-o", str(exe), *flags, f"-Wl,-rpath,{libdir}"]
    p = subprocess.run(cmd, input=LAUNCHER, capture_output=True, text=True)
    if p.returncode != 0:
        return None, f"{shlex.join(cmd)} failed: {p.stderr.strip()[:500]}"
    return str(exe), ""


# --- gilbench's side -------------------------------------------------------------------------

def job_text(name, cells, warmups, repeats):
    lines = ["# Generated by bench/harness_overhead.py", "[job]", f'name = "{name}"', "[defaults]",
             'engine = "cpython"', f"switch_interval = {SWITCH_INTERVAL}", f"warmups = {warmups}",
             f"repeats = {repeats}"]
    for cell_name, settings in cells:
        lines += ["", "[[cell]]", f'name = "{cell_name}"'] + [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    return "\n".join(lines) + "\n"


def gilbench(args, np_, job, out):
    cmd = [args.mpirun, "-np", str(np_), *shlex.split(args.mpirun_args), args.gilbench, "run", str(job),
           "-o", str(out), "-q", "--overwrite"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        sys.exit(f"harness_overhead: {shlex.join(cmd)} failed ({p.returncode}):\n{p.stderr}\n{p.stdout}")
    return read_walls(out)


def read_walls(path):
    """({cell name: [wall_s of each measured trial]}, the run's python_version)."""
    import h5py
    with h5py.File(path, "r") as f:
        run = f["runs"][sorted(f["runs"])[-1]]
        names = {int(c["cell"]): c["name"].decode() for c in run["cells"][:]}
        walls = {}
        for t in run["trials"][:]:
            if t["warmup"] == 0:
                walls.setdefault(names[int(t["cell"])], []).append(float(t["wall_s"]))
        version = run.attrs.get("python_version", b"")
        return walls, version.decode() if isinstance(version, bytes) else str(version)


# --- statistics ------------------------------------------------------------------------------

def spread(values):
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return {"median": statistics.median(values), "p25": q[0], "p75": q[2], "min": min(values), "max": max(values),
            "n": len(values)}


def ms(v):
    return f"{v * 1e3:8.3f}"


def overhead_part(args, started):
    cell = [("overhead", {"workload": "cpu", "work": args.steps})]
    rounds = []
    version = ""
    with tempfile.TemporaryDirectory(prefix="gilbench-overhead-") as tmp:
        shared, why = shared_python(args.python, tmp)
        plains = {"plain, /usr/bin/python3": PYTHON}
        if shared:
            plains["plain, shared libpython"] = shared
        else:
            print(f"harness_overhead: no shared-library python3 ({why}); the plain side is {PYTHON} only",
                  file=sys.stderr)
        job = Path(tmp) / "overhead.toml"
        job.write_text(job_text("harness-overhead", cell, warmups=WARM_CALLS, repeats=args.trials))
        versions = {}
        for r in range(args.rounds):
            sides = {}
            order = ["gilbench", *plains]
            for side in (order if r % 2 == 0 else order[::-1]):
                if side == "gilbench":
                    walls, version = gilbench(args, 1, job, Path(tmp) / "overhead.h5")
                    sides["gilbench"] = walls["overhead"]
                else:
                    out = plain({"kind": "overhead", "work": args.steps, "trials": args.trials}, plains[side])
                    sides[side], versions[side] = out["walls_s"], out["python"].split()[0]
            rounds.append(sides)
            print(f"overhead round {r + 1}/{args.rounds} ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    stats = {side: spread([w for r in rounds for w in r[side]]) for side in ["gilbench", *plains]}
    print(f"\n1. Overhead per trial: countdown of {args.steps:,} steps in 1 thread, {args.rounds} rounds x "
          f"{args.trials} trials per side")
    print(f"   embedded (gilbench): {version.split()[0] if version else '?'}; "
          + "; ".join(f"{side}: {v}" for side, v in versions.items()))
    print(f"   {'':26} {'median ms':>9} {'p25 - p75 ms':>19} {'min - max ms':>19}")
    for side, st in stats.items():
        label = "gilbench, cpython engine" if side == "gilbench" else side
        print(f"   {label:26} {ms(st['median'])}  {ms(st['p25'])} - {ms(st['p75'])}  {ms(st['min'])} - {ms(st['max'])}")
    differences = {}
    for side in plains:
        diffs = [statistics.median(r["gilbench"]) - statistics.median(r[side]) for r in rounds]
        differences[side] = diffs
        print(f"   gilbench - {side}: {(stats['gilbench']['median'] - stats[side]['median']) * 1e3:+.3f} ms per trial "
              f"(difference of the medians); per round: median {statistics.median(diffs) * 1e3:+.3f} ms, "
              f"range {min(diffs) * 1e3:+.3f} to {max(diffs) * 1e3:+.3f} ms; difference of the minima (each side's "
              f"least disturbed trial): {(stats['gilbench']['min'] - stats[side]['min']) * 1e3:+.3f} ms")
    return {"stats": stats, "round_differences_s": differences, "rounds": rounds, "embedded_python": version,
            "plain_pythons": versions}


def ratios_part(args, started):
    server = subprocess.Popen([args.gilbench, "serve", "--max-seconds", "3600"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        base = server.stdout.readline().strip().split("?")[0]
        if not base.startswith("http://"):
            sys.exit(f"harness_overhead: `{args.gilbench} serve` printed no URL")
        url = f"{base}?delay={args.latency}"
        n, q = args.cpu_work, args.io_requests
        # First, on both ranks: WARM_CALLS small countdowns, so every rank's countdown is
        # specialized before the cells that count (the helper is one function per rank).
        cells = [("warm-up", {"workload": "cpu", "work": 1000, "ranks": 2, "warmups": WARM_CALLS}),
                 ("cpu-1x1", {"workload": "cpu", "work": n}),
                 ("cpu-1x2", {"workload": "cpu", "work": n, "threads": 2}),
                 ("cpu-2x1", {"workload": "cpu", "work": n, "ranks": 2}),
                 ("io-1x1", {"workload": "io", "work": q, "url": url}),
                 ("io-1x2", {"workload": "io", "work": q, "threads": 2, "url": url}),
                 ("io-2x1", {"workload": "io", "work": q, "ranks": 2, "url": url})]
        plain_cells = {"cpu-1x1": {"kind": "cpu", "threads": 1, "work": n},
                       "cpu-1x2": {"kind": "cpu", "threads": 2, "work": n},
                       "cpu-2x1": {"kind": "procs", "processes": 2, "work": n},
                       "io-1x1": {"kind": "io", "threads": 1, "requests": q, "url": url},
                       "io-1x2": {"kind": "io", "threads": 2, "requests": q, "url": url},
                       "io-2x1": {"kind": "io_procs", "processes": 2, "requests": q, "url": url}}
        rounds = []
        with tempfile.TemporaryDirectory(prefix="gilbench-seed-ratios-") as tmp:
            job = Path(tmp) / "seed-cpython.toml"
            job.write_text(job_text("seed-cpython", cells, warmups=1, repeats=1))
            for r in range(args.ratio_rounds):
                sides = {}
                for side in (("plain", "gilbench") if r % 2 == 0 else ("gilbench", "plain")):
                    if side == "gilbench":
                        walls, _ = gilbench(args, 2, job, Path(tmp) / "seed.h5")
                        sides["gilbench"] = {k: v[0] for k, v in walls.items()}
                    else:
                        sides["plain"] = {k: plain(c)["wall_s"] for k, c in plain_cells.items()}
                rounds.append(sides)
                print(f"ratios round {r + 1}/{args.ratio_rounds} ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"\n2. Seed ratios, cpu {n:,} countdown steps and io {q} GETs ({args.latency * 1e3:g} ms delay) in total, "
          f"{args.ratio_rounds} rounds; median (min - max) over the rounds")
    print(f"   {'ratio':30} {'gilbench, cpython':>22} {'plain script':>22} {'gilbench / plain':>17}")
    out = []
    for label, num, den in RATIOS:
        g = [r["gilbench"][num] / r["gilbench"][den] for r in rounds]
        p = [r["plain"][num] / r["plain"][den] for r in rounds]
        gs, ps = spread(g), spread(p)
        print(f"   {label:30} {gs['median']:6.2f} ({gs['min']:.2f} - {gs['max']:.2f})   "
              f"{ps['median']:6.2f} ({ps['min']:.2f} - {ps['max']:.2f})   {gs['median'] / ps['median']:12.2f}")
        out.append({"ratio": label, "gilbench": gs, "plain": ps})
    times = {side: {c: statistics.median(r[side][c] for r in rounds) for c in plain_cells}
             for side in ("gilbench", "plain")}
    cells_text = ",  ".join(f"{c} {times['gilbench'][c]:.3f} / {times['plain'][c]:.3f}" for c in plain_cells)
    print(f"   median wall s per cell (gilbench / plain): {cells_text}")
    return {"ratios": out, "rounds": rounds, "median_wall_s": times}


def main():
    args = parse_args()
    if args.plain:
        print(json.dumps(plain_cell(json.loads(args.plain))))
        return 0
    if not Path(args.gilbench).exists():
        sys.exit(f"harness_overhead: no gilbench at {args.gilbench}: build it (cmake --build build --target gilbench) "
                 "or pass --gilbench")
    if os.geteuid() == 0:  # what scripts/mpi-env.sh sets: Open MPI refuses root without it
        os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    os.environ.setdefault("OMPI_MCA_rmaps_base_oversubscribe", "1")
    command = "/usr/bin/python3 bench/harness_overhead.py " + shlex.join(sys.argv[1:])
    print(f"command: {command}")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
    started = time.monotonic()
    result = {"command": command, "overhead": overhead_part(args, started), "seed": ratios_part(args, started)}
    print(f"\nelapsed {time.monotonic() - started:.0f} s; load average {os.getloadavg()[0]:.2f} at the end")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
