// Workloads: what one worker thread of the emulated engine does in a trial. The runner owns
// timing, barriers and records, the emulated engine (engine/emulated/emulated_engine.hpp) the GIL and
// the choice of workload; a workload only runs bytecode under the GIL it is given.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/request_timing.hpp"
#include "engine/emulated/workloads/urllib_costs.hpp"
#include "gil/gil.hpp"
#include "model/cell.hpp"

namespace gilbench::workloads {

struct Outcome {
    std::int64_t ops = 0;          // countdown iterations or completed requests
    std::int64_t io_requests = 0;  // requests attempted
    std::int64_t io_errors = 0;    // requests that failed (transport error or HTTP >= 400)
    std::string first_error;       // the first failure's message, for the log
    std::vector<engine::RequestTiming> requests;  // one per request, in order
};

// The old GIL's ticks are time (gil::Config::tick_scale): CPython 2 releases after
// check_interval of *its* ticks. What one emulated countdown tick stands for: this interpreter's
// time per iteration over the real one's (both tick 3 times per iteration).
double countdown_tick_scale(const UrllibCosts& real);
// CPython 2's ticks per bytecode instruction of CPython 3 running the same code, for urllib's
// code: 3 of the countdown's 8 (interp::countdown_ticks_per_iteration), and on the development
// VM Python 2.7.18's urllib2 GET ticked 1812 times (its tick counter, check interval 1) where
// CPython 3.11's urllib GET ran 4894 instructions (sys.settrace opcode events): 0.37.
inline constexpr double cpython2_ticks_per_instruction = 3.0 / 8.0;

// urllib's code runs cold (UrllibCosts) when another thread took the GIL meanwhile and this one
// waited at least this long for it back: half the shortest switch interval compared with
// CPython (0.5 ms). The calibration's cold samples waited over a millisecond; under the old GIL
// a thread gets the GIL back within tens of microseconds, and Python 2.7's urllib2 code beside a
// CPU-bound thread ran within 10-20% of its time alone (docs/gil-fidelity.md).
inline constexpr std::chrono::microseconds cold_after{250};

// One per worker thread, created before the trial's start barrier so that setup
// (an HTTP client) is not timed.
class Worker {
public:
    virtual ~Worker() = default;
    // Runs `work` units. Called with the GIL held by `ts`; returns still holding it.
    virtual Outcome run(gil::Gil& gil, gil::ThreadState& ts, std::int64_t work) = 0;
};

// The worker for thread `thread` of a rank in `cell`. `io_url` is the full URL an I/O
// thread GETs (the embedded server's, with its delay, or the user's). `stop` is for the
// CPU threads of a mixed cell: they count down until it is set (when the rank's I/O
// threads are done) and ignore `work`. `urllib` is what an I/O thread runs between its steps.
std::unique_ptr<Worker> make_worker(const model::Cell& cell, int thread, const std::string& io_url,
                                    const UrllibCosts& urllib, const std::atomic<bool>* stop = nullptr);

}  // namespace gilbench::workloads
