#include "report/progress.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace gilbench::report {

Progress::Progress(std::vector<PlannedCell> cells) {
    cells_.reserve(cells.size());
    for (auto& c : cells) cells_.push_back({std::move(c), 0, 0.0});
}

void Progress::trial_done(std::size_t cell, double now_s) {
    State& s = cells_.at(cell);
    const double took = std::max(0.0, now_s - last_event_s_);
    last_event_s_ = now_s;
    s.plan.done = std::min(s.plan.done + 1, s.plan.trials);
    ++s.timed;
    s.spent_s += took;
    ++timed_;
    spent_s_ += took;
}

void Progress::cell_done(std::size_t cell, double now_s) {
    State& s = cells_.at(cell);
    s.plan.closed = true;
    // The time between a cell's last trial and the next cell's first is overhead of the next.
    last_event_s_ = std::max(last_event_s_, now_s);
}

std::optional<double> Progress::remaining_s(std::optional<double> now_s) const {
    if (timed_ == 0) return std::nullopt;
    const double overall = spent_s_ / timed_;
    double left = 0.0;
    for (const State& s : cells_) {
        if (s.plan.closed) continue;
        const int trials_left = std::max(0, s.plan.trials - s.plan.done);
        const double per_trial = s.timed > 0 ? s.spent_s / s.timed : overall;
        double cell_left = trials_left * per_trial;
        // A budget stops new repeats once spent; the last one may start just before.
        if (s.plan.budget_s > 0) cell_left = std::min(cell_left, std::max(0.0, s.plan.budget_s - s.spent_s) + per_trial);
        left += cell_left;
    }
    if (now_s) left = std::max(0.0, left - std::max(0.0, *now_s - last_event_s_));
    return left;
}

double Progress::fraction_done() const {
    long total = 0, done = 0;
    for (const State& s : cells_) {
        total += s.plan.trials;
        done += s.plan.closed ? s.plan.trials : std::min(s.plan.done, s.plan.trials);
    }
    return total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
}

std::string format_duration(double seconds) {
    if (!(seconds >= 0.0)) seconds = 0.0;
    if (seconds < 60.0) return fmt::format("{:.1f} s", seconds);
    const auto whole = static_cast<long>(std::llround(seconds));
    if (whole < 3600) return fmt::format("{}m{:02}s", whole / 60, whole % 60);
    return fmt::format("{}h{:02}m", whole / 3600, (whole % 3600) / 60);
}

namespace {

std::string left_text(const Progress& p, std::optional<double> now_s = std::nullopt) {
    const auto left = p.remaining_s(now_s);
    return left ? "~" + format_duration(*left) : "?";
}

}  // namespace

std::string progress_line(const Progress& p, const TrialUpdate& u, double now_s) {
    const PlannedCell& c = p.cell(u.cell);
    return fmt::format("cell {}/{} {}: trial {}/{}{} wall {:.3f} s (elapsed {}, left {})", u.cell + 1, p.cells(),
                       c.name, u.trial + 1, c.trials,
                       u.warmup ? " (warm-up)" : u.trial >= c.trials ? " (a retry of a disturbed trial)" : "", u.wall_s,
                       format_duration(now_s),
                       left_text(p));
}

std::string progress_bar(const Progress& p, const TrialUpdate& u, double now_s, std::size_t width) {
    const PlannedCell& c = p.cell(u.cell);
    constexpr std::size_t bar_w = 24;
    const double f = std::clamp(p.fraction_done(), 0.0, 1.0);
    const auto filled = static_cast<std::size_t>(std::floor(f * bar_w));
    std::string line = "[" + std::string(filled, '#') + std::string(bar_w - filled, '.') + "]";
    line += fmt::format(" {:3.0f}%  cell {}/{}  trial {}/{}  elapsed {}  left {}  {}", f * 100.0, u.cell + 1, p.cells(),
                        u.trial + 1, c.trials, format_duration(now_s), left_text(p, now_s), c.name);
    if (line.size() > width) line.resize(width);
    return line;
}

}  // namespace gilbench::report
