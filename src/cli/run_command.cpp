#include "cli/run_command.hpp"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <boost/serialization/string.hpp>
#include <fmt/format.h>

#include "cli/provenance.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "report/summary.hpp"
#include "runner/runner.hpp"
#include "store/results_file.hpp"

namespace gilbench::cli {
namespace {

// The one piece of global state: a signal handler can only reach a global.
std::atomic<bool> stop_requested{false};
std::atomic<int> stop_signal{0};

extern "C" void on_stop_signal(int sig) {
    stop_signal.store(sig);
    stop_requested.store(true);
}

// SIGTERM (scancel, Slurm's time limit), SIGUSR1 (Slurm's --signal warning), SIGINT (Ctrl-C):
// finish the current trial, flush, mark the run interrupted.
void install_stop_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGTERM, SIGINT, SIGUSR1}) sigaction(sig, &sa, nullptr);
}

// Rank 0 decides, everybody learns the verdict: a non-empty message means all ranks stop.
bool failed_everywhere(const boost::mpi::communicator& world, std::string& message) {
    boost::mpi::broadcast(world, message, 0);
    if (!message.empty() && world.rank() == 0) fmt::print(stderr, "gilbench: error: {}\n", message);
    return !message.empty();
}

// Any rank's failure (e.g. its embedded server could not bind) stops all of them.
bool any_failed(const boost::mpi::communicator& world, const std::string& mine) {
    std::vector<std::string> all;
    boost::mpi::gather(world, mine, all, 0);
    std::string first;
    if (world.rank() == 0)
        for (std::size_t r = 0; r < all.size() && first.empty(); ++r)
            if (!all[r].empty()) first = fmt::format("rank {}: {}", r, all[r]);
    return failed_everywhere(world, first);
}

std::string default_output(const job::Job& job) { return fmt::format("results/{}.h5", job.name); }

// Probes every external URL once, so a typo fails in a second instead of after a sweep.
std::string check_urls(const job::Job& job) {
    std::set<std::string> urls;
    for (const auto& c : job.cells)
        if (c.workload != model::Workload::cpu && !c.url.empty()) urls.insert(c.url);
    http::HttpClient client(http::ClientConfig{.timeout = std::chrono::milliseconds(10000)});
    for (const auto& url : urls) {
        const http::GetResult r = client.get(url);
        if (!r.ok())
            return fmt::format("cannot reach --url/url '{}': {}; check the address, or leave url out to use "
                               "the embedded server",
                               url, r.error);
    }
    return {};
}

// Writes each trial to HDF5 as it arrives and keeps the wall times for the tables.
class StoreSink final : public runner::TrialSink {
public:
    StoreSink(store::RunWriter& writer, const std::vector<model::Cell>& cells) : writer_(writer) {
        for (const auto& c : cells) times_.push_back({c, {}});
    }
    void on_trial(const model::Cell& cell, const model::TrialResult& r) override {
        writer_.add_trial(r);
        ++trials_;
        if (!r.trial.warmup) times_[static_cast<std::size_t>(cell.index)].wall_s.push_back(r.trial.wall_s);
    }
    const std::vector<report::CellTimes>& times() const { return times_; }
    int trials() const { return trials_; }

private:
    store::RunWriter& writer_;
    std::vector<report::CellTimes> times_;
    int trials_ = 0;
};

int run_job(const RunOptions& options, const boost::mpi::communicator& world) {
    // 1. The job: rank 0 reads the file (other nodes may not see the same path), all parse it.
    std::string text, error;
    if (world.rank() == 0) {
        try {
            text = job::load_job(options.job_path).text;
        } catch (const std::exception& e) {
            error = e.what();
        }
    }
    if (failed_everywhere(world, error)) return 1;
    boost::mpi::broadcast(world, text, 0);
    job::Job job = job::parse_job(text, options.job_path);
    try {
        job::apply_overrides(job, options.overrides);
    } catch (const job::JobError& e) {
        if (world.rank() == 0) fmt::print(stderr, "gilbench: error: {}\n", e.what());
        return 1;
    }
    for (const auto& c : job.cells)
        if (c.ranks > world.size()) {
            if (world.rank() == 0)
                fmt::print(stderr, "gilbench: error: cell '{}' needs {} ranks, got {}: run with mpirun -np {}\n",
                           c.name, c.ranks, world.size(), job.max_ranks());
            return 1;
        }
    if (const char* ntasks = std::getenv("SLURM_NTASKS"); ntasks && std::getenv("SLURM_JOB_ID")) {
        // The known failure: srun without a matching --mpi starts N singletons of 1 rank each.
        if (std::atoi(ntasks) != world.size()) {
            if (world.rank() == 0)
                fmt::print(stderr,
                           "gilbench: error: Slurm started {} tasks but MPI sees {} rank(s): launch with "
                           "srun --mpi=pmix (or mpirun inside the allocation)\n",
                           ntasks, world.size());
            return 1;
        }
    }

    // 2. The results file, opened before any work so a bad path costs nothing.
    const std::string output = options.output.empty() ? default_output(job) : options.output;
    std::optional<store::ResultsFile> file;
    if (world.rank() == 0) {
        try {
            const auto parent = std::filesystem::path(output).parent_path();
            if (!parent.empty()) std::filesystem::create_directories(parent);
            file.emplace(store::ResultsFile::open_or_create(output, file_info(options.command_line)));
        } catch (const std::exception& e) {
            error = fmt::format("cannot write results to '{}': {}", output, e.what());
        }
    }
    if (failed_everywhere(world, error)) return 1;

    // 3. Where ranks live, and one embedded server per node.
    http::global_init();
    const runner::Topology topo = runner::discover_topology(world);
    std::unique_ptr<http::DelayServer> server;
    int port = 0;
    if (job.uses_embedded_server() && topo.node_rank == 0) {
        try {
            server = std::make_unique<http::DelayServer>(http::ServerConfig{});
            port = server->port();
        } catch (const std::exception& e) {
            error = fmt::format("embedded HTTP server on {}: {}", topo.hosts[static_cast<std::size_t>(topo.node)],
                                e.what());
        }
    }
    if (any_failed(world, error)) return 1;
    boost::mpi::broadcast(topo.node_comm, port, 0);
    runner::RunSettings settings;
    if (port) settings.embedded_base_url = fmt::format("http://127.0.0.1:{}/", port);
    settings.stop_requested = &stop_requested;
    if (world.rank() == 0) {
        error = check_urls(job);
        if (!options.quiet) settings.progress = [](const std::string& line) { fmt::print(stderr, "gilbench: {}\n", line); };
    }
    if (failed_everywhere(world, error)) return 1;

    // 4. Run, writing every trial as it finishes.
    std::optional<store::RunWriter> writer;
    std::optional<StoreSink> sink;
    if (world.rank() == 0) {
        store::RunInfo info;
        info.job = job.text;
        info.job_path = job.path;
        info.started_utc = utc_now_iso8601();
        info.ranks = world.size();
        info.nodes = static_cast<int>(topo.hosts.size());
        info.hosts = topo.hosts;
        writer.emplace(file->begin_run(info));
        writer->add_cells(job.cells);
        sink.emplace(*writer, job.cells);
        fmt::print(stderr, "gilbench: job '{}': {} cells on {} rank(s), {} node(s); writing {} ({})\n", job.name,
                   job.cells.size(), world.size(), topo.hosts.size(), output, writer->name());
    }
    runner::RunOutcome outcome = runner::RunOutcome::complete;
    try {
        outcome = runner::run_cells(world, topo, job.cells, settings, sink ? &*sink : nullptr);
    } catch (...) {
        if (writer) writer->set_status(store::RunStatus::failed);
        throw;
    }

    // 5. Report.
    if (world.rank() != 0) return outcome == runner::RunOutcome::complete ? 0 : 1;
    const bool complete = outcome == runner::RunOutcome::complete;
    writer->set_status(complete ? store::RunStatus::complete : store::RunStatus::interrupted);
    fmt::print("\n{}", report::format_cell_table(sink->times()));
    if (auto seed = report::format_seed_table(sink->times())) fmt::print("\n{}", *seed);
    fmt::print("\nresults: {} (/runs/{}, {} trials)\n", output, writer->name(), sink->trials());
    if (!complete) {
        fmt::print(stderr, "gilbench: interrupted by signal {}: the {} finished trials are saved in {} (/runs/{})\n",
                   stop_signal.load(), sink->trials(), output, writer->name());
        return 128 + stop_signal.load();
    }
    return 0;
}

}  // namespace

void setup_run(CLI::App& app, RunOptions& o, int& exit_code) {
    CLI::App* run = app.add_subcommand("run", "Run a job file under MPI and write every trial to HDF5");
    run->footer(
        "Ranks are the processes: start with mpirun -np P (at least the largest `ranks` of any cell).\n"
        "Each trial is appended and flushed as it finishes; SIGTERM/SIGINT/SIGUSR1 end the run after\n"
        "the current trial with status 'interrupted'. An existing results file gets a new run added,\n"
        "never overwritten.\n"
        "Example: mpirun -np 2 gilbench run jobs/seed.toml -o results/seed.h5");
    run->add_option("job", o.job_path, "Job file (TOML), e.g. jobs/seed.toml")->required();
    run->add_option("-o,--output", o.output, "Results file (HDF5); default results/<job name>.h5");
    run->add_option("--url", o.overrides.url,
                    "Send the I/O requests here (http:// or https://) instead of the embedded server");
    run->add_option("--latency", o.overrides.latency_s, "Embedded server delay per request, seconds (overrides the job)");
    run->add_option("--repeats", o.overrides.repeats, "Measured trials per cell (overrides the job)");
    run->add_option("--warmups", o.overrides.warmups, "Unrecorded-in-tables warm-up trials per cell (overrides the job)");
    run->add_option("--gil", o.overrides.gil, "GIL policy for every cell: new, old or none");
    run->add_option("--switch-interval", o.overrides.switch_interval_s, "New-GIL switch interval, seconds");
    // A callback, not an optional<bool>: CLI11 would set the optional to false when the flag is
    // absent, which would switch off `trace = true` from the job.
    run->add_flag_callback("--trace", [&o] { o.overrides.trace = true; },
                           "Record GIL take/drop/request and I/O events of every trial");
    run->add_flag("-q,--quiet", o.quiet, "No per-trial progress lines on stderr");
    run->callback([&] { exit_code = run_run(o); });
}

int run_run(const RunOptions& options) {
    // Only rank 0's main thread talks MPI: the worker threads never do.
    boost::mpi::environment env(boost::mpi::threading::funneled);
    boost::mpi::communicator world;
    install_stop_handlers();
    try {
        return run_job(options, world);
    } catch (const std::exception& e) {
        fmt::print(stderr, "gilbench: error on rank {}: {}\n", world.rank(), e.what());
        env.abort(1);
    }
    return 1;
}

}  // namespace gilbench::cli
