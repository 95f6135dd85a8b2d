// The old GIL's ticks timed on a real Python 2 (gilbench run --old-gil-python PATH). CPython 2
// releases its GIL every 100 ticks, so how long a tick takes sets how often the releases come,
// and what each release costs weighs in the 2-thread ratio by that. Without a Python 2 the
// embedded CPython 3's countdown stands in (workloads::UrllibCosts); on the 2-core VM it ran
// 1.4x slower than Python 2.7.18's, and the old GIL's 2-thread ratio came out that much too
// low (docs/gil-fidelity.md, "The old GIL").
//
// The interpreter runs as a child process without a shell (argv only, the environment
// inherited), with -E -s so that PYTHON* variables and the user's site do not change what it
// times; it must print its version and the countdown's time within the deadline, and be a
// Python 2.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace gilbench::engine {

struct OldGilTiming {
    std::string version;          // "2.7.18"
    std::int64_t per_1000_ns = 0;  // its countdown per 1000 iterations (the best of 5 timings)
};

// nullopt with the reason (naming the path and the fix) in `why` when the program cannot be
// run, fails, is not a Python 2, prints something else, or takes longer than `deadline`
// (then it is killed).
std::optional<OldGilTiming> time_old_gil_python(const std::string& path, std::string* why,
                                                std::chrono::milliseconds deadline = std::chrono::seconds(60));

// What the run's calibration says of it: "old GIL ticks timed on Python 2.7.18 (PATH): 13.2 ns
// per countdown iteration".
std::string describe(const OldGilTiming& timing, const std::string& path);

}  // namespace gilbench::engine
