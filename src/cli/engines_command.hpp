// `gilbench engines`: what each engine accepts and measures, from its descriptor
// (model/engines.hpp); --json for scripts and docs.
#pragma once

#include <CLI/CLI.hpp>

namespace gilbench::cli {

void setup_engines(CLI::App& app, int& exit_code);

}  // namespace gilbench::cli
