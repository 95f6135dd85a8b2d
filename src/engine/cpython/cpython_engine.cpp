#include "engine/cpython/cpython_engine.hpp"

// Python.h first, as the C API asks (it may set feature macros the standard headers read).
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iterator>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "engine/cpython/embedded_python.hpp"  // generated: python/*.py as source text

namespace gilbench::engine {
namespace {

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
    // The reference, no longer owned: for an object that lives as long as its interpreter.
    PyObject* release() { return std::exchange(p_, nullptr); }
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

// This OS thread attached to the thread state `ts` (PyEval_RestoreThread: its interpreter's GIL
// taken) for the scope, and detached again (PyEval_SaveThread: the GIL released) however the
// scope ends. The destructor detaches the thread state current then: a call that switched it
// (Py_NewInterpreterFromConfig makes the new interpreter's current) hands that one back.
class AttachedThread {
public:
    explicit AttachedThread(PyThreadState* ts) { PyEval_RestoreThread(ts); }
    ~AttachedThread() { PyEval_SaveThread(); }
    AttachedThread(const AttachedThread&) = delete;
    AttachedThread& operator=(const AttachedThread&) = delete;
};

// A thread state made by this OS thread (PyThreadState_New), which deletes it when it goes: on
// this thread, holding no GIL before or after (it attaches to clear it; deleting it detaches).
class OwnedThreadState {
public:
    OwnedThreadState() = default;
    // Takes `ts`; throws naming `what` when PyThreadState_New gave none.
    OwnedThreadState(PyThreadState* ts, std::string_view what) : ts_(ts) {
        if (!ts_) throw std::runtime_error(fmt::format("embedded Python: cannot create {}", what));
    }
    OwnedThreadState(const OwnedThreadState&) = delete;
    OwnedThreadState& operator=(const OwnedThreadState&) = delete;
    OwnedThreadState(OwnedThreadState&& o) noexcept : ts_(std::exchange(o.ts_, nullptr)) {}
    OwnedThreadState& operator=(OwnedThreadState&& o) noexcept {
        std::swap(ts_, o.ts_);
        return *this;
    }
    ~OwnedThreadState() { reset(); }
    PyThreadState* get() const { return ts_; }
    explicit operator bool() const { return ts_ != nullptr; }
    void reset() {
        if (!ts_) return;
        PyEval_RestoreThread(ts_);
        PyThreadState_Clear(ts_);
        PyThreadState_DeleteCurrent();  // releases the GIL
        ts_ = nullptr;
    }

private:
    PyThreadState* ts_ = nullptr;
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

// gilbench's module `name` (python/<name>.py, embedded by embed_python.cmake) in the current
// interpreter: the one in its sys.modules, else compiled from the embedded source, under the file
// name <gilbench>/<name>.py that tracebacks show, and run as module `name` (so that one of
// gilbench's modules imports another by its name, as the files do under pytest).
Ref embedded_module(std::string_view name) {
    const auto* m = std::find_if(std::begin(embedded::modules), std::end(embedded::modules),
                                 [&](const embedded::Module& e) { return e.name == name; });
    if (m == std::end(embedded::modules))
        throw std::logic_error(fmt::format("gilbench embeds no Python module '{}' (embed_python.cmake)", name));
    const std::string module(name), file = fmt::format("<gilbench>/{}.py", name);
    Ref key = check(PyUnicode_FromString(module.c_str()), "a module's name");
    if (PyObject* loaded = PyImport_GetModule(key.get())) return Ref(loaded);
    if (PyErr_Occurred()) check(nullptr, "sys.modules");
    Ref code = check(Py_CompileString(m->source, file.c_str(), Py_file_input), "compiling " + file);
    return check(PyImport_ExecCodeModule(module.c_str(), code.get()), "running " + file);
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
    OwnedThreadState main;  // parallel = "threads": its thread state in the main interpreter
    OwnedThreadState sub;   // "subinterpreters": its thread state in its pooled interpreter
    Callables callables;    // "subinterpreters": that interpreter's callables

    ThreadPython() = default;
    ThreadPython(const ThreadPython&) = delete;
    ThreadPython& operator=(const ThreadPython&) = delete;
    ~ThreadPython() { end(); }

    void end() {
        if (sub) {
            AttachedThread attached(sub.get());  // the callables are objects of sub's interpreter
            callables = Callables();
        }
        sub.reset();
        main.reset();
    }
};
// Made by prepare_thread, taken by run(). One that run() never took (another thread's set-up
// failed, so no thread ran) ends with its OS thread, or at the next prepare_thread there.
thread_local std::optional<ThreadPython> prepared;

#if GILBENCH_SUBINTERPRETERS
// A new interpreter with its own GIL, started from `main`, a thread state of the main interpreter
// (from a thread holding no GIL): its first thread state, detached. As an isolated interpreter
// of concurrent.interpreters: its own GIL and allocator, threads allowed, no fork or exec,
// extension modules only where they support several interpreters.
PyThreadState* new_isolated_interpreter(PyThreadState* main, const model::Cell& cell) {
    PyInterpreterConfig config = {};
    config.use_main_obmalloc = 0;
    config.allow_fork = 0;
    config.allow_exec = 0;
    config.allow_threads = 1;
    config.allow_daemon_threads = 0;
    config.check_multi_interp_extensions = 1;
    config.gil = PyInterpreterConfig_OWN_GIL;
    PyThreadState* sub = nullptr;
    // On failure `main` is current again; on success `sub` is, holding the new interpreter's
    // GIL (the main GIL released): the guard detaches whichever it is.
    AttachedThread attached(main);
    const PyStatus status = Py_NewInterpreterFromConfig(&sub, &config);
    if (PyStatus_Exception(status))
        throw std::runtime_error(fmt::format("cell '{}': cannot start a subinterpreter in the embedded Python {}: {}",
                                             cell.name, PY_VERSION, status.err_msg ? status.err_msg : "unknown error"));
    return sub;
}

// Starts an interpreter with its own GIL and readies gilbench's helpers in it (compiled and
// warmed up there), from a thread holding no GIL. Each trial's threads make thread states of
// their own in it (PyThreadState_New), as a thread state belongs to the OS thread that made it.
// Its first thread state stays, detached and unused: an interpreter left with none would have
// the next PyThreadState_New re-initialize the one built into it, which 3.12.1 refuses
// ("init_threadstate: thread state already initialized").
PooledInterpreter start_subinterpreter(const model::Cell& cell) {
    const OwnedThreadState main(PyThreadState_New(PyInterpreterState_Main()), "a thread state");
    PyThreadState* sub = new_isolated_interpreter(main.get(), cell);
    try {
        AttachedThread attached(sub);
        Ref helpers = embedded_module("gilbench_helpers");
        check(PyObject_CallMethod(helpers.get(), "warm_up", nullptr), "warming up gilbench's helpers");
        return {PyThreadState_GetInterpreter(sub), helpers.release()};
    } catch (const std::exception& e) {
        PyEval_RestoreThread(sub);
        Py_EndInterpreter(sub);  // leaves no thread state current
        throw std::runtime_error(fmt::format("cell '{}': {}", cell.name, e.what()));
    }
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
            tp.main = OwnedThreadState(PyThreadState_New(PyInterpreterState_Main()), "a thread state");
            return;
        }
#if GILBENCH_SUBINTERPRETERS
        const PooledInterpreter in = pooled_interpreter(thread);
        tp.sub = OwnedThreadState(PyThreadState_New(in.interp), "a subinterpreter's thread state");
        AttachedThread attached(tp.sub.get());
        tp.callables = callables_in(in.helpers, cell_, url_, io_done_);  // a throw: `prepared` deletes tp.sub
#endif
    }

    void run(int thread, std::int64_t work) override {
        const auto i = static_cast<std::size_t>(thread);
        WorkerReport& r = reports_[i];
        std::string traceback;
        if (!prepared) throw std::logic_error("the cpython engine's prepare_thread must run before run()");
        ThreadPython& tp = *prepared;
        {
            // A new Python thread first waits for the GIL: its interpreter's.
            AttachedThread attached(tp.sub ? tp.sub.get() : tp.main.get());
            try {
                run_holding_gil(tp.sub ? tp.callables : shared_, thread, work, r, traceback);
            } catch (const std::exception& e) {
                r.io_errors += 1;
                if (r.first_error.empty()) r.first_error = e.what();
            }
        }
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

std::string CpythonEngine::library_description() {
    std::string version = library_version();
    version = version.substr(0, version.find(' '));
    Dl_info info{};
    const bool found = dladdr(reinterpret_cast<void*>(&Py_GetVersion), &info) != 0 && info.dli_fname;
    return fmt::format("CPython {}, embedded from {}", version, found ? info.dli_fname : "an unknown library");
}

std::vector<std::int64_t> CpythonEngine::measure_urllib_steps(const std::string& url, int requests) {
    start_interpreter();
    WithGil gil;
    // A module of its own (made once, then found in sys.modules), which imports the helpers'
    // countdown: the helpers first, since the embedded interpreter has no file of theirs to import.
    embedded_module("gilbench_helpers");
    Ref module = embedded_module("gilbench_calibration");
    Ref out = check(PyObject_CallMethod(module.get(), "urllib_costs", "si", url.c_str(), requests),
                    "measuring urllib's steps");
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
        s.helpers = embedded_module("gilbench_helpers");
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
                "and the embedded Python is {}; build gilbench against a shared-library python3 of 3.12 or later "
                "(cmake -DGILBENCH_PYTHON=/path/to/python3.12, e.g. a module's, Spack's or one built with "
                "--enable-shared), or use engine = \"emulated\"",
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
