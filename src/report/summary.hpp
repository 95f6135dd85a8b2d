// Statistics over repeated trials and the console tables printed after a run.
// Pure functions over plain data: no MPI, no files.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/cell.hpp"

namespace gilbench::report {

struct Summary {
    int n = 0;
    double median = 0.0;  // n = 0: all fields 0
    double min = 0.0;
    double max = 0.0;
    double mean = 0.0;
    double stddev = 0.0;  // sample standard deviation; 0 when n < 2
};

Summary summarize(std::vector<double> values);

// Measured wall times (repeats only, no warm-ups) of each cell, indexed like the job's cells.
struct CellTimes {
    model::Cell cell;
    std::vector<double> wall_s;
};

// One line per cell: name, workload, ranks x threads, gil, n, median/min/max seconds.
std::string format_cell_table(const std::vector<CellTimes>& cells);

// The seed's table: rows single thread (1x1), multi thread (1 rank, T>1), multi process
// (P>1 ranks, 1 thread); columns CPU-bound and I/O-bound; median seconds. std::nullopt when
// the job has none of those cells. Where several cells fit a slot, the first one is shown.
std::optional<std::string> format_seed_table(const std::vector<CellTimes>& cells);

}  // namespace gilbench::report
