#include "cli/run_command.hpp"

#include <arpa/inet.h>
#include <limits.h>
#include <netdb.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <fmt/format.h>

#include "cli/cell_options.hpp"
#include "cli/provenance.hpp"
#include "engine/emulated_engine.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "report/progress.hpp"
#include "report/summary.hpp"
#include "runner/interrupt.hpp"
#include "runner/runner.hpp"
#include "store/results_file.hpp"
#include "store/utc_now.hpp"

namespace gilbench::cli {
namespace {

using steady = std::chrono::steady_clock;

// Console output that cannot end the run. SIGPIPE is ignored (runner::install_stop_signals),
// so a write to a pipe whose reader is gone (mpirun exited first) fails with EPIPE, on which
// fmt::print throws; rank 0 must still mark the run in the file, which matters more than a
// progress line nobody can read.
template <class... Args>
void print_safely(std::FILE* to, fmt::format_string<Args...> format, Args&&... args) noexcept {
    try {
        fmt::print(to, format, std::forward<Args>(args)...);
    } catch (...) {
        std::clearerr(to);  // the next write tries again (and fails alike) instead of staying silent
    }
}
template <class... Args>
void print_safely(fmt::format_string<Args...> format, Args&&... args) noexcept {
    print_safely(stdout, format, std::forward<Args>(args)...);
}

// Rank 0 decides, everybody learns the verdict: a non-empty message means all ranks stop.
bool failed_everywhere(const boost::mpi::communicator& world, std::string& message) {
    boost::mpi::broadcast(world, message, 0);
    if (!message.empty() && world.rank() == 0) print_safely(stderr, "gilbench: error: {}\n", message);
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

// The IPv4 address of `name` (an address is returned as it is), for binding a server.
std::string resolve_ipv4(const std::string& name) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    addrinfo* found = nullptr;
    if (const int rc = getaddrinfo(name.c_str(), nullptr, &hints, &found); rc != 0)
        throw std::runtime_error(fmt::format("cannot resolve '{}': {}; give the node's IP address", name,
                                             gai_strerror(rc)));
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(found->ai_addr)->sin_addr, text, sizeof text);
    freeaddrinfo(found);
    return text;
}

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

// Probes every external URL once, so a typo fails in a second instead of after a sweep.
// Each probe has the deadline its cells' requests will have (the longest, where cells that
// share the URL differ), so a server that stalls or drips fails here too, and no sooner.
std::string check_urls(const job::Job& job) {
    std::map<std::string, double> urls;  // URL -> io_timeout_s
    for (const auto& c : job.cells)
        if (c.workload != model::Workload::cpu && !c.url.empty())
            urls[c.url] = std::max(urls[c.url], c.io_timeout_s);
    for (const auto& [url, timeout_s] : urls) {
        http::HttpClient client(http::ClientConfig{
            .timeout = std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(timeout_s * 1000.0)))});
        const http::GetResult r = client.get(url);
        if (!r.ok())
            return fmt::format("cannot reach --url/url '{}': {}; check the address, or leave url out to use "
                               "the embedded server",
                               url, r.error);
    }
    return {};
}

// ---- progress display ---------------------------------------------------------------------

enum class ProgressMode { none, lines, bar };

bool is_terminal_path(const std::string& p) { return p.rfind("/dev/pts/", 0) == 0 || p.rfind("/dev/tty", 0) == 0; }

// mpirun hands its ranks a pipe for stderr (and a pty for stdout, even when redirected), so
// isatty alone never sees the user's terminal: look at the launcher's stderr too.
bool stderr_is_terminal() {
    if (::isatty(STDERR_FILENO)) return true;
    char target[PATH_MAX] = {};
    const std::string link = fmt::format("/proc/{}/fd/2", ::getppid());
    const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    return n > 0 && is_terminal_path(std::string(target, static_cast<std::size_t>(n)));
}

ProgressMode choose_progress(const RunOptions& o) {
    if (o.quiet || o.progress == "none") return ProgressMode::none;
    if (o.progress == "lines") return ProgressMode::lines;
    if (o.progress == "bar") return ProgressMode::bar;
    return stderr_is_terminal() ? ProgressMode::bar : ProgressMode::lines;
}

std::size_t terminal_width() {
    if (const char* c = std::getenv("COLUMNS"); c && std::atoi(c) > 20) return static_cast<std::size_t>(std::atoi(c));
    return 100;
}

// ---- what rank 0 keeps while the run goes on ---------------------------------------------

// Writes each trial to HDF5 as it arrives, keeps what the summary and tables need, shows
// progress, and is what the signal watcher uses to abandon the run: every file access holds
// `mutex_`, so the watcher never writes in the middle of a trial.
class Recorder final : public runner::TrialSink {
public:
    Recorder(store::RunWriter& writer, const std::vector<model::Cell>& cells, const store::StoredRun* stored,
             std::vector<int> node_map, ProgressMode mode, std::string resume_hint)
        : writer_(writer),
          cells_(cells),
          per_cell_(cells.size()),
          node_map_(std::move(node_map)),
          mode_(mode),
          resume_hint_(std::move(resume_hint)),
          progress_(planned(cells, stored)),
          start_(steady::now()) {
        stored_trials_ = static_cast<int>(writer_.trials_written());
        if (stored) {
            for (const auto& t : stored->trials) keep_trial(t);
            for (const auto& w : stored->workers) keep_worker(w);
            for (const auto& s : stored->summary)
                if (s.cell >= 0 && static_cast<std::size_t>(s.cell) < per_cell_.size())
                    per_cell_[static_cast<std::size_t>(s.cell)].written_state = s.state;
        } else {
            for (auto& c : per_cell_) c.written_state = "pending";  // add_cells wrote these rows
        }
        // A live bar also moves during long trials: redraw it every second.
        if (mode_ == ProgressMode::bar) ticker_ = std::thread([this] { tick(); });
    }

    void on_trial(const model::Cell& cell, std::size_t position, const model::TrialResult& r) override {
        std::lock_guard lock(mutex_);
        if (final_) return;
        if (node_map_.empty()) {
            writer_.add_trial(r);
            keep(r);
        } else {
            model::TrialResult mapped = r;  // a resumed run numbers nodes by its merged hosts list
            for (auto& w : mapped.workers) w.node = node_map_[static_cast<std::size_t>(w.node)];
            writer_.add_trial(mapped);
            keep(mapped);
        }
        ++new_trials_;
        if (first_error_.empty() && !r.first_error.empty())
            first_error_ = fmt::format("{} (cell '{}' trial {})", r.first_error, cell.name, r.trial.trial);
        std::int64_t requests = 0, dropped = 0;
        for (const auto& w : r.workers) {
            requests += w.io_requests;
            dropped += w.trace_dropped;
        }
        // Once per cell: later trials of a cell that overflowed will overflow alike.
        if (dropped > 0 && !per_cell_[position].warned_trace) {
            per_cell_[position].warned_trace = true;
            warn(fmt::format("cell '{}' trial {}: {} trace events dropped: a thread keeps at most {} (the count per "
                             "worker is workers.trace_dropped), so its timeline ends early; trace a cell with less "
                             "work or fewer threads",
                             cell.name, r.trial.trial, dropped, runner::default_trace_capacity));
        }
        const double now = seconds();
        progress_.trial_done(position, now);
        const report::TrialUpdate u{position, r.trial.trial, r.trial.warmup, r.trial.wall_s};
        const std::string errors =
            r.trial.io_errors > 0
                ? fmt::format("{} of {} requests failed (trial flagged, left out of the statistics), first: {}",
                              r.trial.io_errors, requests, r.first_error)
                : std::string();
        if (mode_ == ProgressMode::lines) {
            std::string line = report::progress_line(progress_, u, now);
            if (!errors.empty()) line += "; " + errors;
            print_safely(stderr, "gilbench: {}\n", line);
        } else if (mode_ == ProgressMode::bar) {
            if (!errors.empty()) note(fmt::format("cell '{}' trial {}: {}", cell.name, r.trial.trial, errors));
            last_update_ = u;
            draw_bar(now);
        }
    }

    ~Recorder() override {
        {
            std::lock_guard lock(mutex_);
            stop_ticker_ = true;
        }
        tick_cv_.notify_all();
        if (ticker_.joinable()) ticker_.join();
    }

    void on_cell_end(const model::Cell& cell, std::size_t position, runner::CellEnd end) override {
        std::lock_guard lock(mutex_);
        if (final_) return;
        PerCell& pc = per_cell_[position];
        pc.state = end == runner::CellEnd::complete ? report::CellState::complete
                   : end == runner::CellEnd::budget ? report::CellState::budget
                   : pc.trials.empty()              ? report::CellState::pending
                                                    : report::CellState::partial;
        pc.ended = true;
        write_summary_row(cell, pc);
        progress_.cell_done(position, seconds());
        if (end == runner::CellEnd::budget && mode_ != ProgressMode::none) {
            int measured = 0;
            for (const auto& t : pc.trials) measured += !t.warmup;
            note(fmt::format("cell {}/{} {}: time budget of {} reached; {} of {} repeats ran", position + 1,
                             cells_.size(), cell.name, report::format_duration(cell.time_budget_s), measured,
                             cell.repeats));
        }
    }

    // The run ended (complete, interrupted after a trial, or failed): summary rows for the
    // cells that never reported, then the status. Returns false if the watcher got there first.
    bool finish(store::RunStatus status) {
        std::lock_guard lock(mutex_);
        if (final_) return false;
        end_bar();
        close_run(status);
        return true;
    }

    // The signal watcher's way out: mark the run interrupted with what is stored, once.
    void abandon(int sig) {
        std::lock_guard lock(mutex_);
        if (final_) return;
        end_bar();
        close_run(store::RunStatus::interrupted);
        print_safely(stderr,
                   "gilbench: {}: abandoned the trial in progress; the {} finished trials are saved in {} (/runs/{}, "
                   "status 'interrupted')\ngilbench: to finish the run: {}\n",
                   signal_name(sig), stored_trials_ + new_trials_, output_name(), writer_.name(), resume_hint_);
        std::fflush(stderr);
    }

    // From another thread (the signal watcher): a line between bar redraws.
    void say(const std::string& text) {
        std::lock_guard lock(mutex_);
        note(text);
    }

private:
    void note(const std::string& text) {
        if (mode_ == ProgressMode::none) return;
        print_safely(stderr, "{}gilbench: {}\n", bar_shown_ ? "\r\x1b[K" : "", text);
        std::fflush(stderr);
    }
    // Shown even with --quiet: something about the results themselves.
    void warn(const std::string& text) {
        print_safely(stderr, "{}gilbench: warning: {}\n", bar_shown_ ? "\r\x1b[K" : "", text);
        std::fflush(stderr);
    }

public:
    std::vector<model::CellSummaryRecord> summary() const {
        std::vector<model::CellSummaryRecord> rows;
        for (std::size_t i = 0; i < cells_.size(); ++i) rows.push_back(summary_of(cells_[i], per_cell_[i]));
        return rows;
    }

    std::vector<report::CellTimes> times() const {
        std::vector<report::CellTimes> out;
        for (std::size_t i = 0; i < cells_.size(); ++i) {
            report::CellTimes ct{cells_[i], {}, 0};
            for (const auto& t : per_cell_[i].trials) {
                if (t.warmup) continue;
                if (t.io_errors > 0) ++ct.failed;  // left out, as in the summary
                else ct.wall_s.push_back(t.wall_s);
            }
            out.push_back(std::move(ct));
        }
        return out;
    }

    // The run's trials with I/O errors (warm-ups included: a failing warm-up means the target
    // fails too), over every stored trial of the run, earlier starts included. "" if none.
    std::string io_failure_summary() const {
        int failed = 0, total = 0, cells = 0;
        std::vector<std::string> where;
        for (std::size_t i = 0; i < cells_.size(); ++i) {
            int f = 0;
            for (const auto& t : per_cell_[i].trials) f += t.io_errors > 0;
            total += static_cast<int>(per_cell_[i].trials.size());
            if (f == 0) continue;
            failed += f;
            ++cells;
            if (where.size() < 6)
                where.push_back(fmt::format("{}: {} of {}", cells_[i].name, f, per_cell_[i].trials.size()));
        }
        if (failed == 0) return {};
        std::string list;
        for (const auto& w : where) list += (list.empty() ? "" : ", ") + w;
        if (cells > static_cast<int>(where.size())) list += fmt::format(", {} more", cells - static_cast<int>(where.size()));
        return fmt::format("{} of {} trials had I/O errors in {} cell(s) ({}); first error: {}", failed, total, cells,
                           list, first_error_.empty() ? "(in an earlier start of the run)" : first_error_);
    }

    int new_trials() const { return new_trials_; }
    int stored_trials() const { return stored_trials_; }
    void set_output_name(std::string name) { output_ = std::move(name); }

private:
    struct PerCell {
        std::vector<model::TrialRecord> trials;
        std::vector<model::WorkerRecord> spans;  // one per (trial, rank): its threads' span
        report::CellState state = report::CellState::pending;
        bool ended = false;          // reported by the runner on this pass
        int new_trials = 0;          // trials run on this pass
        bool warned_trace = false;   // a trace overflow was reported
        std::string written_state;   // the summary row in the file ("" if none)
    };

    static std::vector<report::PlannedCell> planned(const std::vector<model::Cell>& cells,
                                                    const store::StoredRun* stored) {
        std::vector<report::PlannedCell> out;
        for (const auto& c : cells) out.push_back({c.name, c.warmups + c.repeats, 0, false, c.time_budget_s});
        if (stored)
            for (const auto& t : stored->trials)
                if (t.cell >= 0 && static_cast<std::size_t>(t.cell) < out.size()) ++out[static_cast<std::size_t>(t.cell)].done;
        return out;
    }

    double seconds() const { return std::chrono::duration<double>(steady::now() - start_).count(); }
    std::string output_name() const { return output_; }

    void draw_bar(double now) {
        if (!last_update_) return;
        print_safely(stderr, "\r\x1b[K{}", report::progress_bar(progress_, *last_update_, now, terminal_width() - 1));
        std::fflush(stderr);
        bar_shown_ = true;
    }

    void tick() {
        std::unique_lock lock(mutex_);
        while (!stop_ticker_ && !final_) {
            tick_cv_.wait_for(lock, std::chrono::seconds(1));
            if (!stop_ticker_ && !final_) draw_bar(seconds());
        }
    }

    void end_bar() {
        if (bar_shown_) print_safely(stderr, "\n");
        bar_shown_ = false;
    }

    void keep_trial(const model::TrialRecord& t) {
        if (t.cell >= 0 && static_cast<std::size_t>(t.cell) < per_cell_.size())
            per_cell_[static_cast<std::size_t>(t.cell)].trials.push_back(t);
    }
    // Only a rank's span matters for the statistics: keep one record per (trial, rank).
    void keep_worker(const model::WorkerRecord& w) {
        if (w.cell < 0 || static_cast<std::size_t>(w.cell) >= per_cell_.size()) return;
        auto& spans = per_cell_[static_cast<std::size_t>(w.cell)].spans;
        for (auto it = spans.rbegin(); it != spans.rend(); ++it)
            if (it->trial == w.trial && it->rank == w.rank) {
                it->start_s = std::min(it->start_s, w.start_s);
                it->end_s = std::max(it->end_s, w.end_s);
                return;
            }
        model::WorkerRecord span;
        span.cell = w.cell;
        span.trial = w.trial;
        span.rank = w.rank;
        span.start_s = w.start_s;
        span.end_s = w.end_s;
        spans.push_back(span);
    }
    void keep(const model::TrialResult& r) {
        keep_trial(r.trial);
        ++per_cell_[static_cast<std::size_t>(r.trial.cell)].new_trials;
        for (const auto& w : r.workers) keep_worker(w);
    }

    static model::CellSummaryRecord summary_of(const model::Cell& cell, const PerCell& pc) {
        report::CellState state = pc.state;
        if (!pc.ended && !pc.written_state.empty()) {
            // Not reached on this pass: what the file says (a resumed run's earlier cells).
            for (auto s : {report::CellState::pending, report::CellState::partial, report::CellState::budget,
                           report::CellState::complete})
                if (pc.written_state == report::to_string(s)) state = s;
        }
        return report::summarize_cell(cell, state, pc.trials, pc.spans);
    }

    // Summary rows for the cells that got trials on this pass but never ended (the one cut
    // short), then the final status.
    void close_run(store::RunStatus status) {
        for (std::size_t i = 0; i < cells_.size(); ++i)
            if (!per_cell_[i].ended && per_cell_[i].new_trials > 0) {
                per_cell_[i].state = report::CellState::partial;
                write_summary_row(cells_[i], per_cell_[i]);
            }
        writer_.set_status(status);
        final_ = true;
    }

    void write_summary_row(const model::Cell& cell, PerCell& pc) {
        const model::CellSummaryRecord row = report::summarize_cell(cell, pc.state, pc.trials, pc.spans);
        // A resumed run reports its finished cells again: leave rows that would not change.
        if (row.state == pc.written_state && pc.new_trials == 0) return;
        writer_.write_summary({row});
        pc.written_state = row.state;
    }

    std::mutex mutex_;
    store::RunWriter& writer_;
    const std::vector<model::Cell>& cells_;
    std::vector<PerCell> per_cell_;
    std::vector<int> node_map_;  // topology node -> index in the run's hosts (resumed runs)
    ProgressMode mode_;
    std::string resume_hint_;
    report::Progress progress_;
    steady::time_point start_;
    std::string output_;
    bool bar_shown_ = false;
    bool final_ = false;
    std::optional<report::TrialUpdate> last_update_;  // what the bar shows
    bool stop_ticker_ = false;
    std::condition_variable tick_cv_;
    int stored_trials_ = 0;
    int new_trials_ = 0;
    std::string first_error_;  // the first I/O error of this pass, with its cell and trial
    std::thread ticker_;  // last member: started once everything it uses exists
};

// ---- the results file ---------------------------------------------------------------------

// A refusal about --resume or --overwrite: its message is complete as it is.
class TargetError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Rank 0's choice of file and run, made before any work.
struct Target {
    std::optional<store::ResultsFile> file;
    std::string resume_name;              // "" : a new run
    std::optional<store::StoredRun> stored;
    std::string note;                     // said before the run starts
};

bool resumable(const std::string& status) { return status == "interrupted" || status == "running" || status == "failed"; }

Target open_target(const RunOptions& o, const job::Job& job, const std::string& output) {
    Target t;
    if (o.resume && o.overwrite)
        throw TargetError("--resume continues a run in the results file and --overwrite deletes the file: "
                          "use one of them");
    const bool exists = std::filesystem::exists(output);
    const auto parent = std::filesystem::path(output).parent_path();
    if (!parent.empty() && !exists) std::filesystem::create_directories(parent);
    const store::FileInfo info = file_info(o.command_line);
    t.file.emplace(o.overwrite ? store::ResultsFile::create_replacing(output, info)
                               : store::ResultsFile::open_or_create(output, info));
    if (!t.file->lock_warning().empty()) t.note = "warning: " + t.file->lock_warning();
    auto add_note = [&t](const std::string& text) { t.note = t.note.empty() ? text : t.note + "\ngilbench: " + text; };
    if (!o.resume) return t;
    if (!exists) {
        add_note(fmt::format("nothing to resume in {} (no such file): starting a new run", output));
        return t;
    }
    const std::vector<store::RunListing> runs = t.file->runs();
    // A start refused after the file was made (a bad --url, a full disk) leaves a file without
    // runs; a batch script that always passes --resume must still get going.
    if (runs.empty()) {
        add_note(fmt::format("nothing to resume in {} (it has no runs yet): starting a new run", output));
        return t;
    }
    std::vector<const store::RunListing*> unfinished, same_job;
    for (const auto& r : runs)
        if (resumable(r.status)) {
            unfinished.push_back(&r);
            if (r.job == job.text) same_job.push_back(&r);
        }
    if (unfinished.empty())
        throw TargetError(fmt::format("nothing to resume in '{}': its {} run(s) are complete (the latest is {}); run "
                                      "without --resume to add a new run",
                                      output, runs.size(), runs.back().name));
    if (same_job.empty())
        throw TargetError(fmt::format(
            "cannot resume in '{}': its unfinished run {} ran another job (its text, attribute 'job' of /runs/{}, "
            "differs from {}); pass the job file that run used, or run without --resume to add a new run",
            output, unfinished.back()->name, unfinished.back()->name, job.path));
    const store::RunListing& run = *same_job.back();
    store::StoredRun stored = t.file->read_run(run.name);
    if (const std::string diff = job::plan_difference(stored.cells, job.cells); !diff.empty())
        throw TargetError(fmt::format("cannot resume /runs/{} in '{}': the plan differs: {}; resume with the "
                                      "options the run started with (--repeats, --threads, --gil, ...)",
                                      run.name, output, diff));
    t.resume_name = run.name;
    add_note(fmt::format("resuming /runs/{} (status '{}', {} finished trials) in {}", run.name, run.status,
                         stored.trials.size(), output));
    t.stored = std::move(stored);
    return t;
}

// What the runner may skip: each cell's stored trials, and cells whose budget ran out.
runner::Done done_of(const store::StoredRun& stored, std::size_t cells) {
    runner::Done d;
    d.trials.resize(cells);
    d.closed.assign(cells, 0);
    for (const auto& t : stored.trials)
        if (t.cell >= 0 && static_cast<std::size_t>(t.cell) < cells) d.trials[static_cast<std::size_t>(t.cell)].push_back(t.trial);
    for (const auto& s : stored.summary)
        if (s.state == "budget" && s.cell >= 0 && static_cast<std::size_t>(s.cell) < cells)
            d.closed[static_cast<std::size_t>(s.cell)] = 1;
    return d;
}

// The hosts of a resumed run: its own, then any new ones; node_map sends this pass's node
// numbers to their place in that list.
std::vector<std::string> merge_hosts(const std::vector<std::string>& stored, const std::vector<std::string>& now,
                                     std::vector<int>& node_map) {
    std::vector<std::string> merged = stored;
    node_map.clear();
    for (const auto& h : now) {
        auto it = std::find(merged.begin(), merged.end(), h);
        if (it == merged.end()) it = merged.insert(merged.end(), h);
        node_map.push_back(static_cast<int>(it - merged.begin()));
    }
    return merged;
}

std::string resume_command(const job::Job& job, const std::string& output, int world_size) {
    return fmt::format("mpirun -np {} gilbench run {} -o {} --resume", world_size, job.path, output);
}

// Clears the watcher's actions when run_job returns: they refer to its locals.
struct AbandonGuard {
    ~AbandonGuard() {
        runner::on_abandon(nullptr);
        runner::on_stop_note(nullptr);
    }
};

int run_job(const RunOptions& options, const boost::mpi::communicator& world) {
    const bool root = world.rank() == 0;
    // 1. The job: rank 0 reads the file (other nodes may not see the same path), all parse it.
    std::string text, error;
    if (root) {
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
        if (root) print_safely(stderr, "gilbench: error: {}\n", e.what());
        return 1;
    }
    for (const auto& c : job.cells)
        if (c.ranks > world.size()) {
            if (root)
                print_safely(stderr, "gilbench: error: cell '{}' needs {} ranks, got {}: run with mpirun -np {}\n",
                           c.name, c.ranks, world.size(), job.max_ranks());
            return 1;
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
    if (failed_everywhere(world, slurm_error)) return 1;

    // 2. The results file, opened (and the run to resume found) before any work, so a bad
    //    path or a mismatched resume costs nothing.
    const std::string output = options.output.empty() ? default_output(job) : options.output;
    Target target;
    if (root) {
        try {
            target = open_target(options, job, output);
        } catch (const TargetError& e) {
            error = e.what();
        } catch (const std::exception& e) {
            error = fmt::format("cannot write results to '{}': {}", output, e.what());
        }
    }
    if (failed_everywhere(world, error)) return 1;
    if (root && !target.note.empty()) print_safely(stderr, "gilbench: {}\n", target.note);

    // 3. Where ranks live, and one embedded server per node.
    http::global_init();
    const runner::Topology topo = runner::discover_topology(world);
    std::unique_ptr<http::DelayServer> server;
    int port = 0;
    runner::RunSettings settings;
    if (job.uses_embedded_server() && !options.shared_server.empty()) {
        // Opt-in model of a shared remote service: rank 0's node serves every node, on the
        // address given (so its requests cross the network), not on loopback.
        std::string address;
        if (root) {
            try {
                address = resolve_ipv4(options.shared_server);
                http::ServerConfig config;
                config.bind_address = address;
                server = std::make_unique<http::DelayServer>(config);
                port = server->port();
            } catch (const std::exception& e) {
                error = fmt::format("--shared-server {}: {}", options.shared_server, e.what());
            }
        }
        if (failed_everywhere(world, error)) return 1;
        boost::mpi::broadcast(world, address, 0);
        boost::mpi::broadcast(world, port, 0);
        settings.embedded_base_url = fmt::format("http://{}:{}/", address, port);
    } else {
        if (job.uses_embedded_server() && topo.node_rank == 0) {
            try {
                server = std::make_unique<http::DelayServer>(http::ServerConfig{});
                port = server->port();
            } catch (const std::exception& e) {
                error = fmt::format("embedded HTTP server on {}: {}",
                                    topo.hosts[static_cast<std::size_t>(topo.node)], e.what());
            }
        }
        if (any_failed(world, error)) return 1;
        boost::mpi::broadcast(topo.node_comm, port, 0);
        if (port) settings.embedded_base_url = fmt::format("http://127.0.0.1:{}/", port);
    }
    settings.stop_requested = &runner::stop_requested();
    settings.stop_signal = runner::stop_signal;
    if (root) error = check_urls(job);
    if (failed_everywhere(world, error)) return 1;
    if (root)
        for (const auto& w : runner::oversubscription_warnings(job.cells, topo)) print_safely(stderr, "gilbench: warning: {}\n", w);

    // 4. The run: a new one, or the one being resumed.
    if (root && target.stored) settings.done = done_of(*target.stored, job.cells.size());
    boost::mpi::broadcast(world, settings.done.trials, 0);
    boost::mpi::broadcast(world, settings.done.closed, 0);
    const ProgressMode mode = choose_progress(options);
    std::optional<store::RunWriter> writer;
    std::unique_ptr<Recorder> recorder;
    std::vector<int> host_index;  // this start's node -> index in the run's hosts (empty: the same)
    std::size_t host_total = topo.hosts.size();  // entries in the run's hosts attribute
    AbandonGuard guard;
    if (root) {
        try {
            std::vector<int> node_map;
            if (target.stored) {
                writer.emplace(target.file->resume_run(target.resume_name, store::utc_now()));
                const auto hosts = merge_hosts(target.stored->hosts, topo.hosts, node_map);
                if (hosts != target.stored->hosts) writer->set_hosts(hosts);
                host_total = hosts.size();
            } else {
                store::RunInfo info = run_info(job, topo, world.size());
                if (job.uses_embedded_server())
                    info.embedded_server = options.shared_server.empty() ? "per-node 127.0.0.1"
                                                                         : settings.embedded_base_url;
                writer.emplace(target.file->begin_run(info));
                writer->add_cells(job.cells);
            }
            host_index = node_map;
            recorder = std::make_unique<Recorder>(*writer, job.cells, target.stored ? &*target.stored : nullptr,
                                                  std::move(node_map), mode, resume_command(job, output, world.size()));
            recorder->set_output_name(output);
        } catch (const std::exception& e) {
            error = e.what();
        }
    }
    if (failed_everywhere(world, error)) return 1;
    if (root) {
        Recorder* r = recorder.get();
        runner::on_abandon([r](int sig) { r->abandon(sig); });
        runner::on_stop_note([r](int sig) {
            r->say(fmt::format("{}: stopping after the current trial (send SIGTERM, or {} again, to stop at once)",
                                signal_name(sig), signal_name(sig)));
        });
        std::size_t trials = 0;
        for (const auto& c : job.cells) trials += static_cast<std::size_t>(c.warmups + c.repeats);
        print_safely(stderr, "gilbench: job '{}': {} cells, {} trials on {} rank(s), {} node(s); writing {} (/runs/{})\n",
                   job.name, job.cells.size(), trials, world.size(), topo.hosts.size(), output, writer->name());
    }
    runner::RunEnd outcome;
    engine::EmulatedEngine emulated;  // the only engine so far: every cell runs on it
    try {
        outcome = runner::run_cells(
            world, topo, job.cells, settings, [&](const model::Cell&) -> engine::Engine& { return emulated; },
            recorder.get());
    } catch (...) {
        if (recorder) {
            try {
                recorder->finish(store::RunStatus::failed);
            } catch (...) {
                // the original error matters more
            }
        }
        throw;
    }

    // What every node's embedded server answered: proof that each node's ranks used their own
    // server (per node, it equals their workers' requests), or the shared server's load.
    const std::int64_t served = server ? static_cast<std::int64_t>(server->requests_served()) : -1;
    std::vector<std::int64_t> served_by_rank;
    boost::mpi::gather(world, served, served_by_rank, 0);
    std::string served_text;
    if (root && job.uses_embedded_server()) {
        std::vector<std::int64_t> per_host(host_total, -1);
        for (std::size_t r = 0; r < served_by_rank.size(); ++r) {
            if (served_by_rank[r] < 0) continue;
            const auto node = static_cast<std::size_t>(topo.rank_node[r]);
            const std::size_t at = host_index.empty() ? node : static_cast<std::size_t>(host_index[node]);
            per_host[at] = served_by_rank[r];
            served_text += fmt::format("{}{} {}", served_text.empty() ? "" : ", ", topo.hosts[node], served_by_rank[r]);
        }
        try {
            writer->set_server_requests(per_host);
        } catch (const std::exception& e) {
            print_safely(stderr, "gilbench: warning: {}\n", e.what());
        }
    }

    // 5. Report.
    // Rank 0 gives the verdict (its exit status). Another rank leaving non-zero first would
    // make mpirun kill rank 0 while it still marks the run.
    if (!root) return 0;
    const bool complete = outcome.outcome == runner::RunOutcome::complete;
    if (!recorder->finish(complete ? store::RunStatus::complete : store::RunStatus::interrupted))
        return 128 + runner::stop_signal();  // the watcher abandoned the run: this rank got the signal
    print_safely("\n{}", report::format_cell_table(job.cells, recorder->summary()));
    if (auto seed = report::format_seed_table(recorder->times())) print_safely("\n{}", *seed);
    if (recorder->stored_trials() > 0)
        print_safely("\nresults: {} (/runs/{}, {} trials: {} from before the resume, {} now)\n", output, writer->name(),
                   recorder->stored_trials() + recorder->new_trials(), recorder->stored_trials(), recorder->new_trials());
    else
        print_safely("\nresults: {} (/runs/{}, {} trials)\n", output, writer->name(), recorder->new_trials());
    if (server && !options.shared_server.empty())
        print_safely("shared server {} served {} requests\n", settings.embedded_base_url, server->requests_served());
    else if (!served_text.empty())
        print_safely("embedded servers served (host requests): {}\n", served_text);
    std::fflush(stdout);
    // Failed trials are flagged in the file and left out of the statistics, but a run that
    // measured failures is not a result: say so, and exit non-zero unless told to accept it.
    const std::string failures = recorder->io_failure_summary();
    if (!failures.empty() && (!complete || options.allow_io_errors))
        print_safely(stderr, "gilbench: warning: {}; the failed trials are flagged (trials.io_errors) and left out of "
                             "the statistics\n", failures);
    if (!complete) {
        // The signal as the ranks agreed on it: it may have reached another rank only.
        const int sig = outcome.signal;
        print_safely(stderr,
                   "gilbench: interrupted by {} (signal {}): the {} finished trials are saved in {} (/runs/{}, status "
                   "'interrupted')\ngilbench: to finish the run: {}\n",
                   signal_name(sig), sig, recorder->stored_trials() + recorder->new_trials(), output, writer->name(),
                   resume_command(job, output, world.size()));
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

}  // namespace

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
