// Rank 0's progress on stderr while a run goes on: one line per trial (batch logs) or a live
// bar (a terminal) redrawn every second by its own ticker thread, plus notes between redraws
// (a cell's budget ran out, a trial's I/O errors, a stop request) and warnings shown even
// with --quiet (a trace overflow). It writes no file: the store's Recorder is fed alongside.
// Thread-safe: the ticker, the main thread and the signal watcher all draw through one mutex.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "model/cell.hpp"
#include "model/records.hpp"
#include "report/progress.hpp"

namespace gilbench::report {

enum class ProgressMode { none, lines, bar };

// --progress auto|bar|lines|none and --quiet: auto is a bar when the user's terminal is
// stderr (also seen through mpirun's pipe, via the launcher's stderr), else lines.
ProgressMode choose_progress_mode(const std::string& progress, bool quiet);

class ProgressDisplay {
public:
    // `trace_capacity`: the trace events a thread keeps (named in the overflow warning);
    // `width`: the bar's columns (0: $COLUMNS, or 100).
    ProgressDisplay(ProgressMode mode, std::vector<PlannedCell> plan, std::size_t trace_capacity,
                    std::FILE* to = stderr, std::size_t width = 0);
    ~ProgressDisplay();  // stops the ticker
    ProgressDisplay(const ProgressDisplay&) = delete;
    ProgressDisplay& operator=(const ProgressDisplay&) = delete;

    // A trial of the cell at `position` finished (as stored: the recorder has it).
    void trial(const model::Cell& cell, std::size_t position, const model::TrialResult& result);
    // The cell ran its last trial of this start; `budget`: its time budget ended it, after
    // `measured` of its repeats (earlier starts included).
    void cell_end(const model::Cell& cell, std::size_t position, bool budget, int measured);
    void replan(std::size_t position, int trials);  // Progress::replan
    void note(const std::string& text);  // "gilbench: TEXT" between redraws (nothing with none)
    void warn(const std::string& text);  // "gilbench: warning: TEXT", also with none
    void end();                          // ends the bar's line; the bar is not drawn again

private:
    double seconds() const;
    void note_locked(const std::string& text);
    void warn_locked(const std::string& text);
    void draw_bar(double now);
    void tick();

    std::mutex mutex_;
    ProgressMode mode_;
    Progress progress_;
    std::size_t trace_capacity_;
    std::FILE* to_;
    std::size_t width_;
    std::chrono::steady_clock::time_point start_;
    std::vector<char> warned_trace_;  // per cell: a trace overflow was reported (once per cell)
    std::optional<TrialUpdate> last_update_;  // what the bar shows
    bool bar_shown_ = false;
    bool ended_ = false;
    bool stop_ticker_ = false;
    std::condition_variable tick_cv_;
    std::thread ticker_;  // last member: started once everything it uses exists
};

}  // namespace gilbench::report
