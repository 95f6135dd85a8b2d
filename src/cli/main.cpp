// gilbench: when do threads pay off under a GIL, and when do you need processes?
// main only runs the command line (cli/app.hpp); each subcommand lives in its own *_command file.
#include "cli/app.hpp"

int main(int argc, char** argv) { return gilbench::cli::run_app(argc, argv); }
