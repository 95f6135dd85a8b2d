// Job files (TOML) -> a validated plan of cells. See docs/job-file.md.
//
//   [job]       name, description, order (alternating | rounds | cells: how trials are interleaved)
//   [job.auto]  precision, pilot, max, budget: how repeats = "auto" sizes the run
//   [defaults]  any cell key, inherited by every cell
//   [[cell]]    the cell settings of model::cell_fields() (name, workload, work, ...) and zip
//
// Sweeps: a setting given as a list (`ranks = [1, 2, 4]`) makes the cell a sweep. The cell
// expands to one cell per point of the cartesian product of its lists, the first list in the
// file varying slowest; `zip = ["workload", "work"]` makes the named lists advance together
// instead. A name may hold placeholders ("cpu-{ranks}x{threads}"); swept settings it does not
// name are appended as "-key=value", so every expanded cell has its own name.
#pragma once

#include <functional>
#include <map>
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
    model::Order order = model::Order::alternating;  // the order the runner takes trials in
    // repeats = "auto" in [defaults] (or --repeats auto) and [job.auto]: on, the cells' repeats
    // hold its pilot.
    model::AutoRounds auto_rounds;
    std::string path;        // where it was read from ("<string>" for parse_job)
    std::string text;        // the TOML text, stored with the results
    std::vector<model::Cell> cells;

    int max_ranks() const;   // the largest rank count of any cell
    bool uses_embedded_server() const;  // an io cell without a url
};

// Settings from the command line that override every cell: cell setting key -> the text as
// given (--repeats 5: "repeats" -> "5"). apply_overrides reads and checks each one as the job
// file's value would be (model::cell_fields()), so both take the same values and say the same.
struct Overrides {
    std::map<std::string, std::string, std::less<>> values;

    // Throws std::invalid_argument for a key that is no cell setting (or is `name`).
    void set(std::string_view key, std::string text);
    bool has(std::string_view key) const;
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
