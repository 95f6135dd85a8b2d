#!/usr/bin/python3
"""Which of a GET's GIL releases a CPU-bound thread wins, from a socket-call log of
bench/socket_log.c (libgilbench_socket_log.so): the same way for real CPython and for gilbench.

Each socket call of the I/O thread releases the GIL around it (CPython's socketmodule.c,
gilbench's plain_http.cpp). The gap from one call's end to the next one's start is the Python
code between them, plus, when the CPU thread won that release, the wait to get the GIL back: a
whole switch interval or more. So a gap of at least half an interval is a release lost, and
round(gap / interval) the intervals it cost. Per call of a GET (polls named by the call they
precede), this prints how often it was lost and the median of (gap - whole intervals) over the
lost ones: the wait's end, the hand-over and the code up to the next call.

    build/gilbench serve --latency 0.001 --max-seconds 600 > /tmp/url &
    GILBENCH_SOCKET_LOG=/tmp/real LD_PRELOAD=build/bench/libgilbench_socket_log.so \\
        /usr/bin/python3 bench/release_races.py --convoy "$(head -1 /tmp/url)" 0.005 100
    /usr/bin/python3 bench/release_races.py /tmp/real 0.005 --skip 120
    GILBENCH_SOCKET_LOG=/tmp/emu mpirun -np 1 --bind-to none -x GILBENCH_SOCKET_LOG \\
        -x LD_PRELOAD=build/bench/libgilbench_socket_log.so build/gilbench run JOB -o /tmp/e.h5
    /usr/bin/python3 bench/release_races.py /tmp/emu 0.005

JOB: one emulated `mixed` cell (threads = 2, io_threads = 1) at that switch interval. `--convoy
URL INTERVAL GETS` is the real side: 120 GETs alone (20 to warm up), then GETS beside a thread
counting down; --skip 120 leaves the alone ones out. Every thread that called connect() is
reported, each on its own (in gilbench, a thread with a few GETs besides the I/O worker: leave it).

Where urllib's code between two calls can itself take half an interval (at 0.5 ms: after recv
and close, ~0.1-0.4 ms cold), that code reads as a lost release: trust those rows only at 5 ms
and longer.
"""
import argparse
import collections
import glob
import statistics
import sys
import threading
import time


def convoy(url, interval, gets):
    """The real side: GETs as urllib does them, alone, then beside one CPU-bound thread."""
    import urllib.request

    def get():
        with urllib.request.urlopen(url, timeout=10) as response:
            response.read()

    def countdown(n):
        while n > 0:
            n -= 1
    for _ in range(120):
        get()
    stop = []

    def spin():
        while not stop:
            countdown(1 << 16)
    sys.setswitchinterval(interval)
    spinner = threading.Thread(target=spin)
    spinner.start()
    time.sleep(0.05)
    try:
        start = time.perf_counter()
        for _ in range(gets):
            get()
        print(f"{gets} GETs beside a CPU-bound thread: {(time.perf_counter() - start) / gets * 1e3:.2f} ms each")
    finally:
        stop.append(True)
        spinner.join()


def read_log(prefix):
    """{(file, tid): [(start, end, call), ...]} from every PREFIX.<pid> file."""
    calls = collections.defaultdict(list)
    for path in sorted(glob.glob(glob.escape(prefix) + ".*")):
        with open(path) as f:
            for line in f:
                tid, call, start, end = line.split()
                calls[(path, tid)].append((int(start), int(end), call))
    return calls


def races(calls, interval_s, skip=0):
    """Per call name: (calls per GET, releases lost per GET, median excess in µs of lost ones),
    and the number of GETs, for one thread's calls. A GET starts at socket() (with the
    getaddrinfo just before it, if any); the first `skip` GETs are left out."""
    calls = sorted(calls)
    starts = [i for i, c in enumerate(calls) if c[2] == "socket"]
    if len(starts) <= skip:
        return {}, 0
    first = starts[skip]
    if first > 0 and calls[first - 1][2] == "resolve":
        first -= 1
    calls = calls[first:]
    names = []
    for i, (_, _, call) in enumerate(calls):
        names.append(f"poll>{calls[i + 1][2]}" if call == "poll" and i + 1 < len(calls) else call)
    x = interval_s * 1e9
    count, lost, excess = collections.Counter(), collections.Counter(), collections.defaultdict(list)
    order = []
    for i in range(len(calls) - 1):
        name, gap = names[i], calls[i + 1][0] - calls[i][1]
        if name not in order:
            order.append(name)
        count[name] += 1
        if gap >= x / 2:
            k = round(gap / x)
            lost[name] += k
            excess[name].append((gap - k * x) / 1e3)
    gets = sum(1 for c in calls if c[2] == "socket")
    return {n: (count[n] / gets, lost[n] / gets, statistics.median(excess[n]) if excess[n] else float("nan"))
            for n in order}, gets


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("log", nargs="?", help="the GILBENCH_SOCKET_LOG prefix the runs wrote")
    p.add_argument("interval", nargs="?", type=float, help="the switch interval, s")
    p.add_argument("--skip", type=int, default=0, help="GETs to leave out at the start of each thread")
    p.add_argument("--convoy", nargs=3, metavar=("URL", "INTERVAL", "GETS"),
                   help="run the real side (under LD_PRELOAD) instead of reading a log")
    a = p.parse_args(argv)
    if a.convoy:
        url, interval, gets = a.convoy
        convoy(url, float(interval), int(gets))
        return 0
    if a.log is None or a.interval is None:
        p.error("give LOG and INTERVAL, or --convoy")
    threads = {k: v for k, v in read_log(a.log).items() if any(c[2] == "connect" for c in v)}
    if not threads:
        print(f"release_races: no thread in {a.log}.* called connect(): was the library preloaded "
              f"(LD_PRELOAD) and GILBENCH_SOCKET_LOG passed to the process?", file=sys.stderr)
        return 1
    for (path, tid), calls in threads.items():
        steps, gets = races(calls, a.interval, a.skip)
        if not gets:
            continue
        total = sum(lost for _, lost, _ in steps.values())
        print(f"{path} thread {tid}: {gets} GETs, {total:.2f} intervals lost per GET")
        print(f"  {'call':16s} {'per GET':>8s} {'lost/GET':>9s} {'excess µs':>10s}")
        for name, (per_get, lost, ex) in steps.items():
            print(f"  {name:16s} {per_get:8.1f} {lost:9.2f} {ex:10.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
