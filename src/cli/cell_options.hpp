// The --key options that override a cell setting in every cell (--repeats, --gil, ...): one per
// overridable entry of model::cell_fields(), registered from the table so `run` and `plan` take
// the same options, and the values are checked like the job file's (job::apply_overrides).
#pragma once

#include <CLI/CLI.hpp>

#include "job/job.hpp"

namespace gilbench::cli {

enum class CellOptionsFor { run, plan };

void add_cell_options(CLI::App& app, job::Overrides& overrides, CellOptionsFor what);

}  // namespace gilbench::cli
