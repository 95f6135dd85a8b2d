// gilbench: when do threads pay off under a GIL, and when do you need processes?
// main only wires the subcommands; each lives in its own *_command file.
#include <CLI/CLI.hpp>

#include "cli/plan_command.hpp"
#include "cli/run_command.hpp"
#include "cli/serve_command.hpp"

int main(int argc, char** argv) {
    CLI::App app{
        "gilbench: times CPU-bound and I/O-bound work, or your own Python function, as threads sharing\n"
        "one GIL (emulated, or the real CPython embedded in each rank) and as MPI processes, and writes\n"
        "every trial to HDF5.\n"
        "  mpirun -np 2 gilbench run jobs/seed.toml -o results/seed.h5"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string(GILBENCH_VERSION) + " (" + GILBENCH_GIT_SHA + ")");

    int exit_code = 0;
    gilbench::cli::RunOptions run;
    for (int i = 0; i < argc; ++i) run.command_line += (i ? " " : "") + std::string(argv[i]);
    gilbench::cli::setup_run(app, run, exit_code);
    gilbench::cli::PlanOptions plan, validate;
    gilbench::cli::setup_plan(app, plan, validate, exit_code);
    gilbench::cli::setup_serve(app, exit_code);

    CLI11_PARSE(app, argc, argv);
    return exit_code;
}
