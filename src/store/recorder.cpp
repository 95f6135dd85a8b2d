#include "store/recorder.hpp"

#include <set>

#include <fmt/format.h>

namespace gilbench::store {

Recorder::Recorder(RunWriter& writer, const std::vector<model::Cell>& cells, const StoredRun* stored,
                   std::vector<int> node_map)
    : writer_(writer), cells_(cells), per_cell_(cells.size()), node_map_(std::move(node_map)) {
    stored_trials_ = static_cast<int>(writer_.trials_written());
    if (stored) {
        for (const auto& t : stored->trials) keep_trial(t);
        for (const auto& w : stored->workers) keep_worker(w);
        for (const auto& s : stored->summary)
            if (s.cell >= 0 && static_cast<std::size_t>(s.cell) < per_cell_.size())
                per_cell_[static_cast<std::size_t>(s.cell)].written_state = report::parse_cell_state(s.state);
    } else {
        for (auto& c : per_cell_) c.written_state = report::CellState::pending;  // add_cells wrote these rows
    }
}

void Recorder::on_trial(const model::Cell& cell, std::size_t /*position*/, const model::TrialResult& r) {
    std::lock_guard lock(mutex_);
    if (final_) return;
    if (node_map_.empty()) {
        writer_.add_trial(r);
        keep(r);
    } else {
        model::TrialResult mapped = r;  // a resumed run numbers nodes by its merged hosts list
        for (auto& w : mapped.workers) w.node = node_map_.at(static_cast<std::size_t>(w.node));
        writer_.add_trial(mapped);
        keep(mapped);
    }
    ++new_trials_;
    if (first_error_.empty() && !r.first_error.empty())
        first_error_ = fmt::format("{} (cell '{}' trial {})", r.first_error, cell.name, r.trial.trial);
}

void Recorder::on_cell_end(const model::Cell& /*cell*/, std::size_t position, runner::CellEnd end) {
    std::lock_guard lock(mutex_);
    if (final_) return;
    PerCell& pc = per_cell_.at(position);
    pc.state = end == runner::CellEnd::complete ? report::CellState::complete
               : end == runner::CellEnd::budget ? report::CellState::budget
               : pc.trials.empty()              ? report::CellState::pending
                                                : report::CellState::partial;
    pc.ended = true;
    write_summary_row(position);
}

bool Recorder::finish(RunStatus status) {
    std::lock_guard lock(mutex_);
    if (final_) return false;
    for (std::size_t i = 0; i < cells_.size(); ++i)
        if (!per_cell_[i].ended && per_cell_[i].new_trials > 0) {
            per_cell_[i].state = report::CellState::partial;  // the cell cut short
            write_summary_row(i);
        }
    writer_.set_status(status);
    final_ = true;  // only once the status is written: a write that threw may be tried again
    return true;
}

std::vector<model::CellSummaryRecord> Recorder::summary() const {
    std::lock_guard lock(mutex_);
    std::vector<model::CellSummaryRecord> rows;
    for (std::size_t i = 0; i < cells_.size(); ++i) rows.push_back(summary_of(i));
    return rows;
}

std::vector<report::CellTimes> Recorder::times() const {
    std::lock_guard lock(mutex_);
    std::vector<report::CellTimes> out;
    for (std::size_t i = 0; i < cells_.size(); ++i) {
        report::CellTimes ct{cells_[i], {}, 0, {}, 0, {}};
        for (const auto& t : per_cell_[i].trials) {
            if (t.warmup) continue;
            if (t.io_errors > 0) {
                ++ct.failed;  // left out, as in the summary
            } else if (t.disturbed && !keep_disturbed_) {
                if (ct.disturbed++ == 0) ct.disturbance = t.disturbance;
            } else {
                if (t.disturbed && ct.disturbed++ == 0) ct.disturbance = t.disturbance;
                ct.wall_s.push_back(t.wall_s);
                ct.trial.push_back(t.round);  // the pairing key: a retry stands in for its round
            }
        }
        out.push_back(std::move(ct));
    }
    return out;
}

std::string Recorder::io_failure_summary() const {
    std::lock_guard lock(mutex_);
    // Warm-ups count: a failing warm-up means the target fails too.
    int failed = 0, total = 0, cells = 0;
    bool in_requests = false, in_functions = false;  // which kinds of cell failed
    std::vector<std::string> where;
    for (std::size_t i = 0; i < cells_.size(); ++i) {
        int f = 0;
        for (const auto& t : per_cell_[i].trials) f += t.io_errors > 0;
        total += static_cast<int>(per_cell_[i].trials.size());
        if (f == 0) continue;
        failed += f;
        ++cells;
        (cells_[i].workload == model::Workload::python ? in_functions : in_requests) = true;
        if (where.size() < 6)
            where.push_back(fmt::format("{}: {} of {}", cells_[i].name, f, per_cell_[i].trials.size()));
    }
    if (failed == 0) return {};
    std::string list;
    for (const auto& w : where) list += (list.empty() ? "" : ", ") + w;
    if (cells > static_cast<int>(where.size()))
        list += fmt::format(", {} more", cells - static_cast<int>(where.size()));
    // The user's function fails by raising, not by a failed request: name what failed.
    const char* what = !in_functions ? "I/O errors"
                       : in_requests ? "failures (I/O errors, or exceptions raised by the Python function)"
                                     : "exceptions raised by the Python function";
    return fmt::format("{} of {} trials had {} in {} cell(s) ({}); first error: {}", failed, total, what, cells, list,
                       first_error_.empty() ? "(in an earlier start of the run)" : first_error_);
}

int Recorder::measured(std::size_t position) const {
    std::lock_guard lock(mutex_);
    int n = 0;
    for (const auto& t : per_cell_.at(position).trials) n += !t.warmup;
    return n;
}

// Retries are trials past the plan (runner::RunSettings::retries).
std::string Recorder::retry_note_locked() const {
    int retries = 0, still = 0;
    for (std::size_t i = 0; i < cells_.size(); ++i)
        for (const auto& t : per_cell_[i].trials)
            if (t.trial >= cells_[i].warmups + cells_[i].repeats) {
                ++retries;
                still += t.disturbed;
            }
    if (retries == 0) return {};
    return fmt::format("{} disturbed trial(s) were run again ({} of the retries disturbed too); the statistics use "
                       "the clean ones",
                       retries, still);
}

void Recorder::on_rounds_decided(const runner::auto_rounds::Decision& d) {
    std::lock_guard lock(mutex_);
    auto_rounds_ = d.rounds;
    auto_reason_ = fmt::format("{}: {}", d.reason, d.detail);
    writer_.set_auto_rounds(auto_rounds_, auto_reason_);
}

void Recorder::on_run_budget_spent(double budget_s) {
    std::lock_guard lock(mutex_);
    int most = 0;  // measured rounds of the cell that got furthest (retries are not rounds)
    for (const auto& pc : per_cell_) {
        std::set<int> rounds;
        for (const auto& t : pc.trials)
            if (!t.warmup) rounds.insert(t.round);
        most = std::max(most, static_cast<int>(rounds.size()));
    }
    auto_reason_ += fmt::format("; the run's budget of {:g} s ran out after {} rounds", budget_s, most);
    writer_.set_auto_rounds(auto_rounds_, auto_reason_);
}

std::string Recorder::rounds_note() const {
    std::lock_guard lock(mutex_);
    if (auto_rounds_ == 0) return {};
    return fmt::format("repeats = \"auto\": {} rounds ({})", auto_rounds_, auto_reason_);
}

std::string Recorder::disturbed_note() const {
    std::lock_guard lock(mutex_);
    int disturbed = 0, measured = 0;
    std::string reason;
    for (const auto& pc : per_cell_)
        for (const auto& t : pc.trials) {
            if (t.warmup) continue;
            ++measured;
            if (!t.disturbed) continue;
            if (disturbed++ == 0) reason = t.disturbance;
        }
    if (measured == 0 || 2 * disturbed <= measured) return retry_note_locked();
    return fmt::format("{} of {} measured trials were disturbed (the first: {}): {}; rerun on an idle node "
                       "(trials.disturbance says what took the time)",
                       disturbed, measured, reason,
                       keep_disturbed_            ? "they are kept in the statistics (--disturbed keep), which measure "
                                                    "the machine's load as much as the workload"
                       : disturbed == measured ? "no clean trial is left, so the tables show no times"
                                               : "the statistics rest on the others");
}

int Recorder::new_trials() const {
    std::lock_guard lock(mutex_);
    return new_trials_;
}

int Recorder::stored_trials() const {
    std::lock_guard lock(mutex_);
    return stored_trials_;
}

void Recorder::keep_trial(const model::TrialRecord& t) {
    if (t.cell >= 0 && static_cast<std::size_t>(t.cell) < per_cell_.size())
        per_cell_[static_cast<std::size_t>(t.cell)].trials.push_back(t);
}

void Recorder::keep_worker(const model::WorkerRecord& w) {
    if (w.cell >= 0 && static_cast<std::size_t>(w.cell) < per_cell_.size())
        per_cell_[static_cast<std::size_t>(w.cell)].workers.push_back(w);
}

void Recorder::keep(const model::TrialResult& r) {
    keep_trial(r.trial);
    if (r.trial.cell >= 0 && static_cast<std::size_t>(r.trial.cell) < per_cell_.size())
        ++per_cell_[static_cast<std::size_t>(r.trial.cell)].new_trials;
    for (const auto& w : r.workers) keep_worker(w);
}

model::CellSummaryRecord Recorder::summary_of(std::size_t i) const {
    const PerCell& pc = per_cell_[i];
    // Not reached on this start: what the file says (a resumed run's earlier cells).
    const report::CellState state = !pc.ended && pc.written_state ? *pc.written_state : pc.state;
    return report::summarize_cell(cells_[i], state, pc.trials, pc.workers, keep_disturbed_);
}

void Recorder::write_summary_row(std::size_t i) {
    PerCell& pc = per_cell_[i];
    const model::CellSummaryRecord row = report::summarize_cell(cells_[i], pc.state, pc.trials, pc.workers, keep_disturbed_);
    // A resumed run reports its finished cells again: leave rows that would not change.
    if (pc.state == pc.written_state && pc.new_trials == 0) return;
    writer_.write_summary({row});
    pc.written_state = pc.state;
}

}  // namespace gilbench::store
