// `gilbench serve`: the embedded delay server on its own, for clients outside gilbench
// (scripts/fidelity points other CPythons' urllib at it through bench/cpython_probe.py, so
// every side of a comparison talks to the same server).
#pragma once

#include <CLI/CLI.hpp>


namespace gilbench::cli {

struct ServeOptions {
    double latency_s = 0.0;   // delay of a GET / without its own ?delay=
    int port = 0;             // 0: an ephemeral port
    int io_threads = 1;       // server threads (Asio), as the embedded server of `run`
    double max_seconds = 0;   // > 0: stop by itself after this long (a safety net for scripts)
};

// Registers `serve`; the options live with the subcommand's callback, so main only calls this.
void setup_serve(CLI::App& app, int& exit_code);
int run_serve(const ServeOptions& options);

}  // namespace gilbench::cli
