// The emulated engine's calibration (engine/cpython/calibration.hpp): the embedded CPython measures
// urllib's per-step costs against a loopback server, the cache keeps them per host and
// interpreter, and a run that cannot or must not calibrate says "fallback". No timing bounds:
// only that the costs are there, positive, and travel unchanged through the cache (whose file
// format tests/engine/cpython/test_urllib_costs.cpp checks).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/cpython/calibration.hpp"
#include "engine/cpython/cpython_engine.hpp"
#include "http/server.hpp"
#include "runner/runner.hpp"

namespace fs = std::filesystem;
using namespace gilbench::engine;
using gilbench::workloads::UrllibCosts;

namespace {

class TempDir {
public:
    explicit TempDir(const std::string& name)
        : path_(fs::temp_directory_path() / ("gilbench-cal-" + name + "-" + std::to_string(::getpid()))) {
        fs::remove_all(path_);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    std::string str() const { return path_.string(); }

private:
    fs::path path_;
};

void expect_positive(const UrllibCosts& c) {
    for (std::int64_t v : c.ns) {
        EXPECT_GT(v, 0);
        EXPECT_TRUE(std::isfinite(static_cast<double>(v)));
    }
}

}  // namespace

TEST(Calibration, MeasuresPositiveCostsAndSpeedsAgainstALoopbackServer) {
    gilbench::http::DelayServer server(gilbench::http::ServerConfig{});
    std::string why;
    const auto c = calibrate_urllib(server.base_url(), &why, 50);
    ASSERT_TRUE(c) << why;
    expect_positive(*c);
    // 20 unmeasured + 50 alone + 20 beside a CPU-bound thread at 5 ms, 20 at 0.5 ms, 15 at
    // 50 ms + 2 traced for their instructions: every GET reached the server
    EXPECT_EQ(server.requests_served(), 127u);
    // The cold costs' shares after a 0.5 and a 50 ms wait are positive (expect_positive) and no
    // more: they are timings, which a loaded machine moves (5.1x the 5 ms excess at 50 ms once,
    // under ctest -j2), so no bound here (docs/gil-fidelity.md, "Calibration", has the VM's).
    // The speeds are the real interpreter's: a countdown iteration and one of urllib's
    // instructions each take some ns, well under a microsecond, on any machine that runs this.
    EXPECT_GT(c->countdown_ns_per_iteration(), 1.0);
    EXPECT_LT(c->countdown_ns_per_iteration(), 1000.0);
    EXPECT_GT(c->urllib_ns_per_instruction(), 1.0);
    EXPECT_LT(c->urllib_ns_per_instruction(), 1000.0);
}

TEST(Calibration, ANonAnsweringUrlIsNoCalibrationWithTheReason) {
    std::string why;
    // Port 1 on loopback: nothing listens there, connect is refused at once.
    EXPECT_FALSE(calibrate_urllib("http://127.0.0.1:1/", &why, 5));
    EXPECT_NE(why.find("Connection refused"), std::string::npos) << why;
}

TEST(Calibration, TheMeasurementLeavesSocketUnwrapped) {
    gilbench::http::DelayServer server(gilbench::http::ServerConfig{});
    ASSERT_TRUE(calibrate_urllib(server.base_url(), nullptr, 5));
    // cpython cells share the interpreter: after the calibration, socket's methods must be
    // the library's own again, not the timing wrappers. A python cell checks, in that interpreter.
    TempDir dir("unwrapped");
    fs::create_directories(dir.str());
    std::ofstream(dir.str() + "/cal_check.py")
        << "import socket\n"
           "def run(work, index, count):\n"
           "    fns = [socket.getaddrinfo, socket.socket.__init__, socket.socket.connect, socket.socket.sendall,\n"
           "           socket.socket.recv_into, socket.socket._real_close]\n"
           "    return sum('wrapper' in f.__qualname__ for f in fns)\n";
    gilbench::model::Cell cell;
    cell.name = "check";
    cell.engine = "cpython";
    cell.workload = gilbench::model::Workload::python;
    cell.function = "cal_check:run";
    cell.python_path = dir.str();
    cell.work = 1;
    CpythonEngine engine;
    engine.prepare_rank(RankContext{0, 0, {cell}});
    const auto out = gilbench::runner::run_local_trial(engine, cell, TrialContext{}, [] {});
    ASSERT_EQ(out.workers.size(), 1u);
    EXPECT_EQ(out.workers[0].io_errors, 0);
    EXPECT_EQ(out.workers[0].ops, 0);  // no socket function is still a wrapper
}

TEST(CalibrationForRun, MeasuresThenReadsTheCacheAndRecalibratesOnRequest) {
    TempDir dir("run");
    // `measuring` is called when a measurement starts, and only then (the run says so).
    int measurings = 0;
    const auto count = [&] { ++measurings; };
    const Calibration first = calibrate_for_run(CalibrationMode::cached, dir.str(), count);
    ASSERT_EQ(first.how, "measured") << first.how;
    EXPECT_EQ(measurings, 1);
    EXPECT_EQ(first.warning, "");
    expect_positive(first.costs);
    EXPECT_NE(first.costs.ns, UrllibCosts::fallback().ns);

    const Calibration second = calibrate_for_run(CalibrationMode::cached, dir.str(), count);
    EXPECT_EQ(second.how.rfind("cached 20", 0), 0u) << second.how;
    EXPECT_EQ(second.costs.ns, first.costs.ns);
    EXPECT_EQ(measurings, 1);

    const Calibration third = calibrate_for_run(CalibrationMode::recalibrate, dir.str(), count);
    EXPECT_EQ(third.how, "measured");
    EXPECT_EQ(measurings, 2);
    EXPECT_EQ(calibrate_for_run(CalibrationMode::off, dir.str(), count).how, "fallback: --no-calibration");
    EXPECT_EQ(measurings, 2);
    const Calibration fourth = calibrate_for_run(CalibrationMode::cached, dir.str());
    EXPECT_EQ(fourth.costs.ns, third.costs.ns);  // the recalibrated costs replaced the cached ones
}

TEST(CalibrationForRun, OffIsTheDocumentedFallback) {
    TempDir dir("off");
    const Calibration c = calibrate_for_run(CalibrationMode::off, dir.str());
    EXPECT_EQ(c.how, "fallback: --no-calibration");
    EXPECT_EQ(c.costs.ns, UrllibCosts::fallback().ns);
    EXPECT_FALSE(fs::exists(dir.str()));  // nothing measured, nothing cached
}

TEST(CalibrationForRun, AnUnwritableCacheStillMeasuresAndWarns) {
    TempDir dir("ro");
    fs::create_directories(dir.str());
    std::ofstream(dir.str() + "/file") << "x";
    // A cache "directory" below a regular file cannot be made, whoever runs the test (root too).
    const Calibration c = calibrate_for_run(CalibrationMode::cached, dir.str() + "/file/gilbench");
    EXPECT_EQ(c.how, "measured");
    EXPECT_NE(c.warning.find("not cached"), std::string::npos) << c.warning;
}
