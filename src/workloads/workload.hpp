// Workloads: what one worker thread of the emulated engine does in a trial. The runner owns
// timing, barriers and records, the emulated engine (engine/emulated_engine.hpp) the GIL and
// the choice of workload; a workload only runs bytecode under the GIL it is given.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gil/gil.hpp"
#include "model/cell.hpp"

namespace gilbench::workloads {

struct RequestTiming {
    std::chrono::steady_clock::time_point start, end;
    bool ok = false;
};

struct Outcome {
    std::int64_t ops = 0;          // countdown iterations or completed requests
    std::int64_t io_requests = 0;  // requests attempted
    std::int64_t io_errors = 0;    // requests that failed (transport error or HTTP >= 400)
    std::string first_error;       // the first failure's message, for the log
    std::vector<RequestTiming> requests;  // one per request, in order
};

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
// threads are done) and ignore `work`.
std::unique_ptr<Worker> make_worker(const model::Cell& cell, int thread, const std::string& io_url,
                                    const std::atomic<bool>* stop = nullptr);

}  // namespace gilbench::workloads
