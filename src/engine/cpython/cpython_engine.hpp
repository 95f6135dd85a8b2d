// The cpython engine: each rank embeds one real CPython interpreter (libpython3.x, the one
// found at configure time: GILBENCH_PYTHON), started once per rank in prepare_rank and shared
// by every trial. A trial's threads are real Python threads of that interpreter, so they share
// its real GIL; `switch_interval` is applied with sys.setswitchinterval before they start.
//
// What a worker thread runs is Python code compiled by the embedded interpreter (gilbench's
// helpers, python/gilbench_helpers.py, or the user's own function), never a C++ loop:
//   cpu     countdown(n): `while n > 0: n -= 1`, as the seed
//   io      urllib.request.urlopen(url, timeout=io_timeout).read(), a fresh connection per GET
//   mixed   the I/O threads GET; the others count down in chunks until the rank's I/O threads
//           are done (the convoy case, as the emulated engine's mixed)
//   python  function = "module:callable" (imported once per rank, python_path first on
//           sys.path), called as callable(work, index, count); an int it returns is `ops`
//
// The real interpreter does not report per-thread GIL counters: WorkerReport::gil is nullopt
// (stored as the schema's "not measured" values). Nor GIL events: a traced cpu cell
// (trace = true) runs a probed countdown instead, which notes when each thread found itself
// running after another thread of the trial, i.e. when it had been handed the GIL, as seen
// from Python; those are its trace ("take" events only, at most the trace capacity per
// thread). The probe slows the loop, so a traced cell counts hand-overs, not speed. job/
// refuses trace = true for the other workloads here.
#pragma once

#include <map>
#include <memory>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/engine.hpp"

namespace gilbench::engine {

class CpythonEngine final : public Engine {
public:
    CpythonEngine();
    // Flushes the interpreter's sys.stdout and sys.stderr (a user function's prints); the
    // interpreter itself lives until the process ends (one per process, never restarted).
    ~CpythonEngine() override;
    CpythonEngine(const CpythonEngine&) = delete;
    CpythonEngine& operator=(const CpythonEngine&) = delete;

    std::string_view name() const override { return "cpython"; }
    // Starts the interpreter (once per process; no signal handlers, so gilbench's own SIGTERM
    // and SIGUSR1 handling stays), checks the cells it will run (gil = "none" needs a
    // free-threaded build) and imports every python cell's function. Throws with the problem
    // and its fix: a module that does not import (with its traceback), a missing attribute,
    // something not callable, a callable that cannot take (work, index, count).
    void prepare_rank(const RankContext& rank) override;
    std::unique_ptr<TrialWorkers> make_trial(const model::Cell& cell, const TrialContext& trial) override;

    // The embedded library's version, as its sys.version says ("3.11.2 (main, ...) [GCC 12.2.0]");
    // known without starting the interpreter.
    static std::string library_version();
    // "CPython 3.11.2, embedded from /usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0": the
    // interpreter the calibration measures (an embedded library may run slower than the user's
    // own `python3`, a static build on Debian).
    static std::string library_description();
    std::string interpreter_version() const override { return library_version(); }

    // urllib's own Python code between its system calls, as this interpreter runs it here: the
    // medians (ns) over `requests` GETs of `url` (after 20 unmeasured ones) of the time before
    // getaddrinfo, after it up to socket(), then up to connect(), sendall(), recv_into(),
    // close(), and from close() back to the caller: workloads::UrllibCosts' order; then the
    // same 7 cold, right after the GIL came back from a CPU-bound thread (requests / 5 GETs, at
    // least 20, beside one: workloads::UrllibCosts explains why both). Starts the
    // interpreter if need be; wraps socket's methods for the measurement only (restored before
    // it returns, so cpython cells run unwrapped). Throws with the problem (a failed GET, a
    // step urllib did not make).
    static std::vector<std::int64_t> measure_urllib_steps(const std::string& url, int requests);

    struct State;  // Python objects of this engine (cpython_engine.cpp)

private:
    std::unique_ptr<State> state_;
};

}  // namespace gilbench::engine
