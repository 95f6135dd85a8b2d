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

// `for i in range(count): blocking(i)` as bytecode; the blocking-call op releases the
// GIL around `blocking` (Py_BEGIN/END_ALLOW_THREADS). Same GIL contract as above; if
// `blocking` throws, the GIL is taken back before the exception propagates.
RunResult run_blocking_loop(gil::Gil& gil, gil::ThreadState& ts, std::int64_t count,
                            const std::function<void(std::int64_t i)>& blocking);

}  // namespace gilbench::interp
