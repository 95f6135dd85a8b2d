// What disturbed a trial: /proc/stat parsing, the window's arithmetic, the thresholds' wording,
// the run's reference median and the expected CPU share. Synthetic data, no MPI, no timing claims.
#include <gtest/gtest.h>

#include <cmath>

#include "runner/disturbance.hpp"

namespace gd = gilbench::runner::disturbance;

namespace {

constexpr double kNaN = gd::not_measured;

// A real-looking /proc/stat of a 2-CPU guest (kernel 6.1): the aggregate first.
constexpr const char* kProcStat =
    "cpu  1373487 20 272474 581007 6869 0 4112 300 50 7\n"
    "cpu0 649800 10 125786 339949 1100 0 1477 150 25 3\n"
    "cpu1 723687 10 146688 241058 5768 0 2635 150 25 4\n"
    "intr 123862153 9 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0\n"
    "ctxt 239912346\n"
    "btime 1717000000\n"
    "processes 412345\n"
    "procs_running 3\n"
    "procs_blocked 0\n"
    "softirq 45223120 0 9123456 1 2345678 0 0 1234 22345678 0 11234567\n";

// Ticks: a node of `cpus` CPUs at 100 ticks/s over `wall_s`, with `busy_cpus` of them busy and
// `steal_cpus` taken by the hypervisor; the rest idle.
gd::CpuTimes after(const gd::CpuTimes& before, double wall_s, int cpus, double busy_cpus, double steal_cpus) {
    const auto ticks = [&](double c) { return static_cast<std::uint64_t>(std::llround(c * wall_s * 100)); };
    gd::CpuTimes t = before;
    t.busy += ticks(busy_cpus);
    t.steal += ticks(steal_cpus);
    t.idle += ticks(cpus - busy_cpus - steal_cpus);
    t.total = t.busy + t.idle + t.steal;
    return t;
}

}  // namespace

TEST(ParseProcStat, RealSampleUsesTheAggregateLine) {
    const auto t = gd::parse_proc_stat(kProcStat);
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->busy, 1373487u + 20 + 272474 + 0 + 4112);  // guest (50, 7) not added again
    EXPECT_EQ(t->idle, 581007u + 6869);
    EXPECT_EQ(t->steal, 300u);
    EXPECT_EQ(t->total, t->busy + t->idle + t->steal);
}

TEST(ParseProcStat, FindsTheAggregateAfterOtherLines) {
    const auto t = gd::parse_proc_stat("cpu0 1 2 3 4\ncpu  10 0 5 100 0 0 0 0\r\n");
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->busy, 15u);
    EXPECT_EQ(t->idle, 100u);
}

TEST(ParseProcStat, OldKernelsWithFewerFields) {
    const auto four = gd::parse_proc_stat("cpu  10 1 4 100\n");  // before 2.6
    ASSERT_TRUE(four.has_value());
    EXPECT_EQ(four->busy, 15u);
    EXPECT_EQ(four->idle, 100u);
    EXPECT_EQ(four->steal, 0u);
    EXPECT_EQ(four->total, 115u);
    const auto seven = gd::parse_proc_stat("cpu  10 1 4 100 7 2 3\n");  // 2.6.0: iowait irq softirq
    ASSERT_TRUE(seven.has_value());
    EXPECT_EQ(seven->busy, 20u);
    EXPECT_EQ(seven->idle, 107u);
    EXPECT_EQ(seven->total, 127u);
    const auto eight = gd::parse_proc_stat("cpu  10 1 4 100 7 2 3 9");  // 2.6.11: steal; no newline
    ASSERT_TRUE(eight.has_value());
    EXPECT_EQ(eight->steal, 9u);
    EXPECT_EQ(eight->total, 136u);
}

TEST(ParseProcStat, GarbageIsNothing) {
    EXPECT_FALSE(gd::parse_proc_stat("").has_value());
    EXPECT_FALSE(gd::parse_proc_stat("hello world\n").has_value());
    EXPECT_FALSE(gd::parse_proc_stat("cpu0 1 2 3 4\n").has_value());     // no aggregate
    EXPECT_FALSE(gd::parse_proc_stat("cpu  1 2 3\n").has_value());       // too few fields
    EXPECT_FALSE(gd::parse_proc_stat("cpu  1 2 x 4\n").has_value());     // not a number
    EXPECT_FALSE(gd::parse_proc_stat("cpu  1 2 3 4abc\n").has_value());  // trailing junk
    EXPECT_FALSE(gd::parse_proc_stat("cpu  -1 2 3 4\n").has_value());
    EXPECT_FALSE(gd::parse_proc_stat("xcpu  1 2 3 4\n").has_value());  // not at a line start
}

TEST(Measure, OnlyOurWorkLeavesNoOthers) {
    gd::Window w;
    w.before = *gd::parse_proc_stat(kProcStat);
    w.after = after(w.before, 0.2, 4, 2.0, 0);  // our 2 workers, nothing else
    w.wall_s = 0.2;
    w.ours_cpu_s = 0.4;
    const gd::Sample s = gd::measure(w, 100);
    EXPECT_NEAR(s.others_cpus, 0.0, 1e-9);
    EXPECT_NEAR(s.steal, 0.0, 1e-9);
    EXPECT_TRUE(std::isnan(s.reference_slowdown));
    EXPECT_TRUE(std::isnan(s.cpu_share));
    w.ours_cpu_s = 0.41;  // our precise time a little above the ticks: floored, not negative
    EXPECT_EQ(gd::measure(w, 100).others_cpus, 0.0);
}

TEST(Measure, AnotherProcessOnOnePointThreeCpus) {
    gd::Window w;
    w.before = *gd::parse_proc_stat(kProcStat);
    w.after = after(w.before, 1.0, 8, 3.3, 0);
    w.wall_s = 1.0;
    w.ours_cpu_s = 2.0;
    EXPECT_NEAR(gd::measure(w, 100).others_cpus, 1.3, 1e-9);
}

TEST(Measure, StealIsAShareOfTheNodesTime) {
    gd::Window w;
    w.after = after(w.before, 0.5, 4, 1.0, 0.4);  // 0.4 of 4 CPUs stolen: 10 %
    w.wall_s = 0.5;
    w.ours_cpu_s = 0.5;
    const gd::Sample s = gd::measure(w, 100);
    EXPECT_NEAR(s.steal, 0.10, 1e-9);
    EXPECT_NEAR(s.others_cpus, 0.0, 1e-9);
}

TEST(Measure, NothingToJudge) {
    gd::Window w;
    w.before = *gd::parse_proc_stat(kProcStat);
    w.after = w.before;
    w.after.idle -= 1;  // a counter went backwards
    w.wall_s = 0.2;
    EXPECT_TRUE(std::isnan(gd::measure(w, 100).others_cpus));
    w.after = w.before;
    w.wall_s = 0;  // an empty window
    EXPECT_TRUE(std::isnan(gd::measure(w, 100).others_cpus));
    w.wall_s = 0.2;  // no ticks passed: nobody else ran, steal unknown
    const gd::Sample s = gd::measure(w, 100);
    EXPECT_EQ(s.others_cpus, 0.0);
    EXPECT_TRUE(std::isnan(s.steal));
}

TEST(Classify, EachThresholdJustBelowAndAbove) {
    EXPECT_EQ(gd::classify(gd::Sample{}), "");
    EXPECT_EQ(gd::classify(gd::Sample{0.24, kNaN, kNaN, kNaN}), "");
    EXPECT_EQ(gd::classify(gd::Sample{0.26, kNaN, kNaN, kNaN}), "other processes used 0.26 CPUs");
    EXPECT_EQ(gd::classify(gd::Sample{kNaN, 0.049, kNaN, kNaN}), "");
    EXPECT_EQ(gd::classify(gd::Sample{kNaN, 0.051, kNaN, kNaN}),
              "the hypervisor took 5.1 % of the node's CPU time (steal)");
    EXPECT_EQ(gd::classify(gd::Sample{kNaN, kNaN, 0.099, kNaN}), "");
    EXPECT_EQ(gd::classify(gd::Sample{kNaN, kNaN, 0.14, kNaN}), "the reference loop ran 14 % slow");
    EXPECT_EQ(gd::classify(gd::Sample{kNaN, kNaN, kNaN, 0.81}), "");
    EXPECT_EQ(gd::classify(gd::Sample{kNaN, kNaN, kNaN, 0.79}), "a worker got 0.79 of its expected CPU");
}

TEST(Classify, SeveralAtOnceInAFixedOrder) {
    EXPECT_EQ(gd::classify(gd::Sample{1.3, 0.01, 0.14, 0.95}),
              "other processes used 1.30 CPUs; the reference loop ran 14 % slow");
    EXPECT_EQ(gd::classify(gd::Sample{0.5, 0.2, 0.5, 0.5}),
              "other processes used 0.50 CPUs; the hypervisor took 20.0 % of the node's CPU time (steal); "
              "the reference loop ran 50 % slow; a worker got 0.50 of its expected CPU");
}

TEST(Classify, OwnThresholds) {
    const gd::Thresholds loose{2.0, 0.5, 1.0, 0.1};
    EXPECT_EQ(gd::classify(gd::Sample{1.3, 0.2, 0.5, 0.5}, loose), "");
}

TEST(Worst, TakesTheWorstAndIgnoresNaN) {
    const gd::Sample a{0.1, kNaN, 0.2, 0.9};
    const gd::Sample b{0.3, 0.02, kNaN, 0.7};
    const gd::Sample w = gd::worst(a, b);
    EXPECT_EQ(w.others_cpus, 0.3);
    EXPECT_EQ(w.steal, 0.02);
    EXPECT_EQ(w.reference_slowdown, 0.2);
    EXPECT_EQ(w.cpu_share, 0.7);
    EXPECT_TRUE(std::isnan(gd::worst(gd::Sample{}, gd::Sample{}).others_cpus));
}

TEST(ReferenceClock, MedianOddEvenEmpty) {
    gd::ReferenceClock c;
    EXPECT_TRUE(std::isnan(c.median()));
    EXPECT_TRUE(std::isnan(c.slowdown(1e-4, 1e-4)));
    c.add(3e-4);
    c.add(1e-4);
    c.add(2e-4);
    EXPECT_EQ(c.size(), 3u);
    EXPECT_DOUBLE_EQ(c.median(), 2e-4);
    c.add(10e-4);
    EXPECT_DOUBLE_EQ(c.median(), 2.5e-4);
    c.add(kNaN);  // ignored, as are non-positive samples
    c.add(0);
    c.add(-1);
    EXPECT_EQ(c.size(), 4u);
}

TEST(ReferenceClock, SlowdownIsTheSlowerEdgeAgainstTheMedian) {
    gd::ReferenceClock c;
    for (double s : {1.0e-4, 1.0e-4, 1.0e-4}) c.add(s);
    EXPECT_NEAR(c.slowdown(1.0e-4, 1.14e-4), 0.14, 1e-9);
    EXPECT_NEAR(c.slowdown(1.2e-4, kNaN), 0.2, 1e-9);  // one edge not measured
    EXPECT_NEAR(c.slowdown(0.9e-4, 0.95e-4), -0.05, 1e-9);
    EXPECT_TRUE(std::isnan(c.slowdown(kNaN, kNaN)));
}

TEST(ExpectedCpuShare, GilBoundAndFree) {
    EXPECT_DOUBLE_EQ(gd::expected_cpu_share(true, 4, 8), 0.25);  // one GIL: one CPU for all
    EXPECT_DOUBLE_EQ(gd::expected_cpu_share(true, 1, 1), 1.0);
    EXPECT_DOUBLE_EQ(gd::expected_cpu_share(false, 4, 8), 1.0);  // enough cores
    EXPECT_DOUBLE_EQ(gd::expected_cpu_share(false, 4, 2), 0.5);  // threads beyond cores
    EXPECT_DOUBLE_EQ(gd::expected_cpu_share(false, 3, 2), 2.0 / 3);
    EXPECT_DOUBLE_EQ(gd::expected_cpu_share(false, 0, 0), 1.0);  // nonsense clamped, not NaN
}

TEST(CpuShare, AgainstTheExpected) {
    EXPECT_DOUBLE_EQ(gd::cpu_share(0.05, 0.2, 0.25), 1.0);
    EXPECT_DOUBLE_EQ(gd::cpu_share(0.1, 0.2, 1.0), 0.5);
    EXPECT_TRUE(std::isnan(gd::cpu_share(kNaN, 0.2, 1.0)));
    EXPECT_TRUE(std::isnan(gd::cpu_share(0.1, 0.0, 1.0)));
}

TEST(ReferenceLoop, PositiveAndFinite) {
    const double s = gd::reference_loop_seconds();
    EXPECT_GT(s, 0.0);
    EXPECT_TRUE(std::isfinite(s));
    // ~100 us; a second would mean a broken loop, not a slow machine.
    EXPECT_LT(s, 1.0);
    EXPECT_GT(gd::reference_loop_seconds(0), 0.0);  // at least one run
}

TEST(Clocks, TicksAndProcessTime) {
    EXPECT_GT(gd::ticks_per_second(), 0.0);
    const double a = gd::process_cpu_seconds();
    EXPECT_TRUE(std::isfinite(a));
    EXPECT_GE(gd::process_cpu_seconds(), a);
}
