// A tiny bytecode interpreter: just enough of CPython 3.11's eval loop to run the
// seed's countdown and a loop of blocking calls, with the GIL checked where CPython
// checks it (backward jumps), so threads give up the GIL at the same points. The code is
// quickened as a warmed-up CPython 3.11 quickens it (superinstructions, int-specialized
// operations): 5 dispatches per countdown iteration instead of 8. See interp.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gil/gil.hpp"

namespace gilbench::interp {

struct RunResult {
    std::int64_t iterations = 0;    // loop iterations completed
    std::int64_t instructions = 0;  // bytecode instructions executed (a superinstruction: 2)
    std::int64_t dispatches = 0;    // instructions actually dispatched
};

// Quickened: the bytecode as CPython 3.11 runs it after warm-up (the default); generic: as
// compiled, the way it runs on a function's first calls.
enum class Quickening { on, off };

// The countdown's bytecode (CPython 3.11's, see interp.cpp) executes exactly
// countdown_fixed_instructions + countdown_instructions_per_iteration * n instructions, in
// as many dispatches (generic) or countdown_fixed_dispatches +
// countdown_dispatches_per_iteration * n (quickened), for n >= 0.
inline constexpr std::int64_t countdown_instructions_per_iteration = 8;
inline constexpr std::int64_t countdown_fixed_instructions = 7;  // RESUME, test, return
inline constexpr std::int64_t countdown_dispatches_per_iteration = 5;
inline constexpr std::int64_t countdown_fixed_dispatches = 5;  // RESUME, 2 for the test, exit

// `while n > 0: n -= 1` as bytecode. The caller holds the GIL (gil.take(ts)) and still
// holds it on return. result.iterations == n for n >= 0. The GIL's checks follow its
// policy: the eval breaker at each taken back-edge (new, none), ticks (old).
RunResult run_countdown(gil::Gil& gil, gil::ThreadState& ts, std::int64_t n,
                        Quickening q = Quickening::on);

// CPython 2 ticks 3 times per countdown iteration (COMPARE_OP, INPLACE_SUBTRACT, JUMP_ABSOLUTE:
// LOAD_FAST, LOAD_CONST, STORE_FAST and the predicted jump skip the ticker), and so does this
// interpreter under the old GIL (tests/interp/interp_test.cpp counts them).
inline constexpr std::int64_t countdown_ticks_per_iteration = 3;

// This interpreter's time per countdown iteration under the old GIL's checks (uncontended), in
// ns: the best of 25 runs of 100,000 iterations, measured on first use, once per process.
double old_gil_countdown_ns_per_iteration();

// The same countdown compiled without any GIL check: only for measuring what the checks
// cost (bench/micro_gil.cpp). Never use it for a workload.
RunResult run_countdown_without_checks(std::int64_t n, Quickening q = Quickening::on);

// The countdown's instructions by name (like `dis`), e.g. "load_fast__load_const".
std::vector<std::string> countdown_listing(Quickening q);

// `for i in range(count): native(i)` as bytecode: `native` is called with the GIL held,
// as CPython calls a C function, and releases it itself around what blocks (see
// without_gil), once or several times per call. Same GIL contract as above.
RunResult run_call_loop(gil::Gil& gil, gil::ThreadState& ts, std::int64_t count,
                        const std::function<void(std::int64_t i)>& native);

// Py_BEGIN_ALLOW_THREADS / Py_END_ALLOW_THREADS as two calls, for blocking code that gives
// the GIL up at several points of one call (the HTTP client's hooks): a voluntary drop (no
// hand-off is asked for), and a take that waits like any other.
void begin_allow_threads(gil::Gil& gil, gil::ThreadState& ts);
void end_allow_threads(gil::Gil& gil, gil::ThreadState& ts);

// Py_BEGIN_ALLOW_THREADS; blocking(); Py_END_ALLOW_THREADS. Called with the GIL held; holds
// it again on return, also when `blocking` throws (the exception then propagates).
void without_gil(gil::Gil& gil, gil::ThreadState& ts, const std::function<void()>& blocking);

// `for i in range(count): blocking(i)`, each call releasing the GIL around all of
// `blocking`: run_call_loop + without_gil. Same GIL contract as above.
RunResult run_blocking_loop(gil::Gil& gil, gil::ThreadState& ts, std::int64_t count,
                            const std::function<void(std::int64_t i)>& blocking);

}  // namespace gilbench::interp
