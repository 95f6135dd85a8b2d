"""The emulated engine's calibration: urllib's own Python code between its system calls, as this
interpreter runs it here (CpythonEngine::measure_urllib_steps; docs/gil-fidelity.md, "Calibration").

The build embeds this file's source text in gilbench (embed_python.cmake) beside gilbench_helpers,
whose countdown it uses; bench/urllib_steps.py shares its socket wrappers. Every socket call urllib
makes for a GET (each releases the GIL in socketmodule.c) is wrapped to log when it starts and
ends; the Python code between two calls is the time from one's end to the next one's start, on
time.perf_counter_ns (a median drops the requests the OS preempted). The wrappers add about a
microsecond to each step. Warm costs: GETs back to back, alone. Cold costs: GETs beside one
CPU-bound thread (switch interval 5 ms), keeping only the code that follows a call which lost the
GIL to it (the call took over half an interval): what runs right after the GIL came back. A step
that rarely follows a lost call (fewer than 5 samples) gets its warm cost times the median
cold/warm ratio of the others. How cold the code runs grows with how long the other thread ran:
the same beside the CPU thread at 0.5 and 50 ms gives the share of the cold excess (cold - warm)
paid after those waits. Then the interpreter's speed (the old GIL's ticks are time): the
countdown, and urllib's code per bytecode instruction.
"""
import contextlib
import socket
import statistics
import sys
import threading
import time
import urllib.request

from gilbench_helpers import countdown

STEPS = ("resolve", "socket", "connect", "send", "recv", "close", "return")
INTERVAL = 0.005
COLD_WAITS = (0.0005, 0.05)  # the cold costs' scale is also measured at these switch intervals

# The socket calls urllib makes for a GET, each of which releases the GIL (Modules/socketmodule.c),
# as (owner, attribute, step): socket.create_connection's getaddrinfo, socket(), connect(), then
# http.client's sendall() and recv_into(), and the close.
SOCKET_CALLS = ((socket, "getaddrinfo", "resolve"),
                (socket.socket, "__init__", "socket"),
                (socket.socket, "connect", "connect"),
                (socket.socket, "sendall", "send"),
                (socket.socket, "recv_into", "recv"),
                (socket.socket, "_real_close", "close"))


def _logged(original, step, log, clock):
    def wrapper(*args, **kwargs):
        start = clock()
        try:
            return original(*args, **kwargs)
        finally:
            log.append((step, start, clock()))
    return wrapper


@contextlib.contextmanager
def socket_calls_logged(log, clock=time.perf_counter_ns):
    """Within the block each call of SOCKET_CALLS appends (step, start, end) on `clock` to `log`;
    socket's own functions are back when it ends, however it ends (cpython cells share the
    interpreter and must run them unwrapped)."""
    originals = []
    try:
        for owner, name, step in SOCKET_CALLS:
            original = getattr(owner, name)
            originals.append((owner, name, original))
            setattr(owner, name, _logged(original, step, log, clock))
        yield log
    finally:
        for owner, name, original in reversed(originals):
            setattr(owner, name, original)


def urllib_costs(url, n):
    """The 18 values of workloads::UrllibCosts in its order: 7 warm step costs, the same 7 cold (ns),
    the countdown per 1000 iterations and urllib's code per 1000 instructions (ns), then the cold
    excess's share after COLD_WAITS (per mille)."""
    clock = time.perf_counter_ns
    log = []

    def get():
        with urllib.request.urlopen(url, timeout=10) as response:
            response.read()
            if response.status >= 400:
                raise RuntimeError(f"HTTP {response.status} from {url}")

    # Per step: (Python time before it, duration of the call just before that code).
    def measure(requests):
        before = {step: [] for step in STEPS}
        previous_call = None
        for _ in range(requests):
            log.clear()
            start = clock()
            get()
            end = clock()
            previous_end = start
            for step, t0, t1 in log:
                before[step].append((t0 - previous_end, previous_call))
                previous_end, previous_call = t1, t1 - t0
            before["return"].append((end - previous_end, previous_call))
        return before

    def beside_at(interval, requests):
        stop = []

        def spin():
            while not stop:
                countdown(1 << 16)
        previous = sys.getswitchinterval()
        sys.setswitchinterval(interval)
        spinner = threading.Thread(target=spin, daemon=True)
        spinner.start()
        try:
            return measure(requests)
        finally:
            stop.append(True)
            spinner.join()
            sys.setswitchinterval(previous)

    with socket_calls_logged(log, clock):
        for _ in range(20):  # the opener built, the code specialized
            get()
        alone = measure(n)
        beside = beside_at(INTERVAL, max(20, n // 5))
        shorter = beside_at(COLD_WAITS[0], max(20, n // 3))
        longer = beside_at(COLD_WAITS[1], 15)
    missing = [step for step in STEPS if not alone[step]]
    if missing:
        raise RuntimeError(f"urllib made no {', '.join(missing)} call in {n} GETs of {url}")
    warm, cold, scales = step_costs(alone, beside, shorter, longer)
    return warm + cold + interpreter_speed(get, sum(warm)) + scales


# Per step, the Python time right after a call that lost the GIL (took over half an interval).
# A time of half the 5 ms interval or more is not the code's: it holds a wait (a lost release,
# the OS running something else), which made one calibration's cold cost 5 ms.
def cold_samples(beside, interval):
    return [[t for t, call in beside[step]
             if call is not None and call >= interval / 2 * 1e9 and t < INTERVAL / 2 * 1e9]
            for step in STEPS]


def step_costs(alone, beside, shorter, longer):
    """(warm, cold, scales) from measure()'s samples alone, beside the CPU thread at INTERVAL and
    at COLD_WAITS."""
    # At least 1 ns: a cost is a duration, and 0 would read as "not measured".
    warm = [max(1, int(statistics.median(t for t, _ in alone[step]))) for step in STEPS]
    samples = cold_samples(beside, INTERVAL)
    ratios = [statistics.median(c) / w for c, w in zip(samples, warm) if len(c) >= 5]
    factor = statistics.median(ratios) if ratios else 1.0
    cold = [max(1, int(statistics.median(c) if len(c) >= 5 else w * factor)) for c, w in zip(samples, warm)]

    # How much of the cold excess (cold - warm at INTERVAL) the code pays after a shorter and a
    # longer wait, per mille: the median over the steps with enough samples and a clear excess.
    # None such (a loaded machine, where the CPU thread rarely wins a release): all of it, as
    # after INTERVAL.
    def excess_scale(other, interval):
        scales = [(statistics.median(c) - w) / (k - w) for c, w, k in zip(cold_samples(other, interval), warm, cold)
                  if len(c) >= 3 and k > 1.5 * w]
        return max(1, int(1000 * statistics.median(scales))) if scales else 1000
    return warm, cold, [excess_scale(shorter, COLD_WAITS[0]), excess_scale(longer, COLD_WAITS[1])]


def interpreter_speed(get, warm_ns):
    # For the old GIL, whose ticks are time: the countdown per 1000 iterations (the best of 5),
    # and urllib's code per 1000 instructions: its warm time over the instructions one GET runs
    # (opcode trace events, the socket functions unwrapped).
    n = 200_000
    best = None
    for _ in range(5):
        start = time.perf_counter_ns()
        countdown(n)
        took = time.perf_counter_ns() - start
        best = took if best is None else min(best, took)
    instructions = 0

    def trace(frame, event, arg):
        nonlocal instructions
        frame.f_trace_opcodes = True
        if event == "opcode":
            instructions += 1
        return trace
    # Two traced GETs, counting the second: 3.12 gives a code object's opcode events only from
    # its next call on (3.11 and 3.13 from the first).
    for _ in range(2):
        instructions = 0
        sys.settrace(trace)
        try:
            get()
        finally:
            sys.settrace(None)
    if instructions == 0:
        raise RuntimeError("tracing a GET saw no bytecode instruction")
    return [max(1, best * 1000 // n), max(1, warm_ns * 1000 // instructions)]
