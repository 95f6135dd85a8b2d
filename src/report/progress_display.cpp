#include "report/progress_display.hpp"

#include <limits.h>
#include <unistd.h>

#include <cstdlib>

#include "report/console.hpp"

namespace gilbench::report {
namespace {

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

std::size_t terminal_width() {
    if (const char* c = std::getenv("COLUMNS"); c && std::atoi(c) > 20) return static_cast<std::size_t>(std::atoi(c));
    return 100;
}

}  // namespace

ProgressMode choose_progress_mode(const std::string& progress, bool quiet) {
    if (quiet || progress == "none") return ProgressMode::none;
    if (progress == "lines") return ProgressMode::lines;
    if (progress == "bar") return ProgressMode::bar;
    return stderr_is_terminal() ? ProgressMode::bar : ProgressMode::lines;
}

ProgressDisplay::ProgressDisplay(ProgressMode mode, std::vector<PlannedCell> plan, std::size_t trace_capacity,
                                 std::FILE* to, std::size_t width)
    : mode_(mode),
      progress_(std::move(plan)),
      trace_capacity_(trace_capacity),
      to_(to),
      width_(width == 0 ? terminal_width() : width),
      start_(std::chrono::steady_clock::now()),
      warned_trace_(progress_.cells(), 0) {
    // A live bar also moves during long trials: redraw it every second.
    if (mode_ == ProgressMode::bar) ticker_ = std::thread([this] { tick(); });
}

ProgressDisplay::~ProgressDisplay() {
    {
        std::lock_guard lock(mutex_);
        stop_ticker_ = true;
    }
    tick_cv_.notify_all();
    if (ticker_.joinable()) ticker_.join();
}

double ProgressDisplay::seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressDisplay::trial(const model::Cell& cell, std::size_t position, const model::TrialResult& r) {
    std::lock_guard lock(mutex_);
    if (ended_) return;
    std::int64_t requests = 0, dropped = 0;
    for (const auto& w : r.workers) {
        requests += w.io_requests;
        dropped += w.trace_dropped;
    }
    // Once per cell: later trials of a cell that overflowed will overflow alike.
    if (dropped > 0 && !warned_trace_.at(position)) {
        warned_trace_[position] = 1;
        warn_locked(fmt::format("cell '{}' trial {}: {} trace events dropped: a thread keeps at most {} (the count "
                                "per worker is workers.trace_dropped), so its timeline ends early; trace a cell with "
                                "less work or fewer threads",
                                cell.name, r.trial.trial, dropped, trace_capacity_));
    }
    const double now = seconds();
    progress_.trial_done(position, now);
    const TrialUpdate u{position, r.trial.trial, r.trial.warmup, r.trial.wall_s};
    const std::string errors =
        r.trial.io_errors > 0
            ? fmt::format("{} of {} requests failed (trial flagged, left out of the statistics), first: {}",
                          r.trial.io_errors, requests, r.first_error)
            : std::string();
    if (mode_ == ProgressMode::lines) {
        std::string line = progress_line(progress_, u, now);
        if (!errors.empty()) line += "; " + errors;
        print_safely(to_, "gilbench: {}\n", line);
    } else if (mode_ == ProgressMode::bar) {
        if (!errors.empty()) note_locked(fmt::format("cell '{}' trial {}: {}", cell.name, r.trial.trial, errors));
        last_update_ = u;
        draw_bar(now);
    }
}

void ProgressDisplay::cell_end(const model::Cell& cell, std::size_t position, bool budget, int measured) {
    std::lock_guard lock(mutex_);
    if (ended_) return;
    progress_.cell_done(position, seconds());
    if (budget && cell.time_budget_s > 0 && mode_ != ProgressMode::none)
        note_locked(fmt::format("cell {}/{} {}: time budget of {} reached; {} of {} repeats ran", position + 1,
                                progress_.cells(), cell.name, format_duration(cell.time_budget_s), measured,
                                cell.repeats));
}

void ProgressDisplay::replan(std::size_t position, int trials) {
    std::lock_guard lock(mutex_);
    progress_.replan(position, trials);
}

void ProgressDisplay::note(const std::string& text) {
    std::lock_guard lock(mutex_);
    note_locked(text);
}

void ProgressDisplay::warn(const std::string& text) {
    std::lock_guard lock(mutex_);
    warn_locked(text);
}

void ProgressDisplay::end() {
    std::lock_guard lock(mutex_);
    if (bar_shown_) print_safely(to_, "\n");
    bar_shown_ = false;
    ended_ = true;
}

void ProgressDisplay::note_locked(const std::string& text) {
    if (mode_ == ProgressMode::none) return;
    print_safely(to_, "{}gilbench: {}\n", bar_shown_ ? "\r\x1b[K" : "", text);
    std::fflush(to_);
}

void ProgressDisplay::warn_locked(const std::string& text) {
    print_safely(to_, "{}gilbench: warning: {}\n", bar_shown_ ? "\r\x1b[K" : "", text);
    std::fflush(to_);
}

void ProgressDisplay::draw_bar(double now) {
    if (!last_update_ || ended_) return;
    print_safely(to_, "\r\x1b[K{}", progress_bar(progress_, *last_update_, now, width_ - 1));
    std::fflush(to_);
    bar_shown_ = true;
}

void ProgressDisplay::tick() {
    std::unique_lock lock(mutex_);
    while (!stop_ticker_ && !ended_) {
        tick_cv_.wait_for(lock, std::chrono::seconds(1));
        if (!stop_ticker_ && !ended_) draw_bar(seconds());
    }
}

}  // namespace gilbench::report
