"""Real CPython's side of bench/compare_cpython.py: runs ONE cell and prints its timings.

    /usr/bin/python3 bench/cpython_cells.py '{"kind": "cpu", "threads": 2, "work": 20000000}'

prints one JSON line: {"wall_s": ..., "latencies_s": [...]}. Each cell runs in a fresh
interpreter (as each gilbench trial runs on fresh threads) and times only its own work, the way
the seed experiment times it: threads (or processes) started, all joined. Kinds:

    cpu     `threads` threads count down work/threads each      (sys.setswitchinterval)
    procs   `processes` forked processes count down work/processes each
    io      `threads` threads do requests/threads urllib GETs of `url` each
    convoy  one thread does `requests` GETs while `cpu_threads` threads count down until it
            is done; latencies_s holds each GET's latency as the I/O thread saw it
    speed   the countdown alone, `work` steps, `runs` times; ns_per_step is the fastest run
            (thread CPU time, so another process on the machine inflates it least)
"""
import json
import multiprocessing
import sys
import threading
import time
import urllib.request


def countdown(n):
    while n > 0:
        n -= 1


def warm_up():
    # CPython 3.11 quickens a function after 8 calls; gilbench runs quickened code too.
    for _ in range(10):
        countdown(1000)


def split(total, parts):
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def run_threads(target, args_per_thread):
    threads = [threading.Thread(target=target, args=args) for args in args_per_thread]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def get(url):
    with urllib.request.urlopen(url) as response:
        response.read()


def cell_cpu(cell):
    return {"wall_s": run_threads(countdown, [(n,) for n in split(cell["work"], cell["threads"])])}


def cell_procs(cell):
    # The default start method on Linux (3.11): fork. Process start-up is part of the time,
    # as in the seed's multiprocessing measurement.
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=countdown, args=(n,)) for n in split(cell["work"], cell["processes"])]
    start = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    return {"wall_s": time.perf_counter() - start}


def cell_io(cell):
    url = cell["url"]
    get(url)  # one untimed request: urllib's opener and the resolver are set up

    def worker(n):
        for _ in range(n):
            get(url)

    return {"wall_s": run_threads(worker, [(n,) for n in split(cell["requests"], cell["threads"])])}


def cell_convoy(cell):
    url = cell["url"]
    get(url)
    stop = False
    latencies = []

    def cpu():
        while not stop:
            countdown(100_000)  # ~1.5 ms between stop checks; the GIL stays held between calls

    def io():
        for _ in range(cell["requests"]):
            t = time.perf_counter()
            get(url)
            latencies.append(time.perf_counter() - t)

    cpus = [threading.Thread(target=cpu) for _ in range(cell.get("cpu_threads", 0))]
    for t in cpus:
        t.start()
    wall = run_threads(io, [()])
    stop = True
    for t in cpus:
        t.join()
    return {"wall_s": wall, "latencies_s": latencies}


def cell_speed(cell):
    n = cell["work"]
    best = float("inf")
    for _ in range(cell.get("runs", 5)):
        t = time.thread_time()
        countdown(n)
        best = min(best, time.thread_time() - t)
    return {"ns_per_step": best / n * 1e9}


CELLS = {"cpu": cell_cpu, "procs": cell_procs, "io": cell_io, "convoy": cell_convoy, "speed": cell_speed}


def main():
    cell = json.loads(sys.argv[1])
    sys.setswitchinterval(cell.get("switch_interval", 0.005))
    warm_up()
    print(json.dumps(CELLS[cell["kind"]](cell)))


if __name__ == "__main__":
    main()
