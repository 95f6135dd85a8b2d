#!/usr/bin/python3
"""gilbench's side of bench/urllib_steps.py: from a traced run, per blocking step of a GET,
how long the GIL was released and the share of steps after which re-taking the GIL took
more than 2 ms (lost to a CPU-bound thread for a switch interval).

    mpirun -np 1 --bind-to none build/gilbench run jobs/convoy.toml --trace -o /tmp/c.h5
    /usr/bin/python3 bench/trace_steps.py /tmp/c.h5 io-beside-1-cpu-thread

Steps are numbered in order within each request; a fresh connection's six are named after
urllib's calls (resolve, socket, connect, send, recv, close).
"""
import collections
import statistics
import sys

import h5py
import numpy as np

NAMES = ["resolve", "socket", "settimeout", "connect_start", "poll", "connect", "poll", "send", "poll", "recv",
         "close"]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    path, cell_name = sys.argv[1], sys.argv[2]
    with h5py.File(path, "r", locking=False) as f:
        run = f["runs"][sorted(f["runs"])[-1]]
        cells = {c["name"].decode(): int(c["cell"]) for c in run["cells"][:]}
        if cell_name not in cells:
            sys.exit(f"no cell '{cell_name}' in {path}; cells: {', '.join(cells)}")
        cell = cells[cell_name]
        trace, requests, trials = run["trace"][:], run["requests"][:], run["trials"][:]
    measured = trials[(trials["cell"] == cell) & (trials["warmup"] == 0)]["trial"]
    released, lost, per_request = collections.defaultdict(list), collections.defaultdict(list), []
    for trial in measured:
        tr = trace[(trace["cell"] == cell) & (trace["trial"] == trial)]
        for req in requests[(requests["cell"] == cell) & (requests["trial"] == trial)]:
            mine = tr[(tr["thread"] == req["thread"]) & (tr["rank"] == req["rank"]) &
                      (tr["t_s"] >= req["start_s"]) & (tr["t_s"] <= req["end_s"])]
            events = [(float(e["t_s"]), e["event"].decode()) for e in np.sort(mine, order="t_s")]
            k = 0
            for i, (t, kind) in enumerate(events):
                if kind != "io_start":
                    continue
                end = next((x for x in events[i:] if x[1] == "io_end"), None)
                take = next((x for x in events[i:] if x[1] == "take"), None)
                if end and take:
                    released[k].append(end[0] - t)
                    lost[k].append(take[0] - end[0] > 0.002)
                k += 1
            per_request.append(k)
    if not per_request:
        sys.exit(f"no traced requests in cell '{cell_name}': run with --trace")
    print(f"{len(per_request)} requests; steps per request: {dict(collections.Counter(per_request))}")
    print(f"{'step':<10} {'GIL released (median)':>22} {'lost the GIL':>13}")
    for k in sorted(released):
        name = NAMES[k] if max(per_request) == len(NAMES) and k < len(NAMES) else f"step {k}"
        print(f"{name:<10} {statistics.median(released[k]) * 1e6:>19.1f} us {statistics.fmean(lost[k]):>13.2f}")


if __name__ == "__main__":
    main()
