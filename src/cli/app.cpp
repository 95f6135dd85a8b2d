#include "cli/app.hpp"

#include <string>

#include <CLI/CLI.hpp>

#include "cli/engines_command.hpp"
#include "cli/plan_command.hpp"
#include "cli/run_command.hpp"
#include "cli/serve_command.hpp"

namespace gilbench::cli {

int run_app(int argc, char** argv) {
    CLI::App app{
        "gilbench: times CPU-bound and I/O-bound work, or your own Python function, as threads sharing\n"
        "one GIL (emulated, or the real CPython embedded in each rank) and as MPI processes, and writes\n"
        "every trial to HDF5.\n"
        "  mpirun -np 2 gilbench run jobs/seed.toml -o results/seed.h5"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string(GILBENCH_VERSION) + " (" + GILBENCH_GIT_SHA + ")");

    int exit_code = 0;
    RunOptions run;
    for (int i = 0; i < argc; ++i) run.command_line += (i ? " " : "") + std::string(argv[i]);
    setup_run(app, run, exit_code);
    PlanOptions plan, validate;
    setup_plan(app, plan, validate, exit_code);
    setup_serve(app, exit_code);
    setup_engines(app, exit_code);

    CLI11_PARSE(app, argc, argv);
    return exit_code;
}

}  // namespace gilbench::cli
