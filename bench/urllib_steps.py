#!/usr/bin/python3
"""Where CPython's urllib releases the GIL during a GET, and how long its Python code runs in
between: the method behind gilbench's calibration of its I/O workload (UrllibCosts in
src/engine/emulated/workloads/workload.hpp; a run measures them itself: docs/gil-fidelity.md, "Calibration").

    build/gilbench serve --latency 0.001 &      # prints URL
    /usr/bin/python3 bench/urllib_steps.py URL [REQUESTS] [CPU_THREADS]

Wraps the socket calls urllib makes (each releases the GIL in Modules/socketmodule.c:
getaddrinfo, socket, connect, sendall, recv_into, close) and prints, per step, the median
time inside the call and the median Python time before it (the GIL held by urllib's code).
With CPU_THREADS > 0, that many threads count down meanwhile, and the last column is the
share of calls that came back only after more than 2 ms: those that lost the GIL to a CPU
thread and waited a switch interval for it (compare bench/trace_steps.py for gilbench).
The wrappers add about a microsecond each; they are the calibration's own
(src/engine/cpython/python/gilbench_calibration.py: socket_calls_logged).
"""
import collections
import statistics
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src" / "engine" / "cpython" / "python"))
from gilbench_calibration import socket_calls_logged  # noqa: E402 -- gilbench's embedded Python, no package
from gilbench_helpers import countdown  # noqa: E402


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    url, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 300
    cpu_threads = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    log = []
    with socket_calls_logged(log, time.perf_counter_ns):
        for _ in range(20):  # warm-up: opener built, code quickened
            urllib.request.urlopen(url).read()
        stop = False

        def count_down():
            while not stop:
                countdown(100_000)

        cpus = [threading.Thread(target=count_down) for _ in range(cpu_threads)]
        for t in cpus:
            t.start()
        python_before = collections.defaultdict(list)
        inside = collections.defaultdict(list)
        total = []
        for _ in range(n):
            log.clear()
            start = time.perf_counter_ns()
            with urllib.request.urlopen(url) as response:
                response.read()
            end = time.perf_counter_ns()
            total.append(end - start)
            previous_end = start
            for step, t0, t1 in log:
                python_before[step].append(t0 - previous_end)
                inside[step].append(t1 - t0)
                previous_end = t1
            python_before["(return)"].append(end - previous_end)
        stop = True
        for t in cpus:
            t.join()

    print(f"urlopen(...).read(): median {statistics.median(total) / 1e3:.1f} us over {n} requests")
    print(f"{'step':<10} {'Python before it (GIL held)':>28} {'inside the call (GIL released)':>32} "
          f"{'lost the GIL':>13}")
    for step in ("resolve", "socket", "connect", "send", "recv", "close", "(return)"):
        before = statistics.median(python_before[step]) / 1e3
        during = f"{statistics.median(inside[step]) / 1e3:.1f} us" if step in inside else "-"
        lost = f"{sum(t > 2_000_000 for t in inside[step]) / len(inside[step]):.2f}" if step in inside else "-"
        print(f"{step:<10} {before:>25.1f} us {during:>32} {lost:>13}")


if __name__ == "__main__":
    main()
