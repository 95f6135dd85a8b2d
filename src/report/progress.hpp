// What rank 0 tells the user while a run goes on: cell i of n, trial, elapsed, estimated time
// left; as one line per update (batch logs) or as a live bar (a terminal). Pure: the caller
// passes the time, so the estimates are testable without waiting.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace gilbench::report {

struct PlannedCell {
    std::string name;
    int trials = 0;          // warm-ups + repeats
    int done = 0;            // trials already stored (a resumed run)
    bool closed = false;     // nothing left to run: complete, or stopped by its time budget
    double budget_s = 0.0;   // the cell's time budget; 0: none
};

class Progress {
public:
    explicit Progress(std::vector<PlannedCell> cells);

    // A trial of `cell` finished at `now_s` (seconds since the run started).
    void trial_done(std::size_t cell, double now_s);
    // `cell` will run no more trials (done, or its budget ran out).
    void cell_done(std::size_t cell, double now_s);
    // `cell` now plans `trials` trials in all (repeats = "auto" fixed its rounds).
    void replan(std::size_t cell, int trials) { cells_.at(cell).plan.trials = trials; }

    // Estimated seconds left: each unfinished cell's trials times the mean trial time seen
    // in that cell (or in the run so far, for cells not started), capped by its time budget.
    // nullopt until a trial has been timed. `now_s` counts the trial under way as partly
    // done (a live display); without it the estimate is as of the last event.
    std::optional<double> remaining_s(std::optional<double> now_s = std::nullopt) const;
    double fraction_done() const;  // of all planned trials, 0..1
    std::size_t cells() const { return cells_.size(); }
    const PlannedCell& cell(std::size_t i) const { return cells_[i].plan; }

private:
    struct State {
        PlannedCell plan;
        int timed = 0;         // trials timed in this process
        double spent_s = 0.0;  // their total time, overheads included
    };
    std::vector<State> cells_;
    double last_event_s_ = 0.0;
    int timed_ = 0;
    double spent_s_ = 0.0;
};

// "4.2 s", "3m05s", "1h02m".
std::string format_duration(double seconds);

// One finished trial, as the runner reports it.
struct TrialUpdate {
    std::size_t cell = 0;    // position in the plan
    int trial = 0;           // 0-based
    bool warmup = false;
    double wall_s = 0.0;
};

// "cell 3/36 name: trial 2/4 (warm-up) wall 0.123 s (elapsed 12.3 s, left ~45.0 s)"
std::string progress_line(const Progress& p, const TrialUpdate& u, double now_s);
// "[#####.........]  42%  cell 3/36  trial 2/4  elapsed 12.3 s  left ~45.0 s  name", at most
// `width` columns, without the carriage return and clear-line codes the caller adds.
std::string progress_bar(const Progress& p, const TrialUpdate& u, double now_s, std::size_t width);

}  // namespace gilbench::report
