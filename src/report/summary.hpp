// Statistics over repeated trials and the console tables printed after a run.
// Pure functions over plain data: no MPI, no files.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/cell.hpp"
#include "model/records.hpp"

namespace gilbench::report {

// A confidence interval of the median from order statistics: [x(j), x(n+1-j)] (1-based,
// sorted) covers the population median with probability 1 - 2 P(B <= j-1), B ~ Binomial(n,
// 1/2), whatever the distribution. The narrowest such interval with coverage >= the level
// asked for is chosen. Below n = 6 none reaches 95%: then it is [min, max] and `level` says
// what it really covers (0.75 for n = 3, 0.9375 for n = 5).
struct MedianInterval {
    double low = 0.0;
    double high = 0.0;
    double level = 0.0;  // actual coverage; 0 for n <= 1
};
MedianInterval median_interval(const std::vector<double>& sorted, double confidence = 0.95);

// A over B from rounds: the trials of the two cells with the same trial number ran in one
// round, close in time, so a drift of the machine falls on both; per round a_i / b_i, their
// median and its order-statistic interval (analysis/gilbench_analysis/paired.py, method
// "order", computes the same). n: the rounds both cells have.
struct PairedRatio {
    int n = 0;
    double median = 0.0;
    MedianInterval ci;
};
PairedRatio paired_ratio(const std::vector<int>& trial_a, const std::vector<double>& a,
                         const std::vector<int>& trial_b, const std::vector<double>& b);

struct Summary {
    int n = 0;
    double median = 0.0;  // n = 0: all fields 0
    double min = 0.0;
    double max = 0.0;
    double mean = 0.0;
    double stddev = 0.0;  // sample standard deviation; 0 when n < 2
    MedianInterval ci;    // 95% interval of the median
};

Summary summarize(std::vector<double> values);

// Across the ranks of a cell: each rank's own time in a trial is the span of its threads
// (latest end - earliest start); averaged over the trials given, then min, mean and max over
// the ranks (as OSU's benchmarks report). All 0 without workers.
struct RankSpread {
    int ranks = 0;
    double min = 0.0;
    double avg = 0.0;
    double max = 0.0;
};
RankSpread rank_spread(const std::vector<model::WorkerRecord>& workers);

// How a cell ended, as stored in summary.state. to_string is the one place that spells the
// stored text; parse_cell_state reads it back (nullopt for a text no state has: a file a newer
// gilbench wrote).
enum class CellState { pending, partial, budget, complete };
inline constexpr CellState cell_states[] = {CellState::pending, CellState::partial, CellState::budget,
                                            CellState::complete};
const char* to_string(CellState s);
inline std::optional<CellState> parse_cell_state(std::string_view text) {
    for (const CellState s : cell_states)
        if (text == to_string(s)) return s;
    return std::nullopt;
}

// The summary row of one cell from its stored trials and workers (any cell's rows may be
// passed: the cell's are picked out; warm-ups are left out of the statistics).
// Measured trials with I/O errors (TrialRecord::io_errors > 0) are left out too and counted
// in failed_trials (and trials flagged disturbed, in disturbed_trials): a failed GET returns early (or after a timeout), so such a trial's wall
// time measures the failures, not the workload, and one fast failure would drag the median
// down. n, the statistics and the per-rank spread are over the clean measured trials only.
model::CellSummaryRecord summarize_cell(const model::Cell& cell, CellState state,
                                        const std::vector<model::TrialRecord>& trials,
                                        const std::vector<model::WorkerRecord>& workers,
                                        bool keep_disturbed = false);

// Measured wall times (repeats only, no warm-ups) of each cell, indexed like the job's cells:
// the clean trials' times, and how many measured trials had I/O errors (left out of wall_s).
struct CellTimes {
    model::Cell cell;
    std::vector<double> wall_s;
    int failed = 0;
    std::vector<int> trial;   // the trial number of each wall_s: cells' trials with the same number ran in one round
    int disturbed = 0;        // measured trials flagged disturbed, left out of wall_s (unless the run keeps them)
    std::string disturbance;  // the first disturbed trial's reason
};

// One line per cell: layout, n, median and its 95% interval, min/max/mean/std, and the
// per-rank min/avg/max; a note under it explains intervals below 95%. A cell with failed
// trials says how many; one whose measured trials all failed shows "failed" and no time.
std::string format_cell_table(const std::vector<model::Cell>& cells,
                              const std::vector<model::CellSummaryRecord>& summary);

// The seed's table: rows single thread (1x1), multi thread (1 rank, T>1), multi process
// (P>1 ranks, 1 thread); columns CPU-bound and I/O-bound, each once per engine when the cells
// use several ("CPU-bound, emulated", "CPU-bound, CPython", ...); median seconds. Cells of
// other workloads (mixed, python) are not seed cells. std::nullopt when
// the job has none of those cells. Where several cells fit a slot, the first one is shown.
// A cell with failed trials is marked "(k of n failed)" after its median (over the clean ones),
// or shows "failed (n of n)" and no time when every measured trial failed; a note explains.
std::optional<std::string> format_seed_table(const std::vector<CellTimes>& cells);

}  // namespace gilbench::report
