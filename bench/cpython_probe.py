#!/usr/bin/env python
"""The fidelity figures measured in the Python that runs this file: a reference JSON file for
`gilbench-report --fidelity --reference FILE` (the contract: issue 14, docs/gil-fidelity.md).

One file, standard library only, runs unchanged under Python 2.7 (the old GIL) and 3.x (the new
GIL; checked on 3.10 to 3.13). It needs the delay server that gilbench embeds, run on its own:

    build/gilbench serve --latency 0.001 --max-seconds 3600 &     # prints the URL
    /usr/bin/python3 bench/cpython_probe.py --url URL --out ref-3.11.json
    /usr/bin/python3 bench/cpython_probe.py --url URL --quick --rounds 1 --out /tmp/q.json

For every pyenv interpreter (--list prints them, one executable a line, and needs no server):

    for py in $(/usr/bin/python3 bench/cpython_probe.py --list); do
        "$py" bench/cpython_probe.py --url "$URL" --out "ref-$("$py" -c 'import platform; \
print(platform.python_version())').json" || break
    done

What it measures, in rounds (--rounds, default 10): a round runs every cell once, in the same
order (reversed every other round, so drift of a shared machine hits every cell alike), on fresh
threads per cell; each figure gets one value per round, from that round's cells.

  Python 3 (gil "new", sys.setswitchinterval; 5 ms unless a cell names another):
    cpu_2t, cpu_2t_si0.5ms, cpu_2t_si50ms   wall of 2 threads counting down half the steps each
                                            (switch interval 5, 0.5, 50 ms) / wall of 1 thread
                                            counting down all of them
    switches_siX, runlength_siX             2 threads, the probed countdown (each step checks a
                                            shared one-element list holding the last runner's id;
                                            a thread that finds another id there writes its own
                                            and notes the time: a "take"). Takes of both threads
                                            in time order; a hand-over is a take by another
                                            thread than the previous take's. switches = hand-overs
                                            / wall (per second); runlength = median time between
                                            consecutive hand-overs (seconds)
    convoy_siX                              one I/O thread does GETs (urlopen(url).read(), a fresh
                                            connection each), beside one thread counting down
                                            until the I/O thread is done: (mean latency beside it
                                            - mean latency alone) / X, the switch intervals lost
                                            per GET
  Python 2.7 (gil "old", sys.setcheckinterval(100)):
    cpu_2t_old                              as cpu_2t
    convoy_old_ms                           mean latency beside one CPU thread - alone, in ms

Sizes: the countdown is timed once at start, so that one thread takes about 0.4 s (--quick:
0.1 s) in this interpreter; the probed countdown separately, 0.4 s (--quick 0.3 s, enough
hand-overs at 50 ms). GETs per cell: 200 alone, 200 at 0.5 ms, 50 at 5 ms, 20 at 50 ms, 50
in the old-GIL convoy (--quick: a fifth). Progress goes to stderr. Any failure (no URL, a GET
that fails or times out, too few hand-overs) ends the run with a message and exit status 1
(2 for a bad command line); every GET has a timeout (--timeout), so the run always ends.
"""
from __future__ import division, print_function

import argparse
import json
import math
import os
import platform
import re
import sys
import threading
import time

if sys.version_info[0] == 2:
    import urllib2 as urlrequest
    from pipes import quote
else:
    import urllib.request as urlrequest
    from shlex import quote

FORMAT = "gilbench-fidelity-reference/1"
# perf_counter (3.3+) is monotonic; 2.7 has only the wall clock, good to a microsecond.
clock = getattr(time, "perf_counter", time.time)
NEW_GIL = hasattr(sys, "setswitchinterval")
DEFAULT_INTERVAL = 0.005
INTERVALS = ((0.0005, "0.5ms"), (0.005, "5ms"), (0.05, "50ms"))
CHECK_INTERVAL = 100        # Python 2's default: a possible switch every 100 bytecodes
CONVOY_CHUNK = 1 << 16      # steps between a convoy CPU thread's stop checks, as gilbench's cpu_until
VERSION_DIR = re.compile(r"^(2\.7|3\.\d+)\.\d+$")   # pyenv version folders this probe runs under


class ProbeError(Exception):
    """A failure that ends the run: the message says what went wrong and what to do."""


def progress(message):
    sys.stderr.write("cpython_probe: %s\n" % message)
    sys.stderr.flush()


# The seed's CPU-bound job, as gilbench runs it.
def countdown(n):
    while n > 0:
        n -= 1


def probed_countdown(n, me, last, takes):
    """countdown, noting when this thread finds that another ran last (a take)."""
    while n > 0:
        if last[0] != me:
            last[0] = me
            takes.append(clock())
        n -= 1


def handovers(takes_per_thread):
    """The hand-over times: every take (of all threads, in time order) whose thread differs from
    the previous take's. takes_per_thread: one list of take times per thread."""
    events = sorted((t, thread) for thread, takes in enumerate(takes_per_thread) for t in takes)
    return [t for i, (t, thread) in enumerate(events) if i > 0 and thread != events[i - 1][1]]


def median(values):
    values = sorted(values)
    if not values:
        raise ValueError("median of nothing")
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def mean(values):
    return sum(values) / len(values)


def split(total, parts):
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def set_interval(seconds):
    if NEW_GIL:
        sys.setswitchinterval(seconds)
    else:
        sys.setcheckinterval(CHECK_INTERVAL)


def run_threads(targets):
    """Starts one fresh thread per (function, args), joins them all; the wall time, as gilbench
    times a trial (threads started, all joined). An exception in a thread ends the run."""
    errors = []

    def guarded(fn, args):
        try:
            fn(*args)
        except Exception as e:
            errors.append(str(e) if isinstance(e, ProbeError) else "%s: %s" % (type(e).__name__, e))

    threads = [threading.Thread(target=guarded, args=(fn, args)) for fn, args in targets]
    for t in threads:
        t.daemon = True   # a failure in the main thread must not wait for them
    start = clock()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = clock() - start
    if errors:
        raise ProbeError(errors[0])
    return wall


def get(url, timeout):
    # A fresh connection per request, as the seed's urllib.request.urlopen(url).read().
    response = urlrequest.urlopen(url, timeout=timeout)
    try:
        response.read()
    finally:
        response.close()


def checked_get(url, timeout):
    try:
        get(url, timeout)
    except Exception as e:
        raise ProbeError("GET %s failed (%s: %s); is `gilbench serve` running at that URL? Start one with "
                         "`build/gilbench serve --latency 0.001` and pass the URL it prints"
                         % (url, type(e).__name__, e))


def steps_for(seconds, fn):
    """Countdown steps that take `seconds` in this thread: doubled until a run takes >= 50 ms,
    then the fastest of 3 runs at that size, scaled."""
    n = 10000
    while True:
        start = clock()
        fn(n)
        if clock() - start >= 0.05:
            break
        n *= 2
    best = min(_timed(fn, n) for _ in range(3))
    return max(2, int(n * seconds / best))


def _timed(fn, n):
    start = clock()
    fn(n)
    return clock() - start


def probed_alone(n):
    probed_countdown(n, 0, [0], [])


class Sizes(object):
    def __init__(self, quick):
        scale = 5 if quick else 1
        self.cpu_s = 0.1 if quick else 0.4
        self.probe_s = 0.3 if quick else 0.4
        self.gets_alone = 200 // scale
        self.gets = {"0.5ms": 200 // scale, "5ms": 50 // scale, "50ms": 20 // scale, "old": 50 // scale}
        self.cpu_steps = 0
        self.probe_steps = 0


# ---- cells: each returns what its figures need; the switch interval is set around it ----

def cell_cpu(steps, threads):
    return {"wall_s": run_threads([(countdown, (n,)) for n in split(steps, threads)])}


def cell_handover(steps, label):
    last = [None]
    takes = [[], []]
    wall = run_threads([(probed_countdown, (n, i, last, takes[i])) for i, n in enumerate(split(steps, 2))])
    times = handovers(takes)
    if len(times) < 2:
        raise ProbeError("the handover-si%s cell saw %d hand-over(s) in %.3f s; at least 2 are needed for a run "
                         "length: run without --quick (more steps)" % (label, len(times), wall))
    gaps = [b - a for a, b in zip(times, times[1:])]
    if times[-1] <= times[0]:
        raise ProbeError("the handover-si%s cell's hand-overs all fell on one clock reading; this clock is too "
                         "coarse for them" % label)
    # Per second from the first hand-over to the last, as gilbench's analysis counts them (the
    # cell's edges, one thread running alone, would weigh with its length).
    return {"wall_s": wall, "switches_per_s": (len(times) - 1) / (times[-1] - times[0]), "runlength_s": median(gaps)}


def cell_convoy(url, gets, cpu_threads, timeout):
    checked_get(url, timeout)   # untimed: the opener and the resolver are set up
    stop = [False]
    latencies = []

    def cpu():
        while not stop[0]:
            countdown(CONVOY_CHUNK)

    def io():
        try:
            for _ in range(gets):
                start = clock()
                try:
                    get(url, timeout)
                except Exception as e:
                    raise ProbeError("GET %s failed during a convoy cell (%s: %s); is `gilbench serve` still "
                                     "running? (--max-seconds may have stopped it)" % (url, type(e).__name__, e))
                latencies.append(clock() - start)
        finally:
            stop[0] = True

    run_threads([(cpu, ()) for _ in range(cpu_threads)] + [(io, ())])
    return {"mean_latency_s": mean(latencies)}


def cells(sizes, url, timeout):
    """(name, switch interval, thunk) of every cell of a round, in the round's order."""
    out = [("cpu-1t", DEFAULT_INTERVAL, lambda: cell_cpu(sizes.cpu_steps, 1)),
           ("convoy-alone", DEFAULT_INTERVAL, lambda: cell_convoy(url, sizes.gets_alone, 0, timeout))]
    if not NEW_GIL:
        return out + [("cpu-2t-old", None, lambda: cell_cpu(sizes.cpu_steps, 2)),
                      ("convoy-old", None, lambda: cell_convoy(url, sizes.gets["old"], 1, timeout))]
    for seconds, label in INTERVALS:
        out.append(("cpu-2t-si" + label, seconds, lambda: cell_cpu(sizes.cpu_steps, 2)))
        # At 50 ms, twice as long (~0.8 s): ~16 hand-overs, so that one more or less at the ends
        # moves the rate by ~6%, not by ~12%. (The job's cell is ~2 s; 5x here would add ~40 s per
        # interpreter and take scripts/fidelity past 10 minutes.)
        steps = sizes.probe_steps * (2 if label == "50ms" else 1)
        out.append(("handover-si" + label, seconds,
                    lambda label=label, steps=steps: cell_handover(steps, label)))
        out.append(("convoy-si" + label, seconds,
                    lambda label=label: cell_convoy(url, sizes.gets[label], 1, timeout)))
    return out


def figures_of(m):
    """The round's figures from its cells' measurements m[name]."""
    one = m["cpu-1t"]["wall_s"]
    alone = m["convoy-alone"]["mean_latency_s"]
    if not NEW_GIL:
        return {"cpu_2t_old": m["cpu-2t-old"]["wall_s"] / one,
                "convoy_old_ms": (m["convoy-old"]["mean_latency_s"] - alone) * 1e3}
    f = {}
    for seconds, label in INTERVALS:
        key = "cpu_2t" if label == "5ms" else "cpu_2t_si" + label
        f[key] = m["cpu-2t-si" + label]["wall_s"] / one
        f["switches_si" + label] = m["handover-si" + label]["switches_per_s"]
        f["runlength_si" + label] = m["handover-si" + label]["runlength_s"]
        f["convoy_si" + label] = (m["convoy-si" + label]["mean_latency_s"] - alone) / seconds
    return f


def gil_enabled():
    # A free-threaded build (3.13t) has no GIL to measure.
    return getattr(sys, "_is_gil_enabled", lambda: True)()


def warm_up():
    # CPython 3.11+ specializes a function's bytecode after its first calls (8 in 3.11); the
    # unspecialized countdown runs slower, so the cells must all time warm code.
    for _ in range(16):
        countdown(1000)
        probed_countdown(1000, 0, [0], [])
        probed_countdown(1000, 0, [1], [])


def measure(args):
    if not gil_enabled():
        raise ProbeError("this interpreter runs without a GIL (a free-threaded build); run the probe under "
                         "a build with the GIL")
    sizes = Sizes(args.quick)
    set_interval(DEFAULT_INTERVAL)
    checked_get(args.url, args.timeout)
    warm_up()
    sizes.cpu_steps = steps_for(sizes.cpu_s, countdown)
    if NEW_GIL:
        sizes.probe_steps = steps_for(sizes.probe_s, probed_alone)
    if NEW_GIL:
        detail = "probed countdown %d steps (%.2f s); GETs alone %d, beside a CPU thread %s" % (
            sizes.probe_steps, sizes.probe_s, sizes.gets_alone,
            ", ".join("%d at %s" % (sizes.gets[label], label) for _, label in INTERVALS))
    else:
        detail = "GETs alone %d, beside a CPU thread %d" % (sizes.gets_alone, sizes.gets["old"])
    progress("%s %s (%s GIL) at %s: countdown %d steps (%.2f s); %s" % (
        platform.python_implementation(), platform.python_version(), "new" if NEW_GIL else "old", sys.executable,
        sizes.cpu_steps, sizes.cpu_s, detail))
    order = cells(sizes, args.url, args.timeout)
    figures = {}
    for r in range(args.rounds):
        m = {}
        for name, interval, run in (order if r % 2 == 0 else order[::-1]):
            set_interval(interval if interval is not None else DEFAULT_INTERVAL)
            try:
                m[name] = run()
            finally:
                set_interval(DEFAULT_INTERVAL)
        values = figures_of(m)
        for key, value in values.items():
            if math.isinf(value) or math.isnan(value):
                raise ProbeError("round %d: figure %s is %r, not a finite number" % (r, key, value))
            figures.setdefault(key, []).append(value)
        progress("round %d/%d: %s" % (r + 1, args.rounds, ", ".join(
            "%s %.4g" % (k, values[k]) for k in sorted(values))))
    return figures


def reference(args, figures, argv):
    return {"format": FORMAT,
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
            "gil": "new" if NEW_GIL else "old",
            "rounds": args.rounds,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": " ".join(quote(a) for a in [sys.executable, sys.argv[0]] + argv),
            "figures": figures}


def write_json(path, obj):
    # Written whole, then renamed: a reader never sees half a file.
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")
    os.rename(tmp, path)


def pyenv_interpreters():
    """The pyenv interpreters this probe runs under (2.7 and 3.x, not free-threaded), oldest first."""
    root = os.environ.get("PYENV_ROOT") or os.path.join(os.path.expanduser("~"), ".pyenv")
    versions = os.path.join(root, "versions")
    found = []
    if os.path.isdir(versions):
        for name in os.listdir(versions):
            exe = os.path.join(versions, name, "bin", "python")
            if VERSION_DIR.match(name) and os.access(exe, os.X_OK):
                found.append((tuple(int(x) for x in name.split(".")), exe))
    return [exe for _, exe in sorted(found)]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--url", help="the delay server's URL, as `gilbench serve --latency 0.001` prints it (required)")
    p.add_argument("--rounds", type=int, default=10, help="rounds (default %(default)s)")
    p.add_argument("--out", help="the reference JSON file (default: reference-python<VERSION>.json here)")
    p.add_argument("--quick", action="store_true", help="smaller cells (a quick check, not a reference)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds a GET may take (default %(default)s)")
    p.add_argument("--list", action="store_true",
                   help="print the pyenv interpreters this probe runs under, one a line, and exit")
    args = p.parse_args(argv)
    if args.list:
        return args
    if not args.url:
        p.error("--url is required: start the delay server with `build/gilbench serve --latency 0.001` "
                "and pass the URL it prints")
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    if not args.timeout > 0:
        p.error("--timeout must be positive")
    return args


def main(argv):
    args = parse_args(argv)
    if args.list:
        for exe in pyenv_interpreters():
            print(exe)
        return 0
    out = args.out or "reference-python%s.json" % platform.python_version()
    try:
        figures = measure(args)
    except ProbeError as e:
        progress("error: %s" % e)
        return 1
    try:
        write_json(out, reference(args, figures, argv))
    except (IOError, OSError) as e:
        progress("error: cannot write %s: %s; pass a writable --out FILE" % (out, e))
        return 1
    progress("wrote %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
