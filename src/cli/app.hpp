// The gilbench command line: every subcommand wired to its setup function. main() calls it; a
// test's own executable calls it after registering a fake engine (engine/factory.hpp).
#pragma once

namespace gilbench::cli {

int run_app(int argc, char** argv);

}  // namespace gilbench::cli
