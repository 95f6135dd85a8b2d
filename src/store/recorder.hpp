// Rank 0's trial sink: writes each finished trial to the run in the results file as it
// arrives (append + flush, so a kill loses no finished trial), keeps what the summary and the
// tables need, and writes a cell's summary row when the runner ends the cell. It draws
// nothing: the progress display (report/progress_display.hpp) is fed alongside it.
//
// Every public member holds one mutex: the signal watcher (runner/interrupt.hpp) closes the
// run from its own thread, and must never write in the middle of a trial.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "model/cell.hpp"
#include "model/records.hpp"
#include "report/summary.hpp"
#include "runner/runner.hpp"
#include "store/results_file.hpp"

namespace gilbench::store {

class Recorder final : public runner::TrialSink {
public:
    // `stored`: the run being resumed (its trials, workers and summary rows count), or null for
    // a new run whose summary rows add_cells wrote as "pending". `node_map`: this start's node
    // id -> index in the run's hosts (HostMap::node); empty: the same numbers.
    Recorder(RunWriter& writer, const std::vector<model::Cell>& cells, const StoredRun* stored,
             std::vector<int> node_map);

    void on_trial(const model::Cell& cell, std::size_t position, const model::TrialResult& result) override;
    void on_cell_end(const model::Cell& cell, std::size_t position, runner::CellEnd end) override;
    // repeats = "auto": stores the rounds fixed and why (auto_rounds, auto_rounds_reason), and
    // that the run's budget ended it.
    void on_rounds_decided(const runner::auto_rounds::Decision& decision) override;
    void on_run_budget_spent(double budget_s) override;
    // repeats = "auto": "" if the run does not use it (or nothing was decided on this start);
    // else the rounds fixed and why, for the end of the run.
    std::string rounds_note() const;

    // The run ended (complete, interrupted, failed): summary rows for the cells that got trials
    // on this start but never ended, then the status. Once only: false if the run was already
    // closed (by the signal watcher), and then nothing is written.
    bool finish(RunStatus status);

    // One summary row per cell, as the file has it (cells not reached on this start keep what
    // the file said).
    std::vector<model::CellSummaryRecord> summary() const;
    // Each cell's measured wall times (warm-ups and failed trials left out) for the seed table.
    std::vector<report::CellTimes> times() const;
    // "" if no stored trial of the run (earlier starts included) had I/O errors; else how many,
    // where, and the first error of this start.
    std::string io_failure_summary() const;
    // "" unless most measured trials of the run (earlier starts included) were disturbed (then
    // how many, the first reason, and what to do) or some were run again (then how many).
    std::string disturbed_note() const;
    // Measured (non-warm-up) trials stored for the cell at `position`, earlier starts included.
    int measured(std::size_t position) const;

    // Keep disturbed trials in the statistics (the run's `disturbed_trials` = "keep") instead of
    // leaving them out (the default, "drop"); they are counted either way.
    void keep_disturbed(bool keep) { keep_disturbed_ = keep; }

    int new_trials() const;     // trials written by this start
    int stored_trials() const;  // trials the run had before this start

private:
    struct PerCell {
        std::vector<model::TrialRecord> trials;
        std::vector<model::WorkerRecord> workers;  // for the ranks' spans (report::rank_spread)
        report::CellState state = report::CellState::pending;
        bool ended = false;         // reported by the runner on this start
        int new_trials = 0;         // trials run on this start
        std::optional<report::CellState> written_state;  // the summary row in the file (nullopt if none)
    };
    std::string retry_note_locked() const;
    void keep_trial(const model::TrialRecord& t);
    void keep_worker(const model::WorkerRecord& w);
    void keep(const model::TrialResult& r);
    model::CellSummaryRecord summary_of(std::size_t i) const;
    void write_summary_row(std::size_t i);

    bool keep_disturbed_ = false;
    mutable std::mutex mutex_;
    RunWriter& writer_;
    const std::vector<model::Cell>& cells_;
    std::vector<PerCell> per_cell_;
    std::vector<int> node_map_;
    bool final_ = false;
    int stored_trials_ = 0;
    int new_trials_ = 0;
    std::string first_error_;  // the first I/O error of this start, with its cell and trial
    int auto_rounds_ = 0;      // repeats = "auto": the rounds fixed on this start (0: none)
    std::string auto_reason_;
};

}  // namespace gilbench::store
