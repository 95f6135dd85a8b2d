// `gilbench run JOB -o FILE`: run a job under MPI, write HDF5, print the tables.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "job/job.hpp"

namespace gilbench::cli {

struct RunOptions {
    std::string job_path;
    std::string output;            // empty: results/<job name>.h5
    job::Overrides overrides;
    std::string command_line;      // as typed, for provenance
    bool quiet = false;            // = progress "none"
    std::string progress = "auto"; // auto | bar | lines | none
    bool resume = false;           // continue the latest unfinished run of this job in -o
    bool overwrite = false;        // replace an existing results file instead of adding a run
    std::string shared_server;     // opt-in: one server on rank 0's node, bound here, for all nodes
    bool allow_io_errors = false;  // trials with I/O errors do not make the exit status 3
    bool stop_on_failure = false;  // stop after the first trial with a failure (status 'failed')
    bool recalibrate = false;      // measure urllib's costs again instead of reading the cache
    bool no_calibration = false;   // use the documented fallback costs (deterministic runs)
    std::string old_gil_python;    // a Python 2 to time the old GIL's ticks on ("" none)
    std::string order;             // cells | rounds | alternating: overrides the job's `[job] order`; "": the job's
    std::string disturbed;         // drop | keep: disturbed trials in the statistics; "": $GILBENCH_DISTURBED or drop
    int retries = -1;              // retries of disturbed trials per cell; -1: the cell's repeats
    // repeats = "auto" ([job.auto] settings; 0 / -1: the job's)
    double precision = 0.0;
    int max_repeats = 0;
    double run_budget = -1.0;
};

void setup_run(CLI::App& app, RunOptions& options, int& exit_code);
int run_run(const RunOptions& options);

}  // namespace gilbench::cli
