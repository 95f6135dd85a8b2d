// `gilbench plan --json`: the expanded plan as one JSON document, for scripts, so that none
// parses the console table. Pure: no files, no MPI.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/cell.hpp"

namespace gilbench::report {

// The job and its cells:
//   {"job": NAME, "description": TEXT, "path": FILE, "max_ranks": N, "trials": N,
//    "order": "cells" | "rounds", "cells": [{"cell": 0, "name": ..., "workload": "cpu", ...}, ...]}
// A cell's keys are the columns of the results file's `cells` table (docs/hdf5-schema.md:
// `switch_interval_s`, `latency_s`, ...; booleans as true/false), so a script reads a plan
// and a finished run alike; each cell adds `workers` (ranks × threads) and `trials` (warm-ups
// + repeats). `max_ranks` is the `mpirun -np` the job needs at least; `order` the job's
// `[job] order` (how the runner interleaves the trials).
std::string plan_json(std::string_view job_name, std::string_view description, std::string_view path,
                      const std::vector<model::Cell>& cells, model::Order order = model::Order::alternating);

}  // namespace gilbench::report
