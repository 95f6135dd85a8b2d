// Engines: what runs a trial's worker threads under a GIL.
//
// The runner (runner/) owns everything that must mean the same for every engine: which ranks
// run a cell, the start barrier, each worker's start/end stamps relative to it (wall time =
// latest end - earliest start), each worker's share of the cell's work (strong or weak
// scaling), warm-ups and repeats, the trace capacity and its trace_dropped count, the records
// and their gather to rank 0. An engine owns only what differs: how a rank is set up (once,
// before its first trial), how a worker thread runs its share of the work under the engine's
// GIL, and what it can measure while doing so. The emulated engine (emulated_engine.hpp: the
// gil/ lock and the interp/ bytecode interpreter, via workloads/) measures everything; an
// engine that embeds the real CPython sees less (no per-thread GIL counters), and says so
// with `WorkerReport::gil = nullopt` instead of zeros.
//
//   runner, per trial on each rank:
//     auto w = engine.make_trial(cell, ctx);     // untimed: threads' set-up, before the barrier
//     thread t: w->prepare_thread(t); <ready> <go> stamp start; w->run(t, work); stamp end
//     main:     <all ready> start_barrier(); t0 = now(); w->start(t0); <go>; join
//     then:     w->report(t) for every thread -> model::WorkerRecord, TraceRecord, RequestRecord
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/request_timing.hpp"
#include "model/cell.hpp"

namespace gilbench::engine {

using clock = std::chrono::steady_clock;

// Per thread: trace events kept by default; those past it are counted, not kept.
inline constexpr std::size_t default_trace_capacity = std::size_t{1} << 20;

// What an engine learns once per rank, before the rank's first trial.
struct RankContext {
    int rank = 0;                      // world rank
    int node = 0;                      // index into the run's hosts
    std::vector<model::Cell> cells{};  // the plan's cells this engine runs (on some rank)
};

// One trial of one cell on one rank.
struct TrialContext {
    int trial = 0;         // 0-based, warm-ups first
    int rank = 0;          // world rank (recorded in every row)
    int node = 0;          // recorded in workers.node
    int member = -1;       // the rank's place among the cell's ranks (its share of the work); -1: = rank
    std::string io_url{};  // the full URL an I/O thread GETs ("" for cpu cells)
    std::size_t trace_capacity = default_trace_capacity;  // events an engine keeps per thread
};

// GIL counters of one worker, where the engine can measure them.
struct GilStats {
    std::int64_t acquisitions = 0;
    std::int64_t forced_drops = 0;  // drops because another thread asked
    double wait_s = 0.0;            // waiting to take the GIL
    double hold_s = 0.0;            // holding it
};

struct TraceEvent {
    double t_s = 0.0;        // seconds since the trial's time zero (TrialWorkers::start)
    std::string_view event;  // request | take | drop | io_start | io_end: a static string
};

// What one worker thread measured in one trial. Its start/end are the runner's stamps.
struct WorkerReport {
    std::int64_t ops = 0;          // countdown iterations, completed requests, or the workload's own count
    std::int64_t io_requests = 0;  // requests attempted
    std::int64_t io_errors = 0;    // requests that failed (transport error or HTTP >= 400)
    std::string first_error;       // the first failure's message: the log, and the errors table
    std::string error_detail;      // more about it where the engine has it (a Python traceback)
    std::optional<GilStats> gil;   // nullopt: this engine does not measure them
    std::vector<TraceEvent> trace;        // only when the cell asks for a trace
    std::int64_t trace_dropped = 0;       // events past the trace capacity, not kept
    std::vector<RequestTiming> requests;  // one per request, in order
};

// The worker threads of one trial on one rank, made before the start barrier. The runner
// calls prepare_thread and run on worker thread t (one thread per cell.threads), start and
// report on its own thread; report only after every run has returned.
class TrialWorkers {
public:
    virtual ~TrialWorkers();
    // Untimed per-thread set-up on the worker's own thread, before the barrier (e.g. a
    // Python thread state, which belongs to its OS thread).
    virtual void prepare_thread(int /*thread*/) {}
    // The trial's time zero, just after the start barrier and before any run: trace
    // timestamps are seconds since it.
    virtual void start(clock::time_point /*t0*/) {}
    // The worker's share of the cell's work (`work` units), from asking for the GIL until it
    // has released it: the runner times this call. Failed requests are counted, not thrown.
    virtual void run(int thread, std::int64_t work) = 0;
    // What thread `thread` measured; once per thread, after every run has returned.
    virtual WorkerReport report(int thread) = 0;
};

class Engine {
public:
    virtual ~Engine();
    // The name a job file will give it (engine = "...").
    virtual std::string_view name() const = 0;
    // Once per rank, before its first trial; may throw (the runner stops every rank with the
    // message). E.g. start the interpreter.
    virtual void prepare_rank(const RankContext& /*rank*/) {}
    // A trial's workers for `cell` on this rank, ready to run.
    virtual std::unique_ptr<TrialWorkers> make_trial(const model::Cell& cell, const TrialContext& trial) = 0;
    // The interpreter it embeds, as its sys.version says, for the run's provenance (the run
    // attribute python_version); "" for an engine that embeds none. Known without preparing.
    virtual std::string interpreter_version() const { return {}; }
};

// Which engine runs a cell. The same engine object for every cell that names it: the runner
// prepares each distinct one once.
using EngineFor = std::function<Engine&(const model::Cell&)>;

}  // namespace gilbench::engine
