#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "job/job.hpp"

namespace gj = gilbench::job;
using gilbench::model::Scaling;
using gilbench::model::Workload;

namespace {

// Parses `text` and returns the JobError's message ("" if it parsed).
std::string error_of(const std::string& text) {
    try {
        gj::parse_job(text, "bad.toml");
    } catch (const gj::JobError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(Job, SeedJobFileParsesToSixCells) {
    const gj::Job job = gj::load_job(std::string(GILBENCH_SOURCE_DIR) + "/jobs/seed.toml");
    EXPECT_EQ(job.name, "seed");
    ASSERT_EQ(job.cells.size(), 6u);
    EXPECT_EQ(job.max_ranks(), 2);
    EXPECT_TRUE(job.uses_embedded_server());
    const auto& c = job.cells[1];
    EXPECT_EQ(c.name, "cpu-multi-thread");
    EXPECT_EQ(c.workload, Workload::cpu);
    EXPECT_EQ(c.work, 50'000'000);
    EXPECT_EQ(c.threads, 2);
    EXPECT_EQ(c.gil, "new");
    EXPECT_DOUBLE_EQ(c.switch_interval_s, 0.005);
    EXPECT_DOUBLE_EQ(job.cells[4].latency_s, 0.1);
    EXPECT_EQ(job.cells[4].workload, Workload::io);
    for (std::size_t i = 0; i < job.cells.size(); ++i) EXPECT_EQ(job.cells[i].index, static_cast<int>(i));
}

TEST(Job, CellsInheritDefaultsAndOverrideThem) {
    const gj::Job job = gj::parse_job(R"(
[defaults]
repeats = 7
latency = 1
gil = "old"
[[cell]]
workload = "io"
work = 4
[[cell]]
workload = "cpu"
work = 10
repeats = 2
scaling = "weak"
)");
    ASSERT_EQ(job.cells.size(), 2u);
    EXPECT_EQ(job.cells[0].repeats, 7);
    EXPECT_DOUBLE_EQ(job.cells[0].latency_s, 1.0);  // an integer is accepted as seconds
    EXPECT_EQ(job.cells[0].gil, "old");
    EXPECT_EQ(job.cells[0].name, "cell-0");
    EXPECT_EQ(job.cells[1].repeats, 2);
    EXPECT_EQ(job.cells[1].scaling, Scaling::weak);
    EXPECT_EQ(job.cells[1].warmups, 1);
}

TEST(Job, WorkIsSplitEvenlyUnderStrongScaling) {
    gilbench::model::Cell c;
    c.work = 10;
    c.ranks = 1;
    c.threads = 3;
    EXPECT_EQ(work_of_worker(c, 0), 4);
    EXPECT_EQ(work_of_worker(c, 1), 3);
    EXPECT_EQ(work_of_worker(c, 2), 3);
    c.scaling = Scaling::weak;
    EXPECT_EQ(work_of_worker(c, 2), 10);
}

struct BadJob {
    const char* text;
    const char* expected;  // substring of the message
};

void PrintTo(const BadJob& b, std::ostream* os) { *os << "expects \"" << b.expected << "\""; }

class JobErrors : public ::testing::TestWithParam<BadJob> {};

TEST_P(JobErrors, NameFileLineAndKey) {
    const std::string msg = error_of(GetParam().text);
    EXPECT_NE(msg.find(GetParam().expected), std::string::npos) << "message was: " << msg;
    EXPECT_EQ(msg.rfind("bad.toml", 0), 0u) << "message should start with the file: " << msg;
}

INSTANTIATE_TEST_SUITE_P(
    All, JobErrors,
    ::testing::Values(
        BadJob{"[[cell]\nworkload='cpu'", "bad.toml:1: invalid TOML"},
        BadJob{"[job]\nname='x'\n", "the job has no cells"},
        BadJob{"[[cell]]\nwork=5\n", "key 'workload': is required"},
        BadJob{"[[cell]]\nworkload='gpu'\nwork=5\n", "bad.toml:2: key 'workload': 'gpu' is not one of: cpu, io"},
        BadJob{"[[cell]]\nworkload='cpu'\n", "key 'work': is required"},
        BadJob{"[[cell]]\nworkload='cpu'\nwork=-3\n", "bad.toml:3: key 'work': must be between 1"},
        BadJob{"[[cell]]\nworkload='cpu'\nwork='many'\n", "key 'work': must be an integer"},
        BadJob{"[[cell]]\nworkload='cpu'\nwork=5\nthreds=2\n", "bad.toml:4: key 'threds': is not a cell setting"},
        BadJob{"[[cell]]\nworkload='cpu'\nwork=5\ngil='gil'\n", "'gil' is not one of: new, old, none"},
        BadJob{"[[cell]]\nworkload='io'\nwork=5\nurl='ftp://x'\n", "is not an http:// or https:// URL"},
        BadJob{"[[cell]]\nworkload='io'\nwork=5\nlatency=-1\n", "key 'latency': must be between 0 and 60"},
        BadJob{"[[cell]]\nworkload='cpu'\nwork=1\nthreads=2\n", "less than the cell's 2 workers"},
        BadJob{"[[cell]]\nname='a'\nworkload='cpu'\nwork=1\n[[cell]]\nname='a'\nworkload='cpu'\nwork=1\n",
               "bad.toml:6: key 'name': 'a' is used by two cells"},
        BadJob{"[defaults]\nrepeat=3\n[[cell]]\nworkload='cpu'\nwork=1\n", "key 'repeat': is not a default"},
        BadJob{"[jobs]\nname='x'\n", "key 'jobs': is not a job section"},
        BadJob{"[[cell]]\nworkload='mixed'\nwork=5\nthreads=1\n", "a mixed cell needs CPU threads beside"},
        BadJob{"[[cell]]\nworkload='io'\nwork=5\nio_threads=1\n", "key 'io_threads': only applies to workload"}));

TEST(Job, MixedCellSplitsWorkOverItsIoThreadsOnly) {
    const gj::Job job = gj::parse_job("[[cell]]\nworkload='mixed'\nwork=10\nthreads=3\nranks=2\n");
    const auto& c = job.cells[0];
    EXPECT_EQ(c.workload, Workload::mixed);
    EXPECT_EQ(c.io_threads, 1);  // default: one I/O thread beside the CPU threads
    EXPECT_EQ(c.work_sharers(), 2);
    EXPECT_EQ(work_of_worker(c, 0), 5);
    EXPECT_TRUE(c.is_io_thread(0));
    EXPECT_FALSE(c.is_io_thread(1));
    EXPECT_TRUE(job.uses_embedded_server());
}

TEST(Job, MissingFileNamesThePath) {
    try {
        gj::load_job("/nonexistent/dir/job.toml");
        FAIL() << "expected JobError";
    } catch (const gj::JobError& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/job.toml: cannot open the job file"),
                  std::string::npos);
    }
}

TEST(Job, OverridesApplyToEveryCellAndAreChecked) {
    gj::Job job = gj::parse_job("[[cell]]\nworkload='io'\nwork=2\n[[cell]]\nworkload='cpu'\nwork=2\n");
    gj::Overrides o;
    o.url = "http://127.0.0.1:1/";
    o.repeats = 5;
    gj::apply_overrides(job, o);
    for (const auto& c : job.cells) {
        EXPECT_EQ(c.url, "http://127.0.0.1:1/");
        EXPECT_EQ(c.repeats, 5);
    }
    EXPECT_FALSE(job.uses_embedded_server());
    gj::Overrides bad;
    bad.url = "file:///etc/passwd";
    EXPECT_THROW(gj::apply_overrides(job, bad), gj::JobError);
    gj::Overrides bad_gil;
    bad_gil.gil = "fast";
    EXPECT_THROW(gj::apply_overrides(job, bad_gil), gj::JobError);
}
