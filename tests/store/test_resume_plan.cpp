// The resume plan: which run a start continues, what it may skip, and how its nodes map onto
// the run's hosts; real files in a temp directory.
#include "store/resume_plan.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace gilbench::store {
namespace {

namespace fs = std::filesystem;

const char* job_text = R"([job]
name = "plan"
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
time_budget = 5
)";

class ResumePlanTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("gilbench_resume_plan_" + std::to_string(::getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        job_ = job::parse_job(job_text, "jobs/plan.toml");
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string path() const { return (dir_ / "out.h5").string(); }

    // A run of `job` with the given stored trials ({cell, trial}), summary states and status.
    void store_run(const job::Job& job, const std::vector<std::pair<int, int>>& trials, RunStatus status,
                   const std::vector<std::string>& hosts = {"n0"},
                   const std::vector<std::pair<int, std::string>>& states = {}) {
        ResultsFile file = ResultsFile::open_or_create(path(), FileInfo{});
        RunInfo info;
        info.job = job.text;
        info.job_path = job.path;
        info.ranks = 1;
        info.nodes = static_cast<int>(hosts.size());
        info.hosts = hosts;
        RunWriter w = file.begin_run(info);
        w.add_cells(job.cells);
        for (const auto& [cell, trial] : trials) {
            model::TrialResult r;
            r.trial.cell = cell;
            r.trial.trial = trial;
            r.trial.warmup = trial == 0;
            r.trial.wall_s = 0.5;
            model::WorkerRecord wr;
            wr.cell = cell;
            wr.trial = trial;
            wr.end_s = 0.5;
            r.workers.push_back(wr);
            w.add_trial(r);
        }
        for (const auto& [cell, state] : states) {
            model::CellSummaryRecord row;
            row.cell = cell;
            row.state = state;
            w.write_summary({row});
        }
        w.set_status(status);
    }

    fs::path dir_;
    job::Job job_;
};

TEST_F(ResumePlanTest, WithoutResumeIsANewRun) {
    store_run(job_, {{0, 0}}, RunStatus::interrupted);
    Target t = open_target(path(), FileInfo{}, job_, false, false);
    EXPECT_FALSE(t.plan.resumes());
    EXPECT_EQ(t.plan.run, "");
    EXPECT_TRUE(t.plan.done(2).trials.empty());  // run everything
}

TEST_F(ResumePlanTest, MissingFileStartsANewRunAndSaysSo) {
    const std::string nested = (dir_ / "sub" / "out.h5").string();
    Target t = open_target(nested, FileInfo{}, job_, true, false);
    EXPECT_FALSE(t.plan.resumes());
    EXPECT_NE(t.plan.note.find("nothing to resume"), std::string::npos) << t.plan.note;
    EXPECT_NE(t.plan.note.find("no such file"), std::string::npos) << t.plan.note;
    EXPECT_TRUE(fs::exists(nested));  // its directory was made
}

TEST_F(ResumePlanTest, FileWithoutRunsStartsANewRun) {
    { ResultsFile::open_or_create(path(), FileInfo{}); }
    Target t = open_target(path(), FileInfo{}, job_, true, false);
    EXPECT_FALSE(t.plan.resumes());
    EXPECT_NE(t.plan.note.find("it has no runs yet"), std::string::npos) << t.plan.note;
}

TEST_F(ResumePlanTest, ResumeWithOverwriteIsRefused) {
    try {
        open_target(path(), FileInfo{}, job_, true, true);
        FAIL() << "no refusal";
    } catch (const ResumeRefused& e) {
        EXPECT_NE(std::string(e.what()).find("use one of them"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(path()));  // refused before anything was made
}

TEST_F(ResumePlanTest, CompleteRunsAreRefused) {
    store_run(job_, {{0, 0}}, RunStatus::complete);
    try {
        open_target(path(), FileInfo{}, job_, true, false);
        FAIL() << "no refusal";
    } catch (const ResumeRefused& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("nothing to resume in"), std::string::npos) << m;
        EXPECT_NE(m.find("are complete (the latest is run-000)"), std::string::npos) << m;
    }
}

TEST_F(ResumePlanTest, AnotherJobsRunIsRefused) {
    job::Job other = job::parse_job(std::string(job_text) + "# another job\n", "jobs/other.toml");
    store_run(other, {{0, 0}}, RunStatus::interrupted);
    try {
        open_target(path(), FileInfo{}, job_, true, false);
        FAIL() << "no refusal";
    } catch (const ResumeRefused& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("ran another job"), std::string::npos) << m;
        EXPECT_NE(m.find("differs from jobs/plan.toml"), std::string::npos) << m;
    }
}

TEST_F(ResumePlanTest, APlanDifferenceIsRefused) {
    store_run(job_, {{0, 0}}, RunStatus::interrupted);
    job::Job changed = job_;
    changed.cells[0].repeats = 5;  // as --repeats 5 would
    try {
        open_target(path(), FileInfo{}, changed, true, false);
        FAIL() << "no refusal";
    } catch (const ResumeRefused& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("cannot resume /runs/run-000"), std::string::npos) << m;
        EXPECT_NE(m.find("the plan differs"), std::string::npos) << m;
    }
}

TEST_F(ResumePlanTest, ResumesTheLatestUnfinishedRunOfTheJob) {
    store_run(job_, {{0, 0}, {0, 1}, {0, 2}, {1, 0}}, RunStatus::interrupted, {"n0"},
              {{0, "complete"}, {1, "budget"}});
    store_run(job_, {}, RunStatus::complete);
    store_run(job_, {{0, 0}, {1, 0}, {1, 1}}, RunStatus::failed, {"n0"}, {{1, "budget"}});
    Target t = open_target(path(), FileInfo{}, job_, true, false);
    ASSERT_TRUE(t.plan.resumes());
    EXPECT_EQ(t.plan.run, "run-002");
    EXPECT_NE(t.plan.note.find("resuming /runs/run-002 (status 'failed', 3 finished trials)"), std::string::npos)
        << t.plan.note;
    const runner::Done d = t.plan.done(2);
    ASSERT_EQ(d.trials.size(), 2u);
    EXPECT_EQ(d.trials[0], std::vector<int>({0}));
    EXPECT_EQ(d.trials[1], std::vector<int>({0, 1}));
    EXPECT_EQ(d.closed, std::vector<char>({0, 1}));  // cell b's budget ran out
}

TEST_F(ResumePlanTest, HostsKeepTheirPlaceAndNewOnesGoLast) {
    store_run(job_, {{0, 0}}, RunStatus::interrupted, {"n0", "n1"});
    Target t = open_target(path(), FileInfo{}, job_, true, false);
    const HostMap same = t.plan.hosts({"n0", "n1"});
    EXPECT_FALSE(same.added);
    EXPECT_TRUE(same.identity());
    const HostMap moved = t.plan.hosts({"n2", "n1"});  // this start: node 0 is n2, node 1 is n1
    EXPECT_TRUE(moved.added);
    EXPECT_EQ(moved.hosts, std::vector<std::string>({"n0", "n1", "n2"}));
    EXPECT_EQ(moved.node, std::vector<int>({2, 1}));
    EXPECT_FALSE(moved.identity());
}

TEST(ResumePlanKeptCosts, ThisStartsNodesGetTheirHostsStoredCostsElseNone) {
    const std::vector<std::string> fields{"a_ns", "b_ns"};
    ResumePlan plan;
    EXPECT_TRUE(plan.kept_costs({"n0"}, fields).empty());  // a new run
    plan.stored = StoredRun{};
    plan.stored->hosts = {"n0", "n1"};
    plan.stored->urllib_costs_ns = {1, 2, 3, 4};  // 2 per host, stored before the names: `fields` in order
    plan.stored->calibration = "measured";
    EXPECT_EQ(plan.kept_costs({"n0", "n1"}, fields), std::vector<std::int64_t>({1, 2, 3, 4}));
    EXPECT_EQ(plan.kept_costs({"n1"}, fields), std::vector<std::int64_t>({3, 4}));  // this start's node 0 is n1
    EXPECT_TRUE(plan.kept_costs({"n0", "n2"}, fields).empty());                     // n2 is new to the run: none stored
    EXPECT_TRUE(plan.kept_costs({"n0"}, {"a_ns", "b_ns", "c_ns"}).empty());  // stored with another count per node
    plan.stored->calibration.clear();                                        // a run stored before calibration
    EXPECT_TRUE(plan.kept_costs({"n0"}, fields).empty());
}

TEST(ResumePlanKeptCosts, StoredCostsAreFoundByName) {
    ResumePlan plan;
    plan.stored = StoredRun{};
    plan.stored->hosts = {"n0", "n1"};
    plan.stored->calibration = "cached 2026-12-01T18:00:00Z";
    // Stored in another order, with a field this start does not ask for: taken by name.
    plan.stored->urllib_costs_fields = {"b_ns", "old_ns", "a_ns"};
    plan.stored->urllib_costs_ns = {2, 0, 1, 20, 0, 10};
    EXPECT_EQ(plan.kept_costs({"n0", "n1"}, {"a_ns", "b_ns"}), std::vector<std::int64_t>({1, 2, 10, 20}));
    EXPECT_EQ(plan.kept_costs({"n1"}, {"b_ns"}), std::vector<std::int64_t>({20}));
    // A field the stored run does not have (a cost added since): none, so the start calibrates.
    EXPECT_TRUE(plan.kept_costs({"n0"}, {"a_ns", "new_ns"}).empty());
    // Names that do not fit the values: none.
    plan.stored->urllib_costs_fields = {"a_ns", "b_ns"};
    EXPECT_TRUE(plan.kept_costs({"n0"}, {"a_ns", "b_ns"}).empty());
    // Stored before the old GIL had a countdown of its own (record version 4): its ticks were
    // timed on the embedded countdown, and the resumed start keeps that.
    plan.stored->urllib_costs_fields = {"countdown_per_1000_ns", "a_ns"};
    plan.stored->urllib_costs_ns = {43000, 1, 42000, 10};
    EXPECT_EQ(plan.kept_costs({"n0", "n1"}, {"a_ns", "countdown_per_1000_ns", "old_gil_countdown_per_1000_ns"}),
              std::vector<std::int64_t>({1, 43000, 43000, 10, 42000, 42000}));
}

TEST(MergeHosts, ANewRunNumbersNodesAsThisStart) {
    const ResumePlan fresh;
    const HostMap m = fresh.hosts({"a", "b"});
    EXPECT_EQ(m.hosts, std::vector<std::string>({"a", "b"}));
    EXPECT_TRUE(m.identity());
    EXPECT_FALSE(m.added);
}

}  // namespace
}  // namespace gilbench::store
