// A tiny bytecode interpreter: just enough of CPython 3.11's eval loop to run the
// seed's countdown and a loop of blocking calls, with the GIL checked where CPython
// checks it (backward jumps), so threads give up the GIL at the same points.
#pragma once

#include <cstdint>
#include <functional>

#include "gil/gil.hpp"

namespace gilbench::interp {

struct RunResult {
    std::int64_t iterations = 0;    // loop iterations completed
    std::int64_t instructions = 0;  // bytecode instructions dispatched
};

// The countdown's bytecode (CPython 3.11's, see interp.cpp) dispatches exactly
// countdown_fixed_instructions + countdown_instructions_per_iteration * n instructions.
inline constexpr std::int64_t countdown_instructions_per_iteration = 8;
inline constexpr std::int64_t countdown_fixed_instructions = 7;  // RESUME, test, return

// `while n > 0: n -= 1` as bytecode. The caller holds the GIL (gil.take(ts)) and still
// holds it on return. result.iterations == n for n >= 0.
RunResult run_countdown(gil::Gil& gil, gil::ThreadState& ts, std::int64_t n);

// `for i in range(count): native(i)` as bytecode: `native` is called with the GIL held,
// as CPython calls a C function, and releases it itself around what blocks (see
// without_gil), once or several times per call. Same GIL contract as above.
RunResult run_call_loop(gil::Gil& gil, gil::ThreadState& ts, std::int64_t count,
                        const std::function<void(std::int64_t i)>& native);

// Py_BEGIN_ALLOW_THREADS; blocking(); Py_END_ALLOW_THREADS. Called with the GIL held; holds
// it again on return, also when `blocking` throws (the exception then propagates).
void without_gil(gil::Gil& gil, gil::ThreadState& ts, const std::function<void()>& blocking);

// `for i in range(count): blocking(i)`, each call releasing the GIL around all of
// `blocking`: run_call_loop + without_gil. Same GIL contract as above.
RunResult run_blocking_loop(gil::Gil& gil, gil::ThreadState& ts, std::int64_t count,
                            const std::function<void(std::int64_t i)>& blocking);

}  // namespace gilbench::interp
