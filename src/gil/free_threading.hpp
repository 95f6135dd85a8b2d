// Free-threaded CPython as version profiles (docs/free-threading.md): what the free-threaded
// 3.13t / 3.14t builds cost the emulated interpreter over a GIL build, as numbers the
// interpreter applies exactly (interp.cpp, Checks::free_threaded), so that a test can count
// them and a run pays them in real time on the machine.
#pragma once

#include <cstdint>
#include <optional>

#include "model/cell.hpp"

namespace gilbench::gil {

struct FreeThreadedCost {
    // Single-thread overhead over the GIL build, in percent of the interpreter's loop
    // iterations: every loop iteration (a taken or final back-edge test) owes
    // overhead_percent / 100 padding iterations. The padding is the countdown's own quickened
    // loop run by the same interpreter without checks, so its time is what an iteration
    // costs on this machine: the countdown's time grows by overhead_percent % by
    // construction, with no timing calibration. Whole padding iterations are run in batches
    // (padding_batch) and at the end of each run; the fraction is carried in the thread.
    int overhead_percent = 0;
    // Shared-object reference-count traffic: every shared_ref_period-th loop iteration does a
    // Py_INCREF + Py_DECREF of an object owned by another thread, as free-threaded CPython's
    // biased reference counting does them (two atomic read-modify-writes on the object's
    // shared count), on one cache line shared by all threads of the rank (gil::Gil): it
    // costs what it costs on this machine, more the more threads write it. 0: never.
    int shared_ref_period = 0;
};

// Padding iterations run at once when the debt reaches them: large enough that the extra
// call costs ~1% of the batch, small enough to spread the overhead over a run.
inline constexpr std::int64_t padding_batch = 1024;

// The published cost of a profile (nullopt for new, old, none). The countdown and the I/O
// workloads' interpreted code touch only locals, immortal constants and objects of their own
// thread, so neither profile charges shared reference counts for them (shared_ref_period 0):
// docs/free-threading.md says which patterns would, and tests set a period of their own.
//   free-threaded-3.13: 40 % (Doc/howto/free-threading-python.rst, 3.13: "about 40% on the
//     pyperformance suite"; the specializing interpreter is off in the 3.13t build)
//   free-threaded-3.14: 10 % (What's New in 3.14: "roughly 5-10%, depending on the platform
//     and C compiler"; PEP 779: "currently around 10%", 15 % the hard limit for phase II)
constexpr std::optional<FreeThreadedCost> published_cost(model::GilPolicy p) {
    switch (p) {
    case model::GilPolicy::free_threaded_3_13: return FreeThreadedCost{.overhead_percent = 40};
    case model::GilPolicy::free_threaded_3_14: return FreeThreadedCost{.overhead_percent = 10};
    default: return std::nullopt;
    }
}

}  // namespace gilbench::gil
