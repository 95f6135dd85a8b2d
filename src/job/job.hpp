// Job files (TOML) -> a validated plan of cells. See docs/job-file.md.
//
//   [job]       name, description
//   [defaults]  any cell key, inherited by every cell
//   [[cell]]    name, workload, ranks, threads, io_threads, work, scaling, gil, switch_interval,
//               check_interval, url, latency, keep_alive, repeats, warmups, trace
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
    std::optional<bool> trace;
};

Job parse_job(std::string_view text, std::string_view source_name = "<string>");
Job load_job(const std::string& path);  // reads the file, then parse_job
// Applies overrides and re-validates; throws JobError naming the option.
void apply_overrides(Job& job, const Overrides& overrides);

}  // namespace gilbench::job
