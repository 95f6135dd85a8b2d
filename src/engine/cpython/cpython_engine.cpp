#include "engine/cpython/cpython_engine.hpp"

// Python.h first, as the C API asks (it may set feature macros the standard headers read).
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

namespace gilbench::engine {
namespace {

// What the worker threads run, compiled by the embedded interpreter once per rank. Every
// helper catches what it can and returns it as values, so the C++ side meets a Python
// exception only where something is badly wrong.
constexpr const char* helper_source = R"PY(
import importlib, inspect, sys, time, traceback, urllib.request

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
)PY";

// The calibration (CpythonEngine::measure_urllib_steps): the method of bench/urllib_steps.py.
// Every socket call urllib makes for a GET (each releases the GIL in socketmodule.c) is wrapped
// to log when it starts and ends; the Python code between two calls is the time from one's end
// to the next one's start, on time.perf_counter_ns (a median drops the requests the OS
// preempted). The wrappers add about a microsecond to each step. Warm costs: GETs back to
// back, alone. Cold costs: GETs beside one CPU-bound thread (switch interval 5 ms), keeping only
// the code that follows a call which lost the GIL to it (the call took over half an interval):
// what runs right after the GIL came back. A step that rarely follows a lost call (fewer than 5
// samples) gets its warm cost times the median cold/warm ratio of the others. How cold the code
// runs grows with how long the other thread ran: the same beside the CPU thread at 0.5 and 50 ms
// gives the share of the cold excess (cold - warm) paid after those waits. Then the
// interpreter's speed (the old GIL's ticks are time): the countdown, and urllib's code per
// bytecode instruction.
constexpr const char* calibration_source = R"PY(
import socket, statistics, sys, threading, time, urllib.request

STEPS = ("resolve", "socket", "connect", "send", "recv", "close", "return")
INTERVAL = 0.005
COLD_WAITS = (0.0005, 0.05)  # the cold costs' scale is also measured at these switch intervals

def urllib_costs(url, n):
    clock = time.perf_counter_ns
    log = []
    originals = []

    def wrap(owner, name, step):
        original = getattr(owner, name)
        originals.append((owner, name, original))

        def wrapper(*args, **kwargs):
            start = clock()
            try:
                return original(*args, **kwargs)
            finally:
                log.append((step, start, clock()))
        setattr(owner, name, wrapper)

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

    def countdown(n):
        while n > 0:
            n -= 1

    wrap(socket, "getaddrinfo", "resolve")
    wrap(socket.socket, "__init__", "socket")
    wrap(socket.socket, "connect", "connect")
    wrap(socket.socket, "sendall", "send")
    wrap(socket.socket, "recv_into", "recv")
    wrap(socket.socket, "_real_close", "close")
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

    # Per step, the Python time right after a call that lost the GIL (took over half an interval).
    # A time of half the 5 ms interval or more is not the code's: it holds a wait (a lost release,
    # the OS running something else), which made one calibration's cold cost 5 ms.
    def cold_samples(beside, interval):
        return [[t for t, call in beside[step]
                 if call is not None and call >= interval / 2 * 1e9 and t < INTERVAL / 2 * 1e9]
                for step in STEPS]

    try:
        for _ in range(20):  # the opener built, the code specialized
            get()
        alone = measure(n)
        beside = beside_at(INTERVAL, max(20, n // 5))
        shorter = beside_at(COLD_WAITS[0], max(20, n // 3))
        longer = beside_at(COLD_WAITS[1], 15)
    finally:
        for owner, name, original in reversed(originals):
            setattr(owner, name, original)
    missing = [step for step in STEPS if not alone[step]]
    if missing:
        raise RuntimeError(f"urllib made no {', '.join(missing)} call in {n} GETs of {url}")
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
    scales = [excess_scale(shorter, COLD_WAITS[0]), excess_scale(longer, COLD_WAITS[1])]
    return warm + cold + interpreter_speed(get, sum(warm)) + scales


def interpreter_speed(get, warm_ns):
    # For the old GIL, whose ticks are time: the countdown per 1000 iterations (the best of 5),
    # and urllib's code per 1000 instructions: its warm time over the instructions one GET runs
    # (opcode trace events, the socket functions unwrapped).
    def countdown(n):
        while n > 0:
            n -= 1
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
)PY";

// An owned reference (Py_XDECREF on destruction); only touched with the GIL held.
class Ref {
public:
    Ref() = default;
    explicit Ref(PyObject* p) : p_(p) {}  // steals a new reference
    Ref(const Ref&) = delete;
    Ref& operator=(const Ref&) = delete;
    Ref(Ref&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
    Ref& operator=(Ref&& o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }
    ~Ref() { Py_XDECREF(p_); }
    PyObject* get() const { return p_; }
    explicit operator bool() const { return p_ != nullptr; }

private:
    PyObject* p_ = nullptr;
};

// The GIL, taken by the calling thread for the scope (its own thread state, created if need be).
class WithGil {
public:
    WithGil() : state_(PyGILState_Ensure()) {}
    ~WithGil() { PyGILState_Release(state_); }
    WithGil(const WithGil&) = delete;
    WithGil& operator=(const WithGil&) = delete;

private:
    PyGILState_STATE state_;
};

// The pending Python exception as one line (and cleared): for what should never fail.
std::string python_error() {
    PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    Ref t(type), v(value), b(tb);
    if (!v) return "unknown Python error";
    Ref text(PyObject_Str(v.get()));
    const char* s = text ? PyUnicode_AsUTF8(text.get()) : nullptr;
    if (!s) {
        PyErr_Clear();
        return "a Python error that cannot be shown";
    }
    return fmt::format("{}: {}", reinterpret_cast<PyTypeObject*>(t.get())->tp_name, s);
}

// Throws with the pending Python error when `p` is null; returns it owned otherwise.
Ref check(PyObject* p, std::string_view what) {
    if (!p) throw std::runtime_error(fmt::format("embedded Python: {}: {}", what, python_error()));
    return Ref(p);
}

std::string utf8(PyObject* s) {
    const char* c = PyUnicode_AsUTF8(s);
    if (!c) {
        PyErr_Clear();
        return "?";
    }
    return c;
}

// One interpreter per process, started by the first cpython engine's prepare_rank and never
// finalized (a Python restarted in one process is not reliable with extension modules).
struct Interpreter {
    std::mutex mutex;
    bool started = false;
};
Interpreter& interpreter() {
    static Interpreter in;
    return in;
}

void start_interpreter() {
    Interpreter& in = interpreter();
    std::lock_guard lock(in.mutex);
    if (in.started) return;
    if (!Py_IsInitialized()) {
        PyConfig config;
        PyConfig_InitPythonConfig(&config);
        // gilbench's own handlers (SIGTERM, SIGINT, SIGUSR1: runner/interrupt.hpp) stay; Python's
        // SIGINT -> KeyboardInterrupt would land in a worker's code instead.
        config.install_signal_handlers = 0;
        config.parse_argv = 0;
        const PyStatus status = Py_InitializeFromConfig(&config);
        PyConfig_Clear(&config);
        if (PyStatus_Exception(status))
            throw std::runtime_error(fmt::format(
                "cannot start the embedded Python {}: {}{}; check that its standard library is installed (gilbench "
                "was built against it: cmake -DGILBENCH_PYTHON=... picks another)",
                PY_VERSION, status.func ? std::string(status.func) + ": " : std::string(),
                status.err_msg ? status.err_msg : "unknown error"));
        // Worker threads take the GIL from here on; the main thread takes it back only for
        // short set-up calls (PyGILState_Ensure).
        PyEval_SaveThread();
    }
    in.started = true;
}

}  // namespace

// parallel = "subinterpreters": thread t of every such cell of the rank runs in interpreter t of
// the rank's pool, started by the first cell that needs it and kept, as a pool of interpreters
// keeps its workers (and as the main interpreter is kept). Ending and restarting interpreters per
// trial would also hit a CPython 3.12.1 bug: a second interpreter that imports datetime (urllib
// does) after a first one ended aborts the process. `helpers` is gilbench's helper module in
// that interpreter (its own objects: no object crosses interpreters).
struct PooledInterpreter {
    PyInterpreterState* interp = nullptr;
    PyObject* helpers = nullptr;  // lives as long as the interpreter
};

struct CpythonEngine::State {
    Ref helpers;  // the helper module
    Ref countdown, make_probe, cpu_until, get_many, call, load, gil_enabled;
    std::map<std::string, Ref> functions;  // "module:callable" -> the callable
    std::atomic<bool> traceback_printed{false};
    int rank = 0;
    std::mutex pool_mutex;
    std::vector<PooledInterpreter> pool;
};

namespace {

// gilbench runs subinterpreters where the embedded CPython has a GIL per interpreter (PEP 684).
#define GILBENCH_SUBINTERPRETERS (PY_VERSION_HEX >= 0x030C0000)

// done(): a mixed trial's flag, read from Python by cpu_until. `self` is a capsule holding the
// flag, so every interpreter can have a done() of its own for the one flag.
PyObject* read_flag(PyObject* self, PyObject* /*unused*/) {
    const auto* flag = static_cast<const std::atomic<bool>*>(PyCapsule_GetPointer(self, "gilbench.flag"));
    if (!flag) return nullptr;
    return PyBool_FromLong(flag->load(std::memory_order_acquire) ? 1 : 0);
}
PyMethodDef read_flag_def = {"done", read_flag, METH_NOARGS, "whether the trial's I/O threads are done"};

// What a worker calls, all objects of one interpreter (only touched holding its GIL).
struct Callables {
    Ref countdown, cpu_until, get_many, call, function, url, done;
};

// The callables of a cell, from a helper module of the current interpreter: the user's
// function imported there (cached by sys.modules after the first time), the URL, done().
Callables callables_in(PyObject* helpers, const model::Cell& cell, const std::string& url,
                       std::atomic<bool>& io_done) {
    auto attr = [&](const char* name) { return check(PyObject_GetAttrString(helpers, name), name); };
    Callables c;
    c.countdown = attr("countdown");
    c.cpu_until = attr("cpu_until");
    c.get_many = attr("get_many");
    c.call = attr("call");
    if (cell.workload == model::Workload::python) {
        Ref out = check(PyObject_CallFunction(attr("load").get(), "ss", cell.function.c_str(), cell.python_path.c_str()),
                        "loading the function");
        PyObject* fn = PyTuple_GetItem(out.get(), 0);
        if (fn == Py_None)
            throw std::runtime_error(fmt::format("cell '{}': {}", cell.name, utf8(PyTuple_GetItem(out.get(), 1))));
        Py_INCREF(fn);
        c.function = Ref(fn);
    }
    if (cell.workload == model::Workload::io || cell.workload == model::Workload::mixed)
        c.url = check(PyUnicode_FromString(url.c_str()), "the URL");
    if (cell.workload == model::Workload::mixed) {
        Ref capsule = check(PyCapsule_New(&io_done, "gilbench.flag", nullptr), "the trial's flag");
        c.done = check(PyCFunction_New(&read_flag_def, capsule.get()), "done()");
    }
    return c;
}

// What prepare_thread made for one worker thread, kept on that OS thread (thread_local below):
// a Python thread state belongs to the thread that made it. end() deletes it on that thread,
// holding no GIL.
struct ThreadPython {
    PyThreadState* main = nullptr;  // parallel = "threads": its thread state in the main interpreter
    PyThreadState* sub = nullptr;   // "subinterpreters": its thread state in its pooled interpreter
    Callables callables;            // "subinterpreters": that interpreter's callables

    ThreadPython() = default;
    ThreadPython(const ThreadPython&) = delete;
    ThreadPython& operator=(const ThreadPython&) = delete;
    ~ThreadPython() { end(); }

    void end() {
        for (PyThreadState** ts : {&sub, &main}) {
            if (!*ts) continue;
            PyEval_RestoreThread(*ts);
            callables = Callables();  // (only set with sub, whose GIL this is)
            PyThreadState_Clear(*ts);
            PyThreadState_DeleteCurrent();  // releases the GIL
            *ts = nullptr;
        }
    }
};
// Made by prepare_thread, taken by run(). One that run() never took (another thread's set-up
// failed, so no thread ran) ends with its OS thread, or at the next prepare_thread there.
thread_local std::optional<ThreadPython> prepared;

#if GILBENCH_SUBINTERPRETERS
// Starts an interpreter with its own GIL and readies gilbench's helpers in it (compiled and
// warmed up there), from a thread holding no GIL. Each trial's threads make thread states of
// their own in it (PyThreadState_New), as a thread state belongs to the OS thread that made it.
PooledInterpreter start_subinterpreter(const model::Cell& cell) {
    PyThreadState* main = PyThreadState_New(PyInterpreterState_Main());
    if (!main) throw std::runtime_error("embedded Python: cannot create a thread state");
    PyEval_RestoreThread(main);
    auto end_main = [&] {  // from holding no GIL
        PyEval_RestoreThread(main);
        PyThreadState_Clear(main);
        PyThreadState_DeleteCurrent();
    };
    // As an isolated interpreter of concurrent.interpreters: its own GIL and allocator, threads
    // allowed, no fork or exec, extension modules only where they support several interpreters.
    PyInterpreterConfig config = {};
    config.use_main_obmalloc = 0;
    config.allow_fork = 0;
    config.allow_exec = 0;
    config.allow_threads = 1;
    config.allow_daemon_threads = 0;
    config.check_multi_interp_extensions = 1;
    config.gil = PyInterpreterConfig_OWN_GIL;
    PyThreadState* sub = nullptr;
    const PyStatus status = Py_NewInterpreterFromConfig(&sub, &config);
    if (PyStatus_Exception(status)) {  // the main thread state is current again
        PyEval_SaveThread();
        end_main();
        throw std::runtime_error(fmt::format("cell '{}': cannot start a subinterpreter in the embedded Python {}: {}",
                                             cell.name, PY_VERSION, status.err_msg ? status.err_msg : "unknown error"));
    }
    // Now `sub` is current, holding the new interpreter's GIL; the main GIL is released.
    PooledInterpreter out{PyThreadState_GetInterpreter(sub), nullptr};
    std::string problem;
    try {
        Ref code = check(Py_CompileString(helper_source, "<gilbench>", Py_file_input), "compiling gilbench's helpers");
        Ref helpers = check(PyImport_ExecCodeModule("_gilbench", code.get()), "gilbench's helpers in a subinterpreter");
        check(PyObject_CallMethod(helpers.get(), "warm_up", nullptr), "warming up gilbench's helpers");
        out.helpers = helpers.get();
        Py_INCREF(out.helpers);
    } catch (const std::exception& e) {
        problem = e.what();
    }
    if (!problem.empty()) {
        Py_EndInterpreter(sub);  // leaves no thread state current
        end_main();
        throw std::runtime_error(fmt::format("cell '{}': {}", cell.name, problem));
    }
    // Its first thread state stays, detached and unused: an interpreter left with none would
    // have the next PyThreadState_New re-initialize the one built into it, which 3.12.1 refuses
    // ("init_threadstate: thread state already initialized").
    PyEval_SaveThread();
    end_main();
    return out;
}
#endif

class CpythonTrial final : public TrialWorkers {
public:
    CpythonTrial(CpythonEngine::State& engine, const model::Cell& cell, const TrialContext& ctx)
        : engine_(engine), cell_(cell), rank_(ctx.rank), trial_(ctx.trial), trace_capacity_(ctx.trace_capacity),
          first_worker_((ctx.member < 0 ? ctx.rank : ctx.member) * cell.threads),
          reports_(static_cast<std::size_t>(cell.threads)), url_(ctx.io_url) {
        if (cell.workload == model::Workload::mixed) io_running_ = cell.io_threads;
        WithGil gil;
        Ref sys = check(PyImport_ImportModule("sys"), "import sys");
        check(PyObject_CallMethod(sys.get(), "setswitchinterval", "d", cell.switch_interval_s),
              "sys.setswitchinterval");
        if (subinterpreters()) return;  // each thread readies its own interpreter's callables
        shared_ = callables_in(engine.helpers.get(), cell, url_, io_done_);
        if (probed()) {
            probe_ = check(PyObject_CallNoArgs(engine.make_probe.get()), "make_probe()");
            for (int t = 0; t < cell.threads; ++t) takes_.push_back(check(PyList_New(0), "a thread's takes"));
        }
    }

    ~CpythonTrial() override {
        WithGil gil;
        shared_ = Callables();
        probe_ = Ref();
        takes_.clear();
    }

    void start(clock::time_point t0) override { t0_ = t0; }

    // A Python thread state for this OS thread (as CPython's threading makes one for a new
    // thread), and with parallel = "subinterpreters" an interpreter of its own, all untimed; run()
    // ends them when the thread's work ends, as a thread's end does.
    void prepare_thread([[maybe_unused]] int thread) override {
        prepared.reset();  // a set-up this OS thread made for a trial that never ran
        ThreadPython& tp = prepared.emplace();
        if (!subinterpreters()) {
            tp.main = PyThreadState_New(PyInterpreterState_Main());
            if (!tp.main) throw std::runtime_error("embedded Python: cannot create a thread state");
            return;
        }
#if GILBENCH_SUBINTERPRETERS
        const PooledInterpreter in = pooled_interpreter(thread);
        tp.sub = PyThreadState_New(in.interp);
        if (!tp.sub) throw std::runtime_error("embedded Python: cannot create a subinterpreter's thread state");
        PyEval_RestoreThread(tp.sub);
        try {
            tp.callables = callables_in(in.helpers, cell_, url_, io_done_);
        } catch (...) {
            PyEval_SaveThread();
            throw;  // `prepared` deletes the thread state
        }
        PyEval_SaveThread();
#endif
    }

    void run(int thread, std::int64_t work) override {
        const auto i = static_cast<std::size_t>(thread);
        WorkerReport& r = reports_[i];
        std::string traceback;
        if (!prepared) throw std::logic_error("the cpython engine's prepare_thread must run before run()");
        ThreadPython& tp = *prepared;
        // A new Python thread first waits for the GIL: its interpreter's.
        PyEval_RestoreThread(tp.sub ? tp.sub : tp.main);
        try {
            run_holding_gil(tp.sub ? tp.callables : shared_, thread, work, r, traceback);
        } catch (const std::exception& e) {
            r.io_errors += 1;
            if (r.first_error.empty()) r.first_error = e.what();
        }
        PyEval_SaveThread();
        if (cell_.is_io_thread(thread) && cell_.workload == model::Workload::mixed && --io_running_ == 0)
            io_done_.store(true, std::memory_order_release);
        prepared.reset();  // the thread state ends, as a Python thread's does
        if (!traceback.empty() && !engine_.traceback_printed.exchange(true))
            std::fprintf(stderr,
                         "gilbench: rank %d: cell '%s' trial %d: function '%s' failed (shown once; every trial it "
                         "fails in is flagged, trials.io_errors):\n%s\n",
                         rank_, cell_.name.c_str(), trial_, cell_.function.c_str(), traceback.c_str());
    }

    // A probed thread's takes become its trace here, after every run (untimed, off the worker).
    WorkerReport report(int thread) override {
        WorkerReport& r = reports_[static_cast<std::size_t>(thread)];
        if (probed()) {
            WithGil gil;
            PyObject* takes = takes_[static_cast<std::size_t>(thread)].get();
            const Py_ssize_t n = PyList_Size(takes);
            const auto zero = std::chrono::duration_cast<std::chrono::nanoseconds>(t0_.time_since_epoch()).count();
            r.trace.reserve(static_cast<std::size_t>(n));
            for (Py_ssize_t k = 0; k < n; ++k) {
                const long long ns = PyLong_AsLongLong(PyList_GetItem(takes, k));
                r.trace.push_back({static_cast<double>(ns - zero) * 1e-9, "take"});
            }
        }
        return std::move(r);
    }

private:
    // A traced cpu cell runs countdown_probed, which notes when each thread was handed the GIL.
    bool probed() const { return cell_.workload == model::Workload::cpu && cell_.trace; }

    bool subinterpreters() const { return cell_.parallel == model::Parallel::subinterpreters; }

#if GILBENCH_SUBINTERPRETERS
    // Interpreter `thread` of the rank's pool, started now if this is its first cell.
    PooledInterpreter pooled_interpreter(int thread) {
        std::lock_guard lock(engine_.pool_mutex);
        auto& pool = engine_.pool;
        const auto t = static_cast<std::size_t>(thread);
        if (pool.size() <= t) pool.resize(t + 1);
        if (!pool[t].interp) pool[t] = start_subinterpreter(cell_);
        return pool[t];
    }
#endif

    void run_holding_gil(const Callables& py, int thread, std::int64_t work, WorkerReport& r, std::string& traceback) {
        switch (cell_.workload) {
            case model::Workload::cpu: {
                if (probed()) {
                    // The probe keeps at most the trace capacity; the rest it counts.
                    const auto capacity = static_cast<Py_ssize_t>(
                        std::min<std::size_t>(trace_capacity_, static_cast<std::size_t>(PY_SSIZE_T_MAX)));
                    Ref dropped = check(PyObject_CallFunction(probe_.get(), "LOn", static_cast<long long>(work),
                                                              takes_[static_cast<std::size_t>(thread)].get(), capacity),
                                        "countdown_probed");
                    r.trace_dropped = PyLong_AsLongLong(dropped.get());
                } else {
                    check(PyObject_CallFunction(py.countdown.get(), "L", static_cast<long long>(work)), "countdown");
                }
                r.ops = work;
                return;
            }
            case model::Workload::python: {
                Ref out = check(PyObject_CallFunction(py.call.get(), "OLii", py.function.get(), static_cast<long long>(work),
                                                      first_worker_ + thread, cell_.workers()),
                                "calling the function");
                const long long ops = PyLong_AsLongLong(PyTuple_GetItem(out.get(), 0));
                if (ops < 0) {
                    r.io_errors = 1;
                    traceback = utf8(PyTuple_GetItem(out.get(), 1));
                    r.error_detail = traceback;
                    r.first_error = fmt::format("function '{}': {} (rank {})", cell_.function,
                                                utf8(PyTuple_GetItem(out.get(), 2)), rank_);
                } else {
                    r.ops = ops;
                }
                return;
            }
            case model::Workload::io:
            case model::Workload::mixed:
                if (!cell_.is_io_thread(thread)) {
                    Ref ops = check(PyObject_CallFunction(py.cpu_until.get(), "Oi", py.done.get(), 1 << 16),
                                    "cpu_until");
                    r.ops = PyLong_AsLongLong(ops.get());
                    return;
                }
                get(py, work, r);
                return;
        }
    }

    void get(const Callables& py, std::int64_t n, WorkerReport& r) {
        Ref out = check(PyObject_CallFunction(py.get_many.get(), "OLd", py.url.get(), static_cast<long long>(n),
                                              cell_.io_timeout_s),
                        "get_many");
        PyObject* list = PyTuple_GetItem(out.get(), 0);
        const Py_ssize_t count = PyList_Size(list);
        r.requests.reserve(static_cast<std::size_t>(count));
        for (Py_ssize_t k = 0; k < count; ++k) {
            PyObject* item = PyList_GetItem(list, k);
            const auto at = [&](Py_ssize_t j) {
                return clock::time_point(std::chrono::duration_cast<clock::duration>(
                    std::chrono::nanoseconds(PyLong_AsLongLong(PyTuple_GetItem(item, j)))));
            };
            const bool ok = PyObject_IsTrue(PyTuple_GetItem(item, 2)) == 1;
            r.requests.push_back({at(0), at(1), ok});
            ++r.io_requests;
            if (ok) ++r.ops;
            else ++r.io_errors;
        }
        if (r.io_errors > 0) r.first_error = utf8(PyTuple_GetItem(out.get(), 1));
    }

    CpythonEngine::State& engine_;
    const model::Cell& cell_;
    int rank_, trial_;
    std::size_t trace_capacity_;  // takes kept per thread (a traced cpu cell)
    int first_worker_;  // this rank's first worker index among the cell's workers
    std::vector<WorkerReport> reports_;
    std::string url_;
    Callables shared_;  // parallel = "threads": the main interpreter's, for every thread
    std::atomic<bool> io_done_{false};  // a mixed trial: its I/O threads are done
    std::atomic<int> io_running_{0};  // a mixed trial: its I/O threads still running
    // A traced cpu trial (probed()): its probed countdown (one per trial: the threads share its
    // last runner) and each thread's take times (ns).
    Ref probe_;
    std::vector<Ref> takes_;
    clock::time_point t0_{};
};

}  // namespace

CpythonEngine::CpythonEngine() : state_(std::make_unique<State>()) {}

CpythonEngine::~CpythonEngine() {
    if (!state_->helpers) return;  // never prepared: the interpreter may not even run
    WithGil gil;
    // What the user's function printed is in Python's buffers; the interpreter is never
    // finalized, so flush them now.
    for (const char* name : {"stdout", "stderr"})
        if (PyObject* f = PySys_GetObject(name); f && f != Py_None) {
            Ref done(PyObject_CallMethod(f, "flush", nullptr));
            if (!done) PyErr_Clear();
        }
    state_->functions.clear();
    state_->helpers = Ref();
    state_->countdown = Ref();
    state_->make_probe = Ref();
    state_->cpu_until = Ref();
    state_->get_many = Ref();
    state_->call = Ref();
    state_->load = Ref();
    state_->gil_enabled = Ref();
}

std::string CpythonEngine::library_version() { return Py_GetVersion(); }

std::vector<std::int64_t> CpythonEngine::measure_urllib_steps(const std::string& url, int requests) {
    start_interpreter();
    WithGil gil;
    // A module of its own, made once: the engine's helpers stay as they are.
    static PyObject* measure = nullptr;  // the function; lives as long as the interpreter
    if (!measure) {
        Ref code = check(Py_CompileString(calibration_source, "<gilbench-calibration>", Py_file_input),
                         "compiling gilbench's calibration");
        Ref module = check(PyImport_ExecCodeModule("_gilbench_calibration", code.get()), "gilbench's calibration");
        Ref fn = check(PyObject_GetAttrString(module.get(), "urllib_costs"), "urllib_costs");
        measure = fn.get();
        Py_INCREF(measure);
    }
    Ref out = check(PyObject_CallFunction(measure, "si", url.c_str(), requests), "measuring urllib's steps");
    std::vector<std::int64_t> ns;
    for (Py_ssize_t i = 0; i < PyList_Size(out.get()); ++i) ns.push_back(PyLong_AsLongLong(PyList_GetItem(out.get(), i)));
    return ns;
}

void CpythonEngine::prepare_rank(const RankContext& rank) {
    start_interpreter();
    WithGil gil;
    State& s = *state_;
    s.rank = rank.rank;
    if (!s.helpers) {
        Ref code = check(Py_CompileString(helper_source, "<gilbench>", Py_file_input), "compiling gilbench's helpers");
        s.helpers = check(PyImport_ExecCodeModule("_gilbench", code.get()), "gilbench's helpers");
        auto attr = [&](const char* name) { return check(PyObject_GetAttrString(s.helpers.get(), name), name); };
        s.countdown = attr("countdown");
        s.make_probe = attr("make_probe");
        s.cpu_until = attr("cpu_until");
        s.get_many = attr("get_many");
        s.call = attr("call");
        s.load = attr("load");
        s.gil_enabled = attr("gil_enabled");
        check(PyObject_CallNoArgs(attr("warm_up").get()), "warming up gilbench's helpers");
    }
    const bool has_gil = PyObject_IsTrue(check(PyObject_CallNoArgs(s.gil_enabled.get()), "gil_enabled").get()) == 1;
    for (const model::Cell& c : rank.cells) {
        if (c.gil == model::GilPolicy::none && has_gil)
            throw std::runtime_error(fmt::format(
                "cell '{}': gil = \"none\" needs a free-threaded CPython, and the embedded Python {} runs with its "
                "GIL; use gil = \"new\", or build gilbench with -DGILBENCH_PYTHON=<a free-threaded python3.13t>",
                c.name, PY_VERSION));
        if (c.gil != model::GilPolicy::none && !has_gil)
            throw std::runtime_error(fmt::format(
                "cell '{}': gil = \"{}\" needs a GIL, and the embedded free-threaded Python {} runs without one; use "
                "gil = \"none\" (or start it with PYTHON_GIL=1)",
                c.name, model::to_string(c.gil), PY_VERSION));
        if (c.parallel == model::Parallel::subinterpreters && !GILBENCH_SUBINTERPRETERS)
            throw std::runtime_error(fmt::format(
                "cell '{}': parallel = \"subinterpreters\" needs CPython 3.12 or later (a GIL per interpreter, PEP 684), "
                "and the embedded Python is {}; build gilbench against a newer shared-library python3, e.g. cmake "
                "-DGILBENCH_PYTHON=$(pyenv prefix 3.12.1)/bin/python3, or use engine = \"emulated\"",
                c.name, PY_VERSION));
        if (c.workload != model::Workload::python || s.functions.count(c.function)) continue;
        Ref out = check(PyObject_CallFunction(s.load.get(), "ss", c.function.c_str(), c.python_path.c_str()),
                        "loading the function");
        PyObject* fn = PyTuple_GetItem(out.get(), 0);
        if (fn == Py_None) throw std::runtime_error(fmt::format("cell '{}': {}", c.name, utf8(PyTuple_GetItem(out.get(), 1))));
        Py_INCREF(fn);
        s.functions.emplace(c.function, Ref(fn));
    }
}

std::unique_ptr<TrialWorkers> CpythonEngine::make_trial(const model::Cell& cell, const TrialContext& trial) {
    if (!state_->helpers)
        throw std::logic_error("the cpython engine's prepare_rank must run before its first trial");
    return std::make_unique<CpythonTrial>(*state_, cell, trial);
}

}  // namespace gilbench::engine
