// The recorder: the rows it writes, the summary state it keeps, resumed runs (stored trials,
// the node-id remap) and the I/O-failure summary; real files in a temp directory.
#include "store/recorder.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "job/job.hpp"

namespace gilbench::store {
namespace {

namespace fs = std::filesystem;

const char* job_text = R"([job]
name = "rec"
[defaults]
repeats = 2
warmups = 1
[[cell]]
name = "a"
workload = "cpu"
work = 1
[[cell]]
name = "b"
workload = "cpu"
work = 2
)";

model::TrialResult trial(int cell, int number, double wall_s, int node = 0, std::int64_t io_errors = 0,
                         std::string error = {}) {
    model::TrialResult r;
    r.trial.cell = cell;
    r.trial.trial = number;
    r.trial.warmup = number == 0;  // one warm-up, then the repeats
    r.trial.wall_s = wall_s;
    r.trial.io_errors = io_errors;
    r.first_error = std::move(error);
    for (int t = 0; t < 2; ++t) {
        model::WorkerRecord w;
        w.cell = cell;
        w.trial = number;
        w.thread = t;
        w.node = node;
        w.end_s = wall_s;
        w.io_errors = t == 0 ? io_errors : 0;
        r.workers.push_back(w);
    }
    return r;
}

std::string status_of(const ResultsFile& file, const std::string& run) {
    for (const auto& r : file.runs())
        if (r.name == run) return r.status_text;
    return "(no such run)";
}

class RecorderTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("gilbench_recorder_" + std::to_string(::getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        job_ = job::parse_job(job_text, "jobs/rec.toml");
        file_.emplace(ResultsFile::open_or_create((dir_ / "out.h5").string(), FileInfo{}));
    }
    void TearDown() override {
        file_.reset();
        fs::remove_all(dir_);
    }
    RunWriter new_run(const std::vector<std::string>& hosts = {"n0"}) {
        RunInfo info;
        info.job = job_.text;
        info.ranks = 1;
        info.nodes = static_cast<int>(hosts.size());
        info.hosts = hosts;
        RunWriter w = file_->begin_run(info);
        w.add_cells(job_.cells);
        return w;
    }

    fs::path dir_;
    job::Job job_;
    std::optional<ResultsFile> file_;
};

TEST_F(RecorderTest, WritesEachTrialAndTheEndedCellsSummaryRow) {
    RunWriter w = new_run();
    Recorder rec(w, job_.cells, nullptr, {});
    rec.on_trial(job_.cells[0], 0, trial(0, 0, 0.1));
    rec.on_trial(job_.cells[0], 0, trial(0, 1, 0.2));
    // Appended and flushed as they come: a reader sees them before the run ends.
    EXPECT_EQ(file_->read_run(w.name()).trials.size(), 2u);
    rec.on_trial(job_.cells[0], 0, trial(0, 2, 0.4));
    rec.on_cell_end(job_.cells[0], 0, runner::CellEnd::complete);
    const StoredRun mid = file_->read_run(w.name());
    EXPECT_EQ(mid.trials.size(), 3u);
    EXPECT_EQ(mid.workers.size(), 6u);
    ASSERT_EQ(mid.summary.size(), 2u);
    EXPECT_EQ(mid.summary[0].state, "complete");
    EXPECT_EQ(mid.summary[0].n, 2);
    EXPECT_EQ(mid.summary[1].state, "pending");
    EXPECT_EQ(rec.new_trials(), 3);
    EXPECT_EQ(rec.stored_trials(), 0);
    EXPECT_EQ(rec.measured(0), 2);
    const auto times = rec.times();
    EXPECT_EQ(times[0].wall_s, std::vector<double>({0.2, 0.4}));  // the warm-up is left out
    EXPECT_TRUE(rec.io_failure_summary().empty());
    EXPECT_TRUE(rec.finish(RunStatus::complete));
    EXPECT_EQ(status_of(*file_, w.name()), "complete");
}

TEST_F(RecorderTest, FinishMarksTheCellCutShortPartialOnce) {
    RunWriter w = new_run();
    Recorder rec(w, job_.cells, nullptr, {});
    for (int t = 0; t < 3; ++t) rec.on_trial(job_.cells[0], 0, trial(0, t, 0.1));
    rec.on_cell_end(job_.cells[0], 0, runner::CellEnd::complete);
    rec.on_trial(job_.cells[1], 1, trial(1, 0, 0.1));  // then a stop: cell b never ends
    EXPECT_TRUE(rec.finish(RunStatus::interrupted));
    EXPECT_FALSE(rec.finish(RunStatus::complete));  // closed once: the second changes nothing
    rec.on_trial(job_.cells[1], 1, trial(1, 1, 0.1));  // ignored after the close
    const StoredRun run = file_->read_run(w.name());
    EXPECT_EQ(status_of(*file_, w.name()), "interrupted");
    EXPECT_EQ(run.trials.size(), 4u);
    ASSERT_EQ(run.summary.size(), 2u);
    EXPECT_EQ(run.summary[0].state, "complete");
    EXPECT_EQ(run.summary[1].state, "partial");
    EXPECT_EQ(rec.summary()[1].state, "partial");
}

// Rounds order ([job] order = "rounds"): the trials of the two cells interleave, and a stop
// ends every cell still running as interrupted. Each cell's rows and statistics are its own.
TEST_F(RecorderTest, InterleavedTrialsOfRoundsOrderKeepEachCellApart) {
    RunWriter w = new_run();
    Recorder rec(w, job_.cells, nullptr, {});
    rec.on_trial(job_.cells[0], 0, trial(0, 0, 9.0));
    rec.on_trial(job_.cells[1], 1, trial(1, 0, 9.0));
    rec.on_trial(job_.cells[0], 0, trial(0, 1, 0.2));
    rec.on_trial(job_.cells[1], 1, trial(1, 1, 0.3));
    rec.on_trial(job_.cells[0], 0, trial(0, 2, 0.4));
    rec.on_cell_end(job_.cells[0], 0, runner::CellEnd::complete);
    rec.on_cell_end(job_.cells[1], 1, runner::CellEnd::interrupted);  // stopped before its trial 2
    EXPECT_TRUE(rec.finish(RunStatus::interrupted));
    const StoredRun run = file_->read_run(w.name());
    ASSERT_EQ(run.trials.size(), 5u);
    EXPECT_EQ(run.trials[1].cell, 1);  // stored in the order they ran
    ASSERT_EQ(run.summary.size(), 2u);
    EXPECT_EQ(run.summary[0].state, "complete");
    EXPECT_EQ(run.summary[0].n, 2);
    EXPECT_EQ(run.summary[1].state, "partial");
    EXPECT_EQ(run.summary[1].n, 1);
    EXPECT_EQ(rec.measured(0), 2);
    EXPECT_EQ(rec.measured(1), 1);
    const auto times = rec.times();
    EXPECT_EQ(times[0].wall_s, std::vector<double>({0.2, 0.4}));
    EXPECT_EQ(times[1].wall_s, std::vector<double>({0.3}));
}

TEST_F(RecorderTest, AResumedRunCountsItsStoredTrialsAndRemapsNodes) {
    std::string run;
    {
        RunWriter w = new_run({"n0", "n1"});
        run = w.name();
        Recorder rec(w, job_.cells, nullptr, {});
        for (int t = 0; t < 3; ++t) rec.on_trial(job_.cells[0], 0, trial(0, t, 0.1));
        rec.on_cell_end(job_.cells[0], 0, runner::CellEnd::complete);
        rec.on_trial(job_.cells[1], 1, trial(1, 0, 0.1));
        rec.finish(RunStatus::interrupted);
    }
    const StoredRun stored = file_->read_run(run);
    RunWriter w = file_->resume_run(run, "2024-05-01T12:00:00Z");
    // This start sees one node, n1, which is index 1 in the run's hosts.
    Recorder rec(w, job_.cells, &stored, {1});
    EXPECT_EQ(rec.stored_trials(), 4);
    EXPECT_EQ(rec.measured(0), 2);
    rec.on_trial(job_.cells[1], 1, trial(1, 1, 0.3, /*node=*/0));
    rec.on_trial(job_.cells[1], 1, trial(1, 2, 0.5, /*node=*/0));
    rec.on_cell_end(job_.cells[0], 0, runner::CellEnd::complete);  // nothing left: row unchanged
    rec.on_cell_end(job_.cells[1], 1, runner::CellEnd::complete);
    EXPECT_TRUE(rec.finish(RunStatus::complete));
    EXPECT_EQ(rec.new_trials(), 2);
    EXPECT_EQ(rec.measured(1), 2);
    const StoredRun after = file_->read_run(run);
    EXPECT_EQ(after.trials.size(), 6u);
    int remapped = 0;
    for (const auto& wr : after.workers)
        if (wr.cell == 1 && wr.trial > 0) {
            EXPECT_EQ(wr.node, 1) << "trial " << wr.trial;
            ++remapped;
        }
    EXPECT_EQ(remapped, 4);
    const auto rows = rec.summary();
    EXPECT_EQ(rows[0].state, "complete");
    EXPECT_EQ(rows[1].state, "complete");
    EXPECT_EQ(rows[1].n, 2);
}

// The summary's per-rank times are report::rank_spread's over the measured trials' workers: a
// rank's span runs from its earliest thread start to its latest thread end; mean over trials,
// then min/avg/max over ranks. The same from this start's trials and from a resumed run's.
TEST_F(RecorderTest, RankTimesAreTheSpansOfEachRanksThreads) {
    const auto two_ranks = [](int number, double scale) {
        model::TrialResult r = trial(0, number, 1.0);
        r.workers.clear();
        // {rank, start, end}: rank 0's span is 0.8 x scale, rank 1's 0.4 x scale
        const double threads[4][3] = {{0, 0.1, 0.5}, {0, 0.2, 0.9}, {1, 0.0, 0.3}, {1, 0.1, 0.4}};
        for (int t = 0; t < 4; ++t) {
            model::WorkerRecord w;
            w.trial = number;
            w.rank = static_cast<int>(threads[t][0]);
            w.thread = t % 2;
            w.start_s = threads[t][1] * scale;
            w.end_s = threads[t][2] * scale;
            r.workers.push_back(w);
        }
        return r;
    };
    const auto expect_rank_times = [](const model::CellSummaryRecord& row) {
        EXPECT_DOUBLE_EQ(row.rank_min_s, 0.6);  // rank 1: (0.4 + 0.8) / 2
        EXPECT_DOUBLE_EQ(row.rank_max_s, 1.2);  // rank 0: (0.8 + 1.6) / 2
        EXPECT_DOUBLE_EQ(row.rank_avg_s, 0.9);
    };
    std::string run;
    {
        RunWriter w = new_run();
        run = w.name();
        Recorder rec(w, job_.cells, nullptr, {});
        rec.on_trial(job_.cells[0], 0, two_ranks(0, 10.0));  // the warm-up: left out
        rec.on_trial(job_.cells[0], 0, two_ranks(1, 1.0));
        rec.on_trial(job_.cells[0], 0, two_ranks(2, 2.0));
        rec.on_cell_end(job_.cells[0], 0, runner::CellEnd::complete);
        expect_rank_times(rec.summary()[0]);
        rec.finish(RunStatus::interrupted);
    }
    expect_rank_times(file_->read_run(run).summary[0]);
    const StoredRun stored = file_->read_run(run);
    RunWriter w = file_->resume_run(run, "2024-05-01T12:00:00Z");
    Recorder resumed(w, job_.cells, &stored, {});
    expect_rank_times(resumed.summary()[0]);
}

TEST_F(RecorderTest, IoFailureSummaryCountsEveryStoredTrial) {
    RunWriter w = new_run();
    Recorder rec(w, job_.cells, nullptr, {});
    rec.on_trial(job_.cells[0], 0, trial(0, 0, 0.1));
    rec.on_trial(job_.cells[0], 0, trial(0, 1, 0.1, 0, 3, "connection refused"));
    rec.on_trial(job_.cells[0], 0, trial(0, 2, 0.2));
    const std::string s = rec.io_failure_summary();
    EXPECT_EQ(s, "1 of 3 trials had I/O errors in 1 cell(s) (a: 1 of 3); first error: connection refused "
                 "(cell 'a' trial 1)");
    const auto times = rec.times();
    EXPECT_EQ(times[0].failed, 1);  // left out of the statistics
    EXPECT_EQ(times[0].wall_s, std::vector<double>({0.2}));
}

TEST_F(RecorderTest, FailureSummaryNamesExceptionsOfThePythonFunction) {
    // A python cell fails by raising, not by a failed request: the summary says so.
    std::vector<model::Cell> cells = job_.cells;
    cells[0].workload = model::Workload::python;
    RunWriter w = new_run();
    Recorder rec(w, cells, nullptr, {});
    rec.on_trial(cells[0], 0, trial(0, 0, 0.1, 0, 1, "function 'm:f': KeyError: 'x' (rank 0)"));
    EXPECT_EQ(rec.io_failure_summary(),
              "1 of 1 trials had exceptions raised by the Python function in 1 cell(s) (a: 1 of 1); first error: "
              "function 'm:f': KeyError: 'x' (rank 0) (cell 'a' trial 0)");
    ASSERT_EQ(cells.size(), 2u);  // the second cell is not python: a failed request there
    rec.on_trial(cells[1], 1, trial(1, 0, 0.1, 0, 2, "connection refused"));
    EXPECT_NE(rec.io_failure_summary().find("had failures (I/O errors, or exceptions raised by the Python "
                                            "function) in 2 cell(s)"),
              std::string::npos)
        << rec.io_failure_summary();
}

}  // namespace
}  // namespace gilbench::store
