// The progress display: what it writes for each mode, into a temporary file instead of stderr.
#include "report/progress_display.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace gilbench::report {
namespace {

std::string read_all(std::FILE* f) {
    std::fflush(f);
    std::rewind(f);
    std::string out;
    char buf[4096];
    while (const std::size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
    return out;
}

model::Cell cell(const std::string& name, int repeats) {
    model::Cell c;
    c.name = name;
    c.repeats = repeats;
    c.warmups = 0;
    c.time_budget_s = 2.0;
    return c;
}

model::TrialResult result(int number, std::int64_t io_errors = 0, std::int64_t dropped = 0) {
    model::TrialResult r;
    r.trial.trial = number;
    r.trial.wall_s = 0.25;
    r.trial.io_errors = io_errors;
    r.first_error = io_errors ? "timed out" : "";
    model::WorkerRecord w;
    w.io_requests = 4;
    w.trace_dropped = dropped;
    r.workers = {w, w};
    return r;
}

std::vector<PlannedCell> plan() { return {{"a", 2, 0, false, 0.0}, {"b", 3, 0, false, 2.0}}; }

TEST(ProgressDisplay, LinesNameTheTrialAndItsFailures) {
    std::FILE* f = std::tmpfile();
    {
        ProgressDisplay d(ProgressMode::lines, plan(), 1000, f, 80);
        d.trial(cell("a", 2), 0, result(0));
        d.trial(cell("a", 2), 0, result(1, 3));
        d.cell_end(cell("b", 3), 1, true, 1);
    }
    const std::string out = read_all(f);
    std::fclose(f);
    EXPECT_NE(out.find("gilbench: cell 1/2 a: trial 1/2"), std::string::npos) << out;
    EXPECT_NE(out.find("; 3 of 8 requests failed (trial flagged, left out of the statistics), first: timed out"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("gilbench: cell 2/2 b: time budget of 2.0 s reached; 1 of 3 repeats ran"), std::string::npos)
        << out;
}

TEST(ProgressDisplay, NoneStillWarnsAboutDroppedTraceEventsOncePerCell) {
    std::FILE* f = std::tmpfile();
    {
        ProgressDisplay d(ProgressMode::none, plan(), 1000, f, 80);
        d.trial(cell("a", 2), 0, result(0, 0, 7));
        d.trial(cell("a", 2), 0, result(1, 0, 7));
        d.cell_end(cell("b", 3), 1, true, 1);
        d.note("said only with progress");
    }
    const std::string out = read_all(f);
    std::fclose(f);
    EXPECT_NE(out.find("gilbench: warning: cell 'a' trial 0: 14 trace events dropped: a thread keeps at most 1000"),
              std::string::npos)
        << out;
    EXPECT_EQ(out.find("trial 1: 14 trace"), std::string::npos) << out;  // once per cell
    EXPECT_EQ(out.find("time budget"), std::string::npos) << out;
    EXPECT_EQ(out.find("said only"), std::string::npos) << out;
}

TEST(ProgressDisplay, TheBarEndsItsLineAndIsNotDrawnAgain) {
    std::FILE* f = std::tmpfile();
    {
        ProgressDisplay d(ProgressMode::bar, plan(), 1000, f, 60);
        d.trial(cell("a", 2), 0, result(0));
        d.note("a note");
        d.end();
        d.trial(cell("a", 2), 0, result(1));
    }
    const std::string out = read_all(f);
    std::fclose(f);
    EXPECT_EQ(out.rfind("\r\x1b[K[", 0), 0u) << out;           // the bar, drawn in place
    EXPECT_NE(out.find("\r\x1b[Kgilbench: a note\n"), std::string::npos) << out;  // cleared first
    EXPECT_EQ(out.back(), '\n') << out;                          // end() closed the line
    EXPECT_EQ(out.find("trial 2/2"), std::string::npos) << out;  // nothing after end()
}

}  // namespace
}  // namespace gilbench::report
