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

// urllib's own Python code around its system calls, as the interpreter runs it on this machine:
// the I/O thread holds the GIL for this long before the GET and after each of its steps.
// Beside a CPU-bound thread these gaps decide whether the CPU thread, woken by one release, is
// still on its way when the next release comes (then it wins the GIL) or already asleep again
// (docs/gil-fidelity.md). Each step has two costs: warm, as the code runs alone, back to back;
// and cold, as it runs right after the GIL came back from another thread (a CPU-bound thread
// ran meanwhile, and CPython's code then runs several times slower: caches, branch predictors,
// a core woken from idle). The emulated countdown that stands for this code is too small to
// slow down that way, so the workload runs the cold cost after a step where another thread
// took the GIL and this one waited cold_after or longer, until its next release; under the new
// GIL as cold as that wait's length makes it (cold()). Measured at the start of a run by the
// embedded CPython (engine/cpython/calibration.hpp); `fallback()` only where that is impossible or
// turned off.
struct UrllibCosts {
    // The order of the steps in `ns` (and in the run attribute urllib_costs_ns,
    // docs/hdf5-schema.md): the 7 warm costs, then the same 7 cold, then the two speeds below.
    enum Step : std::size_t {
        before_request,  // urlopen: Request, opener, handlers, up to getaddrinfo
        after_resolve,   // socket.create_connection's loop, up to socket()
        after_socket,    // settimeout (its ioctl is a step of its own), up to connect()
        after_connect,   // TCP_NODELAY, http.client's send(), up to sendall()
        after_send,      // HTTPResponse set up, up to recv_into()
        after_recv,      // status line and headers parsed, body read, up to close()
        after_close,     // back in the caller
        count
    };
    // After the 14 step costs, the interpreter's speed, for the old GIL's ticks (a tick is time:
    // gil::Config::tick_scale): the countdown's time per 1000 iterations, and urllib's code's
    // (warm) per 1000 bytecode instructions.
    static constexpr std::size_t countdown_per_1000 = 2 * count;
    static constexpr std::size_t urllib_per_1000_instructions = 2 * count + 1;
    // The waits (switch intervals) the calibration measures at; the cold costs above are the
    // middle one's.
    static constexpr std::array<std::chrono::microseconds, 3> waits{
        std::chrono::microseconds(500), std::chrono::microseconds(5'000), std::chrono::microseconds(50'000)};
    // Last, the share of the cold excess (cold - warm) paid after the first and the last of
    // `waits`, per mille (1000 after the middle one, by definition): cold().
    static constexpr std::size_t cold_scale_first = 2 * count + 2;
    static constexpr std::size_t values = cold_scale_first + 2;
    std::array<std::int64_t, values> ns{};

    std::chrono::nanoseconds at(Step s, bool cold = false) const {
        return std::chrono::nanoseconds(ns[static_cast<std::size_t>(s) + (cold ? std::size_t{count} : std::size_t{0})]);
    }
    // A step's cost right after a wait of `wait` for the GIL another thread held: the warm cost
    // plus the share of the cold excess that wait brings (interpolated in log(wait) between
    // `waits`; outside them, the nearest).
    std::chrono::nanoseconds cold(Step s, std::chrono::nanoseconds wait) const;
    // The real interpreter's time for one countdown iteration, and for one of urllib's
    // instructions (warm), in ns.
    double countdown_ns_per_iteration() const { return static_cast<double>(ns[countdown_per_1000]) / 1000.0; }
    double urllib_ns_per_instruction() const { return static_cast<double>(ns[urllib_per_1000_instructions]) / 1000.0; }
    // The documented fallback, used only when the run cannot calibrate (no interpreter can be
    // embedded, the measurement failed) or is told not to (--no-calibration): medians measured
    // once on the development VM (CPython 3.11.2, bench/urllib_steps.py: warm 2 x 300
    // requests alone, cold 150 beside one CPU-bound thread, a timeout on every GET).
    // Another machine may take 2-3x longer; runs that use it are marked "fallback: <why>".
    static UrllibCosts fallback();
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
