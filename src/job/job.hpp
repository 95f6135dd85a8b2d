// Job files (TOML) -> a validated plan of cells. See docs/job-file.md.
//
//   [job]       name, description
//   [defaults]  any cell key, inherited by every cell
//   [[cell]]    name, workload, ranks, placement, threads, io_threads, work, scaling, gil,
//               switch_interval, check_interval, url, latency, keep_alive, io_timeout, repeats,
//               warmups, trace, time_budget, zip
//
// Sweeps: a setting given as a list (`ranks = [1, 2, 4]`) makes the cell a sweep. The cell
// expands to one cell per point of the cartesian product of its lists, the first list in the
// file varying slowest; `zip = ["workload", "work"]` makes the named lists advance together
// instead. A name may hold placeholders ("cpu-{ranks}x{threads}"); swept settings it does not
// name are appended as "-key=value", so every expanded cell has its own name.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "model/cell.hpp"

namespace gilbench::job {

// A problem in a job file. what() reads "FILE:LINE: key 'K': problem; fix".
class JobError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Job {
    std::string name;
    std::string description;
    std::string path;        // where it was read from ("<string>" for parse_job)
    std::string text;        // the TOML text, stored with the results
    std::vector<model::Cell> cells;

    int max_ranks() const;   // the largest rank count of any cell
    bool uses_embedded_server() const;  // an io cell without a url
};

// Settings from the command line that override every cell (std::nullopt: keep the job's).
struct Overrides {
    std::optional<std::string> url;
    std::optional<double> latency_s;
    std::optional<int> repeats;
    std::optional<int> warmups;
    std::optional<std::string> gil;
    std::optional<double> switch_interval_s;
    std::optional<int> check_interval;
    std::optional<std::string> placement;  // launch | pack | spread
    std::optional<bool> trace;
    std::optional<int> threads;          // e.g. $SLURM_CPUS_PER_TASK
    std::optional<double> time_budget_s;
    std::optional<double> io_timeout_s;
};

// The most cells one job may expand to: a typo in a sweep should not plan a million runs.
inline constexpr std::size_t max_cells = 100000;

Job parse_job(std::string_view text, std::string_view source_name = "<string>");
Job load_job(const std::string& path);  // reads the file, then parse_job
// Applies overrides and re-validates; throws JobError naming the option.
void apply_overrides(Job& job, const Overrides& overrides);

// The first setting in which two plans differ, e.g. "cell 3 'cpu-2x1': repeats is 5, was 3";
// "" if they are the same (--resume checks that it continues the same plan).
std::string plan_difference(const std::vector<model::Cell>& before, const std::vector<model::Cell>& now);

}  // namespace gilbench::job
