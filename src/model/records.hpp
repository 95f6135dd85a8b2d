// Records the runner produces and the store/report consume. Plain structs only:
// field names match the HDF5 columns (docs/hdf5-schema.md).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace gilbench::model {

// One trial of one cell. Wall time = latest worker end - earliest worker start.
struct TrialRecord {
    std::int32_t cell = 0;
    std::int32_t trial = 0;        // 0-based, warm-ups first
    bool warmup = false;
    double wall_s = 0.0;
    // Sum of its workers' io_errors: a trial with any is "failed", and its wall time measures
    // the failures (fast errors, timeouts), not the workload, so statistics leave it out.
    std::int64_t io_errors = 0;
    // What the machine did meanwhile (runner/disturbance.hpp), the worst node's value; NaN: not
    // measured. others_cpus: CPUs' worth of time the node's other processes took; steal: the
    // hypervisor's share of the node's CPU time; reference_slowdown: a fixed loop timed at the
    // trial's edges against the run's median, minus 1; cpu_share: the lowest rank's CPU time
    // over what its cell should get (compute cells only).
    double others_cpus = std::numeric_limits<double>::quiet_NaN();
    double steal = std::numeric_limits<double>::quiet_NaN();
    double reference_slowdown = std::numeric_limits<double>::quiet_NaN();
    double cpu_share = std::numeric_limits<double>::quiet_NaN();
    // 1: one of those passed its threshold: the time is kept but the statistics leave it out,
    // like a failed trial's. `disturbance` says which and by how much ("" when clean).
    bool disturbed = false;
    std::string disturbance;
    // The round it ran in: trials of different cells with the same round ran close in time
    // (the pairs of a comparison). = trial, but for a retry of a disturbed trial, which has a
    // trial number past the plan's and the round of the trial it repeats.
    std::int32_t round = 0;  // (last: positional initializers of the fields above stay valid)
};

// One worker (thread) in one trial. Times are seconds since the trial's start barrier
// on the worker's own rank.
struct WorkerRecord {
    std::int32_t cell = 0;
    std::int32_t trial = 0;
    std::int32_t rank = 0;
    std::int32_t thread = 0;
    std::int32_t node = 0;         // index into the run's `hosts` attribute
    double start_s = 0.0;
    double end_s = 0.0;
    std::int64_t ops = 0;          // countdown iterations or completed requests
    std::int64_t gil_acquisitions = 0;
    double gil_wait_s = 0.0;
    double gil_hold_s = 0.0;
    std::int64_t gil_forced_drops = 0;
    std::int64_t io_requests = 0;
    std::int64_t io_errors = 0;
    std::int64_t trace_dropped = 0;  // trace events past the thread's trace capacity, not stored
    // CPU time of the worker's thread over its run (CLOCK_THREAD_CPUTIME_ID), for every engine.
    // For a CPU-bound Python thread it approximates its GIL hold time. NaN: not measured (rows
    // of files written before this column).
    double cpu_s = std::numeric_limits<double>::quiet_NaN();
};

// One GIL or I/O event of a traced trial.
struct TraceRecord {
    std::int32_t cell = 0;
    std::int32_t trial = 0;
    std::int32_t rank = 0;
    std::int32_t thread = 0;
    double t_s = 0.0;              // seconds since the trial's start barrier on that rank
    std::string event;             // request | take | drop | io_start | io_end
};

// One HTTP request of an io or mixed cell: its latency is end_s - start_s.
struct RequestRecord {
    std::int32_t cell = 0;
    std::int32_t trial = 0;
    std::int32_t rank = 0;
    std::int32_t thread = 0;
    std::int32_t request = 0;      // 0-based, per thread
    double start_s = 0.0;          // seconds since the trial's start barrier on that rank
    double end_s = 0.0;
    std::uint8_t ok = 0;           // 1: HTTP 2xx; 0: transport error or other status
};

// Statistics of one cell's measured trials: /runs/<run>/summary (docs/hdf5-schema.md).
struct CellSummaryRecord {
    std::int32_t cell = 0;
    std::string state;             // complete | budget | partial | pending
    std::int32_t trials = 0;       // trials stored, warm-ups included
    std::int32_t n = 0;            // measured trials the statistics use: those without I/O errors
    double median_s = 0.0;
    double min_s = 0.0;
    double max_s = 0.0;
    double mean_s = 0.0;
    double std_s = 0.0;            // sample standard deviation; 0 when n < 2
    double ci_low_s = 0.0;         // order-statistic confidence interval of the median
    double ci_high_s = 0.0;
    double ci_level = 0.0;         // its actual coverage: 0.95 or more once n >= 6
    double rank_min_s = 0.0;       // per-rank time (a rank's own span, mean over trials):
    double rank_avg_s = 0.0;       //   min, mean and max across the cell's ranks
    double rank_max_s = 0.0;
    std::int32_t failed_trials = 0;  // measured trials with I/O errors, left out of the statistics
    std::int32_t disturbed_trials = 0;  // measured trials flagged disturbed, left out too
};

// Everything rank 0 holds after gathering one trial.
// What went wrong in one worker of a trial: its first failed request, or the exception its
// Python function raised. Only workers with a failure have one (/runs/<run>/errors).
struct ErrorRecord {
    std::int32_t cell = 0;
    std::int32_t trial = 0;
    std::int32_t rank = 0;
    std::int32_t thread = 0;
    std::string message;           // one line
    std::string detail;            // more, where there is: the Python traceback ("" if none)
};

struct TrialResult {
    TrialRecord trial;
    std::vector<WorkerRecord> workers;
    std::vector<TraceRecord> trace;
    std::vector<RequestRecord> requests;
    std::vector<ErrorRecord> errors;
    std::string first_error;       // first failure of any worker, for the log
};

}  // namespace gilbench::model
