#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

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

// jobs/fidelity.toml: every reference cell twice, <base>-emulated and <base>-cpython, alike but
// for the engine and the countdown size; run round by round; the old GIL's cells emulated only.
// The Fidelity section finds its figures by these names (analysis/gilbench_analysis/fidelity.py).
TEST(Job, FidelityJobPlansEveryReferenceCellWithBothEngines) {
    namespace gm = gilbench::model;
    const gj::Job job = gj::load_job(std::string(GILBENCH_SOURCE_DIR) + "/jobs/fidelity.toml");
    EXPECT_EQ(job.order, gm::Order::alternating);
    EXPECT_EQ(job.max_ranks(), 2);
    const std::string emulated = "-emulated", cpython = "-cpython";
    const auto ends_with = [](const std::string& s, const std::string& end) {
        return s.size() > end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
    };
    int twins = 0, emulated_only = 0;
    for (const gm::Cell& c : job.cells) {
        if (ends_with(c.name, cpython)) {
            EXPECT_EQ(c.engine, "cpython") << c.name;
            const std::string base = c.name.substr(0, c.name.size() - cpython.size());
            const auto twin = std::find_if(job.cells.begin(), job.cells.end(),
                                           [&](const gm::Cell& e) { return e.name == base + emulated; });
            ASSERT_NE(twin, job.cells.end()) << c.name << " has no " << base + emulated;
            EXPECT_EQ(twin->engine, "emulated") << twin->name;
            EXPECT_EQ(twin->workload, c.workload) << base;
            EXPECT_EQ(twin->threads, c.threads) << base;
            EXPECT_EQ(twin->io_threads, c.io_threads) << base;
            EXPECT_EQ(twin->ranks, c.ranks) << base;
            EXPECT_EQ(twin->gil, c.gil) << base;
            EXPECT_EQ(twin->switch_interval_s, c.switch_interval_s) << base;
            EXPECT_EQ(twin->latency_s, c.latency_s) << base;
            EXPECT_EQ(twin->trace, c.trace) << base;
            EXPECT_EQ(twin->repeats, c.repeats) << base;
            if (c.workload != gm::Workload::cpu) {
                EXPECT_EQ(twin->work, c.work) << base;  // GETs alike
            }
            ++twins;
        } else {
            ASSERT_TRUE(ends_with(c.name, emulated)) << c.name;
            EXPECT_EQ(c.engine, "emulated") << c.name;
            const std::string base = c.name.substr(0, c.name.size() - emulated.size());
            const bool has_twin = std::any_of(job.cells.begin(), job.cells.end(),
                                              [&](const gm::Cell& r) { return r.name == base + cpython; });
            if (!has_twin) {
                EXPECT_EQ(c.gil, gm::GilPolicy::old_gil) << c.name << ": only the old GIL's cells have no twin";
                ++emulated_only;
            }
        }
    }
    EXPECT_EQ(twins, 16);
    EXPECT_EQ(emulated_only, 3);  // cpu-1t-old, cpu-2t-old, convoy-old
}

// Every shipped job file loads (a typo in one would otherwise surface only when a user runs it).
TEST(Job, EveryShippedJobFileLoads) {
    namespace fs = std::filesystem;
    int loaded = 0;
    for (const auto& entry : fs::recursive_directory_iterator(std::string(GILBENCH_SOURCE_DIR) + "/jobs")) {
        if (entry.path().extension() != ".toml") continue;
        EXPECT_NO_THROW({
            const gj::Job job = gj::load_job(entry.path().string());
            EXPECT_FALSE(job.cells.empty()) << entry.path();
        }) << entry.path();
        ++loaded;
    }
    EXPECT_GE(loaded, 8);
}

TEST(Job, SeedJobFileParsesToSixCellsPerEngine) {
    const gj::Job job = gj::load_job(std::string(GILBENCH_SOURCE_DIR) + "/jobs/seed.toml");
    EXPECT_EQ(job.name, "seed");
    ASSERT_EQ(job.cells.size(), 12u);
    for (std::size_t i = 0; i < 6; ++i) {
        EXPECT_EQ(job.cells[i].engine, "emulated") << i;
        EXPECT_EQ(job.cells[i + 6].engine, "cpython") << i;
        EXPECT_EQ(job.cells[i + 6].name, job.cells[i].name + "-cpython");
        EXPECT_EQ(job.cells[i + 6].workload, job.cells[i].workload);
        EXPECT_EQ(job.cells[i + 6].work, job.cells[i].work);
        EXPECT_EQ(job.cells[i + 6].ranks, job.cells[i].ranks);
        EXPECT_EQ(job.cells[i + 6].threads, job.cells[i].threads);
    }
    EXPECT_EQ(job.max_ranks(), 2);
    EXPECT_TRUE(job.uses_embedded_server());
    const auto& c = job.cells[1];
    EXPECT_EQ(c.name, "cpu-multi-thread");
    EXPECT_EQ(c.workload, Workload::cpu);
    EXPECT_EQ(c.work, 50'000'000);
    EXPECT_EQ(c.threads, 2);
    EXPECT_EQ(c.gil, gilbench::model::GilPolicy::new_gil);
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
    EXPECT_EQ(job.cells[0].gil, gilbench::model::GilPolicy::old_gil);
    EXPECT_EQ(job.cells[0].name, "cell-0");
    EXPECT_EQ(job.cells[1].repeats, 2);
    EXPECT_EQ(job.cells[1].scaling, Scaling::weak);
    EXPECT_EQ(job.cells[1].warmups, 1);
}

TEST(Job, FreeThreadedProfilesAreGilValues) {
    const gj::Job job = gj::parse_job(R"(
[[cell]]
name = "ft-{gil}"
workload = "cpu"
work = 10
threads = 2
gil = ["none", "free-threaded-3.13", "free-threaded-3.14"]
)");
    ASSERT_EQ(job.cells.size(), 3u);
    EXPECT_EQ(job.cells[0].gil, gilbench::model::GilPolicy::none);
    EXPECT_EQ(job.cells[1].gil, gilbench::model::GilPolicy::free_threaded_3_13);
    EXPECT_EQ(job.cells[1].name, "ft-free-threaded-3.13");
    EXPECT_EQ(job.cells[2].gil, gilbench::model::GilPolicy::free_threaded_3_14);
    EXPECT_STREQ(gilbench::model::to_string(job.cells[2].gil), "free-threaded-3.14");
    EXPECT_TRUE(gilbench::model::is_free_threaded_profile(job.cells[1].gil));
    EXPECT_FALSE(gilbench::model::is_free_threaded_profile(job.cells[0].gil));
}

TEST(Job, GilProfileOverrideIsRefusedForTheCpythonEngine) {
    gj::Job job = gj::parse_job("[[cell]]\nname='c'\nworkload='cpu'\nwork=5\nengine='cpython'\n");
    gj::Overrides o;
    o.set("gil", "free-threaded-3.14");
    try {
        gj::apply_overrides(job, o);
        ADD_FAILURE() << "--gil free-threaded-3.14 on a cpython cell was accepted";
    } catch (const gj::JobError& e) {
        EXPECT_NE(std::string(e.what()).find("option --gil: cell 'c': gil = \"free-threaded-3.14\" is an emulated "
                                             "profile"),
                  std::string::npos)
            << e.what();
    }
    gj::Job emulated = gj::parse_job("[[cell]]\nname='e'\nworkload='cpu'\nwork=5\n");
    gj::apply_overrides(emulated, o);
    EXPECT_EQ(emulated.cells[0].gil, gilbench::model::GilPolicy::free_threaded_3_14);
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
        BadJob{"[[cell]]\nworkload='io'\nwork=5\nio_threads=1\n", "key 'io_threads': only applies to workload"},
        BadJob{"[[cell]]\nworkload='cpu'\nwork=5\nplacement='scatter'\n",
               "bad.toml:4: key 'placement': 'scatter' is not one of: launch, pack, spread"},
        BadJob{"[job]\norder='round'\n[[cell]]\nworkload='cpu'\nwork=5\n",
               "bad.toml:2: key 'order': must be \"alternating\" (the default: trial k of every cell before trial "
               "k+1 of any, odd rounds in reverse order), \"rounds\" (the same, every round in plan order) or "
               "\"cells\" (every trial of a cell, then the next cell), got \"round\""},
        BadJob{"[job]\norder=2\n[[cell]]\nworkload='cpu'\nwork=5\n", "bad.toml:2: key 'order': must be a string"},
        BadJob{"[job]\nrounds=true\n[[cell]]\nworkload='cpu'\nwork=5\n",
               "key 'rounds': is not a [job] setting; use name, description, order and [job.auto]"},
        BadJob{"[defaults]\nrepeats='many'\n[[cell]]\nworkload='cpu'\nwork=5\n",
               "bad.toml:2: key 'repeats': must be a whole number of trials or \"auto\", got \"many\""},
        BadJob{"[defaults]\nrepeats='auto'\n[[cell]]\nworkload='cpu'\nwork=5\nrepeats=3\n",
               "bad.toml:6: key 'repeats': is set in [defaults] as \"auto\""},
        BadJob{"[[cell]]\nworkload='cpu'\nwork=5\nrepeats='auto'\n",
               "bad.toml:4: key 'repeats': \"auto\" sizes every cell alike: write repeats = \"auto\" in [defaults]"},
        BadJob{"[job.auto]\nprecision=0\n[[cell]]\nworkload='cpu'\nwork=5\n",
               "bad.toml:2: key 'auto.precision': must be a relative half-width"},
        BadJob{"[job.auto]\npilot=2\n[[cell]]\nworkload='cpu'\nwork=5\n",
               "bad.toml:2: key 'auto.pilot': must be from 3 to 1000000 rounds"},
        BadJob{"[job.auto]\npilot=8\nmax=6\n[[cell]]\nworkload='cpu'\nwork=5\n",
               "key 'auto.max': is 6, fewer rounds than the pilot's 8"},
        BadJob{"[job.auto]\nrounds=8\n[[cell]]\nworkload='cpu'\nwork=5\n",
               "bad.toml:2: key 'auto.rounds': is not a [job.auto] setting"},
        BadJob{"[defaults]\nrepeats='auto'\n[[cell]]\nworkload='cpu'\nwork=5\nprecision=1.5\n",
               "bad.toml:6: key 'precision':"}));

TEST(Job, RepeatsAutoRunsThePilotFirst) {
    const gj::Job job = gj::parse_job(
        "[job.auto]\nprecision = 0.02\npilot = 5\nmax = 30\nbudget = 600\n[defaults]\nrepeats = 'auto'\n"
        "[[cell]]\nworkload='cpu'\nwork=5\nthreads=[1, 2]\n");
    EXPECT_TRUE(job.auto_rounds.on);
    EXPECT_DOUBLE_EQ(job.auto_rounds.precision, 0.02);
    EXPECT_EQ(job.auto_rounds.max, 30);
    EXPECT_DOUBLE_EQ(job.auto_rounds.budget_s, 600);
    ASSERT_EQ(job.cells.size(), 2u);
    for (const auto& c : job.cells) EXPECT_EQ(c.repeats, 5);
    // A cell's own precision: stored in that cell only.
    const gj::Job own = gj::parse_job("[defaults]\nrepeats = 'auto'\n[[cell]]\nworkload='cpu'\nwork=5\n"
                                      "threads=[1, 2]\nprecision=0.1\n[[cell]]\nname='io'\nworkload='io'\nwork=5\n");
    EXPECT_DOUBLE_EQ(own.cells[0].precision, 0.1);
    EXPECT_DOUBLE_EQ(own.cells[2].precision, 0.0);
    // [job.auto] alone changes nothing: repeats keep their numbers.
    const gj::Job fixed = gj::parse_job("[job.auto]\npilot = 5\n[[cell]]\nworkload='cpu'\nwork=5\nrepeats=4\n");
    EXPECT_FALSE(fixed.auto_rounds.on);
    EXPECT_EQ(fixed.cells[0].repeats, 4);
}

TEST(Job, RepeatsAutoFromTheCommandLine) {
    gj::Job job = gj::parse_job("[[cell]]\nworkload='cpu'\nwork=5\nrepeats=4\n");
    gj::Overrides o;
    o.set("repeats", "auto");
    gj::apply_overrides(job, o);
    EXPECT_TRUE(job.auto_rounds.on);
    EXPECT_EQ(job.cells[0].repeats, job.auto_rounds.pilot);
    // A number turns a job's "auto" off.
    gj::Job autos = gj::parse_job("[defaults]\nrepeats='auto'\n[[cell]]\nworkload='cpu'\nwork=5\n");
    gj::Overrides n;
    n.set("repeats", "7");
    gj::apply_overrides(autos, n);
    EXPECT_FALSE(autos.auto_rounds.on);
    EXPECT_EQ(autos.cells[0].repeats, 7);
}

TEST(Job, OrderIsAlternatingUnlessTheJobAsksForAnother) {
    EXPECT_EQ(gj::parse_job("[[cell]]\nworkload='cpu'\nwork=5\n").order, gilbench::model::Order::alternating);
    EXPECT_EQ(gj::parse_job("[job]\norder='cells'\n[[cell]]\nworkload='cpu'\nwork=5\n").order,
              gilbench::model::Order::cells);
    const gj::Job job = gj::parse_job("[job]\nname='f'\norder=\"rounds\"\n[[cell]]\nworkload='cpu'\nwork=5\n");
    EXPECT_EQ(job.order, gilbench::model::Order::rounds);
    EXPECT_EQ(job.name, "f");
    EXPECT_STREQ(gilbench::model::to_string(job.order), "rounds");
}

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

TEST(Job, ADirectoryIsNotAJobFile) {
    // An ifstream "opens" a directory and reads nothing: it used to parse as an empty job.
    const std::string dir = std::string(GILBENCH_SOURCE_DIR) + "/jobs";
    try {
        gj::load_job(dir);
        FAIL() << "a directory was accepted as a job file";
    } catch (const gj::JobError& e) {
        EXPECT_NE(std::string(e.what()).find(dir + ": is a directory, not a job file"), std::string::npos) << e.what();
    }
}

TEST(Job, ControlCharactersAreRefusedWhereverTextIsStored) {
    // An escape character in a swept name (checked after the placeholders are filled in).
    EXPECT_NE(error_of("[[cell]]\nname=\"c{threads}\\u001b\"\nworkload='cpu'\nwork=4\nthreads=[1,2]\n")
                  .find("key 'name': contains a control character (code 27) at position 2"),
              std::string::npos);
    EXPECT_EQ(error_of("[job]\ndescription=\"\"\"one\nline\tand a tab\"\"\"\n[[cell]]\nworkload='cpu'\nwork=4\n"), "")
        << "newlines and tabs are fine in a description";
    // A NUL in --url would reach the HTTP request line.
    gj::Job job = gj::parse_job("[[cell]]\nworkload='io'\nwork=2\n");
    gj::Overrides o;
    o.set("url", std::string("http://127.0.0.1/\0x", 19));
    try {
        gj::apply_overrides(job, o);
        ADD_FAILURE() << "--url with a NUL was accepted";
    } catch (const gj::JobError& e) {
        EXPECT_NE(std::string(e.what()).find("option --url: contains a control character (code 0) at position 17"),
                  std::string::npos)
            << e.what();
    }
}

TEST(Job, OverridesApplyToEveryCellAndAreChecked) {
    gj::Job job = gj::parse_job("[[cell]]\nworkload='io'\nwork=2\n[[cell]]\nworkload='cpu'\nwork=2\n");
    gj::Overrides o;
    o.set("url", "http://127.0.0.1:1/");
    o.set("repeats", "5");
    gj::apply_overrides(job, o);
    for (const auto& c : job.cells) {
        EXPECT_EQ(c.url, "http://127.0.0.1:1/");
        EXPECT_EQ(c.repeats, 5);
    }
    EXPECT_FALSE(job.uses_embedded_server());
    gj::Overrides bad;
    bad.set("url", "file:///etc/passwd");
    EXPECT_THROW(gj::apply_overrides(job, bad), gj::JobError);
    gj::Overrides bad_gil;
    bad_gil.set("gil", "fast");
    EXPECT_THROW(gj::apply_overrides(job, bad_gil), gj::JobError);
    gj::Overrides old;
    old.set("check_interval", "7");
    old.set("placement", "spread");
    gj::apply_overrides(job, old);
    EXPECT_EQ(job.cells[1].check_interval, 7);
    EXPECT_EQ(job.cells[1].placement, gilbench::model::Placement::spread);
    gj::Overrides bad_place;
    bad_place.set("placement", "scatter");
    try {
        gj::apply_overrides(job, bad_place);
        ADD_FAILURE() << "--placement scatter was accepted";
    } catch (const gj::JobError& e) {
        EXPECT_NE(std::string(e.what()).find("option --placement: 'scatter' is not one of: launch, pack, spread"),
                  std::string::npos)
            << e.what();
    }
    gj::Overrides bad_ticks;
    bad_ticks.set("check_interval", "0");
    EXPECT_THROW(gj::apply_overrides(job, bad_ticks), gj::JobError);
}

// ---- sweeps -------------------------------------------------------------------------------

namespace {

std::vector<std::string> names_of(const gj::Job& job) {
    std::vector<std::string> names;
    for (const auto& c : job.cells) names.push_back(c.name);
    return names;
}

// The text after "# key: " in the file's comment lines ("" if absent).
std::string header(const std::filesystem::path& file, const std::string& key) {
    std::ifstream in(file);
    std::string line;
    const std::string prefix = "# " + key + ": ";
    while (std::getline(in, line) && line.rfind("#", 0) == 0)
        if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
    return "";
}

std::vector<std::filesystem::path> files_in(const std::string& dir) {
    std::vector<std::filesystem::path> out;
    for (const auto& e : std::filesystem::directory_iterator(std::string(GILBENCH_SOURCE_DIR) + "/" + dir))
        if (e.path().extension() == ".toml") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST(Sweep, ListsExpandToTheirProductFirstListSlowest) {
    const gj::Job job = gj::parse_job(R"(
[[cell]]
name = "c-{ranks}-{threads}"
workload = "cpu"
work = 64
ranks = [1, 2]
threads = [1, 2, 4]
)");
    EXPECT_EQ(names_of(job), (std::vector<std::string>{"c-1-1", "c-1-2", "c-1-4", "c-2-1", "c-2-2", "c-2-4"}));
    for (std::size_t i = 0; i < job.cells.size(); ++i) EXPECT_EQ(job.cells[i].index, static_cast<int>(i));
    EXPECT_EQ(job.cells[5].ranks, 2);
    EXPECT_EQ(job.cells[5].threads, 4);
    EXPECT_EQ(job.max_ranks(), 2);
}

TEST(Sweep, OrderFollowsTheFileNotTheKeyNames) {
    // threads is written first here, so it varies slowest.
    const gj::Job job = gj::parse_job("[[cell]]\nname='c-{ranks}-{threads}'\nworkload='cpu'\nwork=8\n"
                                      "threads = [1, 2]\nranks = [1, 2]\n");
    EXPECT_EQ(names_of(job), (std::vector<std::string>{"c-1-1", "c-2-1", "c-1-2", "c-2-2"}));
}

TEST(Sweep, ZipAdvancesListsTogether) {
    const gj::Job job = gj::parse_job(R"(
[[cell]]
name = "{workload}-{ranks}"
workload = ["cpu", "io"]
work = [1000, 10]
latency = [0, 0.5]
zip = ["workload", "work", "latency"]
ranks = [1, 2]
)");
    ASSERT_EQ(job.cells.size(), 4u);
    EXPECT_EQ(names_of(job), (std::vector<std::string>{"cpu-1", "cpu-2", "io-1", "io-2"}));
    EXPECT_EQ(job.cells[0].work, 1000);
    EXPECT_EQ(job.cells[2].workload, Workload::io);
    EXPECT_EQ(job.cells[2].work, 10);
    EXPECT_DOUBLE_EQ(job.cells[3].latency_s, 0.5);
    EXPECT_DOUBLE_EQ(job.cells[1].latency_s, 0.0);
}

TEST(Sweep, SeveralZipGroups) {
    const gj::Job job = gj::parse_job(R"(
[[cell]]
name = "x"
workload = "cpu"
work = [10, 20]
scaling = ["strong", "weak"]
ranks = [1, 2]
threads = [1, 2]
zip = [["work", "scaling"], ["ranks", "threads"]]
)");
    ASSERT_EQ(job.cells.size(), 4u);  // 2 x 2, not 16
    EXPECT_EQ(job.cells[1].ranks, 2);
    EXPECT_EQ(job.cells[1].threads, 2);
    EXPECT_EQ(job.cells[1].scaling, Scaling::strong);
    EXPECT_EQ(job.cells[3].scaling, Scaling::weak);
    // Neither axis is named in "x": each adds its first key.
    EXPECT_EQ(job.cells[3].name, "x-work=20-ranks=2");
}

TEST(Sweep, ACellSettingReplacesAListFromDefaults) {
    const gj::Job job = gj::parse_job(R"(
[defaults]
ranks = [1, 2, 4]
[[cell]]
name = "swept-{ranks}"
workload = "cpu"
work = 8
[[cell]]
name = "single"
workload = "cpu"
work = 8
ranks = 2
)");
    EXPECT_EQ(names_of(job), (std::vector<std::string>{"swept-1", "swept-2", "swept-4", "single"}));
    EXPECT_EQ(job.cells[3].index, 3);
}

TEST(Sweep, UnnamedSweptCellsAreNumberedByPlanPosition) {
    const gj::Job job = gj::parse_job("[[cell]]\nworkload='cpu'\nwork=8\n[[cell]]\nworkload='cpu'\nwork=8\nthreads=[1,2]\n");
    EXPECT_EQ(names_of(job), (std::vector<std::string>{"cell-0", "cell-1", "cell-2"}));
}

TEST(Sweep, TooManyCellsIsRefused) {
    std::string list = "[";
    for (int i = 1; i <= 400; ++i) list += std::to_string(i) + (i < 400 ? "," : "]");
    const std::string msg = error_of("[[cell]]\nworkload='cpu'\nscaling='weak'\nwork=" + list + "\nthreads=" + list + "\n");
    EXPECT_NE(msg.find("expands to more than 100000 cells"), std::string::npos) << msg;
}

TEST(Job, PlacementDefaultsToLaunchOrderAndSweeps) {
    const gj::Job job = gj::parse_job("[[cell]]\nworkload='cpu'\nwork=8\n"
                                      "[[cell]]\nname='c-{placement}-{ranks}'\nworkload='cpu'\nwork=8\n"
                                      "placement=['pack','spread']\nranks=[2,3]\n");
    ASSERT_EQ(job.cells.size(), 5u);
    EXPECT_EQ(job.cells[0].placement, gilbench::model::Placement::launch);
    EXPECT_EQ(names_of(job), (std::vector<std::string>{"cell-0", "c-pack-2", "c-pack-3", "c-spread-2", "c-spread-3"}));
    EXPECT_EQ(job.cells[2].placement, gilbench::model::Placement::pack);
    EXPECT_EQ(job.cells[4].placement, gilbench::model::Placement::spread);
    // A resumed run must not silently change where a cell ran.
    std::vector<gilbench::model::Cell> moved = job.cells;
    moved[2].placement = gilbench::model::Placement::spread;
    EXPECT_NE(gj::plan_difference(job.cells, moved).find("placement is spread, was pack"), std::string::npos);
}

TEST(Job, TimeBudgetIsReadAndOverridden) {
    gj::Job job = gj::parse_job("[[cell]]\nworkload='cpu'\nwork=8\ntime_budget=1.5\n[[cell]]\nworkload='cpu'\nwork=8\n");
    EXPECT_DOUBLE_EQ(job.cells[0].time_budget_s, 1.5);
    EXPECT_DOUBLE_EQ(job.cells[1].time_budget_s, 0.0);
    gj::Overrides o;
    o.set("time_budget", "3");
    gj::apply_overrides(job, o);
    EXPECT_DOUBLE_EQ(job.cells[1].time_budget_s, 3.0);
}

TEST(Job, IoTimeoutIsReadCheckedAndOverridden) {
    gj::Job job = gj::parse_job("[[cell]]\nworkload='io'\nwork=8\nio_timeout=2.5\n[[cell]]\nworkload='io'\nwork=8\n");
    EXPECT_DOUBLE_EQ(job.cells[0].io_timeout_s, 2.5);
    EXPECT_DOUBLE_EQ(job.cells[1].io_timeout_s, 30.0);
    for (const char* bad : {"0", "-1", "1e9", "'soon'"}) {
        const std::string msg = error_of(std::string("[[cell]]\nworkload='io'\nwork=8\nio_timeout=") + bad + "\n");
        EXPECT_NE(msg.find("io_timeout"), std::string::npos) << bad << ": " << msg;
    }
    // A resumed run must not silently change how long a request may take.
    std::vector<gilbench::model::Cell> changed = job.cells;
    changed[1].io_timeout_s = 5;
    EXPECT_NE(gj::plan_difference(job.cells, changed).find("io_timeout is 5, was 30"), std::string::npos)
        << gj::plan_difference(job.cells, changed);
    gj::Overrides o;
    o.set("io_timeout", "7");
    gj::apply_overrides(job, o);
    EXPECT_DOUBLE_EQ(job.cells[0].io_timeout_s, 7.0);
    EXPECT_DOUBLE_EQ(job.cells[1].io_timeout_s, 7.0);
    o.set("io_timeout", "0");
    EXPECT_THROW(gj::apply_overrides(job, o), gj::JobError);
}

TEST(Job, ThreadsOverrideSetsEveryCellAndIsChecked) {
    gj::Job job = gj::parse_job("[[cell]]\nworkload='cpu'\nwork=100\nthreads=[1,2]\n"
                                "[[cell]]\nname='m'\nworkload='mixed'\nwork=4\nthreads=3\nio_threads=2\n");
    gj::Overrides o;
    o.set("threads", "4");
    gj::Job wide = job;
    gj::apply_overrides(wide, o);
    for (const auto& c : wide.cells) EXPECT_EQ(c.threads, 4);
    o.set("threads", "2");  // the mixed cell needs io_threads + 1 = 3
    try {
        gj::apply_overrides(job, o);
        FAIL() << "expected JobError";
    } catch (const gj::JobError& e) {
        EXPECT_NE(std::string(e.what()).find("option --threads: cell 'm' is mixed with io_threads = 2, so it needs at "
                                             "least 3 threads, got 2"),
                  std::string::npos)
            << e.what();
    }
    gj::Job tiny = gj::parse_job("[[cell]]\nname='t'\nworkload='cpu'\nwork=2\n");
    o.set("threads", "3");
    EXPECT_THROW(gj::apply_overrides(tiny, o), gj::JobError);  // 2 steps for 3 workers
}

TEST(Job, PlanDifferenceNamesTheFirstChangedSetting) {
    const gj::Job a = gj::parse_job("[[cell]]\nname='x'\nworkload='cpu'\nwork=8\nrepeats=3\n");
    gj::Job b = a;
    EXPECT_EQ(gj::plan_difference(a.cells, b.cells), "");
    b.cells[0].repeats = 5;
    EXPECT_EQ(gj::plan_difference(a.cells, b.cells), "cell 0 'x': repeats is 5, was 3");
    b.cells.push_back(b.cells[0]);
    EXPECT_EQ(gj::plan_difference(a.cells, b.cells), "the job now has 2 cells, the run had 1");
}

TEST(JobFiles, GoodFilesGiveTheCellsTheyAnnounce) {
    const auto files = files_in("tests/job/good");
    ASSERT_GE(files.size(), 4u);
    for (const auto& f : files) {
        SCOPED_TRACE(f.string());
        gj::Job job;
        ASSERT_NO_THROW(job = gj::load_job(f.string()));
        EXPECT_EQ(std::to_string(job.cells.size()), header(f, "cells"));
        std::string names;
        for (const auto& c : job.cells) names += (names.empty() ? "" : ", ") + c.name;
        EXPECT_EQ(names, header(f, "names"));
    }
}

TEST(JobFiles, BadFilesFailWithTheMessageTheyAnnounce) {
    const auto files = files_in("tests/job/bad");
    ASSERT_GE(files.size(), 10u);
    for (const auto& f : files) {
        SCOPED_TRACE(f.string());
        const std::string expected = header(f, "error");
        ASSERT_FALSE(expected.empty()) << "the file needs a '# error: ...' line";
        try {
            gj::load_job(f.string());
            ADD_FAILURE() << "expected JobError";
        } catch (const gj::JobError& e) {
            const std::string msg = e.what();
            EXPECT_EQ(msg.rfind(f.string(), 0), 0u) << "the message starts with the file: " << msg;
            EXPECT_NE(msg.find(expected), std::string::npos) << "message was: " << msg;
        }
    }
}

TEST(JobFiles, ShippedJobsAreValid) {
    for (const auto& f : files_in("jobs")) {
        SCOPED_TRACE(f.string());
        EXPECT_NO_THROW(gj::load_job(f.string()));
    }
    const gj::Job scaling = gj::load_job(std::string(GILBENCH_SOURCE_DIR) + "/jobs/scaling.toml");
    EXPECT_EQ(scaling.max_ranks(), 4);
    std::set<std::string> kinds;
    for (const auto& c : scaling.cells)
        kinds.insert(std::string(to_string(c.workload)) + "/" + to_string(c.scaling) + "/" + std::to_string(c.ranks) +
                     "x" + std::to_string(c.threads));
    EXPECT_EQ(kinds.size(), scaling.cells.size());
    EXPECT_EQ(scaling.cells.size(), 2u * 2u * 4u * 4u);  // workloads x modes x P x T
}

// ---- engine, function, python_path (issue 13) ----------------------------------------------

TEST(Job, EngineDefaultsToEmulatedAndSweeps) {
    const gj::Job job = gj::parse_job(
        "[[cell]]\nname='c-{engine}'\nworkload='cpu'\nwork=10\nengine=['emulated', 'cpython']\n");
    ASSERT_EQ(job.cells.size(), 2u);
    EXPECT_EQ(job.cells[0].engine, "emulated");
    EXPECT_EQ(job.cells[1].engine, "cpython");
    EXPECT_EQ(job.cells[1].name, "c-cpython");
    EXPECT_EQ(gj::parse_job("[[cell]]\nworkload='cpu'\nwork=1\n").cells[0].engine, "emulated");
}

TEST(Job, PythonCellReadsFunctionAndPathsRelativeToTheJobFile) {
    const gj::Job job = gj::parse_job(
        "[[cell]]\nworkload='python'\nengine='cpython'\nwork=8\nfunction='pkg.mod:Runner.run'\n"
        "python_path=['lib', '../src/', '/abs/dir']\n",
        "/jobs/here/job.toml");
    const auto& c = job.cells[0];
    EXPECT_EQ(c.workload, Workload::python);
    EXPECT_EQ(c.function, "pkg.mod:Runner.run");
    EXPECT_EQ(c.python_path, "/jobs/here/lib:/jobs/src:/abs/dir");
    EXPECT_FALSE(job.uses_embedded_server());
    // One directory may be given as a string; a list is one value, not a sweep.
    EXPECT_EQ(gj::parse_job("[[cell]]\nworkload='python'\nengine='cpython'\nwork=8\nfunction='m:f'\n"
                            "python_path='.'\n",
                            "/jobs/here/job.toml")
                  .cells.size(),
              1u);
    // A workload sweep gives function to its python points only.
    const gj::Job swept = gj::parse_job(
        "[defaults]\nfunction='m:f'\nengine='cpython'\n[[cell]]\nname='{workload}'\nworkload=['cpu', 'python']\n"
        "work=8\n");
    ASSERT_EQ(swept.cells.size(), 2u);
    EXPECT_EQ(swept.cells[0].function, "");
    EXPECT_EQ(swept.cells[1].function, "m:f");
}

INSTANTIATE_TEST_SUITE_P(
    Engine, JobErrors,
    ::testing::Values(
        BadJob{"[[cell]]\nworkload='python'\nwork=5\nfunction='m:f'\n",
               "bad.toml:1: key 'engine': workload = \"python\" runs your function in the real interpreter; set "
               "engine = \"cpython\""},
        BadJob{"[[cell]]\nworkload='python'\nengine='cpython'\nwork=5\n",
               "key 'function': a python cell needs function = \"module:callable\""},
        BadJob{"[[cell]]\nworkload='python'\nengine='cpython'\nwork=5\nfunction='m.py'\n",
               "bad.toml:5: key 'function': 'm.py' is not \"module:callable\"; write e.g. \"mymodule:work\""},
        BadJob{"[[cell]]\nworkload='python'\nengine='cpython'\nwork=5\nfunction='os:system(\"x\")'\n",
               "key 'function': 'os:system(\"x\")' is not \"module:callable\""},
        BadJob{"[[cell]]\nworkload='cpu'\nwork=5\nfunction='m:f'\n",
               "bad.toml:4: key 'function': only applies to workload = \"python\""},
        BadJob{"[[cell]]\nworkload='cpu'\nwork=5\nengine='cpython'\ngil='old'\n",
               "bad.toml:5: key 'gil': gil = \"old\" is CPython 2's lock"},
        BadJob{"[[cell]]\nworkload='cpu'\nwork=5\nengine='cpython'\ngil='free-threaded-3.13'\n",
               "bad.toml:5: key 'gil': gil = \"free-threaded-3.13\" is an emulated profile of the free-threaded "
               "build"},
        BadJob{"[[cell]]\nworkload='cpu'\nwork=5\nengine='cpython'\ngil='free-threaded-3.14'\n",
               "Use engine = \"emulated\", or gil = \"none\" with engine = \"cpython\""},
        BadJob{"[[cell]]\nworkload='cpu'\nwork=5\ngil='free-threaded-3.12'\n",
               "'free-threaded-3.12' is not one of: new, old, none, free-threaded-3.13, free-threaded-3.14"},
        BadJob{"[[cell]]\nworkload='io'\nwork=5\nengine='cpython'\ntrace=true\n",
               "key 'trace': engine = \"cpython\" records no GIL trace for this workload"},
        BadJob{"[[cell]]\nworkload='python'\nengine='cpython'\nwork=5\nfunction='m:f'\ntrace=true\n",
               "key 'trace': engine = \"cpython\" records no GIL trace for this workload"},
        BadJob{"[[cell]]\nworkload='cpu'\nwork=5\nengine='pypy'\n", "'pypy' is not one of: emulated, cpython"},
        BadJob{"[[cell]]\nworkload='io'\nwork=5\nengine='cpython'\nkeep_alive=true\n",
               "bad.toml:5: key 'keep_alive': engine = \"cpython\" GETs with urllib.request.urlopen, a fresh connection"},
        BadJob{"[[cell]]\nworkload='python'\nengine='cpython'\nwork=5\nfunction='m:f'\npython_path=[1]\n",
               "bad.toml:6: key 'python_path': must be a list of directories"},
        BadJob{"[[cell]]\nworkload='python'\nengine='cpython'\nwork=5\nfunction='m:f'\npython_path=['a:b']\n",
               "key 'python_path': 'a:b' contains ':'"},
        BadJob{"[[cell]]\nworkload='cpu'\nwork=5\nparallel='processes'\n",
               "bad.toml:4: key 'parallel': 'processes' is not one of: threads, subinterpreters"},
        BadJob{"[[cell]]\nworkload='cpu'\nwork=5\ngil='old'\nparallel='subinterpreters'\n",
               "bad.toml:5: key 'parallel': parallel = \"subinterpreters\" gives each thread a GIL of its own"},
        BadJob{"[[cell]]\nworkload='cpu'\nwork=5\nengine='cpython'\ntrace=true\nparallel='subinterpreters'\n",
               "key 'trace': engine = \"cpython\" probes hand-overs of one shared GIL"}));

TEST(Job, ParallelSubinterpretersIsACellSettingAndAnOption) {
    const gj::Job job = gj::parse_job(
        "[[cell]]\nname='c-{parallel}'\nworkload='cpu'\nthreads=2\nwork=8\nparallel=['threads', 'subinterpreters']\n"
        "trace=true\n");
    ASSERT_EQ(job.cells.size(), 2u);
    EXPECT_EQ(job.cells[0].name, "c-threads");
    EXPECT_EQ(job.cells[0].parallel, gilbench::model::Parallel::threads);
    EXPECT_EQ(job.cells[1].name, "c-subinterpreters");
    EXPECT_EQ(job.cells[1].parallel, gilbench::model::Parallel::subinterpreters);  // traced: emulated
    gj::Job plain = gj::parse_job("[[cell]]\nname='c'\nworkload='cpu'\nwork=8\n");
    gj::Overrides o;
    o.set("parallel", "subinterpreters");
    gj::apply_overrides(plain, o);
    EXPECT_EQ(plain.cells[0].parallel, gilbench::model::Parallel::subinterpreters);
}

TEST(Job, EngineOverridesKeepTheEngineRules) {
    gj::Job job = gj::parse_job("[[cell]]\nname='t'\nworkload='io'\nwork=5\ntrace=true\n");
    gj::Overrides o;
    o.set("engine", "cpython");
    try {
        gj::apply_overrides(job, o);
        ADD_FAILURE() << "--engine cpython on a traced cell was accepted";
    } catch (const gj::JobError& e) {
        EXPECT_NE(std::string(e.what()).find("option --engine: cell 't': engine = \"cpython\" records no GIL trace"),
                  std::string::npos)
            << e.what();
    }
    gj::Job python = gj::parse_job("[[cell]]\nname='p'\nworkload='python'\nengine='cpython'\nwork=5\nfunction='m:f'\n");
    gj::Overrides gil;
    gil.set("gil", "old");
    EXPECT_THROW(gj::apply_overrides(python, gil), gj::JobError);
    gj::Overrides emulated;
    emulated.set("engine", "emulated");
    EXPECT_THROW(gj::apply_overrides(python, emulated), gj::JobError);
    gj::Overrides fine;
    fine.set("engine", "cpython");
    gj::Job cpu = gj::parse_job("[[cell]]\nworkload='cpu'\nwork=5\n");
    gj::apply_overrides(cpu, fine);
    EXPECT_EQ(cpu.cells[0].engine, "cpython");
    // A traced cpu cell is probed under the real interpreter (its takes), so it stays allowed.
    gj::Job traced = gj::parse_job("[[cell]]\nworkload='cpu'\nwork=5\ntrace=true\n");
    gj::apply_overrides(traced, fine);
    EXPECT_EQ(traced.cells[0].engine, "cpython");
    EXPECT_TRUE(traced.cells[0].trace);
    EXPECT_TRUE(gj::parse_job("[[cell]]\nworkload='cpu'\nwork=5\nengine='cpython'\ntrace=true\n").cells[0].trace);
}
