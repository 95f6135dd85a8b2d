#include "cli/serve_command.hpp"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>

#include <fmt/format.h>

#include "http/delay_url.hpp"
#include "cli/install_paths.hpp"
#include "http/server.hpp"

namespace gilbench::cli {
namespace {

// The signals that end the server. Blocked in every thread (the server's threads inherit
// the mask), so the main thread alone receives them, synchronously, through sigtimedwait.
sigset_t stop_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, sig);
    return set;
}

// Waits for a stop signal, or for `max_seconds` (> 0) to pass. Returns the signal, or 0.
int wait_for_stop(const sigset_t& set, double max_seconds) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(max_seconds);
    for (;;) {
        // Wake at least once a second only to check the deadline; no work is done between.
        double wait_s = 1.0;
        if (max_seconds > 0)
            wait_s = std::min(wait_s, std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count());
        if (wait_s <= 0) return 0;
        timespec slice{static_cast<time_t>(wait_s), static_cast<long>((wait_s - static_cast<time_t>(wait_s)) * 1e9)};
        const int sig = sigtimedwait(&set, nullptr, &slice);
        if (sig > 0) return sig;
    }
}

}  // namespace

void setup_serve(CLI::App& app, int& exit_code) {
    // Owned by the callback (which CLI11 keeps as long as the App): option bindings stay valid.
    auto options = std::make_shared<ServeOptions>();
    ServeOptions& o = *options;
    CLI::App* s = app.add_subcommand(
        "serve", "Run the embedded delay server alone and print its URL (for clients outside gilbench)");
    s->footer(
        "Prints one line, the URL to GET (with ?delay=LATENCY), then serves on 127.0.0.1 until\n"
        "SIGINT/SIGTERM/SIGHUP (or --max-seconds). The same server `gilbench run` embeds, so real\n"
        "CPython can be measured against it: " + probe_command() + ".\n"
        "Example: gilbench serve --latency 0.05");
    s->add_option("--latency", o.latency_s, "Delay before each response, seconds (0 to 60)")
        ->check(CLI::Range(0.0, 60.0));
    s->add_option("--port", o.port, "TCP port on 127.0.0.1 (0: an ephemeral port)")->check(CLI::Range(0, 65535));
    s->add_option("--threads", o.io_threads, "Server threads")->check(CLI::Range(1, 64));
    s->add_option("--max-seconds", o.max_seconds, "Stop by itself after this many seconds (0: never)")
        ->check(CLI::NonNegativeNumber);
    s->callback([options, &exit_code] { exit_code = run_serve(*options); });
}

int run_serve(const ServeOptions& options) {
    const sigset_t set = stop_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before the server starts its threads
    std::unique_ptr<http::DelayServer> server;
    try {
        http::ServerConfig config;
        config.port = static_cast<std::uint16_t>(options.port);
        config.io_threads = options.io_threads;
        config.default_delay = std::chrono::microseconds(static_cast<std::int64_t>(options.latency_s * 1e6 + 0.5));
        server = std::make_unique<http::DelayServer>(config);
    } catch (const std::exception& e) {
        fmt::print(stderr, "gilbench: error: serve: {}\n", e.what());
        return 1;
    }
    // The URL is the only stdout line, flushed at once: a script reads it to find the port.
    fmt::print("{}\n", http::delay_url(server->base_url(), options.latency_s));
    std::fflush(stdout);
    const int sig = wait_for_stop(set, options.max_seconds);
    server->stop();
    fmt::print(stderr, "gilbench: serve: {} after {} requests\n",
               sig ? fmt::format("stopped by signal {}", sig) : std::string("time limit reached"),
               server->requests_served());
    return 0;
}

}  // namespace gilbench::cli
