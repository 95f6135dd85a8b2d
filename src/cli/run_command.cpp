#include "cli/run_command.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <optional>
#include <string>

#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <fmt/format.h>

#include "cli/cell_options.hpp"
#include "cli/provenance.hpp"
#include "engine/cpython/calibration.hpp"
#include "engine/cpython/cpython_engine.hpp"
#include "engine/factory.hpp"
#include "model/engines.hpp"
#include "http/client.hpp"  // global_init
#include "report/console.hpp"
#include "report/progress_display.hpp"
#include "report/summary.hpp"
#include "runner/interrupt.hpp"
#include "runner/node_calibration.hpp"
#include "runner/runner.hpp"
#include "runner/world.hpp"
#include "store/recorder.hpp"
#include "store/resume_plan.hpp"
#include "store/results_file.hpp"
#include "store/utc_now.hpp"

namespace gilbench::cli {
namespace {

using report::print_safely;

// Exit status of a run that completed but whose stored trials include some with I/O errors
// (without --allow-io-errors). Below 128, so it never reads as a signal (128 + n), and apart
// from 1 (an error that stopped the run).
constexpr int io_errors_exit_status = 3;

std::string default_output(const job::Job& job) { return fmt::format("results/{}.h5", job.name); }

const char* signal_name(int sig) {
    switch (sig) {
        case SIGTERM: return "SIGTERM";
        case SIGINT: return "SIGINT";
        case SIGUSR1: return "SIGUSR1";
    }
    return "a signal";
}

// Rank 0's trial sink: the recorder stores each trial, then the display shows it.
class RecordAndShow final : public runner::TrialSink {
public:
    RecordAndShow(store::Recorder& recorder, report::ProgressDisplay& display, const std::vector<model::Cell>& cells)
        : recorder_(recorder), display_(display), cells_(cells) {}
    void on_rounds_decided(const runner::auto_rounds::Decision& d) override {
        recorder_.on_rounds_decided(d);
        for (std::size_t i = 0; i < cells_.size(); ++i)
            display_.replan(i, cells_[i].warmups + std::max(cells_[i].repeats, d.rounds));
        display_.note(fmt::format("the pilot fixed {} rounds per cell ({}: {})", d.rounds, d.reason, d.detail));
    }
    void on_run_budget_spent(double budget_s) override {
        recorder_.on_run_budget_spent(budget_s);
        display_.note(fmt::format("the run's time budget of {} is spent: every cell ends here",
                                  report::format_duration(budget_s)));
    }
    void on_trial(const model::Cell& cell, std::size_t position, const model::TrialResult& r) override {
        recorder_.on_trial(cell, position, r);
        display_.trial(cell, position, r);
    }
    void on_cell_end(const model::Cell& cell, std::size_t position, runner::CellEnd end) override {
        recorder_.on_cell_end(cell, position, end);
        display_.cell_end(cell, position, end == runner::CellEnd::budget, recorder_.measured(position));
    }

private:
    store::Recorder& recorder_;
    report::ProgressDisplay& display_;
    const std::vector<model::Cell>& cells_;
};

// Each cell's trials: its plan's, or as many rounds as a resumed run's pilot fixed (repeats = "auto").
int planned_trials(const model::Cell& c, const store::ResumePlan& plan) {
    const int rounds = plan.stored ? plan.stored->auto_rounds : 0;
    return c.warmups + std::max(c.repeats, rounds);
}

std::vector<report::PlannedCell> planned(const std::vector<model::Cell>& cells, const store::ResumePlan& plan) {
    std::vector<report::PlannedCell> out;
    for (const auto& c : cells) out.push_back({c.name, planned_trials(c, plan), 0, false, c.time_budget_s});
    if (plan.stored)
        for (const auto& t : plan.stored->trials)
            if (t.cell >= 0 && static_cast<std::size_t>(t.cell) < out.size()) ++out[static_cast<std::size_t>(t.cell)].done;
    return out;
}

std::string resume_command(const job::Job& job, const std::string& output, int world_size) {
    return fmt::format("mpirun -np {} gilbench run {} -o {} --resume", world_size, job.path, output);
}

// The end of every "interrupted" message: what is kept, and how to finish the run.
std::string interrupted_note(int trials, const std::string& output, const std::string& run,
                             const std::string& resume_hint) {
    return fmt::format("the {} finished trials are saved in {} (/runs/{}, status 'interrupted')\ngilbench: to finish "
                       "the run: {}\n",
                       trials, output, run, resume_hint);
}

// Rank 0's side of a run: the run in the results file (a new one, or the one resumed), its
// recorder, and the progress display, fed together as the runner's trial sink.
struct Recording {
    store::HostMap hosts;  // this start's nodes in the run's hosts
    store::RunWriter writer;
    store::Recorder recorder;
    report::ProgressDisplay display;
    RecordAndShow sink;

    // `info`: the run's attributes, for a new run.
    Recording(store::Target& target, const job::Job& job, const std::vector<std::string>& hosts_now,
              const store::RunInfo& info, report::ProgressMode mode)
        : hosts(target.plan.hosts(hosts_now)),
          writer(open_run(target, job, hosts, info)),
          recorder(writer, job.cells, target.plan.resumes() ? &*target.plan.stored : nullptr,
                   hosts.identity() ? std::vector<int>{} : hosts.node),
          display(mode, planned(job.cells, target.plan), runner::default_trace_capacity),
          sink(recorder, display, job.cells) {}

private:
    static store::RunWriter open_run(store::Target& target, const job::Job& job, const store::HostMap& hosts,
                                     const store::RunInfo& info) {
        if (target.plan.resumes()) {
            store::RunWriter w = target.file.resume_run(target.plan.run, store::utc_now());
            if (hosts.added) w.set_hosts(hosts.hosts);
            return w;
        }
        store::RunWriter w = target.file.begin_run(info);
        w.add_cells(job.cells);
        return w;
    }
};

// Clears the watcher's actions when run_job returns: they refer to its locals.
struct AbandonGuard {
    ~AbandonGuard() {
        runner::on_abandon(nullptr);
        runner::on_stop_note(nullptr);
    }
};

// Rank 0: what a stop signal does (runner/interrupt.hpp): note a first SIGUSR1, and on an
// abandon (run by the main thread where it waits, or by the watcher if the main thread does
// not get there) close the run as interrupted with what is stored, and say how to finish it.
void watch_signals(Recording& rec, const std::string& output, const std::string& resume_hint) {
    runner::on_abandon([&rec, output, resume_hint](int sig) {
        rec.display.end();
        if (!rec.recorder.finish(store::RunStatus::interrupted)) return;  // the main thread got there first
        print_safely(stderr, "gilbench: {}: abandoned the trial in progress; {}", signal_name(sig),
                     interrupted_note(rec.recorder.stored_trials() + rec.recorder.new_trials(), output,
                                      rec.writer.name(), resume_hint));
        std::fflush(stderr);
    });
    runner::on_stop_note([&rec](int sig) {
        rec.display.note(fmt::format("{}: stopping after the current trial (send SIGTERM, or {} again, to stop at "
                                     "once)",
                                     signal_name(sig), signal_name(sig)));
    });
}

// Step 1: the job as every rank parses it, with the command-line overrides, checked against
// the world. nullopt: refused (rank 0 said why).
// --precision, --max-repeats and --run-budget: [job.auto]'s settings, for repeats = "auto" only.
void apply_auto_options(const RunOptions& o, job::Job& job) {
    const bool given = o.precision > 0 || o.max_repeats > 0 || o.run_budget >= 0;
    if (given && !job.auto_rounds.on)
        throw job::JobError("options --precision, --max-repeats and --run-budget size a run with repeats = \"auto\": "
                            "add --repeats auto, or write repeats = \"auto\" in the job's [defaults]");
    model::AutoRounds& a = job.auto_rounds;
    if (o.precision > 0) a.precision = o.precision;
    if (o.max_repeats > 0) a.max = o.max_repeats;
    if (o.run_budget >= 0) a.budget_s = o.run_budget;
    if (a.on && a.max < a.pilot)
        throw job::JobError(fmt::format("option --max-repeats: {} is fewer rounds than the pilot's {} ([job.auto] "
                                        "pilot); give at least {}",
                                        a.max, a.pilot, a.pilot));
}

// The run's repeats_auto attribute: "" when off.
std::string auto_text(const model::AutoRounds& a) {
    if (!a.on) return {};
    return fmt::format("precision={} pilot={} max={} budget={}", a.precision, a.pilot, a.max, a.budget_s);
}

std::optional<job::Job> prepare_job(const RunOptions& options, const boost::mpi::communicator& world) {
    const bool root = world.rank() == 0;
    const std::optional<std::string> text = runner::share_job_text(world, options.job_path);
    if (!text) return std::nullopt;
    job::Job job = job::parse_job(*text, options.job_path);
    try {
        job::apply_overrides(job, options.overrides);
        apply_auto_options(options, job);
    } catch (const job::JobError& e) {
        if (root) print_safely(stderr, "gilbench: error: {}\n", e.what());
        return std::nullopt;
    }
    for (const auto& c : job.cells)
        if (c.ranks > world.size()) {
            if (root)
                print_safely(stderr, "gilbench: error: cell '{}' needs {} ranks, got {}: run with mpirun -np {}\n",
                             c.name, c.ranks, world.size(), job.max_ranks());
            return std::nullopt;
        }
    // The known failure: srun without a matching --mpi starts N singletons of 1 rank each.
    // Rank 0 alone decides: ranks that mpirun starts on other nodes of an allocation inherit
    // the SLURM_* variables of its daemon step (SLURM_NTASKS = nodes), and a check made on
    // every rank would send some ranks home while others wait in the next collective.
    std::string slurm_error;
    if (const char* ntasks = std::getenv("SLURM_NTASKS"); root && ntasks && std::getenv("SLURM_JOB_ID"))
        if (std::atoi(ntasks) != world.size())
            slurm_error = fmt::format("Slurm started {} tasks but MPI sees {} rank(s): launch with srun --mpi=pmix "
                                      "(or mpirun inside the allocation)",
                                      ntasks, world.size());
    if (runner::failed_everywhere(world, slurm_error)) return std::nullopt;
    return job;
}

// How the start line names the order of the trials.
std::string order_phrase(const std::string& order) {
    if (order == model::to_string(model::Order::rounds)) return " in rounds (trial k of every cell, then trial k + 1)";
    if (order == model::to_string(model::Order::alternating))
        return " in rounds (trial k of every cell, odd rounds in reverse order)";
    return "";
}

// The order of the trials: the job's `[job] order`, or --order; a resumed run keeps the order its
// first start stored (all of its rounds interleave alike), and says so if --order asked for
// another. The same on every rank (rank 0 decides).
model::Order trial_order(const RunOptions& options, const job::Job& job, const std::optional<store::Target>& target,
                         const boost::mpi::communicator& world) {
    model::Order order = job.order;
    if (!options.order.empty()) order = model::parse_name<model::Order>(options.order).value_or(order);
    if (world.rank() == 0 && target->plan.resumes()) {
        // Runs from before the attribute took cells order.
        const std::string& stored = target->plan.stored->order;
        const model::Order kept = model::parse_name<model::Order>(stored).value_or(model::Order::cells);
        if (kept != order)
            print_safely(stderr, "gilbench: the resumed run keeps its trial order '{}'{}\n", model::to_string(kept),
                         options.order.empty() ? "" : fmt::format("; --order {} does not change it", options.order));
        order = kept;
    }
    int value = static_cast<int>(order);
    boost::mpi::broadcast(world, value, 0);
    return static_cast<model::Order>(value);
}

// Step 5 (rank 0): the verdict, the tables and the exit status.
int report_outcome(const RunOptions& options, const job::Job& job, const std::string& output, int world_size,
                   const runner::RunEnd& outcome, store::Recorder& recorder, const std::string& run_name,
                   const runner::Servers& servers, const runner::ServedCounts& served) {
    const bool complete = outcome.outcome == runner::RunOutcome::complete;
    const bool failed = outcome.outcome == runner::RunOutcome::failed;
    if (!recorder.finish(complete ? store::RunStatus::complete
                                  : failed ? store::RunStatus::failed : store::RunStatus::interrupted))
        return 128 + runner::stop_signal();  // abandoned meanwhile (the watcher's takeover)
    print_safely("\n{}", report::format_cell_table(job.cells, recorder.summary()));
    if (auto seed = report::format_seed_table(recorder.times())) print_safely("\n{}", *seed);
    if (const std::string note = recorder.disturbed_note(); !note.empty())
        print_safely(stderr, "gilbench: warning: {}\n", note);
    if (const std::string note = recorder.rounds_note(); !note.empty()) print_safely("\n{}\n", note);
    const int total = recorder.stored_trials() + recorder.new_trials();
    if (recorder.stored_trials() > 0)
        print_safely("\nresults: {} (/runs/{}, {} trials: {} from before the resume, {} now)\n", output, run_name,
                     total, recorder.stored_trials(), recorder.new_trials());
    else
        print_safely("\nresults: {} (/runs/{}, {} trials)\n", output, run_name, recorder.new_trials());
    if (servers.server && servers.shared)
        print_safely("shared server {} served {} requests\n", servers.base_url, servers.server->requests_served());
    else if (!served.text.empty())
        print_safely("embedded servers served (host requests): {}\n", served.text);
    std::fflush(stdout);
    // Failed trials are flagged in the file and left out of the statistics, but a run that
    // measured failures is not a result: say so, and exit non-zero unless told to accept it.
    const std::string failures = recorder.io_failure_summary();
    if (failed) {
        print_safely(stderr,
                     "gilbench: stopped after the first trial with a failure (--stop-on-failure): {}; the {} "
                     "finished trials are saved in {} (/runs/{}, status 'failed'; the errors table says what went "
                     "wrong)\ngilbench: to finish the run once it is fixed: {}\n",
                     failures, total, output, run_name, resume_command(job, output, world_size));
        return io_errors_exit_status;
    }
    if (!failures.empty() && (!complete || options.allow_io_errors))
        print_safely(stderr, "gilbench: warning: {}; the failed trials are flagged (trials.io_errors) and left out of "
                             "the statistics\n", failures);
    if (!complete) {
        // The signal as the ranks agreed on it: it may have reached another rank only.
        const int sig = outcome.signal;
        print_safely(stderr, "gilbench: interrupted by {} (signal {}): {}", signal_name(sig), sig,
                     interrupted_note(total, output, run_name, resume_command(job, output, world_size)));
        return 128 + sig;
    }
    if (!failures.empty() && !options.allow_io_errors) {
        print_safely(stderr,
                     "gilbench: {}; the run is stored with status 'complete' and the failed trials flagged "
                     "(trials.io_errors, summary.failed_trials) and left out of the statistics; pass "
                     "--allow-io-errors to accept them\n",
                     failures);
        return io_errors_exit_status;
    }
    return 0;
}

// The run's calibration, when some cell's engine asks for it (model::EngineDescriptor::
// needs_calibration: the emulated engine's io and mixed cells, and its old GIL, whose ticks take
// the real countdown's time): a resumed run's stored costs, else each node's calibration
// (runner/node_calibration.hpp).
struct RunCalibration {
    bool needed = false;
    runner::NodeCalibration costs;
};

bool needs_calibration(const job::Job& job) {
    return std::any_of(job.cells.begin(), job.cells.end(), [](const model::Cell& c) {
        const model::EngineDescriptor& e = model::engine_of(c);
        return e.needs_calibration && e.needs_calibration(c);
    });
}

// A resumed run keeps the costs its first start stored, so that all of its trials ran the same
// ones (a node new to the run, or a run stored before a cost was added: calibrate).
std::optional<workloads::UrllibCosts> kept_costs(const RunOptions& options, const runner::Topology& topo,
                                                 const std::optional<store::Target>& target,
                                                 const boost::mpi::communicator& world) {
    const std::vector<std::int64_t> stored =
        world.rank() == 0 ? target->plan.kept_costs(topo.hosts, workloads::UrllibCosts::names())
                          : std::vector<std::int64_t>{};
    std::optional<workloads::UrllibCosts> kept = runner::share_kept_costs(stored, topo, world);
    if (kept && world.rank() == 0)
        print_safely(stderr, "gilbench: the resumed run keeps its urllib costs ({}){}\n", target->plan.stored->calibration,
                     options.recalibrate || options.no_calibration || !options.old_gil_python.empty()
                         ? fmt::format("; {} does not change them",
                                       options.recalibrate      ? "--recalibrate"
                                       : options.no_calibration ? "--no-calibration"
                                                                : "--old-gil-python")
                         : std::string());
    return kept;
}

RunCalibration calibrate(const RunOptions& options, const job::Job& job, const runner::Topology& topo,
                         const std::optional<store::Target>& target, const boost::mpi::communicator& world) {
    RunCalibration out;
    out.needed = needs_calibration(job);
    if (!out.needed) return out;
    if (const std::optional<workloads::UrllibCosts> kept = kept_costs(options, topo, target, world)) {
        out.costs.mine = *kept;
        return out;
    }
    const engine::CalibrationMode mode = options.no_calibration ? engine::CalibrationMode::off
                                         : options.recalibrate  ? engine::CalibrationMode::recalibrate
                                                                : engine::CalibrationMode::cached;
    runner::CalibrationVoice voice;
    voice.measuring = [](const std::string& host) {
        print_safely(stderr,
                     "gilbench: {}: calibrating the emulated engine (urllib's costs, measured by the embedded "
                     "CPython: ~10 s, cached for later runs; --no-calibration uses the fallback instead)\n",
                     host);
    };
    voice.warning = [](const std::string& host, const std::string& warning) {
        print_safely(stderr, "gilbench: warning: {}: {}\n", host, warning);
    };
    // A Python 2 times the old GIL's ticks only where a cell runs the old GIL.
    const bool old_gil = std::any_of(job.cells.begin(), job.cells.end(), [](const model::Cell& c) {
        return c.engine == "emulated" && c.gil == model::GilPolicy::old_gil;
    });
    if (!options.old_gil_python.empty() && !old_gil && world.rank() == 0)
        print_safely(stderr, "gilbench: note: --old-gil-python is not used: no emulated cell runs gil = \"old\"\n");
    out.costs = runner::calibrate_nodes(mode, engine::calibration_cache_dir(), topo, world, voice,
                                        old_gil ? options.old_gil_python : std::string());
    return out;
}

// Step 2: the results file, opened (and the run to resume found) before any work, so a bad path
// or a mismatched resume costs nothing. Rank 0 holds it; nullopt everywhere if that failed.
std::optional<store::Target> open_results(const RunOptions& options, const job::Job& job, const std::string& output,
                                          const boost::mpi::communicator& world, bool* failed) {
    std::optional<store::Target> target;
    std::string error;
    if (world.rank() == 0) {
        try {
            target.emplace(store::open_target(output, file_info(options.command_line), job, options.resume,
                                              options.overwrite));
        } catch (const store::ResumeRefused& e) {
            error = e.what();
        } catch (const std::exception& e) {
            error = fmt::format("cannot write results to '{}': {}", output, e.what());
        }
    }
    *failed = runner::failed_everywhere(world, error);
    if (!*failed && world.rank() == 0 && !target->plan.note.empty())
        print_safely(stderr, "gilbench: {}\n", target->plan.note);
    return target;
}

// What the statistics do with disturbed trials: --disturbed, else $GILBENCH_DISTURBED, else
// "drop"; a resumed run keeps its own (its summary rows were made so).
std::string disturbed_trials(const RunOptions& options, const store::Target& target) {
    if (target.plan.resumes() && !target.plan.stored->disturbed_trials.empty())
        return target.plan.stored->disturbed_trials;
    if (!options.disturbed.empty()) return options.disturbed;
    const char* env = std::getenv("GILBENCH_DISTURBED");
    if (env && (std::string_view(env) == "keep" || std::string_view(env) == "drop")) return env;
    return "drop";
}

// Step 3's settings for the runner; every rank.
runner::RunSettings run_settings(const RunOptions& options, const job::Job& job, const runner::Servers& servers,
                                 const std::optional<store::Target>& target, const boost::mpi::communicator& world) {
    runner::RunSettings settings;
    settings.embedded_base_url = servers.base_url;
    settings.stop_requested = &runner::stop_requested();
    settings.stop_signal = runner::stop_signal;
    settings.stop_on_failure = options.stop_on_failure;
    settings.order = trial_order(options, job, target, world);
    // Disturbed trials are retried only where they are dropped from the statistics: a run that
    // keeps them (a test suite, a busy machine on purpose) has nothing to replace.
    int retries = 0;
    if (world.rank() == 0) retries = disturbed_trials(options, *target) == "drop" ? options.retries : 0;
    boost::mpi::broadcast(world, retries, 0);
    settings.retries = retries;
    if (world.rank() == 0) settings.done = target->plan.done(job.cells.size());
    boost::mpi::broadcast(world, settings.done.trials, 0);
    boost::mpi::broadcast(world, settings.done.closed, 0);
    boost::mpi::broadcast(world, settings.done.auto_rounds, 0);
    settings.auto_rounds = job.auto_rounds;
    return settings;
}

// The run's attributes (rank 0): provenance, the order, the server, the interpreter the cells'
// engines embed, and the calibration.
store::RunInfo describe_run(const job::Job& job, const runner::Topology& topo, int world_size,
                            const runner::RunSettings& settings, const runner::Servers& servers,
                            const RunCalibration& calibration, engine::EngineSet& engines) {
    store::RunInfo info = run_info(job, topo, world_size);
    info.order = model::to_string(settings.order);
    if (job.uses_embedded_server()) info.embedded_server = servers.shared ? servers.base_url : "per-node 127.0.0.1";
    for (const model::Cell& c : job.cells)
        if (const std::string v = engines.for_cell(c).interpreter_version(); !v.empty()) info.python_version = v;
    if (calibration.needed) {
        info.urllib_costs_ns = calibration.costs.per_node;
        info.urllib_costs_fields = workloads::UrllibCosts::names();
        info.urllib_costs_version = workloads::UrllibCosts::version;
        info.calibration = calibration.costs.how;
        if (!calibration.costs.how.starts_with("fallback"))
            info.calibration_interpreter = engine::CpythonEngine::library_description();
    }
    return info;
}

// Step 4's start on rank 0: the recording, the signal watcher and the run's opening line.
std::unique_ptr<Recording> start_recording(const RunOptions& options, const job::Job& job, store::Target& target,
                                           const runner::Topology& topo, const store::RunInfo& info, int world_size,
                                           const std::string& output) {
    auto rec = std::make_unique<Recording>(target, job, topo.hosts, info,
                                           report::choose_progress_mode(options.progress, options.quiet));
    rec->recorder.keep_disturbed(info.disturbed_trials == "keep");
    watch_signals(*rec, output, resume_command(job, output, world_size));
    std::size_t trials = 0;
    for (const auto& c : job.cells) trials += static_cast<std::size_t>(planned_trials(c, target.plan));
    const bool pilot = job.auto_rounds.on && !(target.plan.stored && target.plan.stored->auto_rounds > 0);
    print_safely(stderr, "gilbench: job '{}': {} cells, {} trials{}{} on {} rank(s), {} node(s); writing {} (/runs/{})\n",
                 job.name, job.cells.size(), trials,
                 pilot ? fmt::format(" in its pilot (repeats = \"auto\": {} rounds, then as many as they ask for, at "
                                     "most {})",
                                     job.auto_rounds.pilot, job.auto_rounds.max)
                       : "",
                 order_phrase(info.order),
                 world_size, topo.hosts.size(), output, rec->writer.name());
    return rec;
}

// The trials; a run that throws is stored as failed before the error goes on.
runner::RunEnd run_trials(const boost::mpi::communicator& world, const runner::Topology& topo, const job::Job& job,
                          const runner::RunSettings& settings, engine::EngineSet& engines, Recording* rec) {
    try {
        return runner::run_cells(world, topo, job.cells, settings, engines.engine_for(), rec ? &rec->sink : nullptr);
    } catch (...) {
        if (rec) {
            try {
                rec->display.end();
                rec->recorder.finish(store::RunStatus::failed);
            } catch (...) {
                // the original error matters more
            }
        }
        throw;
    }
}

// What every node's embedded server answered: proof that each node's ranks used their own
// server (per node, it equals their workers' requests), or the shared server's load.
runner::ServedCounts count_served(const boost::mpi::communicator& world, const runner::Topology& topo,
                                  const job::Job& job, const runner::Servers& servers, Recording* rec) {
    const runner::ServedCounts served = rec ? runner::served_counts(world, topo, servers, rec->hosts.node,
                                                                    rec->hosts.hosts.size())
                                            : runner::served_counts(world, topo, servers, {}, 0);
    if (rec && job.uses_embedded_server()) {
        try {
            rec->writer.set_server_requests(served.per_host);
        } catch (const std::exception& e) {
            print_safely(stderr, "gilbench: warning: {}\n", e.what());
        }
    }
    return served;
}

int run_job(const RunOptions& options, const boost::mpi::communicator& world) {
    const bool root = world.rank() == 0;
    const std::optional<job::Job> prepared = prepare_job(options, world);  // 1. the job
    if (!prepared) return 1;
    const job::Job& job = *prepared;
    const std::string output = options.output.empty() ? default_output(job) : options.output;
    bool failed = false;
    std::optional<store::Target> target = open_results(options, job, output, world, &failed);  // 2. the file
    if (failed) return 1;
    // A resumed run keeps the sizing its pilot was judged by.
    std::string refused;
    if (root && target->plan.resumes() && target->plan.stored->repeats_auto != auto_text(job.auto_rounds))
        refused = fmt::format("the run in {} was started with repeats = \"auto\" settings '{}', this start asks for "
                              "'{}'; resume it with the same [job.auto] and options, or start a new run without "
                              "--resume",
                              output, target->plan.stored->repeats_auto, auto_text(job.auto_rounds));
    if (runner::failed_everywhere(world, refused)) return 1;

    // 3. Where ranks live, one embedded server per node, and every external URL probed.
    http::global_init();
    const runner::Topology topo = runner::discover_topology(world);
    std::optional<runner::Servers> servers =
        runner::start_servers(world, topo, job.uses_embedded_server(), options.shared_server);
    if (!servers) return 1;
    const runner::RunSettings settings = run_settings(options, job, *servers, target, world);
    std::string error = root ? runner::check_urls(job.cells) : std::string();
    if (runner::failed_everywhere(world, error)) return 1;
    if (root)
        for (const auto& w : runner::oversubscription_warnings(job.cells, topo))
            print_safely(stderr, "gilbench: warning: {}\n", w);
    // Before the first trial, so no cell's timing shares the machine with it.
    RunCalibration calibration = calibrate(options, job, topo, target, world);
    if (runner::any_failed(world, calibration.costs.error)) return 1;
    // One object per engine the cells name: the runner prepares each once per rank.
    engine::EngineSet engines(engine::EngineSetup{calibration.costs.mine});

    // 4. The run: a new one, or the one being resumed.
    std::unique_ptr<Recording> rec;  // rank 0's side of the run
    AbandonGuard guard;
    if (root) {
        try {
            store::RunInfo info = describe_run(job, topo, world.size(), settings, *servers, calibration, engines);
            info.disturbed_trials = disturbed_trials(options, *target);
            info.repeats_auto = auto_text(job.auto_rounds);
            rec = start_recording(options, job, *target, topo, info, world.size(), output);
        } catch (const std::exception& e) {
            error = e.what();
        }
    }
    if (runner::failed_everywhere(world, error)) return 1;
    const runner::RunEnd outcome = run_trials(world, topo, job, settings, engines, rec.get());
    const runner::ServedCounts served = count_served(world, topo, job, *servers, rec.get());

    // 5. Report. Rank 0 gives the verdict (its exit status). Another rank leaving non-zero
    // first would make mpirun kill rank 0 while it still marks the run.
    if (!root) return 0;
    rec->display.end();
    return report_outcome(options, job, output, world.size(), outcome, rec->recorder, rec->writer.name(), *servers,
                          served);
}

}  // namespace

// The emulated engine's calibration (engine/cpython/calibration.hpp, old_gil_python.hpp).
void add_calibration_options(CLI::App& run, RunOptions& o) {
    run.add_flag("--recalibrate", o.recalibrate,
                  "Measure urllib's per-step Python costs (what the emulated engine's io and mixed cells run "
                  "between system calls) again with the embedded CPython, instead of reading them from the "
                  "cache ($XDG_CACHE_HOME/gilbench, default ~/.cache/gilbench), and cache the new ones");
    run.add_flag("--no-calibration", o.no_calibration,
                  "Use the documented fallback urllib costs (one development machine's) instead of this "
                  "machine's: the same figures everywhere; the run is stored as 'fallback: --no-calibration'")
        ->excludes("--recalibrate");
    run.add_option("--old-gil-python", o.old_gil_python,
                    "A Python 2 executable (e.g. ~/.pyenv/versions/2.7.18/bin/python) whose countdown times the "
                    "emulated old GIL's ticks, so that its releases come as often as that interpreter's; by "
                    "default the embedded CPython 3 stands in. Run without a shell, on each node; the run stops "
                    "if it cannot (not found, not a Python 2). Stored in the run's calibration attribute")
        ->excludes("--no-calibration");
}

void setup_run(CLI::App& app, RunOptions& o, int& exit_code) {
    CLI::App* run = app.add_subcommand("run", "Run a job file under MPI and write every trial to HDF5");
    run->footer(
        "Ranks are the processes: start with mpirun -np P (at least the largest `ranks` of any cell).\n"
        "Every trial is appended and flushed as it finishes. An existing results file gets a new run\n"
        "added (/runs/run-001, ...), never overwritten unless --overwrite is given.\n"
        "Stopping: SIGUSR1 (Slurm's --signal warning; mpirun forwards it) ends the run after the current\n"
        "trial; SIGTERM, SIGINT or a second SIGUSR1 abandon the current trial at once. Either way the run\n"
        "is marked 'interrupted', the exit status is 128 + the signal, and --resume finishes it.\n"
        "Trials with I/O errors are flagged and left out of the statistics; the run then exits with\n"
        "status 3 unless --allow-io-errors is given.\n"
        "Example: mpirun -np 2 gilbench run jobs/seed.toml -o results/seed.h5");
    run->add_option("job", o.job_path, "Job file (TOML), e.g. jobs/seed.toml")->required();
    run->add_option("-o,--output", o.output, "Results file (HDF5); default results/<job name>.h5");
    run->add_flag("--resume", o.resume,
                  "Continue the latest unfinished (interrupted/running/failed) run of this job in the -o file: "
                  "finished trials are not repeated; a missing file, or one without runs, starts a new run");
    run->add_flag("--overwrite", o.overwrite,
                  "Delete an existing results file (gilbench files only) and start a new one, instead of adding a "
                  "run to it");
    run->add_option("--shared-server", o.shared_server,
                    "Opt-in: instead of one embedded server per node on 127.0.0.1, run one on rank 0's node "
                    "bound to this address (IP or host name of that node) and send every node's requests "
                    "there, as to a shared remote service");
    add_cell_options(*run, o.overrides, CellOptionsFor::run);  // --repeats, --gil, --threads, ...
    run->add_option("--progress", o.progress,
                    "Progress on stderr: auto (a live bar on a terminal, else one line per trial), bar, lines, none")
        ->check(CLI::IsMember({"auto", "bar", "lines", "none"}));
    run->add_flag("-q,--quiet", o.quiet, "No progress on stderr (= --progress none)");
    run->add_flag("--stop-on-failure", o.stop_on_failure,
                  "Stop the run after the first trial with a failure (a failed request, an exception in the "
                  "user's Python function) instead of going on with the other trials and cells; the run is "
                  "stored with status 'failed', exits with status 3, and --resume continues it");
    add_calibration_options(*run, o);
    run->add_option("--disturbed", o.disturbed,
                    "What the statistics do with disturbed trials (another process, steal or a slower core took "
                    "time from them; trials.disturbed says which): drop (the default; they stay in the file, "
                    "flagged) or keep (they count, still flagged: for runs on a machine known to be busy, such "
                    "as a test suite). Default: $GILBENCH_DISTURBED, else drop; a resumed run keeps its own")
        ->check(CLI::IsMember({"drop", "keep"}));
    run->add_option("--retries", o.retries,
                    "The most times per cell a disturbed measured trial is run again (at once, in the same "
                    "round, with a trial number past the plan's; at most 2 in a row for one round); default: the "
                    "cell's repeats; 0: none. Only where disturbed trials are dropped (--disturbed drop)")
        ->check(CLI::Range(0, 1000000));
    run->add_option("--precision", o.precision,
                    "With --repeats auto (or repeats = \"auto\" in the job): the half-width wanted of every "
                    "paired ratio's 95 % interval, relative (0.03: +-3 %); default [job.auto] precision, else 0.03. "
                    "A pilot of [job.auto] pilot rounds (default 6) measures the noise and fixes the rounds "
                    "once (Stein's two-stage rule, docs/statistics.md)")
        ->check(CLI::Range(0.001, 1.0));
    run->add_option("--max-repeats", o.max_repeats,
                    "With repeats = \"auto\": the most rounds (default [job.auto] max, else 40)")
        ->check(CLI::Range(3, 1000000));
    run->add_option("--run-budget", o.run_budget,
                    "With repeats = \"auto\": the most seconds the run's rounds may take; the pilot asks for no "
                    "more rounds than fit at its pace, and every cell ends when it is spent (default [job.auto] "
                    "budget, else none)")
        ->check(CLI::Range(0.0, 31.0 * 86400));
    run->add_option("--order", o.order,
                    "The order of the trials, instead of the job's `[job] order` (default alternating): "
                    "alternating (round k runs trial k of every cell, odd rounds in reverse order, so cells "
                    "compared run close in time and a drift of the machine falls on both sides alike), rounds "
                    "(the same, every round in plan order) or cells (every trial of a cell, then the next cell: "
                    "no pairs close in time, so no interval of a ratio can be trusted); a resumed run keeps its own")
        ->check(CLI::IsMember({"alternating", "rounds", "cells"}));
    run->add_flag("--allow-io-errors", o.allow_io_errors,
                  "Exit 0 even if some trials had I/O errors (failed requests). Without it such a run still "
                  "completes and stores every trial, flagged (trials.io_errors) and left out of the statistics, "
                  "but exits with status 3");
    run->callback([&] { exit_code = run_run(o); });
}

int run_run(const RunOptions& options) {
    // Only rank 0's main thread talks MPI: the worker threads never do.
    boost::mpi::environment env(boost::mpi::threading::funneled);
    boost::mpi::communicator world;
    runner::install_stop_signals(world.rank() == 0);
    try {
        return run_job(options, world);
    } catch (const std::exception& e) {
        print_safely(stderr, "gilbench: error on rank {}: {}\n", world.rank(), e.what());
        env.abort(1);
    }
    return 1;
}

}  // namespace gilbench::cli
