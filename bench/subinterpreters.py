#!/usr/bin/env python3
"""What a subinterpreter costs in the CPython that runs this file (3.12 or later): starting one,
ending one, and one call into it. gilbench's `parallel = "subinterpreters"` starts each thread's
interpreter before a trial's clock and ends it after (docs/job-file.md), so these costs are not
in its cell timings; this says what they would add to a job that starts interpreters per task.

    ~/.pyenv/versions/3.12.1/bin/python3 bench/subinterpreters.py
    for py in $(/usr/bin/python3 bench/cpython_probe.py --list); do "$py" bench/subinterpreters.py; done

Standard library only. It uses the low-level module behind PEP 734's `concurrent.interpreters`
(3.14): `_interpreters` (3.13) or `_xxsubinterpreters` (3.12), whose create() makes an isolated
interpreter (its own GIL and allocator) by default. Per figure: the median and the 10th-90th
percentile range over --samples runs, after 3 unmeasured ones. Figures (microseconds):

  start          create(): a new interpreter with its own GIL, its builtins and sys imported
  start+import   create() and, in it, `import urllib.request` (3.13 and later): what a worker that GETs needs
                 before its first request (gilbench's helpers import it)
  end            destroy() of an interpreter that ran nothing
  call           run_string("x = 1") in a running interpreter: switching into it and back
Exits 2 (and says so) under a Python below 3.12.
"""
import argparse
import os
import platform
import sys
import time


def interpreters_module():
    for name in ("_interpreters", "_xxsubinterpreters"):
        try:
            return __import__(name)
        except ImportError:
            pass
    return None


def percentile(sorted_values, q):
    i = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[i]


def timed(fn, samples):
    """fn() returns one duration in ns; the median and the p10-p90 range in us over samples."""
    for _ in range(3):
        fn()
    values = sorted(fn() for _ in range(samples))
    return (percentile(values, 0.5) / 1e3, percentile(values, 0.1) / 1e3, percentile(values, 0.9) / 1e3)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--samples", type=int, default=50, help="measured runs per figure (default %(default)s)")
    args = p.parse_args(argv)
    if args.samples < 1:
        p.error("--samples must be at least 1")
    interp = interpreters_module()
    if sys.version_info < (3, 12) or interp is None:
        sys.stderr.write("error: Python %s has no interpreters with their own GIL (PEP 684 needs 3.12 or "
                         "later); run this file with a newer python3, e.g. ~/.pyenv/versions/3.12.1/bin/python3\n"
                         % platform.python_version())
        return 2
    clock = time.perf_counter_ns

    def start():
        t = clock()
        i = interp.create()
        d = clock() - t
        interp.destroy(i)
        return d

    def start_import():
        t = clock()
        i = interp.create()
        interp.run_string(i, "import urllib.request")
        d = clock() - t
        interp.destroy(i)
        return d

    def end():
        i = interp.create()
        t = clock()
        interp.destroy(i)
        return clock() - t

    running = interp.create()

    def call():
        t = clock()
        interp.run_string(running, "x = 1")
        return clock() - t

    figures = [("start", timed(start, args.samples))]
    if sys.version_info >= (3, 13):
        figures.append(("start+import", timed(start_import, args.samples)))
    else:
        # 3.12.1: a second interpreter importing datetime (urllib does) after a first one that
        # did was destroyed aborts the process ("double free or corruption"); gilbench keeps its
        # interpreters for this reason (src/engine/cpython/cpython_engine.cpp).
        print("start+import: not measured under %s (CPython 3.12 aborts on it; see the source)"
              % platform.python_version())
    figures += [("end", timed(end, args.samples)), ("call", timed(call, args.samples))]
    interp.destroy(running)
    print("Python %s (%s), %d samples each: median [p10, p90] in microseconds"
          % (platform.python_version(), interp.__name__, args.samples))
    for name, (med, lo, hi) in figures:
        print("  %-13s %9.1f  [%.1f, %.1f]" % (name, med, lo, hi))
    return 0


if __name__ == "__main__":
    status = main()
    # pyenv's 3.12.1 can abort in its own finalization once subinterpreters have come and gone
    # (the bug above); the figures are out by then, so leave without finalizing.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
