// The node's real /proc/stat sees a busy thread of our own, and our CPU time takes it back out.
// Run serially (ctest RUN_SERIAL): another test's CPU in the window would read as "others".
#include <gtest/gtest.h>

#include <time.h>

#include <atomic>
#include <cstdio>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <thread>

#include "runner/disturbance.hpp"

namespace gd = gilbench::runner::disturbance;

namespace {

double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

TEST(DisturbanceLive, ProcStatSeesABusyThreadAndOursTakesItOut) {
    constexpr auto busy_for = std::chrono::milliseconds(400);

    gd::Window w;
    std::atomic<bool> ready{false};
    std::atomic<bool> go{false};
    double busy_cpu_s = 0;
    std::thread busy([&] {
        ready = true;
        while (!go) std::this_thread::yield();
        // Spin until the deadline: bounded, stops by itself.
        const double cpu0 = thread_cpu_seconds();
        const auto until = std::chrono::steady_clock::now() + busy_for;
        volatile std::uint64_t x = 1;
        while (std::chrono::steady_clock::now() < until) x = x * 6364136223846793005ULL + 1;
        busy_cpu_s = thread_cpu_seconds() - cpu0;
    });
    while (!ready) std::this_thread::yield();

    const auto t0 = std::chrono::steady_clock::now();
    w.before = *gd::read_proc_stat();
    go = true;
    busy.join();  // the main thread sleeps in join
    const auto after = gd::read_proc_stat();
    w.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(after.has_value());
    w.after = *after;

    w.ours_cpu_s = 0;
    const gd::Sample all = gd::measure(w, gd::ticks_per_second());
    EXPECT_GE(all.others_cpus, 0.5) << "busy thread's CPU " << busy_cpu_s << " s over " << w.wall_s << " s";

    w.ours_cpu_s = busy_cpu_s;
    const gd::Sample others = gd::measure(w, gd::ticks_per_second());
    // The thread's own ~1 CPU is taken out; what is left is the rest of the machine and the
    // ticks' coarseness (10 ms in 0.4 s per CPU at USER_HZ 100).
    EXPECT_LT(others.others_cpus, all.others_cpus - 0.5)
        << "with ours " << others.others_cpus << " CPUs, without " << all.others_cpus;
    EXPECT_TRUE(std::isfinite(others.steal));
}

// The capability is decided before any test runs: without /proc/stat there is nothing to probe,
// and ctest reports the test as skipped (SKIP_RETURN_CODE 77) with this reason; a test that runs
// can only pass or fail.
int main(int argc, char** argv) {
    if (!gd::read_proc_stat()) {
        std::fprintf(stderr, "skipped: /proc/stat cannot be read here (not Linux, or no /proc)\n");
        return 77;
    }
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
