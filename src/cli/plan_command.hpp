// `gilbench plan JOB` and `gilbench validate JOB`: check a job file without running it.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "job/job.hpp"

namespace gilbench::cli {

struct PlanOptions {
    std::string job_path;
    job::Overrides overrides;  // plan: the run options that change cells
    bool validate_only = false;
    bool json = false;  // plan: the plan as JSON (report/plan_json.hpp) instead of the table
};

void setup_plan(CLI::App& app, PlanOptions& plan, PlanOptions& validate, int& exit_code);
int run_plan(const PlanOptions& options);
// The table `plan` prints: a row per cell, columns and extras from model::cell_fields().
std::string plan_table(const std::vector<model::Cell>& cells);

}  // namespace gilbench::cli
