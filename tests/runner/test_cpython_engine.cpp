// The cpython engine through the runner's run_local_trial, as a run uses it: the embedded
// interpreter really runs the work (ops come from Python), threads share its one GIL, the
// user's function gets (work, index, count), and every refusal says what is wrong.
// One interpreter per process: modules written here have names of their own per test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "engine/cpython/cpython_engine.hpp"
#include "http/client.hpp"
#include "http/delay_url.hpp"
#include "http/server.hpp"
#include "runner/runner.hpp"

namespace fs = std::filesystem;
using gilbench::engine::CpythonEngine;
using gilbench::engine::RankContext;
using gilbench::engine::TrialContext;
using gilbench::model::Cell;
using gilbench::model::Workload;

namespace {

// A directory with module `name`.py holding `source`, removed at the end of the test.
class Module {
public:
    Module(const std::string& name, const std::string& source)
        : dir_(fs::temp_directory_path() / ("gilbench-cpy-" + name + "-" + std::to_string(::getpid()))) {
        fs::create_directories(dir_);
        std::ofstream(dir_ / (name + ".py")) << source;
    }
    ~Module() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    std::string dir() const { return dir_.string(); }

private:
    fs::path dir_;
};

Cell cpython_cell(Workload w, int threads, std::int64_t work) {
    Cell c;
    c.name = "c";
    c.engine = "cpython";
    c.workload = w;
    c.threads = threads;
    c.work = work;
    return c;
}

Cell python_cell(const std::string& function, const std::string& path, int threads, std::int64_t work) {
    Cell c = cpython_cell(Workload::python, threads, work);
    c.function = function;
    c.python_path = path;
    return c;
}

// The message prepare_rank throws for `cell` ("" if none).
std::string refusal(const Cell& cell) {
    CpythonEngine engine;
    try {
        engine.prepare_rank(RankContext{0, 0, {cell}});
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

gilbench::runner::LocalTrial run(CpythonEngine& engine, const Cell& cell, TrialContext ctx = {}) {
    return gilbench::runner::run_local_trial(engine, cell, ctx, [] {});
}

}  // namespace

TEST(CpythonEngine, CountdownRunsInTheInterpreterAndGilCountersAreNotMeasured) {
    const Cell cell = cpython_cell(Workload::cpu, 2, 200'001);
    CpythonEngine engine;
    engine.prepare_rank(RankContext{0, 0, {cell}});
    const auto out = run(engine, cell);
    ASSERT_EQ(out.workers.size(), 2u);
    EXPECT_EQ(out.workers[0].ops, 100'001);
    EXPECT_EQ(out.workers[1].ops, 100'000);
    for (const auto& w : out.workers) {
        EXPECT_EQ(w.gil_acquisitions, gilbench::runner::not_measured_count);
        EXPECT_EQ(w.gil_forced_drops, gilbench::runner::not_measured_count);
        EXPECT_TRUE(std::isnan(w.gil_wait_s));
        EXPECT_TRUE(std::isnan(w.gil_hold_s));
        EXPECT_GT(w.cpu_s, 0.0);
        EXPECT_EQ(w.io_errors, 0);
    }
    EXPECT_TRUE(out.trace.empty());
    EXPECT_NE(CpythonEngine::library_version().find('.'), std::string::npos);
}

TEST(CpythonEngine, OpsComeFromTheUsersFunction) {
    const Module m("ops_mod", "def run(work, index, count):\n    return 7_000_003 + index\n");
    const Cell cell = python_cell("ops_mod:run", m.dir(), 2, 10);
    CpythonEngine engine;
    engine.prepare_rank(RankContext{0, 0, {cell}});
    const auto out = run(engine, cell);
    EXPECT_EQ(out.workers[0].ops, 7'000'003);
    EXPECT_EQ(out.workers[1].ops, 7'000'004);
    // None: ops = the worker's work.
    const Module none("none_mod", "def run(work, index, count):\n    pass\n");
    const Cell quiet = python_cell("none_mod:run", none.dir(), 2, 9);
    engine.prepare_rank(RankContext{0, 0, {quiet}});
    const auto done = run(engine, quiet);
    EXPECT_EQ(done.workers[0].ops, 5);
    EXPECT_EQ(done.workers[1].ops, 4);
}

TEST(CpythonEngine, TheCountdownIsSpecializedBeforeTheFirstTrial) {
    // CPython 3.11+ specializes a function's bytecode only after its first calls; the engine
    // calls its own helpers before any trial, so no trial times the colder code. (ctest runs
    // each test in a process of its own: nothing here has called the countdown before.)
    const Module m("probe_mod",
                   "import dis, sys\n"
                   "def specialized(f):\n"
                   "    adaptive = [i.opname for i in dis.get_instructions(f, adaptive=True)]\n"
                   "    return adaptive != [i.opname for i in dis.get_instructions(f)]\n"
                   "def probe(work, index, count):\n"
                   "    helpers = sys.modules['gilbench_helpers']\n"
                   "    return int(specialized(helpers.countdown)) + 2 * int(specialized(helpers.make_probe()))\n");
    const Cell cell = python_cell("probe_mod:probe", m.dir(), 1, 1);
    CpythonEngine engine;
    engine.prepare_rank(RankContext{0, 0, {cell}});
    // 1: the countdown's bytecode is specialized; 2: the traced cells' probed countdown's is.
    EXPECT_EQ(run(engine, cell).workers[0].ops, 3) << "a countdown's bytecode is not specialized yet";
}

TEST(CpythonEngine, TheFunctionGetsWorkIndexAndCount) {
    // Each worker writes what it got; this rank is the second of two (member 1), 3 threads each.
    const fs::path out_dir = fs::temp_directory_path() / ("gilbench-cpy-args-" + std::to_string(::getpid()));
    fs::create_directories(out_dir);
    const Module m("args_mod", "def run(work, index, count):\n"
                               "    with open(f'" + out_dir.string() + "/w{index}', 'w') as f:\n"
                               "        f.write(f'{work} {index} {count}')\n");
    Cell cell = python_cell("args_mod:run", m.dir(), 3, 10);
    cell.ranks = 2;
    CpythonEngine engine;
    engine.prepare_rank(RankContext{1, 0, {cell}});
    run(engine, cell, {.rank = 1, .member = 1});
    auto read = [&](int index) {
        std::ifstream in(out_dir / ("w" + std::to_string(index)));
        std::string s;
        std::getline(in, s);
        return s;
    };
    // 10 over 6 workers: the first 4 (0..3) take 2, the others 1.
    EXPECT_EQ(read(3), "2 3 6");
    EXPECT_EQ(read(4), "1 4 6");
    EXPECT_EQ(read(5), "1 5 6");
    EXPECT_FALSE(fs::exists(out_dir / "w0"));
    fs::remove_all(out_dir);
}

TEST(CpythonEngine, ThreadsShareOneGil) {
    // Two CPU-bound Python threads: only the GIL holder runs, so their CPU times add up to no
    // more than the wall time (a generous margin: no timing threshold).
    const Cell cell = cpython_cell(Workload::cpu, 2, 6'000'000);
    CpythonEngine engine;
    engine.prepare_rank(RankContext{0, 0, {cell}});
    const auto out = run(engine, cell);
    double first = 1e9, last = 0, cpu = 0;
    for (const auto& w : out.workers) {
        first = std::min(first, w.start_s);
        last = std::max(last, w.end_s);
        cpu += w.cpu_s;
    }
    const double wall = last - first;
    EXPECT_GT(cpu, 0.0);
    EXPECT_LE(cpu, wall * 1.25 + 0.05) << "cpu " << cpu << " s, wall " << wall << " s";
}

// A traced cpu cell: `threads` threads counting down `work` in all, switch interval 1 ms.
Cell traced_cell(int threads, std::int64_t work) {
    Cell c = cpython_cell(Workload::cpu, threads, work);
    c.trace = true;
    c.switch_interval_s = 0.001;
    return c;
}

TEST(CpythonEngine, ATracedCountdownRecordsTheTakesItSawFromPython) {
    // Two threads sharing the real GIL for a few tenths of a second at a 1 ms switch interval:
    // each notes when it found itself running after the other (its first iteration included).
    const Cell cell = traced_cell(2, 6'000'000);
    CpythonEngine engine;
    engine.prepare_rank(RankContext{0, 0, {cell}});
    const auto out = run(engine, cell);
    ASSERT_EQ(out.workers.size(), 2u);
    double first = 1e9, last = 0;
    for (const auto& w : out.workers) {
        EXPECT_EQ(w.ops, 3'000'000) << "the probe counts down the same work";
        EXPECT_EQ(w.trace_dropped, 0);
        first = std::min(first, w.start_s);
        last = std::max(last, w.end_s);
    }
    std::vector<std::pair<double, int>> takes;  // (t_s, thread)
    std::vector<double> previous(2, -1.0);
    for (const auto& e : out.trace) {
        EXPECT_EQ(e.event, "take");
        ASSERT_TRUE(e.thread == 0 || e.thread == 1) << e.thread;
        const auto& w = out.workers[static_cast<std::size_t>(e.thread)];
        // Seen from inside run(): after the thread's start stamp, before its end stamp.
        EXPECT_GE(e.t_s, w.start_s);
        EXPECT_LE(e.t_s, w.end_s);
        EXPECT_GE(e.t_s, 0.0);
        EXPECT_LE(e.t_s, last);
        EXPECT_GT(e.t_s, previous[static_cast<std::size_t>(e.thread)]) << "one thread's takes in time order";
        previous[static_cast<std::size_t>(e.thread)] = e.t_s;
        takes.emplace_back(e.t_s, e.thread);
    }
    EXPECT_GT(previous[0], 0.0) << "thread 0 took no GIL";
    EXPECT_GT(previous[1], 0.0) << "thread 1 took no GIL";
    // Hand-overs as the analysis counts them: takes in time order, a take by another thread
    // than the one before. About wall / 1 ms of them; bound loosely (a loaded machine).
    std::sort(takes.begin(), takes.end());
    int handovers = 0;
    for (std::size_t k = 1; k < takes.size(); ++k) handovers += takes[k].second != takes[k - 1].second;
    EXPECT_GE(handovers, 10) << "wall " << last - first << " s";
    EXPECT_EQ(static_cast<std::size_t>(handovers) + 1, takes.size()) << "a take is always a hand-over";
}

TEST(CpythonEngine, ATracedThreadAloneTakesOnce) {
    const Cell cell = traced_cell(1, 300'000);
    CpythonEngine engine;
    engine.prepare_rank(RankContext{0, 0, {cell}});
    const auto out = run(engine, cell);
    ASSERT_EQ(out.trace.size(), 1u);
    EXPECT_EQ(out.trace[0].event, "take");
    EXPECT_GE(out.trace[0].t_s, out.workers[0].start_s);
    EXPECT_LE(out.trace[0].t_s, out.workers[0].end_s);
    EXPECT_EQ(out.workers[0].ops, 300'000);
    // With no room for it, the take is counted instead.
    TrialContext none;
    none.trace_capacity = 0;
    const auto dropped = run(engine, cell, none);
    EXPECT_TRUE(dropped.trace.empty());
    EXPECT_EQ(dropped.workers[0].trace_dropped, 1);
}

TEST(CpythonEngine, TheProbeKeepsNoMoreThanTheTraceCapacity) {
    // The engine itself (not only the runner's cut) keeps at most the capacity and counts the
    // rest, so a long traced trial cannot grow without bound in Python.
    const Cell cell = traced_cell(2, 6'000'000);
    CpythonEngine engine;
    engine.prepare_rank(RankContext{0, 0, {cell}});
    TrialContext ctx;
    ctx.trace_capacity = 2;
    auto workers = engine.make_trial(cell, ctx);
    workers->start(gilbench::engine::clock::now());
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t)
        threads.emplace_back([&workers, t] {
            workers->prepare_thread(t);
            workers->run(t, 3'000'000);
        });
    for (auto& t : threads) t.join();
    std::int64_t dropped = 0;
    for (int t = 0; t < 2; ++t) {
        const auto r = workers->report(t);
        EXPECT_LE(r.trace.size(), 2u);
        EXPECT_GE(r.trace.size(), 1u) << "the first take is kept";
        if (r.trace_dropped > 0) {
            EXPECT_EQ(r.trace.size(), 2u) << "drops only once the capacity is full";
        }
        dropped += r.trace_dropped;
    }
    EXPECT_GE(dropped, 5) << "a few tenths of a second at 1 ms hand over more than 2 + 2 times";
}

TEST(CpythonEngine, IoThreadsGetFromTheServerWithTimings) {
    gilbench::http::global_init();
    gilbench::http::DelayServer server({});
    const Cell cell = cpython_cell(Workload::io, 2, 4);
    const std::string url = gilbench::http::delay_url(server.base_url(), 0.02);
    CpythonEngine engine;
    engine.prepare_rank(RankContext{0, 0, {cell}});
    const auto out = run(engine, cell, {.io_url = url});
    for (const auto& w : out.workers) {
        EXPECT_EQ(w.io_requests, 2);
        EXPECT_EQ(w.io_errors, 0);
        EXPECT_EQ(w.ops, 2);
    }
    EXPECT_EQ(server.requests_served(), 4u);
    ASSERT_EQ(out.requests.size(), 4u);
    for (const auto& r : out.requests) {
        EXPECT_EQ(r.ok, 1);
        EXPECT_GE(r.end_s - r.start_s, 0.02);  // the server's delay, on the same clock as the runner's
        const auto& w = out.workers[static_cast<std::size_t>(r.thread)];
        EXPECT_GE(r.start_s, w.start_s);
        EXPECT_LE(r.end_s, w.end_s);
    }
}

TEST(CpythonEngine, FailedRequestsAreCounted) {
    gilbench::http::global_init();
    const Cell cell = cpython_cell(Workload::io, 1, 2);
    CpythonEngine engine;
    engine.prepare_rank(RankContext{0, 0, {cell}});
    const auto out = run(engine, cell, {.io_url = "http://127.0.0.1:9/"});
    EXPECT_EQ(out.workers[0].io_requests, 2);
    EXPECT_EQ(out.workers[0].io_errors, 2);
    EXPECT_EQ(out.workers[0].ops, 0);
    EXPECT_NE(out.first_error.find("URLError"), std::string::npos) << out.first_error;
}

TEST(CpythonEngine, MixedCpuThreadsCountDownUntilTheIoThreadIsDone) {
    gilbench::http::global_init();
    gilbench::http::DelayServer server({});
    Cell cell = cpython_cell(Workload::mixed, 3, 3);
    cell.io_threads = 1;
    CpythonEngine engine;
    engine.prepare_rank(RankContext{0, 0, {cell}});
    const auto out = run(engine, cell, {.io_url = gilbench::http::delay_url(server.base_url(), 0.02)});
    ASSERT_EQ(out.workers.size(), 3u);
    EXPECT_EQ(out.workers[0].io_requests, 3);
    EXPECT_EQ(out.workers[0].ops, 3);
    EXPECT_EQ(out.requests.size(), 3u);
    for (int t = 1; t < 3; ++t) {
        EXPECT_EQ(out.workers[static_cast<std::size_t>(t)].io_requests, 0);
        EXPECT_EQ(out.workers[static_cast<std::size_t>(t)].ops % (1 << 16), 0);
    }
}

TEST(CpythonEngine, AnExceptionInTheFunctionFailsTheTrialWithItsTraceback) {
    const Module m("raise_mod", "def helper(x):\n    return 1 // x\n\ndef run(work, index, count):\n"
                                "    return helper(index - index)\n");
    const Cell cell = python_cell("raise_mod:run", m.dir(), 2, 4);
    CpythonEngine engine;
    engine.prepare_rank(RankContext{0, 0, {cell}});
    testing::internal::CaptureStderr();
    const auto out = run(engine, cell);
    const auto again = run(engine, cell);
    const std::string printed = testing::internal::GetCapturedStderr();
    for (const auto& w : out.workers) EXPECT_EQ(w.io_errors, 1);
    EXPECT_NE(out.first_error.find("function 'raise_mod:run': ZeroDivisionError"), std::string::npos) << out.first_error;
    EXPECT_EQ(again.workers[0].io_errors, 1);
    // The traceback, once, with the user's own frames.
    EXPECT_NE(printed.find("Traceback"), std::string::npos) << printed;
    EXPECT_NE(printed.find("in helper"), std::string::npos) << printed;
    EXPECT_EQ(printed.find("Traceback"), printed.rfind("Traceback")) << printed;
    EXPECT_EQ(printed.find("<gilbench>"), std::string::npos) << "gilbench's own frame is left out: " << printed;
    // The runner folds io_errors into the trial: it is flagged failed.
    std::vector<gilbench::runner::LocalTrial> ranks{out};
    EXPECT_EQ(gilbench::runner::join_trial(cell, 0, ranks).trial.io_errors, 2);
}

TEST(CpythonEngine, AReturnValueThatIsNoCountFailsTheTrial) {
    const Module m("bytes_mod", "def run(work, index, count):\n    return b'digest'\n");
    const Cell cell = python_cell("bytes_mod:run", m.dir(), 1, 1);
    CpythonEngine engine;
    engine.prepare_rank(RankContext{0, 0, {cell}});
    const auto out = run(engine, cell);
    EXPECT_EQ(out.workers[0].io_errors, 1);
    EXPECT_NE(out.first_error.find("returned b'digest' (bytes); return the number of operations done"),
              std::string::npos)
        << out.first_error;
}

namespace {
// As when another thread's set-up fails: prepare_thread, then no run; the interpreter (and
// with subinterpreters, the rank's pool) stays usable for the next trial.
void expect_a_thread_set_up_but_never_run_leaves_nothing_behind(const Cell& cell) {
    CpythonEngine engine;
    engine.prepare_rank(RankContext{0, 0, {cell}});
    {
        auto trial = engine.make_trial(cell, {});
        std::thread t([&] { trial->prepare_thread(0); });
        t.join();
    }
    const auto out = run(engine, cell);
    EXPECT_EQ(out.workers[0].ops + out.workers[1].ops, 1000);
}
}  // namespace

TEST(CpythonEngine, AThreadSetUpButNeverRunLeavesNothingBehind) {
    expect_a_thread_set_up_but_never_run_leaves_nothing_behind(cpython_cell(Workload::cpu, 2, 1000));
}

TEST(CpythonEngine, RefusalsNameTheProblem) {
    const Module broken("broken_mod", "import no_such_module_here\n");
    EXPECT_NE(refusal(python_cell("broken_mod:run", broken.dir(), 1, 1))
                  .find("cell 'c': function 'broken_mod:run': module 'broken_mod' does not import"),
              std::string::npos);
    const std::string tb = refusal(python_cell("broken_mod:run", broken.dir(), 1, 1));
    EXPECT_NE(tb.find("Traceback"), std::string::npos) << tb;
    EXPECT_NE(tb.find("No module named 'no_such_module_here'"), std::string::npos) << tb;

    EXPECT_NE(refusal(python_cell("missing_mod_xyz:run", "/nonexistent", 1, 1)).find("does not import"),
              std::string::npos);

    const Module m("shapes_mod", "count = 3\n"
                                 "def two(a, b):\n    pass\n"
                                 "def many(*args):\n    pass\n"
                                 "def kw(work, index, count, *, extra):\n    pass\n"
                                 "class C:\n    def run(self, work, index, count):\n        pass\n");
    EXPECT_NE(refusal(python_cell("shapes_mod:nope", m.dir(), 1, 1)).find("has no attribute 'nope'"), std::string::npos);
    EXPECT_NE(refusal(python_cell("shapes_mod:count", m.dir(), 1, 1)).find("'count' is a int, not callable"),
              std::string::npos);
    const std::string two = refusal(python_cell("shapes_mod:two", m.dir(), 1, 1));
    EXPECT_NE(two.find("function 'shapes_mod:two' cannot be called as two(work, index, count): its signature is "
                       "two(a, b)"),
              std::string::npos)
        << two;
    EXPECT_NE(refusal(python_cell("shapes_mod:kw", m.dir(), 1, 1)).find("cannot be called as"), std::string::npos);
    EXPECT_EQ(refusal(python_cell("shapes_mod:many", m.dir(), 1, 1)), "");
    EXPECT_NE(refusal(python_cell("shapes_mod:C.run", m.dir(), 1, 1)).find("cannot be called as"), std::string::npos)
        << "an unbound method needs its self";

    Cell none = cpython_cell(Workload::cpu, 1, 1);
    none.gil = gilbench::model::GilPolicy::none;
    if (CpythonEngine::library_version().find("free-threading") == std::string::npos) {
        EXPECT_NE(refusal(none).find("cell 'c': gil = \"none\" needs a free-threaded CPython"), std::string::npos);
    }
    CpythonEngine unprepared;
    EXPECT_THROW(unprepared.make_trial(cpython_cell(Workload::cpu, 1, 1), {}), std::logic_error);
}

// ---- parallel = "subinterpreters" (PEP 684: CPython >= 3.12) ---------------------------------

namespace {

// Whether the embedded CPython can give each thread an interpreter with its own GIL. Known
// from the library's version before any test runs; a 3.11 build tests the refusal instead.
bool has_subinterpreters() {
    const std::string v = CpythonEngine::library_version();
    const auto dot = v.find('.');
    return std::stoi(v.substr(0, dot)) > 3 || (std::stoi(v.substr(0, dot)) == 3 && std::stoi(v.substr(dot + 1)) >= 12);
}

Cell in_subinterpreters(Cell c) {
    c.parallel = gilbench::model::Parallel::subinterpreters;
    return c;
}

// A module whose function notes, per worker, how many calls its interpreter's copy of the
// module has seen: in one interpreter the workers share the module (1 and 2), each in an
// interpreter of its own sees only its own calls (1 and 1, then 2 and 2 in the next trial).
// Writes to `dir`/w<index>.
std::string seen_source(const fs::path& dir) {
    return "import os\n"
           "SEEN = []\n"
           "def run(work, index, count):\n"
           "    SEEN.append(index)\n"
           "    n = len(SEEN) - SEEN[::-1].index(index)  # this call's place: the append decided it\n"
           "    with open(os.path.join(" + std::string("'") + dir.string() + "', 'w%d' % index), 'w') as f:\n"
           "        f.write(str(n))\n"
           "    return work\n";
}

std::string seen_by(const fs::path& dir, int worker) {
    std::ifstream in(dir / ("w" + std::to_string(worker)));
    std::string s;
    in >> s;
    return s;
}

}  // namespace

TEST(CpythonEngine, SubinterpretersAreRefusedBelow312) {
    if (has_subinterpreters()) GTEST_SKIP() << "the embedded " << CpythonEngine::library_version() << " has them";
    const std::string why = refusal(in_subinterpreters(cpython_cell(Workload::cpu, 2, 10)));
    EXPECT_NE(why.find("cell 'c': parallel = \"subinterpreters\" needs CPython 3.12 or later"), std::string::npos) << why;
    EXPECT_NE(why.find("-DGILBENCH_PYTHON="), std::string::npos) << why;
}

TEST(CpythonEngine, EachThreadRunsInAnInterpreterOfItsOwn) {
    if (!has_subinterpreters()) GTEST_SKIP() << "the embedded " << CpythonEngine::library_version() << " is below 3.12";
    const fs::path out_dir = fs::temp_directory_path() / ("gilbench-seen-" + std::to_string(::getpid()));
    fs::create_directories(out_dir);
    const Module m("seen_mod", seen_source(out_dir));
    const Cell shared = python_cell("seen_mod:run", m.dir(), 2, 10);
    const Cell own = in_subinterpreters(shared);
    CpythonEngine engine;
    engine.prepare_rank(RankContext{0, 0, {shared, own}});
    for (int trial = 1; trial <= 2; ++trial) {  // thread t runs in the rank's interpreter t each time
        const auto out = run(engine, own);
        EXPECT_EQ(out.workers[0].ops + out.workers[1].ops, 10);
        EXPECT_EQ(out.workers[0].io_errors + out.workers[1].io_errors, 0) << out.first_error;
        EXPECT_EQ(seen_by(out_dir, 0), std::to_string(trial));
        EXPECT_EQ(seen_by(out_dir, 1), std::to_string(trial));
    }
    run(engine, shared);  // the main interpreter's module: both workers in one list
    std::vector<std::string> both{seen_by(out_dir, 0), seen_by(out_dir, 1)};
    std::sort(both.begin(), both.end());
    EXPECT_EQ(both, (std::vector<std::string>{"1", "2"}));
    fs::remove_all(out_dir);
}

TEST(CpythonEngine, SubinterpreterCellsRunEveryWorkload) {
    if (!has_subinterpreters()) GTEST_SKIP() << "the embedded " << CpythonEngine::library_version() << " is below 3.12";
    gilbench::http::global_init();
    gilbench::http::DelayServer server({});
    const std::string url = gilbench::http::delay_url(server.base_url(), 0.01);
    const Cell cpu = in_subinterpreters(cpython_cell(Workload::cpu, 2, 200'001));
    const Cell io = in_subinterpreters(cpython_cell(Workload::io, 2, 4));
    Cell mixed = in_subinterpreters(cpython_cell(Workload::mixed, 3, 3));
    mixed.io_threads = 1;
    CpythonEngine engine;
    engine.prepare_rank(RankContext{0, 0, {cpu, io, mixed}});

    const auto c = run(engine, cpu);
    EXPECT_EQ(c.workers[0].ops, 100'001);
    EXPECT_EQ(c.workers[1].ops, 100'000);

    const auto i = run(engine, io, {.io_url = url});
    for (const auto& w : i.workers) {
        EXPECT_EQ(w.io_requests, 2);
        EXPECT_EQ(w.io_errors, 0) << i.first_error;
    }
    // The I/O thread ends the CPU threads' countdowns from its own interpreter.
    const auto m = run(engine, mixed, {.io_url = url});
    EXPECT_EQ(m.workers[0].ops, 3) << m.first_error;
    for (int t = 1; t < 3; ++t) EXPECT_EQ(m.workers[static_cast<std::size_t>(t)].ops % (1 << 16), 0);
    EXPECT_EQ(server.requests_served(), 7u);
}

TEST(CpythonEngine, ASubinterpreterThreadSetUpButNeverRunLeavesNothingBehind) {
    if (!has_subinterpreters()) GTEST_SKIP() << "the embedded " << CpythonEngine::library_version() << " is below 3.12";
    expect_a_thread_set_up_but_never_run_leaves_nothing_behind(
        in_subinterpreters(cpython_cell(Workload::cpu, 2, 1000)));
}
