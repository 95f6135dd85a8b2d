// The results file end to end: what other processes (h5dump, a later run, h5py) find in it.
#include "store/results_file.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>

#include "h5_read.hpp"
#include "model/cell_fields.hpp"
#include "model/field_samples.hpp"
#include "store/rows.hpp"

namespace gilbench::store {
namespace {

namespace fs = std::filesystem;
using namespace gilbench::store::test;

// "2024-05-01T12:00:00Z". Checked by hand: std::regex trips a GCC 12 false warning under
// the sanitizer builds.
bool is_iso_utc(const std::string& s) {
    const std::string shape = "dddd-dd-ddTdd:dd:ddZ";
    if (s.size() != shape.size()) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (shape[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(s[i])) : s[i] != shape[i]) return false;
    }
    return true;
}

FileInfo sample_file_info() {
    FileInfo info;
    info.gilbench_version = "0.1.0";
    info.git_sha = "abc123def456";
    info.created_utc = "2024-05-01T12:00:00Z";
    info.command_line = "gilbench run jobs/seed.toml -o seed.h5";
    info.mpi_library = "Open MPI v4.1.4";
    info.curl_version = "libcurl/7.88.1";
    info.compiler = "GCC 12.2.0";
    return info;
}

RunInfo sample_run_info() {
    RunInfo info;
    info.job = "[defaults]\nrepeats = 3\n";
    info.job_path = "jobs/seed.toml";
    info.started_utc = "2024-05-01T12:00:01Z";
    info.ranks = 4;
    info.nodes = 2;
    info.hosts = {"node-a", "node-b"};
    return info;
}

model::Cell make_cell(int index, std::string name) {
    model::Cell c;
    c.index = index;
    c.name = std::move(name);
    c.workload = index % 2 == 0 ? model::Workload::cpu : model::Workload::io;
    c.ranks = 1 + index;
    c.threads = 2 + index;
    c.work = 50'000'000LL * (index + 1);
    c.scaling = index % 2 == 0 ? model::Scaling::strong : model::Scaling::weak;
    c.gil = index % 3 == 0 ? model::GilPolicy::new_gil : model::GilPolicy::old_gil;
    c.switch_interval_s = 0.005 * (index + 1);
    c.check_interval = 100 + index;
    c.url = index == 1 ? "http://127.0.0.1:8080/n" : "";
    c.latency_s = 0.75 * index;
    c.keep_alive = index == 1;
    c.repeats = 3 + index;
    c.warmups = index % 2;
    c.trace = index == 2;
    return c;
}

// A trial whose every number is derived from (cell, trial) so a read-back can be checked.
model::TrialResult make_trial(int cell, int trial, int workers, int events) {
    model::TrialResult r;
    r.trial = {.cell = cell, .trial = trial, .warmup = trial == 0, .wall_s = 1.0 + cell + trial / 8.0};
    for (int w = 0; w < workers; ++w) {
        model::WorkerRecord rec;
        rec.cell = cell;
        rec.trial = trial;
        rec.rank = w / 2;
        rec.thread = w % 2;
        rec.node = w / 4;
        rec.start_s = 0.001 * w;
        rec.end_s = 1.0 + 0.5 * w;
        rec.ops = 1'000'000LL * (w + 1) + trial;
        rec.gil_acquisitions = 10 * w + cell;
        rec.gil_wait_s = 0.25 * w;
        rec.gil_hold_s = 0.125 * w;
        rec.gil_forced_drops = w + trial;
        rec.io_requests = 5 * w;
        rec.io_errors = w % 3;
        r.workers.push_back(rec);
    }
    static const std::array<const char*, 5> names = {"request", "take", "drop", "io_start", "io_end"};
    for (int e = 0; e < events; ++e) {
        r.trace.push_back({.cell = cell, .trial = trial, .rank = e % 3, .thread = e % 2,
                           .t_s = 1e-6 * e, .event = names[static_cast<std::size_t>(e) % names.size()]});
    }
    return r;
}

class ResultsFileTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "gilbench-store-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        path_ = (dir_ / "results.h5").string();
    }
    void TearDown() override {
        std::error_code ec;
        fs::permissions(dir_, fs::perms::owner_all, ec);
        fs::remove_all(dir_, ec);
    }

    // The message of the exception open_or_create throws for `path` ("" if none).
    static std::string open_error(const std::string& path) {
        try {
            ResultsFile::open_or_create(path, sample_file_info());
        } catch (const std::runtime_error& e) {
            return e.what();
        }
        return "";
    }

    fs::path dir_;
    std::string path_;
};

TEST_F(ResultsFileTest, CreateWritesRootAttributes) {
    { ResultsFile::open_or_create(path_, sample_file_info()); }
    h5::file f = open_ro(path_);
    EXPECT_EQ(string_attr(f.get(), "/", "schema"), "gilbench/1");
    EXPECT_EQ(string_attr(f.get(), "/", "gilbench_version"), "0.1.0");
    EXPECT_EQ(string_attr(f.get(), "/", "git_sha"), "abc123def456");
    EXPECT_EQ(string_attr(f.get(), "/", "created_utc"), "2024-05-01T12:00:00Z");
    EXPECT_EQ(string_attr(f.get(), "/", "command_line"), "gilbench run jobs/seed.toml -o seed.h5");
    EXPECT_EQ(string_attr(f.get(), "/", "mpi_library"), "Open MPI v4.1.4");
    EXPECT_EQ(string_attr(f.get(), "/", "curl_version"), "libcurl/7.88.1");
    EXPECT_EQ(string_attr(f.get(), "/", "compiler"), "GCC 12.2.0");
    unsigned major = 0, minor = 0, release = 0;
    H5get_libversion(&major, &minor, &release);
    EXPECT_EQ(string_attr(f.get(), "/", "hdf5_version"),
              std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release));
    EXPECT_GT(H5Lexists(f.get(), "/runs", H5P_DEFAULT), 0);
}

TEST_F(ResultsFileTest, RootAttributesAreUtf8VariableLengthStrings) {
    { ResultsFile::open_or_create(path_, sample_file_info()); }
    h5::file f = open_ro(path_);
    h5::attribute a(H5Aopen_by_name(f.get(), "/", "schema", H5P_DEFAULT, H5P_DEFAULT));
    h5::datatype t(H5Aget_type(a.get()));
    EXPECT_EQ(H5Tget_class(t.get()), H5T_STRING);
    EXPECT_GT(H5Tis_variable_str(t.get()), 0);
    EXPECT_EQ(H5Tget_cset(t.get()), H5T_CSET_UTF8);
}

TEST_F(ResultsFileTest, EmptyCreatedUtcIsFilledWithNow) {
    FileInfo info = sample_file_info();
    info.created_utc.clear();
    { ResultsFile::open_or_create(path_, info); }
    h5::file f = open_ro(path_);
    EXPECT_TRUE(is_iso_utc(string_attr(f.get(), "/", "created_utc")));
}

TEST_F(ResultsFileTest, ReopenAddsNextRunAndKeepsRootAttributes) {
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        EXPECT_EQ(file.begin_run(sample_run_info()).name(), "run-000");
    }
    FileInfo second = sample_file_info();
    second.created_utc = "2030-01-01T00:00:00Z";
    second.git_sha = "fedcba987654";
    {
        ResultsFile file = ResultsFile::open_or_create(path_, second);
        EXPECT_EQ(file.begin_run(sample_run_info()).name(), "run-001");
        EXPECT_EQ(file.begin_run(sample_run_info()).name(), "run-002");
    }
    h5::file f = open_ro(path_);
    EXPECT_EQ(string_attr(f.get(), "/", "created_utc"), "2024-05-01T12:00:00Z");
    // Each run records the build that wrote it.
    EXPECT_EQ(string_attr(f.get(), "/runs/run-000", "git_sha"), "abc123def456");
    EXPECT_EQ(string_attr(f.get(), "/runs/run-001", "git_sha"), "fedcba987654");
}

TEST_F(ResultsFileTest, RunAttributesAreWritten) {
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        RunWriter run = file.begin_run(sample_run_info());
    }
    h5::file f = open_ro(path_);
    const char* run = "/runs/run-000";
    EXPECT_EQ(string_attr(f.get(), run, "job"), "[defaults]\nrepeats = 3\n");
    EXPECT_EQ(string_attr(f.get(), run, "job_path"), "jobs/seed.toml");
    EXPECT_EQ(string_attr(f.get(), run, "status"), "running");  // no set_status was called
    EXPECT_EQ(string_attr(f.get(), run, "started_utc"), "2024-05-01T12:00:01Z");
    EXPECT_EQ(string_attr(f.get(), run, "finished_utc"), "");
    EXPECT_EQ(int_attr(f.get(), run, "ranks"), 4);
    EXPECT_EQ(int_attr(f.get(), run, "nodes"), 2);
    EXPECT_EQ(string_array_attr(f.get(), run, "hosts"), (std::vector<std::string>{"node-a", "node-b"}));
    EXPECT_EQ(string_attr(f.get(), run, "command_line"), "gilbench run jobs/seed.toml -o seed.h5");
    EXPECT_EQ(string_attr(f.get(), run, "gilbench_version"), "0.1.0");
}

TEST_F(ResultsFileTest, EmptyHostsIsAZeroLengthAttribute) {
    RunInfo info = sample_run_info();
    info.hosts.clear();
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        RunWriter run = file.begin_run(info);
    }
    h5::file f = open_ro(path_);
    EXPECT_TRUE(string_array_attr(f.get(), "/runs/run-000", "hosts").empty());
}

TEST_F(ResultsFileTest, TablesHaveTheSchemaColumnsAndStartEmpty) {
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        RunWriter run = file.begin_run(sample_run_info());
    }
    h5::file f = open_ro(path_);
    const std::vector<std::pair<std::string, std::vector<std::string>>> tables = {
        {"cells", {"cell", "name", "workload", "gil", "parallel", "ranks", "threads", "io_threads", "work", "scaling",
                   "switch_interval_s", "check_interval", "url", "latency_s", "keep_alive",
                   "repeats", "warmups", "trace", "time_budget_s", "precision", "placement", "io_timeout_s", "engine",
                   "function", "python_path",
                   // what the cell's engine measures (model::engine_columns)
                   "engine_label", "engine_real", "gil_counters", "trace_events", "request_timings", "lock_free"}},
        {"trials", {"cell", "trial", "warmup", "wall_s", "io_errors", "others_cpus", "steal", "reference_slowdown",
                    "cpu_share", "disturbed", "disturbance", "round"}},
        {"workers", {"cell", "trial", "rank", "thread", "node", "start_s", "end_s", "ops",
                     "gil_acquisitions", "gil_wait_s", "gil_hold_s", "gil_forced_drops",
                     "io_requests", "io_errors", "trace_dropped", "cpu_s"}},
        {"trace", {"cell", "trial", "rank", "thread", "t_s", "event"}},
        {"requests", {"cell", "trial", "rank", "thread", "request", "start_s", "end_s", "ok"}},
        {"summary", {"cell", "state", "trials", "n", "median_s", "min_s", "max_s", "mean_s", "std_s", "ci_low_s",
                     "ci_high_s", "ci_level", "rank_min_s", "rank_avg_s", "rank_max_s", "failed_trials",
                     "disturbed_trials"}},
        {"errors", {"cell", "trial", "rank", "thread", "message", "detail"}},
    };
    for (const auto& [name, fields] : tables) {
        SCOPED_TRACE(name);
        h5::dataset ds = open_dataset(f.get(), "/runs/run-000/" + name);
        EXPECT_EQ(field_names(ds.get()), fields);
        EXPECT_EQ(rows(ds.get()), 0u);
        // Extendible and chunked; compressed except the two tables every trial's flush rewrites.
        h5::dataspace space(H5Dget_space(ds.get()));
        hsize_t dims = 1, maxdims = 0;
        H5Sget_simple_extent_dims(space.get(), &dims, &maxdims);
        EXPECT_EQ(maxdims, H5S_UNLIMITED);
        h5::plist dcpl(H5Dget_create_plist(ds.get()));
        EXPECT_EQ(H5Pget_layout(dcpl.get()), H5D_CHUNKED);
        const bool per_trial = name == "trials" || name == "workers";
        EXPECT_EQ(H5Pget_nfilters(dcpl.get()), per_trial ? 0 : 2);
        if (!per_trial) {
            unsigned flags = 0;
            const h5::error_silencer quiet;
            EXPECT_GE(H5Pget_filter_by_id2(dcpl.get(), H5Z_FILTER_SHUFFLE, &flags, nullptr, nullptr, 0,
                                           nullptr, nullptr),
                      0);
            EXPECT_GE(H5Pget_filter_by_id2(dcpl.get(), H5Z_FILTER_DEFLATE, &flags, nullptr, nullptr, 0,
                                           nullptr, nullptr),
                      0);
        }
    }
    // Field types: numbers as documented, strings variable-length UTF-8.
    h5::dataset workers = open_dataset(f.get(), "/runs/run-000/workers");
    for (const char* field : {"cell", "trial", "rank", "thread", "node"}) {
        h5::datatype t = field_type(workers.get(), field);
        EXPECT_EQ(H5Tget_class(t.get()), H5T_INTEGER) << field;
        EXPECT_EQ(H5Tget_size(t.get()), 4u) << field;
    }
    for (const char* field : {"ops", "gil_acquisitions", "gil_forced_drops", "io_requests", "io_errors", "trace_dropped"}) {
        h5::datatype t = field_type(workers.get(), field);
        EXPECT_EQ(H5Tget_class(t.get()), H5T_INTEGER) << field;
        EXPECT_EQ(H5Tget_size(t.get()), 8u) << field;
    }
    for (const char* field : {"start_s", "end_s", "gil_wait_s", "gil_hold_s"}) {
        h5::datatype t = field_type(workers.get(), field);
        EXPECT_EQ(H5Tget_class(t.get()), H5T_FLOAT) << field;
        EXPECT_EQ(H5Tget_size(t.get()), 8u) << field;
    }
    h5::dataset cells = open_dataset(f.get(), "/runs/run-000/cells");
    for (const char* field : {"name", "workload", "gil", "scaling", "url"}) {
        h5::datatype t = field_type(cells.get(), field);
        EXPECT_GT(H5Tis_variable_str(t.get()), 0) << field;
        EXPECT_EQ(H5Tget_cset(t.get()), H5T_CSET_UTF8) << field;
    }
    for (const char* field : {"keep_alive", "trace"}) {
        h5::datatype t = field_type(cells.get(), field);
        EXPECT_EQ(H5Tget_size(t.get()), 1u) << field;
        EXPECT_EQ(H5Tget_sign(t.get()), H5T_SGN_NONE) << field;
    }
}

TEST_F(ResultsFileTest, CellsRoundTripOverSeveralAppends) {
    std::vector<model::Cell> cells;
    for (int i = 0; i < 5; ++i) cells.push_back(make_cell(i, "cell-" + std::to_string(i)));
    cells[3].name = "café ☕";  // non-ASCII survives as UTF-8
    cells[4].io_timeout_s = 2.5;
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        RunWriter run = file.begin_run(sample_run_info());
        run.add_cells({cells.begin(), cells.begin() + 3});
        run.add_cells({cells.begin() + 3, cells.end()});
    }
    h5::file f = open_ro(path_);
    h5::dataset ds = open_dataset(f.get(), "/runs/run-000/cells");
    ASSERT_EQ(rows(ds.get()), cells.size());
    const auto cell = column<std::int32_t>(ds.get(), "cell");
    const auto name = string_column(ds.get(), "name");
    const auto workload = string_column(ds.get(), "workload");
    const auto gil = string_column(ds.get(), "gil");
    const auto ranks = column<std::int32_t>(ds.get(), "ranks");
    const auto threads = column<std::int32_t>(ds.get(), "threads");
    const auto work = column<std::int64_t>(ds.get(), "work");
    const auto scaling = string_column(ds.get(), "scaling");
    const auto switch_interval = column<double>(ds.get(), "switch_interval_s");
    const auto check_interval = column<std::int32_t>(ds.get(), "check_interval");
    const auto url = string_column(ds.get(), "url");
    const auto latency = column<double>(ds.get(), "latency_s");
    const auto keep_alive = column<std::uint8_t>(ds.get(), "keep_alive");
    const auto repeats = column<std::int32_t>(ds.get(), "repeats");
    const auto warmups = column<std::int32_t>(ds.get(), "warmups");
    const auto trace = column<std::uint8_t>(ds.get(), "trace");
    const auto io_timeout = column<double>(ds.get(), "io_timeout_s");
    for (std::size_t i = 0; i < cells.size(); ++i) {
        SCOPED_TRACE(i);
        const model::Cell& c = cells[i];
        EXPECT_EQ(cell[i], c.index);
        EXPECT_EQ(name[i], c.name);
        EXPECT_EQ(workload[i], model::to_string(c.workload));
        EXPECT_EQ(gil[i], model::to_string(c.gil));
        EXPECT_EQ(ranks[i], c.ranks);
        EXPECT_EQ(threads[i], c.threads);
        EXPECT_EQ(work[i], c.work);
        EXPECT_EQ(scaling[i], model::to_string(c.scaling));
        EXPECT_EQ(switch_interval[i], c.switch_interval_s);
        EXPECT_EQ(check_interval[i], c.check_interval);
        EXPECT_EQ(url[i], c.url);
        EXPECT_EQ(latency[i], c.latency_s);
        EXPECT_EQ(keep_alive[i], c.keep_alive ? 1 : 0);
        EXPECT_EQ(repeats[i], c.repeats);
        EXPECT_EQ(warmups[i], c.warmups);
        EXPECT_EQ(trace[i], c.trace ? 1 : 0);
        EXPECT_EQ(io_timeout[i], c.io_timeout_s);
    }
}

TEST_F(ResultsFileTest, InvalidUtf8IsRepairedNotStoredRaw) {
    std::vector<model::Cell> cells = {make_cell(0, std::string("bad\xff") + "name")};
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        RunWriter run = file.begin_run(sample_run_info());
        run.add_cells(cells);
    }
    h5::file f = open_ro(path_);
    h5::dataset ds = open_dataset(f.get(), "/runs/run-000/cells");
    EXPECT_EQ(string_column(ds.get(), "name"), (std::vector<std::string>{"bad\xEF\xBF\xBDname"}));
}

TEST_F(ResultsFileTest, TrialsWorkersAndTraceRoundTripAcrossChunks) {
    // 3 cells x 6 trials x 8 workers, and enough trace events to span several 1024-row chunks.
    std::vector<model::TrialResult> results;
    for (int cell = 0; cell < 3; ++cell) {
        for (int trial = 0; trial < 6; ++trial) {
            results.push_back(make_trial(cell, trial, 8, cell == 1 ? 400 : 0));
        }
    }
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        RunWriter run = file.begin_run(sample_run_info());
        for (const auto& r : results) run.add_trial(r);
    }
    h5::file f = open_ro(path_);

    h5::dataset trials = open_dataset(f.get(), "/runs/run-000/trials");
    ASSERT_EQ(rows(trials.get()), results.size());
    const auto t_cell = column<std::int32_t>(trials.get(), "cell");
    const auto t_trial = column<std::int32_t>(trials.get(), "trial");
    const auto t_warmup = column<std::uint8_t>(trials.get(), "warmup");
    const auto t_wall = column<double>(trials.get(), "wall_s");
    for (std::size_t i = 0; i < results.size(); ++i) {
        const model::TrialRecord& t = results[i].trial;
        EXPECT_EQ(t_cell[i], t.cell);
        EXPECT_EQ(t_trial[i], t.trial);
        EXPECT_EQ(t_warmup[i], t.warmup ? 1 : 0);
        EXPECT_EQ(t_wall[i], t.wall_s);
    }

    std::vector<model::WorkerRecord> want_workers;
    std::vector<model::TraceRecord> want_trace;
    for (const auto& r : results) {
        want_workers.insert(want_workers.end(), r.workers.begin(), r.workers.end());
        want_trace.insert(want_trace.end(), r.trace.begin(), r.trace.end());
    }

    h5::dataset workers = open_dataset(f.get(), "/runs/run-000/workers");
    ASSERT_EQ(rows(workers.get()), want_workers.size());
    const auto w_cell = column<std::int32_t>(workers.get(), "cell");
    const auto w_trial = column<std::int32_t>(workers.get(), "trial");
    const auto w_rank = column<std::int32_t>(workers.get(), "rank");
    const auto w_thread = column<std::int32_t>(workers.get(), "thread");
    const auto w_node = column<std::int32_t>(workers.get(), "node");
    const auto w_start = column<double>(workers.get(), "start_s");
    const auto w_end = column<double>(workers.get(), "end_s");
    const auto w_ops = column<std::int64_t>(workers.get(), "ops");
    const auto w_acq = column<std::int64_t>(workers.get(), "gil_acquisitions");
    const auto w_wait = column<double>(workers.get(), "gil_wait_s");
    const auto w_hold = column<double>(workers.get(), "gil_hold_s");
    const auto w_drops = column<std::int64_t>(workers.get(), "gil_forced_drops");
    const auto w_req = column<std::int64_t>(workers.get(), "io_requests");
    const auto w_err = column<std::int64_t>(workers.get(), "io_errors");
    for (std::size_t i = 0; i < want_workers.size(); ++i) {
        SCOPED_TRACE(i);
        const model::WorkerRecord& w = want_workers[i];
        EXPECT_EQ(w_cell[i], w.cell);
        EXPECT_EQ(w_trial[i], w.trial);
        EXPECT_EQ(w_rank[i], w.rank);
        EXPECT_EQ(w_thread[i], w.thread);
        EXPECT_EQ(w_node[i], w.node);
        EXPECT_EQ(w_start[i], w.start_s);
        EXPECT_EQ(w_end[i], w.end_s);
        EXPECT_EQ(w_ops[i], w.ops);
        EXPECT_EQ(w_acq[i], w.gil_acquisitions);
        EXPECT_EQ(w_wait[i], w.gil_wait_s);
        EXPECT_EQ(w_hold[i], w.gil_hold_s);
        EXPECT_EQ(w_drops[i], w.gil_forced_drops);
        EXPECT_EQ(w_req[i], w.io_requests);
        EXPECT_EQ(w_err[i], w.io_errors);
    }

    h5::dataset trace = open_dataset(f.get(), "/runs/run-000/trace");
    ASSERT_EQ(rows(trace.get()), want_trace.size());
    ASSERT_GT(want_trace.size(), 2048u);
    const auto e_cell = column<std::int32_t>(trace.get(), "cell");
    const auto e_trial = column<std::int32_t>(trace.get(), "trial");
    const auto e_rank = column<std::int32_t>(trace.get(), "rank");
    const auto e_thread = column<std::int32_t>(trace.get(), "thread");
    const auto e_t = column<double>(trace.get(), "t_s");
    const auto e_event = string_column(trace.get(), "event");
    for (std::size_t i = 0; i < want_trace.size(); ++i) {
        const model::TraceRecord& e = want_trace[i];
        ASSERT_EQ(e_cell[i], e.cell) << i;
        ASSERT_EQ(e_trial[i], e.trial) << i;
        ASSERT_EQ(e_rank[i], e.rank) << i;
        ASSERT_EQ(e_thread[i], e.thread) << i;
        ASSERT_EQ(e_t[i], e.t_s) << i;
        ASSERT_EQ(e_event[i], e.event) << i;
    }
}

TEST_F(ResultsFileTest, SetStatusWritesStatusAndFinishedUtc) {
    ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
    RunWriter run = file.begin_run(sample_run_info());
    run.set_status(RunStatus::complete);
    {
        h5::file f = open_ro(path_);
        EXPECT_EQ(string_attr(f.get(), "/runs/run-000", "status"), "complete");
        EXPECT_TRUE(is_iso_utc(string_attr(f.get(), "/runs/run-000", "finished_utc")));
    }
    run.set_status(RunStatus::running);  // e.g. a resumed run: no longer finished
    {
        h5::file f = open_ro(path_);
        EXPECT_EQ(string_attr(f.get(), "/runs/run-000", "status"), "running");
        EXPECT_EQ(string_attr(f.get(), "/runs/run-000", "finished_utc"), "");
    }
}

TEST(RunStatusTest, NamesMatchTheSchema) {
    EXPECT_STREQ(to_string(RunStatus::running), "running");
    EXPECT_STREQ(to_string(RunStatus::complete), "complete");
    EXPECT_STREQ(to_string(RunStatus::interrupted), "interrupted");
    EXPECT_STREQ(to_string(RunStatus::failed), "failed");
    for (RunStatus st : {RunStatus::running, RunStatus::complete, RunStatus::interrupted, RunStatus::failed})
        EXPECT_EQ(parse_run_status(to_string(st)), st);
    // No fallback: a status this version does not know (or none) is no status.
    EXPECT_EQ(parse_run_status("paused"), std::nullopt);
    EXPECT_EQ(parse_run_status(""), std::nullopt);
    EXPECT_EQ(parse_run_status("Complete"), std::nullopt);
}

TEST_F(ResultsFileTest, RunWriterOutlivesResultsFile) {
    std::optional<RunWriter> run;
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        run.emplace(file.begin_run(sample_run_info()));
    }
    run->add_trial(make_trial(0, 0, 2, 0));
    RunWriter moved = std::move(*run);
    moved.add_trial(make_trial(0, 1, 2, 0));
    moved.set_status(RunStatus::complete);
    run.reset();
    h5::file f = open_ro(path_);
    h5::dataset trials = open_dataset(f.get(), "/runs/run-000/trials");
    EXPECT_EQ(rows(trials.get()), 2u);
}

// Runs `cmd` and returns its standard output.
std::string run_command(const std::string& cmd) {
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return out;
    std::array<char, 4096> buf;
    std::size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    ::pclose(p);
    return out;
}

TEST_F(ResultsFileTest, FlushedTrialIsReadableByH5dumpWhileWriterIsOpen) {
    const std::string h5dump = GILBENCH_H5DUMP;
    // hdf5-tools is a dependency (scripts/install-deps.sh): without h5dump this test fails.
    ASSERT_TRUE(!h5dump.empty() && fs::exists(h5dump)) << "h5dump not found: install hdf5-tools (scripts/install-deps.sh)";
    ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
    RunWriter run = file.begin_run(sample_run_info());
    model::TrialResult r = make_trial(7, 3, 2, 0);
    r.trial.wall_s = 12.375;  // a value h5dump prints exactly
    run.add_trial(r);
    // The writer holds HDF5's file lock; a reader that only looks has to skip it.
    const std::string out = run_command("HDF5_USE_FILE_LOCKING=FALSE " + h5dump +
                                        " -d /runs/run-000/trials " + path_ + " 2>&1");
    EXPECT_NE(out.find("12.375"), std::string::npos) << out;
    EXPECT_NE(out.find("DATASPACE  SIMPLE { ( 1 ) / ( H5S_UNLIMITED ) }"), std::string::npos) << out;
}

TEST_F(ResultsFileTest, KilledWriterLeavesEveryFlushedTrial) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // The child dies without any destructor or HDF5 close, like a run killed by Slurm.
        try {
            ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
            RunWriter run = file.begin_run(sample_run_info());
            run.add_cells({make_cell(0, "seed")});
            run.add_trial(make_trial(0, 0, 4, 10));
            run.add_trial(make_trial(0, 1, 4, 10));
            ::_exit(0);
        } catch (...) {
            ::_exit(1);
        }
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    {
        h5::file f = open_ro(path_);
        EXPECT_EQ(string_attr(f.get(), "/runs/run-000", "status"), "running");
        EXPECT_EQ(rows(open_dataset(f.get(), "/runs/run-000/cells").get()), 1u);
        EXPECT_EQ(rows(open_dataset(f.get(), "/runs/run-000/trials").get()), 2u);
        EXPECT_EQ(rows(open_dataset(f.get(), "/runs/run-000/workers").get()), 8u);
        EXPECT_EQ(rows(open_dataset(f.get(), "/runs/run-000/trace").get()), 20u);
        h5::dataset trials = open_dataset(f.get(), "/runs/run-000/trials");
        EXPECT_EQ(column<double>(trials.get(), "wall_s"),
                  (std::vector<double>{make_trial(0, 0, 1, 0).trial.wall_s,
                                       make_trial(0, 1, 1, 0).trial.wall_s}));
    }
    // The same file takes the next run without any repair step.
    ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
    EXPECT_EQ(file.begin_run(sample_run_info()).name(), "run-001");
}

TEST_F(ResultsFileTest, RefusesAnotherSchema) {
    {
        h5::file f(H5Fcreate(path_.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT));
        h5::write_string_attr(f.get(), "schema", "other/3");
    }
    const std::string msg = open_error(path_);
    EXPECT_NE(msg.find("results file '" + path_ + "' is not a gilbench/1 file (schema attribute is 'other/3')"),
              std::string::npos) << msg;
    EXPECT_NE(msg.find("choose another -o path"), std::string::npos) << msg;
}

TEST_F(ResultsFileTest, RefusesHdf5FileWithoutSchema) {
    { h5::file f(H5Fcreate(path_.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT)); }
    const std::string msg = open_error(path_);
    EXPECT_NE(msg.find("is not a gilbench/1 file (it has no schema attribute)"), std::string::npos) << msg;
}

TEST_F(ResultsFileTest, RefusesNonHdf5FileAndLeavesItAlone) {
    { std::ofstream(path_) << "not hdf5\n"; }
    const std::string msg = open_error(path_);
    EXPECT_NE(msg.find("results file '" + path_ + "' exists and is not an HDF5 file"), std::string::npos) << msg;
    std::ifstream in(path_);
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "not hdf5");
}

TEST_F(ResultsFileTest, RefusesDirectoryAsPath) {
    const std::string msg = open_error(dir_.string());
    EXPECT_NE(msg.find("is a directory"), std::string::npos) << msg;
}

TEST_F(ResultsFileTest, MissingDirectorySaysCreateIt) {
    const std::string missing = (dir_ / "no-such-dir").string();
    const std::string msg = open_error(missing + "/out.h5");
    EXPECT_NE(msg.find("directory '" + missing + "' does not exist"), std::string::npos) << msg;
    EXPECT_NE(msg.find("mkdir -p " + missing), std::string::npos) << msg;
    EXPECT_FALSE(fs::exists(missing));
}

// Reads everything from fd until EOF.
std::string read_all(int fd) {
    std::string out;
    std::array<char, 1024> buf;
    ssize_t n = 0;
    while ((n = ::read(fd, buf.data(), buf.size())) > 0) out.append(buf.data(), static_cast<std::size_t>(n));
    return out;
}

// open_or_create's error for `path` as seen by an unprivileged user: root writes anywhere,
// so when the tests run as root the attempt is made in a child that drops to "nobody".
std::string open_error_unprivileged(const std::string& path) {
    int fds[2];
    if (::pipe(fds) != 0) return "pipe failed";
    const pid_t child = ::fork();
    if (child < 0) return "fork failed";
    if (child == 0) {
        ::close(fds[0]);
        if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(2);
        std::string msg;
        try {
            ResultsFile::open_or_create(path, sample_file_info());
        } catch (const std::runtime_error& e) {
            msg = e.what();
        }
        const ssize_t written = ::write(fds[1], msg.data(), msg.size());
        ::_exit(written == static_cast<ssize_t>(msg.size()) ? 0 : 3);
    }
    ::close(fds[1]);
    std::string msg = read_all(fds[0]);
    ::close(fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "child failed: " + std::to_string(status);
    return msg;
}

constexpr fs::perms read_only_for_all = fs::perms::owner_read | fs::perms::owner_exec |
                                        fs::perms::group_read | fs::perms::group_exec |
                                        fs::perms::others_read | fs::perms::others_exec;

TEST_F(ResultsFileTest, UnwritableDirectoryIsRefused) {
    const fs::path locked = dir_ / "locked";
    fs::create_directory(locked);
    fs::permissions(locked, read_only_for_all);
    fs::permissions(dir_, fs::perms::all);  // let an unprivileged child reach `locked`
    const std::string target = (locked / "out.h5").string();
    const std::string msg = open_error_unprivileged(target);
    EXPECT_NE(msg.find("directory '" + locked.string() + "' is not writable"), std::string::npos) << msg;
    EXPECT_FALSE(fs::exists(target));
}

TEST_F(ResultsFileTest, ReadOnlyResultsFileIsRefused) {
    { ResultsFile::open_or_create(path_, sample_file_info()); }
    fs::permissions(path_, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
    fs::permissions(dir_, fs::perms::all);
    const std::string msg = open_error_unprivileged(path_);
    EXPECT_NE(msg.find("results file '" + path_ + "' is not writable"), std::string::npos) << msg;
}

TEST_F(ResultsFileTest, FileHeldByAnotherWriterIsRefused) {
    int ready[2], done[2];
    ASSERT_EQ(::pipe(ready), 0);
    ASSERT_EQ(::pipe(done), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::alarm(30);  // never outlive a parent that failed before releasing us
        ::close(ready[0]);
        ::close(done[1]);
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        RunWriter run = file.begin_run(sample_run_info());
        (void)!::write(ready[1], "r", 1);
        char c = 0;
        (void)!::read(done[0], &c, 1);  // returns at EOF: the parent closed its end
        ::_exit(0);
    }
    ::close(ready[1]);
    ::close(done[0]);
    char c = 0;
    ASSERT_EQ(::read(ready[0], &c, 1), 1);
    const std::string msg = open_error(path_);
    ::close(done[1]);
    ::close(ready[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_NE(msg.find("results file '" + path_ + "' is being written by another gilbench (pid " +
                       std::to_string(child) + " on host "),
              std::string::npos) << msg;
    EXPECT_NE(msg.find("wait for that run to finish, stop it, or choose another -o path"), std::string::npos) << msg;
}

// A writer in a child process that holds `path` open (a run begun, one trial) until
// release() or the end of the test; HDF5_USE_FILE_LOCKING as the caller set it.
class ChildWriter {
public:
    explicit ChildWriter(const std::string& path) {
        int ready[2], done[2];
        if (::pipe(ready) != 0 || ::pipe(done) != 0) return;
        pid_ = ::fork();
        if (pid_ == 0) {
            ::alarm(30);  // never outlive a parent that failed before releasing us
            ::close(ready[0]);
            ::close(done[1]);
            try {
                ResultsFile file = ResultsFile::open_or_create(path, sample_file_info());
                RunWriter run = file.begin_run(sample_run_info());
                run.add_cells({make_cell(0, "seed")});
                run.add_trial(make_trial(0, 0, 2, 4));
                (void)!::write(ready[1], "r", 1);
                char c = 0;
                (void)!::read(done[0], &c, 1);  // returns at EOF: the parent let go
                run.add_trial(make_trial(0, 1, 2, 4));
                run.set_status(RunStatus::complete);
            } catch (...) {
                ::_exit(1);
            }
            ::exit(0);  // destructors ran: the file is closed, the lock file gone
        }
        ::close(ready[1]);
        ::close(done[0]);
        done_ = done[1];
        char c = 0;
        ready_ = ::read(ready[0], &c, 1) == 1;
        ::close(ready[0]);
    }
    ~ChildWriter() { (void)release(); }
    bool ready() const { return ready_; }
    pid_t pid() const { return pid_; }
    // Lets the child finish its run; returns its exit status (0: it wrote everything).
    int release() {
        if (pid_ <= 0) return -1;
        ::close(done_);
        int status = 0;
        (void)::waitpid(pid_, &status, 0);
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }

private:
    pid_t pid_ = -1;
    int done_ = -1;
    bool ready_ = false;
};

// Sets an HDF5 environment variable for one test. HDF5 reads HDF5_USE_FILE_LOCKING once, when
// the library starts, so the library is restarted (nothing is open between tests).
class ScopedHdf5Env {
public:
    ScopedHdf5Env(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        ::setenv(name, value, 1);
        H5close();
    }
    ~ScopedHdf5Env() {
        if (old_) ::setenv(name_, old_->c_str(), 1);
        else ::unsetenv(name_);
        H5close();
    }

private:
    const char* name_;
    std::optional<std::string> old_;
};

// HDF5_USE_FILE_LOCKING=FALSE (exported on many clusters) turns HDF5's own lock off; two
// writers then both got in and destroyed each other's metadata.
TEST_F(ResultsFileTest, SecondWriterIsRefusedWhenHdf5LockingIsOff) {
    const ScopedHdf5Env no_hdf5_lock("HDF5_USE_FILE_LOCKING", "FALSE");
    ChildWriter first(path_);
    ASSERT_TRUE(first.ready());
    const std::string msg = open_error(path_);
    EXPECT_NE(msg.find("is being written by another gilbench (pid " + std::to_string(first.pid()) + " on host "),
              std::string::npos) << msg;
    EXPECT_NE(msg.find("lock file '" + path_ + ".lock'"), std::string::npos) << msg;
    // --overwrite must not delete it from under the writer either.
    std::string overwrite;
    try {
        ResultsFile::create_replacing(path_, sample_file_info());
    } catch (const std::runtime_error& e) {
        overwrite = e.what();
    }
    EXPECT_NE(overwrite.find("is being written by another gilbench"), std::string::npos) << overwrite;
    // A reader is not held up by the writers' lock.
    {
        h5::file f = open_ro(path_);
        EXPECT_EQ(rows(open_dataset(f.get(), "/runs/run-000/trials").get()), 1u);
    }
    ASSERT_EQ(first.release(), 0);
    // The first writer's file is whole: its run complete with both trials, and nothing else.
    h5::file f = open_ro(path_);
    EXPECT_EQ(string_attr(f.get(), "/runs/run-000", "status"), "complete");
    EXPECT_EQ(rows(open_dataset(f.get(), "/runs/run-000/trials").get()), 2u);
    EXPECT_EQ(rows(open_dataset(f.get(), "/runs/run-000/workers").get()), 4u);
    EXPECT_FALSE(fs::exists(path_ + ".lock"));
}

TEST_F(ResultsFileTest, WritersLockIsHeldUntilTheLastRunWriterIsGone) {
    std::optional<RunWriter> run;
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        EXPECT_EQ(file.lock_warning(), "");
        run.emplace(file.begin_run(sample_run_info()));
    }
    EXPECT_TRUE(fs::exists(path_ + ".lock"));
    EXPECT_NE(open_error(path_).find("is being written by another gilbench (pid " + std::to_string(::getpid())),
              std::string::npos);
    run.reset();
    EXPECT_FALSE(fs::exists(path_ + ".lock"));  // removed by its holder
    EXPECT_EQ(open_error(path_), "");
}

// A run names its writer and when it last wrote (issue 29): readers tell a run left 'running' by
// a killed writer from a live one by these. Once the status is final the holder marks the lock
// file "finishing", and a second writer waits for it (a --resume right after a stop) instead of
// refusing at once as it does while the holder writes (SecondWriterIsRefused...).
TEST_F(ResultsFileTest, RunsNameTheirWriterAndAFinishingHolderIsWaitedFor) {
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t child = ::fork();
    if (child == 0) {
        ::alarm(30);
        ::close(ready[0]);
        try {
            ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
            RunWriter run = file.begin_run(sample_run_info());
            run.set_status(RunStatus::interrupted);  // final: the lock file says "finishing"
            (void)!::write(ready[1], "r", 1);
            ::usleep(300'000);  // a stopped run's rank 0 that lives on a little
        } catch (...) {
            ::_exit(1);
        }
        ::exit(0);
    }
    ::close(ready[1]);
    char c = 0;
    ASSERT_EQ(::read(ready[0], &c, 1), 1);
    ::close(ready[0]);
    std::ifstream lock(path_ + ".lock");
    std::string line;
    std::getline(lock, line);
    const std::string holder = "pid " + std::to_string(child) + " on host ";
    EXPECT_EQ(line.rfind(holder, 0), 0u) << line;
    EXPECT_NE(line.find("(finishing)"), std::string::npos) << line;
    EXPECT_EQ(open_error(path_), "") << "the second writer waits for a finishing holder";
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    h5::file f = open_ro(path_);
    EXPECT_EQ(string_attr(f.get(), "/runs/run-000", "writer").rfind(holder, 0), 0u);
    EXPECT_EQ(string_attr(f.get(), "/runs/run-000", "heartbeat_utc").size(), 20u);  // 2026-12-07T17:00:00Z
}

// A write that fails part-way (here: the file size limit, EFBIG, which the reservation does
// not see) stops the writer at the first failure: later writes are refused without touching
// the file, and the process still exits normally (no HDF5 handle left to crash its exit
// handler). Before, a failed flush left the file open inside HDF5 and exit crashed.
TEST_F(ResultsFileTest, WriteFailingPartWayRefusesLaterWritesAndExitsCleanly) {
    int report[2];
    ASSERT_EQ(::pipe(report), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::alarm(30);
        ::close(report[0]);
        std::signal(SIGXFSZ, SIG_IGN);  // write(2) fails with EFBIG instead
        std::string out;
        try {
            ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
            RunWriter run = file.begin_run(sample_run_info());
            run.add_cells({make_cell(0, "seed")});
            run.add_trial(make_trial(0, 0, 4, 10));
            struct rlimit limit {};
            limit.rlim_cur = limit.rlim_max = fs::file_size(path_) + 4096;
            ::setrlimit(RLIMIT_FSIZE, &limit);
            for (int t = 1; t < 200 && out.empty(); ++t) {
                try {
                    run.add_trial(make_trial(0, t, 64, 400));
                } catch (const std::runtime_error& e) {
                    out = std::string("first: ") + e.what() + "\n";
                }
            }
            try {
                run.set_status(RunStatus::failed);
            } catch (const std::runtime_error& e) {
                out += std::string("then: ") + e.what() + "\n";
            }
        } catch (const std::exception& e) {
            out = std::string("setup: ") + e.what();
        }
        (void)!::write(report[1], out.data(), out.size());
        ::close(report[1]);
        ::exit(0);  // normal exit: HDF5's exit handler runs
    }
    ::close(report[1]);
    std::string got;
    char buf[4096];
    for (ssize_t n; (n = ::read(report[0], buf, sizeof buf)) > 0;) got.append(buf, static_cast<std::size_t>(n));
    ::close(report[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status << "\n" << got;
    EXPECT_NE(got.find("first: results file '" + path_ + "', run run-000: cannot add trial "), std::string::npos)
        << got;
    EXPECT_NE(got.find("File too large"), std::string::npos) << got;
    EXPECT_NE(got.find("then: results file '" + path_ + "', run run-000: cannot set status 'failed': not tried, "
                       "an earlier write failed part-way"),
              std::string::npos) << got;
    EXPECT_FALSE(fs::exists(path_ + ".lock"));
}

TEST_F(ResultsFileTest, StaleLockFileOfAKilledWriterIsTakenOver) {
    std::ofstream(path_ + ".lock") << "pid 999999 on host gone since 2024-01-01T00:00:00Z\n";
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        (void)file.begin_run(sample_run_info());
    }
    EXPECT_FALSE(fs::exists(path_ + ".lock"));
    EXPECT_EQ(open_error(path_), "");
}

TEST_F(ResultsFileTest, DamagedFileGivesHdf5ReasonAndPrintsNothing) {
    { ResultsFile::open_or_create(path_, sample_file_info()); }
    fs::resize_file(path_, 200);  // the signature survives, the rest is cut off
    ::testing::internal::CaptureStderr();
    const std::string msg = open_error(path_);
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(msg.find("cannot open results file '" + path_ + "' for writing: H5Fopen failed"),
              std::string::npos) << msg;
    EXPECT_NE(msg.find("truncated file"), std::string::npos) << msg;  // HDF5's own words
    EXPECT_EQ(err, "");  // HDF5's automatic stack printing is off
}

TEST_F(ResultsFileTest, RequestsRoundTrip) {
    model::TrialResult r = make_trial(4, 1, 2, 0);
    for (int k = 0; k < 5; ++k)
        r.requests.push_back({4, 1, 0, k % 2, k, 0.1 * k, 0.1 * k + 0.05, static_cast<std::uint8_t>(k != 3)});
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        RunWriter run = file.begin_run(sample_run_info());
        run.add_trial(r);
    }
    h5::file f = open_ro(path_);
    h5::dataset req = open_dataset(f.get(), "/runs/run-000/requests");
    ASSERT_EQ(rows(req.get()), 5u);
    const auto cell = column<std::int32_t>(req.get(), "cell");
    const auto thread = column<std::int32_t>(req.get(), "thread");
    const auto request = column<std::int32_t>(req.get(), "request");
    const auto start = column<double>(req.get(), "start_s");
    const auto end = column<double>(req.get(), "end_s");
    const auto ok = column<std::uint8_t>(req.get(), "ok");
    for (std::size_t k = 0; k < 5; ++k) {
        EXPECT_EQ(cell[k], 4);
        EXPECT_EQ(thread[k], static_cast<std::int32_t>(k % 2));
        EXPECT_EQ(request[k], static_cast<std::int32_t>(k));
        EXPECT_EQ(start[k], 0.1 * static_cast<double>(k));
        EXPECT_EQ(end[k], 0.1 * static_cast<double>(k) + 0.05);
        EXPECT_EQ(ok[k], k != 3 ? 1 : 0);
    }
}

TEST_F(ResultsFileTest, ErrorsRoundTripWithTheirTracebacks) {
    model::TrialResult r = make_trial(2, 3, 2, 0);
    r.trial.io_errors = 2;
    r.errors.push_back({2, 3, 0, 1, "function 'mod:f': ValueError: bad (rank 0)",
                        "Traceback (most recent call last):\n  File \"mod.py\", line 2, in f\nValueError: bad"});
    r.errors.push_back({2, 3, 1, 0, "HTTP 500 from http://127.0.0.1:1/", ""});
    model::TrialResult clean = make_trial(2, 4, 2, 0);
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        RunWriter run = file.begin_run(sample_run_info());
        run.add_trial(r);
        run.add_trial(clean);  // no failure: no row
    }
    h5::file f = open_ro(path_);
    h5::dataset errors = open_dataset(f.get(), "/runs/run-000/errors");
    ASSERT_EQ(rows(errors.get()), 2u);
    EXPECT_EQ(column<std::int32_t>(errors.get(), "trial"), (std::vector<std::int32_t>{3, 3}));
    EXPECT_EQ(column<std::int32_t>(errors.get(), "rank"), (std::vector<std::int32_t>{0, 1}));
    EXPECT_EQ(column<std::int32_t>(errors.get(), "thread"), (std::vector<std::int32_t>{1, 0}));
    const auto message = string_column(errors.get(), "message");
    const auto detail = string_column(errors.get(), "detail");
    EXPECT_EQ(message[0], "function 'mod:f': ValueError: bad (rank 0)");
    EXPECT_NE(detail[0].find("Traceback (most recent call last):"), std::string::npos);
    EXPECT_EQ(message[1], "HTTP 500 from http://127.0.0.1:1/");
    EXPECT_EQ(detail[1], "");
}


// ---- provenance, resume, summary, overwrite -------------------------------------------------

TEST_F(ResultsFileTest, RunRecordsTheMachineAndTheBuild) {
    RunInfo info = sample_run_info();
    info.job_name = "seed";
    info.cpu_model = {"Xeon A", "Xeon B"};
    info.cores = {16, 8};
    info.ranks_per_node = {3, 1};
    info.rank_node = {0, 0, 0, 1};
    info.rank_cpus = {4, 4, 4, 8};
    info.slurm_job_id = "4242";
    info.batch_job = "mycluster/4240_3";
    info.os = "Linux 6.1.0 x86_64";
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        RunWriter run = file.begin_run(info);
    }
    h5::file f = open_ro(path_);
    const char* run = "/runs/run-000";
    EXPECT_EQ(string_array_attr(f.get(), run, "cpu_model"), (std::vector<std::string>{"Xeon A", "Xeon B"}));
    EXPECT_EQ(string_attr(f.get(), run, "slurm_job_id"), "4242");
    EXPECT_EQ(string_attr(f.get(), run, "batch_job"), "mycluster/4240_3");
    EXPECT_EQ(string_attr(f.get(), run, "job_name"), "seed");
    EXPECT_EQ(string_attr(f.get(), run, "os"), "Linux 6.1.0 x86_64");
    EXPECT_EQ(string_attr(f.get(), run, "mpi_library"), "Open MPI v4.1.4");
    EXPECT_EQ(string_attr(f.get(), run, "curl_version"), "libcurl/7.88.1");
    EXPECT_EQ(string_attr(f.get(), run, "compiler"), "GCC 12.2.0");
    EXPECT_FALSE(string_attr(f.get(), run, "hdf5_version").empty());
    EXPECT_TRUE(string_array_attr(f.get(), run, "resumed_utc").empty());
    auto ints = [&](const char* name) {
        h5::attribute a(H5Aopen_by_name(f.get(), run, name, H5P_DEFAULT, H5P_DEFAULT));
        h5::dataspace space(H5Aget_space(a.get()));
        std::vector<int> v(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space.get())));
        H5Aread(a.get(), H5T_NATIVE_INT, v.data());
        return v;
    };
    EXPECT_EQ(ints("cores"), (std::vector<int>{16, 8}));
    EXPECT_EQ(ints("ranks_per_node"), (std::vector<int>{3, 1}));
    EXPECT_EQ(ints("rank_node"), (std::vector<int>{0, 0, 0, 1}));
    EXPECT_EQ(ints("rank_cpus"), (std::vector<int>{4, 4, 4, 8}));
}

TEST_F(ResultsFileTest, BatchJobIsTheFirstStartsAndEmptyOutsideSlurm) {
    RunInfo in_slurm = sample_run_info();
    in_slurm.batch_job = "mycluster/7";
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        file.begin_run(in_slurm).set_status(RunStatus::interrupted);
        file.begin_run(sample_run_info()).set_status(RunStatus::complete);
    }
    {
        // A resume, by a requeue of that job or by another with --resume: the run keeps the
        // job that started it, which the batch scripts compare before they resume a file.
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        file.resume_run("run-000", "").set_status(RunStatus::complete);
    }
    h5::file f = open_ro(path_);
    EXPECT_EQ(string_attr(f.get(), "/runs/run-000", "batch_job"), "mycluster/7");
    EXPECT_EQ(string_attr(f.get(), "/runs/run-001", "batch_job"), "");
}

TEST_F(ResultsFileTest, ServerRequestsAreInt64PerNodeAndReplaced) {
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        RunWriter run = file.begin_run(sample_run_info());
        run.set_server_requests({5, -1});
        run.set_server_requests({std::int64_t{3} << 32, -1, 7});  // a resume writes it again
    }
    h5::file f = open_ro(path_);
    h5::attribute a(H5Aopen_by_name(f.get(), "/runs/run-000", "server_requests", H5P_DEFAULT, H5P_DEFAULT));
    h5::datatype type(H5Aget_type(a.get()));
    EXPECT_EQ(H5Tget_size(type.get()), 8u);
    h5::dataspace space(H5Aget_space(a.get()));
    std::vector<std::int64_t> v(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space.get())));
    H5Aread(a.get(), H5T_NATIVE_INT64, v.data());
    EXPECT_EQ(v, (std::vector<std::int64_t>{std::int64_t{3} << 32, -1, 7}));
}

TEST_F(ResultsFileTest, SummaryStartsPendingAndRowsAreReplacedInPlace) {
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        RunWriter run = file.begin_run(sample_run_info());
        run.add_cells({make_cell(0, "a"), make_cell(1, "b"), make_cell(2, "c")});
        model::CellSummaryRecord s;
        s.cell = 1;
        s.state = "complete";
        s.n = 3;
        s.median_s = 1.5;
        s.ci_level = 0.75;
        run.write_summary({s});
        s.median_s = 2.5;  // written again: still one row per cell
        run.write_summary({s});
    }
    h5::file f = open_ro(path_);
    h5::dataset ds = open_dataset(f.get(), "/runs/run-000/summary");
    EXPECT_EQ(string_column(ds.get(), "state"), (std::vector<std::string>{"pending", "complete", "pending"}));
    EXPECT_EQ(column<std::int32_t>(ds.get(), "cell"), (std::vector<std::int32_t>{0, 1, 2}));
    EXPECT_EQ(column<double>(ds.get(), "median_s"), (std::vector<double>{0.0, 2.5, 0.0}));
    EXPECT_EQ(column<std::int32_t>(ds.get(), "n"), (std::vector<std::int32_t>{0, 3, 0}));
}

TEST_F(ResultsFileTest, RunsAreListedWithStatusAndJob) {
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        RunWriter a = file.begin_run(sample_run_info());
        a.set_status(RunStatus::complete);
        RunInfo other = sample_run_info();
        other.job = "[[cell]]\n";
        RunWriter b = file.begin_run(other);
        b.set_status(RunStatus::interrupted);
    }
    ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
    const auto runs = file.runs();
    ASSERT_EQ(runs.size(), 2u);
    EXPECT_EQ(runs[0].name, "run-000");
    EXPECT_EQ(runs[0].status, RunStatus::complete);
    EXPECT_EQ(runs[0].status_text, "complete");
    EXPECT_EQ(runs[1].name, "run-001");
    EXPECT_EQ(runs[1].status, RunStatus::interrupted);
    EXPECT_EQ(runs[1].job, "[[cell]]\n");
    EXPECT_EQ(file.path(), path_);
}

// Rows a killed writer leaves behind: workers and trace of a trial that never reached
// `trials` (appended here the way add_trial starts a trial).
void append_unfinished_trial(const std::string& path, int cell, int trial) {
    h5::file f(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    h5::group g(H5Gopen2(f.get(), "/runs/run-000", H5P_DEFAULT));
    const model::TrialResult r = make_trial(cell, trial, 3, 2);
    h5::table workers = h5::table::open(g.get(), "workers", "workers", detail::worker_row_type());
    workers.append(r.workers.data(), r.workers.size());
    detail::string_arena strings;
    std::vector<detail::trace_row> trace;
    for (const auto& t : r.trace) trace.push_back(detail::to_row(t, strings));
    h5::table tr = h5::table::open(g.get(), "trace", "trace", detail::trace_row_type());
    tr.append(trace.data(), trace.size());
    H5Fflush(f.get(), H5F_SCOPE_GLOBAL);
}

TEST_F(ResultsFileTest, ResumeDropsTheRowsOfTheCutTrialAndContinues) {
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        RunWriter run = file.begin_run(sample_run_info());
        run.add_cells({make_cell(0, "a"), make_cell(1, "b")});
        run.add_trial(make_trial(0, 0, 4, 5));
        run.add_trial(make_trial(0, 1, 4, 5));
        run.set_status(RunStatus::interrupted);
    }
    append_unfinished_trial(path_, 0, 2);

    FileInfo resumer = sample_file_info();
    resumer.command_line = "gilbench run --resume";
    ResultsFile file = ResultsFile::open_or_create(path_, resumer);
    const StoredRun stored = file.read_run("run-000");
    ASSERT_EQ(stored.cells.size(), 2u);
    EXPECT_EQ(stored.cells[1].name, "b");
    EXPECT_EQ(stored.cells[1].repeats, make_cell(1, "b").repeats);
    EXPECT_EQ(stored.cells[1].io_timeout_s, make_cell(1, "b").io_timeout_s);
    ASSERT_EQ(stored.trials.size(), 2u);
    EXPECT_EQ(stored.trials[1].trial, 1);
    EXPECT_EQ(stored.workers.size(), 8u);  // the cut trial's 3 rows left out
    EXPECT_EQ(stored.hosts, (std::vector<std::string>{"node-a", "node-b"}));
    EXPECT_EQ(stored.summary.size(), 2u);

    std::size_t dropped = 0;
    {
        RunWriter run = file.resume_run("run-000", "2024-05-02T00:00:00Z", &dropped);
        EXPECT_EQ(dropped, 3u + 2u);  // 3 workers, 2 trace events
        EXPECT_EQ(run.trials_written(), 2u);
        run.add_trial(make_trial(0, 2, 4, 5));
        run.set_hosts({"node-a", "node-b", "node-c"});
        run.set_status(RunStatus::complete);
    }
    { const ResultsFile closing = std::move(file); }  // closes the writer's handle (and lock) first
    h5::file f = open_ro(path_);
    const char* run = "/runs/run-000";
    h5::dataset workers = open_dataset(f.get(), "/runs/run-000/workers");
    EXPECT_EQ(rows(workers.get()), 12u);
    EXPECT_EQ(column<std::int32_t>(workers.get(), "trial"),
              (std::vector<std::int32_t>{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}));
    EXPECT_EQ(rows(open_dataset(f.get(), "/runs/run-000/trace").get()), 15u);
    EXPECT_EQ(rows(open_dataset(f.get(), "/runs/run-000/trials").get()), 3u);
    EXPECT_EQ(string_attr(f.get(), run, "status"), "complete");
    EXPECT_EQ(string_array_attr(f.get(), run, "resumed_utc"), (std::vector<std::string>{"2024-05-02T00:00:00Z"}));
    EXPECT_EQ(string_array_attr(f.get(), run, "resume_command_lines"),
              (std::vector<std::string>{"gilbench run --resume"}));
    EXPECT_EQ(string_attr(f.get(), run, "started_utc"), "2024-05-01T12:00:01Z");  // the first start stays
    EXPECT_EQ(string_array_attr(f.get(), run, "hosts"), (std::vector<std::string>{"node-a", "node-b", "node-c"}));
    EXPECT_EQ(int_attr(f.get(), run, "nodes"), 3);
}

TEST_F(ResultsFileTest, ResumingARunWithoutSummaryGivesItOne) {
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        RunWriter run = file.begin_run(sample_run_info());
        run.add_cells({make_cell(0, "a"), make_cell(1, "b")});
    }
    {
        // As an older gilbench wrote it: no summary table.
        h5::file f(H5Fopen(path_.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
        ASSERT_GE(H5Ldelete(f.get(), "/runs/run-000/summary", H5P_DEFAULT), 0);
    }
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        EXPECT_TRUE(file.read_run("run-000").summary.empty());
        RunWriter run = file.resume_run("run-000", "");
        model::CellSummaryRecord s;
        s.cell = 1;
        s.state = "complete";
        run.write_summary({s});
    }
    h5::file f = open_ro(path_);
    h5::dataset ds = open_dataset(f.get(), "/runs/run-000/summary");
    EXPECT_EQ(string_column(ds.get(), "state"), (std::vector<std::string>{"pending", "complete"}));
}

TEST_F(ResultsFileTest, FailureAndTraceCountsRoundTrip) {
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        RunWriter run = file.begin_run(sample_run_info());
        run.add_cells({make_cell(0, "a")});
        model::TrialResult t = make_trial(0, 1, 2, 0);
        t.trial.io_errors = 7;
        t.workers[1].trace_dropped = 12345;
        run.add_trial(t);
        model::CellSummaryRecord s;
        s.cell = 0;
        s.state = "complete";
        s.failed_trials = 2;
        run.write_summary({s});
    }
    ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
    const StoredRun stored = file.read_run("run-000");
    ASSERT_EQ(stored.trials.size(), 1u);
    EXPECT_EQ(stored.trials[0].io_errors, 7);
    ASSERT_EQ(stored.workers.size(), 2u);
    EXPECT_EQ(stored.workers[0].trace_dropped, 0);
    EXPECT_EQ(stored.workers[1].trace_dropped, 12345);
    ASSERT_EQ(stored.summary.size(), 1u);
    EXPECT_EQ(stored.summary[0].failed_trials, 2);
}

TEST_F(ResultsFileTest, TrialsOfAnOlderWriterReadAsCleanAndTakeNewRows) {
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        RunWriter run = file.begin_run(sample_run_info());
        run.add_cells({make_cell(0, "a")});
        run.set_status(RunStatus::interrupted);
    }
    {
        // As a gilbench from before trials.io_errors wrote it: four fields.
        struct old_trial_row {
            std::int32_t cell;
            std::int32_t trial;
            std::uint8_t warmup;
            double wall_s;
        };
        h5::file f(H5Fopen(path_.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
        h5::group g(H5Gopen2(f.get(), "/runs/run-000", H5P_DEFAULT));
        ASSERT_GE(H5Ldelete(g.get(), "trials", H5P_DEFAULT), 0);
        h5::datatype type = h5::create_compound(sizeof(old_trial_row), "old trials row");
        h5::insert_member(type.get(), "cell", offsetof(old_trial_row, cell), H5T_NATIVE_INT32);
        h5::insert_member(type.get(), "trial", offsetof(old_trial_row, trial), H5T_NATIVE_INT32);
        h5::insert_member(type.get(), "warmup", offsetof(old_trial_row, warmup), H5T_NATIVE_UINT8);
        h5::insert_member(type.get(), "wall_s", offsetof(old_trial_row, wall_s), H5T_NATIVE_DOUBLE);
        h5::table trials(g.get(), "trials", "trials", std::move(type), 16, h5::compression::gzip);
        const old_trial_row row{0, 0, 1, 2.5};
        trials.append(&row, 1);
    }
    ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
    ASSERT_EQ(file.read_run("run-000").trials.size(), 1u);
    EXPECT_EQ(file.read_run("run-000").trials[0].io_errors, 0);
    {
        RunWriter run = file.resume_run("run-000", "");
        model::TrialResult t = make_trial(0, 1, 1, 0);
        t.trial.io_errors = 3;  // the old table has no such field: dropped, the row still goes in
        run.add_trial(t);
    }
    const StoredRun stored = file.read_run("run-000");
    ASSERT_EQ(stored.trials.size(), 2u);
    EXPECT_EQ(stored.trials[1].trial, 1);
    EXPECT_EQ(stored.trials[1].io_errors, 0);
}

// A resumed start keeps the run's urllib costs: they come back as written, 7 per host, with
// their fields' names; a run without them (no emulated io cells, or an older file) reads as
// empty. The record's version is written beside them (0 without). The trial order too.
TEST_F(ResultsFileTest, UrllibCostsAndCalibrationRoundTrip) {
    const std::vector<std::string> fields{"a_ns", "b_ns", "c_ns", "d_ns", "e_ns", "f_ns", "g_permille"};
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        RunInfo info = sample_run_info();
        info.urllib_costs_ns = {1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 14, 15, 16, 17};
        info.urllib_costs_fields = fields;
        info.urllib_costs_version = 4;
        info.calibration = "cached 2026-12-01T18:00:00Z";
        info.order = "rounds";
        RunWriter run = file.begin_run(info);
        run.add_cells({make_cell(0, "a")});
        RunWriter plain = file.begin_run(sample_run_info());
        plain.add_cells({make_cell(0, "a")});
    }
    ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
    const StoredRun with = file.read_run("run-000");
    EXPECT_EQ(with.urllib_costs_ns, (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 14, 15, 16, 17}));
    EXPECT_EQ(with.urllib_costs_fields, fields);
    EXPECT_EQ(with.calibration, "cached 2026-12-01T18:00:00Z");
    EXPECT_EQ(with.order, "rounds");  // the trial order a resumed start keeps
    const StoredRun without = file.read_run("run-001");
    EXPECT_TRUE(without.urllib_costs_ns.empty());
    EXPECT_TRUE(without.urllib_costs_fields.empty());
    EXPECT_EQ(without.calibration, "");
    EXPECT_EQ(without.order, "cells");
    const h5::file f = open_ro(path_);
    const auto version = [&](const char* run) {
        return h5::read_int_attr(h5::group(H5Gopen2(f.get(), run, H5P_DEFAULT)).get(), "urllib_costs_version");
    };
    EXPECT_EQ(version("/runs/run-000"), 4);
    EXPECT_EQ(version("/runs/run-001"), 0);
}

TEST_F(ResultsFileTest, ReadingAMissingRunSaysSo) {
    ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
    try {
        file.read_run("run-007");
        FAIL() << "expected an error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("there is no /runs/run-007"), std::string::npos) << e.what();
    }
}

TEST_F(ResultsFileTest, OverwriteReplacesAResultsFile) {
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        RunWriter a = file.begin_run(sample_run_info());
        RunWriter b = file.begin_run(sample_run_info());
    }
    {
        ResultsFile file = ResultsFile::create_replacing(path_, sample_file_info());
        EXPECT_TRUE(file.runs().empty());
        EXPECT_EQ(file.begin_run(sample_run_info()).name(), "run-000");
    }
    // A path that does not exist yet is simply created.
    const std::string fresh = (dir_ / "fresh.h5").string();
    ResultsFile file = ResultsFile::create_replacing(fresh, sample_file_info());
    EXPECT_TRUE(file.runs().empty());
}

TEST_F(ResultsFileTest, OverwriteLeavesOtherFilesAlone) {
    const std::string notes = (dir_ / "notes.h5").string();
    std::ofstream(notes) << "precious";
    try {
        ResultsFile::create_replacing(notes, sample_file_info());
        FAIL() << "expected an error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("--overwrite replaces only gilbench results files"), std::string::npos)
            << e.what();
    }
    std::ifstream in(notes);
    std::string text;
    std::getline(in, text);
    EXPECT_EQ(text, "precious");
}

}  // namespace
}  // namespace gilbench::store

// ---- the cells table from the field table (model::cell_fields()) ---------------------------

namespace gilbench::store {
namespace {

// As an older gilbench/1 writer stored cells: a few columns only, and a gil name of its choice.
void replace_cells_with_old_table(const std::string& path, const char* gil) {
    struct old_cell_row {
        std::int32_t cell;
        const char* name;
        const char* workload;
        const char* gil;
        std::int32_t ranks;
        std::int64_t work;
    };
    h5::file f(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    h5::group g(H5Gopen2(f.get(), "/runs/run-000", H5P_DEFAULT));
    ASSERT_GE(H5Ldelete(g.get(), "cells", H5P_DEFAULT), 0);
    h5::datatype type = h5::create_compound(sizeof(old_cell_row), "old cells row");
    const h5::datatype str = h5::vlen_utf8_string();
    h5::insert_member(type.get(), "cell", offsetof(old_cell_row, cell), H5T_NATIVE_INT32);
    h5::insert_member(type.get(), "name", offsetof(old_cell_row, name), str.get());
    h5::insert_member(type.get(), "workload", offsetof(old_cell_row, workload), str.get());
    h5::insert_member(type.get(), "gil", offsetof(old_cell_row, gil), str.get());
    h5::insert_member(type.get(), "ranks", offsetof(old_cell_row, ranks), H5T_NATIVE_INT32);
    h5::insert_member(type.get(), "work", offsetof(old_cell_row, work), H5T_NATIVE_INT64);
    h5::table cells(g.get(), "cells", "cells", std::move(type), 16, h5::compression::gzip);
    const old_cell_row row{0, "old", "io", gil, 2, 40};
    cells.append(&row, 1);
}

}  // namespace

TEST_F(ResultsFileTest, EveryCellFieldRoundTripsThroughTheCellsTable) {
    // Cell 0 at the defaults, cell 1 with every field changed.
    std::vector<model::Cell> cells(2);
    cells[0].name = "defaults";
    cells[1].index = 1;
    for (const model::CellField& f : model::cell_fields()) f.set(cells[1], gilbench::test::other_than(f, f.get(cells[1])));
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        RunWriter run = file.begin_run(sample_run_info());
        run.add_cells(cells);
    }
    const StoredRun stored = ResultsFile::open_or_create(path_, sample_file_info()).read_run("run-000");
    ASSERT_EQ(stored.cells.size(), 2u);
    for (const model::CellField& f : model::cell_fields()) {
        SCOPED_TRACE(std::string(f.key));
        EXPECT_NE(f.get(cells[0]), f.get(cells[1]));
        for (std::size_t i = 0; i < cells.size(); ++i) EXPECT_EQ(f.get(stored.cells[i]), f.get(cells[i])) << i;
    }
    EXPECT_EQ(stored.cells[1].index, 1);
    // Each column has the type its field says.
    h5::file f = open_ro(path_);
    h5::dataset ds = open_dataset(f.get(), "/runs/run-000/cells");
    for (const model::CellField& field : model::cell_fields()) {
        SCOPED_TRACE(std::string(field.column));
        h5::datatype t = field_type(ds.get(), std::string(field.column).c_str());
        switch (field.column_type) {
            case model::ColumnType::int32: EXPECT_EQ(H5Tget_size(t.get()), 4u); break;
            case model::ColumnType::int64: EXPECT_EQ(H5Tget_size(t.get()), 8u); break;
            case model::ColumnType::float64: EXPECT_EQ(H5Tget_class(t.get()), H5T_FLOAT); break;
            case model::ColumnType::uint8: EXPECT_EQ(H5Tget_size(t.get()), 1u); break;
            case model::ColumnType::text: EXPECT_GT(H5Tis_variable_str(t.get()), 0); break;
        }
    }
}

TEST_F(ResultsFileTest, CellsOfAnOlderWriterReadWithTheDefaults) {
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        RunWriter run = file.begin_run(sample_run_info());
        run.add_cells({make_cell(0, "a")});
    }
    replace_cells_with_old_table(path_, "old");
    const StoredRun stored = ResultsFile::open_or_create(path_, sample_file_info()).read_run("run-000");
    ASSERT_EQ(stored.cells.size(), 1u);
    const model::Cell& c = stored.cells[0];
    EXPECT_EQ(c.name, "old");
    EXPECT_EQ(c.workload, model::Workload::io);
    EXPECT_EQ(c.gil, model::GilPolicy::old_gil);
    EXPECT_EQ(c.ranks, 2);
    EXPECT_EQ(c.work, 40);
    // Every column the old file lacks reads as model::Cell's default.
    const model::Cell defaults;
    for (const char* key : {"threads", "io_threads", "placement", "io_timeout", "switch_interval", "check_interval",
                            "url", "latency", "keep_alive", "repeats", "warmups", "trace", "time_budget", "scaling",
                            "engine", "function", "python_path"}) {
        const model::CellField& f = *model::find_cell_field(key);
        EXPECT_EQ(f.get(c), f.get(defaults)) << key;
    }
    EXPECT_EQ(c.engine, "emulated") << "cells written before the cpython engine ran on the emulated one";
}

TEST_F(ResultsFileTest, EngineFunctionPathAndCpuTimeRoundTrip) {
    model::Cell py = make_cell(0, "py");
    py.engine = "cpython";
    py.workload = model::Workload::python;
    py.function = "pkg.mod:run";
    py.python_path = "/a/lib:/b/src";
    model::TrialResult t = make_trial(0, 0, 2, 2);
    t.workers[0].cpu_s = 0.25;
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        RunWriter run = file.begin_run(sample_run_info());
        run.add_cells({py});
        run.add_trial(t);
    }
    const StoredRun stored = ResultsFile::open_or_create(path_, sample_file_info()).read_run("run-000");
    ASSERT_EQ(stored.cells.size(), 1u);
    EXPECT_EQ(stored.cells[0].engine, "cpython");
    EXPECT_EQ(stored.cells[0].workload, model::Workload::python);
    EXPECT_EQ(stored.cells[0].function, "pkg.mod:run");
    EXPECT_EQ(stored.cells[0].python_path, "/a/lib:/b/src");
    ASSERT_FALSE(stored.workers.empty());
    EXPECT_EQ(stored.workers[0].cpu_s, 0.25);
}

TEST_F(ResultsFileTest, AGilNameNoWriterWritesIsRefusedNotReadAsNew) {
    {
        ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
        RunWriter run = file.begin_run(sample_run_info());
        run.add_cells({make_cell(0, "a")});
    }
    replace_cells_with_old_table(path_, "fast");
    ResultsFile file = ResultsFile::open_or_create(path_, sample_file_info());
    try {
        file.read_run("run-000");
        ADD_FAILURE() << "a cell with gil 'fast' was read";
    } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()).find("column 'gil': 'fast' is not one of: new, old, none"), std::string::npos)
            << e.what();
    }
}

}  // namespace gilbench::store
