"""What the cpython engine's worker threads run (src/engine/cpython/cpython_engine.cpp).

The build embeds this file's source text in gilbench (embed_python.cmake), and the embedded
interpreter runs it as the module gilbench_helpers, once per rank (and once in each pooled
subinterpreter); the tests import it as a plain module (tests/engine/cpython). Every helper
catches what it can and returns it as values, so the C++ side meets a Python exception only
where something is badly wrong.
"""
import importlib
import inspect
import sys
import time
import traceback
import urllib.request


# The seed's CPU-bound job, as the seed wrote it.
def countdown(n):
    while n > 0:
        n -= 1


# A traced cpu cell's countdown: the same loop, plus a probe of who holds the GIL. make_probe()
# is called once per trial; its threads share the `last` of that call, which holds the takes
# list of the thread that last ran an iteration (a thread's own list is its identity). A
# thread that finds someone else there has been handed the GIL since its previous iteration
# (or is at its first one): it writes itself in and notes the time on time.monotonic_ns
# (CLOCK_MONOTONIC, as get_many). Per iteration the probe adds one cell load and one identity
# compare (a closure's cell is cheaper than a shared list's item: about 1.5x the plain loop's
# time against 1.9x on 3.11; every trial's closure shares one code object, so warm_up's
# specialization holds). A take is rare (once per switch interval), so its bookkeeping costs
# little. The order matters: the interpreter may hand the GIL over only after a call (here:
# clock() and append()), so `last` is written before the clock is read; a hand-over right
# after clock() then still shows (the other thread finds `last` is not itself and takes, and
# this thread takes again when it is back). Returns the takes past `capacity` (counted, not kept).
def make_probe():
    last = None

    def countdown_probed(n, takes, capacity):
        nonlocal last
        clock = time.monotonic_ns
        append = takes.append
        kept = 0
        dropped = 0
        while n > 0:
            if last is not takes:
                last = takes
                t = clock()
                if kept < capacity:
                    append(t)
                    kept += 1
                else:
                    dropped += 1
            n -= 1
        return dropped

    return countdown_probed


# A mixed cell's CPU threads: count down in chunks until the rank's I/O threads are done.
# done() is gilbench's (C++): it reads the trial's flag, which needs no interpreter's objects,
# so the I/O threads can end it from any interpreter (parallel = "subinterpreters").
def cpu_until(done, chunk):
    ops = 0
    while not done():
        countdown(chunk)
        ops += chunk
    return ops


# CPython 3.11+ specializes a function's bytecode only after its first few calls (8 in 3.11),
# and the unspecialized countdown runs about 1.6x slower: without this, a rank's first trials
# would time colder code than its later ones (and than a plain script that ran it before).
# Called once per rank, before any trial, on gilbench's own helpers only.
def warm_up():
    for _ in range(16):
        countdown(1000)
        cpu_until(lambda: True, 1000)
        make_probe()(1000, [], 1)


# The seed's I/O-bound job: n GETs, each on a fresh connection (urllib sends Connection: close).
# Per request (start_ns, end_ns, ok) on time.monotonic_ns, which is CLOCK_MONOTONIC, the clock
# of C++'s steady_clock on Linux; and the first failure's message.
def get_many(url, n, timeout):
    requests = []
    first_error = ""
    for _ in range(n):
        start = time.monotonic_ns()
        ok = False
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                response.read()
                ok = response.status < 400
                if not ok and not first_error:
                    first_error = f"HTTP {response.status} from {url}"
        except Exception as e:
            if not first_error:
                first_error = f"{type(e).__name__}: {e}"
        requests.append((start, time.monotonic_ns(), ok))
    return requests, first_error


# function = "module:callable": (the callable, "") or (None, what is wrong and how to fix it).
def load(spec, paths):
    for p in reversed([p for p in paths.split(":") if p]):
        if p not in sys.path:
            sys.path.insert(0, p)
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except BaseException:
        return None, (f"function '{spec}': module '{module_name}' does not import (sys.path begins "
                      f"{sys.path[:4]}; add its directory to python_path, relative to the job file):\n"
                      + traceback.format_exc().rstrip())
    obj = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            where = getattr(module, "__file__", None) or module_name
            return None, (f"function '{spec}': module '{module_name}' ({where}) has no attribute '{attr}'; "
                          f"check the name after the ':'")
    if not callable(obj):
        return None, (f"function '{spec}': '{attr}' is a {type(obj).__name__}, not callable; name a function "
                      f"defined as def {attr.split('.')[-1]}(work, index, count)")
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return obj, ""  # a builtin without a signature: it is called as it is
    try:
        signature.bind(0, 0, 1)
    except TypeError as e:
        return None, (f"function '{spec}' cannot be called as {attr}(work, index, count): its signature is "
                      f"{attr}{signature} ({e}); give it three positional parameters")
    return obj, ""


# One worker's call of the user's function: (ops, traceback or "", one-line error or "").
def call(fn, work, index, count):
    try:
        result = fn(work, index, count)
    except BaseException as e:
        tb = "".join(traceback.format_exception(type(e), e, e.__traceback__.tb_next))
        return -1, tb.rstrip(), f"{type(e).__name__}: {e}"
    if result is None:
        return work, "", ""
    if isinstance(result, int) and not isinstance(result, bool) and 0 <= result < 2**63:
        return result, "", ""
    message = (f"returned {result!r:.60} ({type(result).__name__}); return the number of operations done "
               f"(an int >= 0) or None")
    return -1, message, message


def gil_enabled():
    return getattr(sys, "_is_gil_enabled", lambda: True)()
