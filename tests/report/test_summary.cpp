#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "report/progress.hpp"
#include "report/summary.hpp"

using gilbench::report::CellTimes;
using gilbench::report::summarize;

TEST(Summary, EmptyOneAndTwoSamples) {
    const auto e = summarize({});
    EXPECT_EQ(e.n, 0);
    EXPECT_EQ(e.median, 0.0);
    const auto one = summarize({2.5});
    EXPECT_EQ(one.n, 1);
    EXPECT_EQ(one.median, 2.5);
    EXPECT_EQ(one.stddev, 0.0);
    const auto two = summarize({3.0, 1.0});
    EXPECT_EQ(two.median, 2.0);  // even n: mean of the middle two
    EXPECT_EQ(two.min, 1.0);
    EXPECT_EQ(two.max, 3.0);
    EXPECT_NEAR(two.stddev, 1.41421356, 1e-6);  // sample (n-1) standard deviation
}

TEST(Summary, OddMedianIgnoresOutlier) {
    const auto s = summarize({1.0, 100.0, 2.0, 3.0, 2.0});
    EXPECT_EQ(s.median, 2.0);
    EXPECT_DOUBLE_EQ(s.mean, 21.6);
}

namespace {
CellTimes cell(const char* name, gilbench::model::Workload w, int ranks, int threads, std::vector<double> t) {
    CellTimes c;
    c.cell.name = name;
    c.cell.workload = w;
    c.cell.ranks = ranks;
    c.cell.threads = threads;
    c.wall_s = std::move(t);
    return c;
}
}  // namespace

TEST(SeedTable, PlacesCellsByLayoutAndWorkload) {
    using gilbench::model::Workload;
    const std::vector<CellTimes> cells{
        cell("a", Workload::cpu, 1, 1, {2.0, 2.2, 2.1}), cell("b", Workload::cpu, 1, 2, {2.0}),
        cell("c", Workload::cpu, 2, 1, {1.1}),           cell("d", Workload::io, 1, 1, {1.0}),
        cell("e", Workload::io, 1, 2, {0.5}),            cell("f", Workload::io, 2, 1, {0.52}),
    };
    const auto table = gilbench::report::format_seed_table(cells);
    ASSERT_TRUE(table);
    auto has_row = [&](const char* pattern) { return std::regex_search(*table, std::regex(pattern)); };
    EXPECT_TRUE(has_row(R"(\nsingle thread +2\.100 s +1\.000 s\n)")) << *table;
    EXPECT_TRUE(has_row(R"(\nmulti thread \(2 threads\) +2\.000 s +0\.500 s\n)")) << *table;
    EXPECT_TRUE(has_row(R"(\nmulti process \(2 ranks\) +1\.100 s +0\.520 s\n)")) << *table;
}

TEST(SeedTable, PutsEachEnginesColumnsSideBySideAndLeavesOtherWorkloadsOut) {
    using gilbench::model::Workload;
    std::vector<CellTimes> cells{
        cell("a", Workload::cpu, 1, 1, {2.0}), cell("b", Workload::cpu, 1, 2, {2.1}),
        cell("d", Workload::io, 1, 1, {1.0}),  cell("A", Workload::cpu, 1, 1, {3.0}),
        cell("B", Workload::cpu, 1, 2, {3.3}), cell("D", Workload::io, 1, 1, {1.1}),
        cell("u", Workload::python, 1, 1, {9.0}), cell("m", Workload::mixed, 1, 2, {8.0}),
    };
    for (std::size_t i = 3; i < 6; ++i) cells[i].cell.engine = "cpython";
    cells[6].cell.engine = "cpython";
    const auto table = gilbench::report::format_seed_table(cells);
    ASSERT_TRUE(table);
    auto has = [&](const char* pattern) { return std::regex_search(*table, std::regex(pattern)); };
    EXPECT_TRUE(has(R"(^median wall time +CPU-bound, emulated +CPU-bound, CPython +I/O-bound, emulated +I/O-bound, CPython\n)"))
        << *table;
    EXPECT_TRUE(has(R"(\nsingle thread +2\.000 s +3\.000 s +1\.000 s +1\.100 s\n)")) << *table;
    EXPECT_TRUE(has(R"(\nmulti thread \(2 threads\) +2\.100 s +3\.300 s +- +-\n)")) << *table;
    EXPECT_FALSE(has(R"(9\.000|8\.000)")) << *table;  // python and mixed cells are not seed cells
}

TEST(SeedTable, FourWaysSubinterpretersAndFreeThreadedThreadsHaveRowsOfTheirOwn) {
    using gilbench::model::GilPolicy;
    using gilbench::model::Parallel;
    using gilbench::model::Workload;
    std::vector<CellTimes> cells{
        cell("one", Workload::cpu, 1, 1, {2.0}),    cell("threads", Workload::cpu, 1, 2, {2.1}),
        cell("ranks", Workload::cpu, 2, 1, {1.1}),  cell("subs", Workload::cpu, 1, 2, {1.2}),
        cell("ft", Workload::cpu, 1, 2, {1.3}),     cell("ideal", Workload::cpu, 1, 2, {1.0}),
        cell("ft-one", Workload::cpu, 1, 1, {2.8}), cell("io-subs", Workload::io, 1, 2, {0.5}),
    };
    cells[3].cell.parallel = Parallel::subinterpreters;
    cells[4].cell.gil = GilPolicy::free_threaded_3_14;
    cells[5].cell.gil = GilPolicy::none;  // a second free-threaded cell: the first in plan order fills the row
    cells[6].cell.gil = GilPolicy::free_threaded_3_13;  // one free-threaded thread is not "single thread"
    cells[7].cell.parallel = Parallel::subinterpreters;
    const auto table = gilbench::report::format_seed_table(cells);
    ASSERT_TRUE(table);
    auto has = [&](const char* pattern) { return std::regex_search(*table, std::regex(pattern)); };
    EXPECT_TRUE(has(R"(^median wall time, emulated +CPU-bound +I/O-bound\n)")) << *table;
    EXPECT_TRUE(has(R"(\nsingle thread +2\.000 s +-\n)")) << *table;
    EXPECT_TRUE(has(R"(\nmulti thread \(2 threads\) +2\.100 s +-\n)")) << *table;
    EXPECT_TRUE(has(R"(\nmulti process \(2 ranks\) +1\.100 s +-\n)")) << *table;
    EXPECT_TRUE(has(R"(\nsubinterpreters \(2\) +1\.200 s +0\.500 s\n)")) << *table;
    EXPECT_TRUE(has(R"(\nfree-threaded-3\.14 \(2 threads\) +1\.300 s +-\n)")) << *table;
    EXPECT_FALSE(has(R"(2\.800|1\.000 s)")) << *table;
    // Rows keep the order above whatever the cells' order.
    EXPECT_LT(table->find("multi process"), table->find("subinterpreters"));
    EXPECT_LT(table->find("subinterpreters"), table->find("free-threaded"));
}

TEST(SeedTable, AbsentWhenNoCellFits) {
    const std::vector<CellTimes> cells{cell("x", gilbench::model::Workload::cpu, 2, 2, {1.0})};
    EXPECT_FALSE(gilbench::report::format_seed_table(cells));
}

// ---- the median's confidence interval ------------------------------------------------------

using gilbench::report::median_interval;

TEST(MedianInterval, EmptyAndOneSample) {
    const auto none = median_interval({});
    EXPECT_EQ(none.level, 0.0);
    const auto one = median_interval({4.0});
    EXPECT_EQ(one.low, 4.0);
    EXPECT_EQ(one.high, 4.0);
    EXPECT_EQ(one.level, 0.0);  // one sample says nothing about where the median is
}

TEST(MedianInterval, BelowSixSamplesItIsMinToMaxWithItsTrueCoverage) {
    const auto two = median_interval({1.0, 2.0});
    EXPECT_EQ(two.low, 1.0);
    EXPECT_EQ(two.high, 2.0);
    EXPECT_DOUBLE_EQ(two.level, 0.5);  // 1 - 2 / 2^2
    const auto five = median_interval({1, 2, 3, 4, 5});
    EXPECT_EQ(five.low, 1.0);
    EXPECT_EQ(five.high, 5.0);
    EXPECT_NEAR(five.level, 0.9375, 1e-12);  // 1 - 2 / 2^5
}

TEST(MedianInterval, MatchesTheBinomialTable) {
    // n = 6: [x(1), x(6)] covers 1 - 2/64 = 0.96875; [x(2), x(5)] only 0.78.
    const auto six = median_interval({1, 2, 3, 4, 5, 6});
    EXPECT_EQ(six.low, 1.0);
    EXPECT_EQ(six.high, 6.0);
    EXPECT_NEAR(six.level, 0.96875, 1e-12);
    // n = 10: [x(2), x(9)] covers 1 - 2 * 11/1024 = 0.978515625.
    std::vector<double> ten;
    for (int i = 1; i <= 10; ++i) ten.push_back(i);
    const auto t = median_interval(ten);
    EXPECT_EQ(t.low, 2.0);
    EXPECT_EQ(t.high, 9.0);
    EXPECT_NEAR(t.level, 0.978515625, 1e-12);
    // n = 100: the textbook interval is [x(40), x(61)] at 0.9648.
    std::vector<double> hundred;
    for (int i = 1; i <= 100; ++i) hundred.push_back(i);
    const auto h = median_interval(hundred);
    EXPECT_EQ(h.low, 40.0);
    EXPECT_EQ(h.high, 61.0);
    EXPECT_NEAR(h.level, 0.9648, 1e-4);
}

TEST(MedianInterval, LargeSamplesDoNotOverflow) {
    std::vector<double> v(20000);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
    const auto ci = median_interval(v);
    EXPECT_GE(ci.level, 0.95);
    EXPECT_LT(ci.level, 0.96);
    EXPECT_LT(ci.low, 10000.0);
    EXPECT_GT(ci.high, 10000.0);
    EXPECT_NEAR(ci.high - ci.low, 2 * 1.96 * 0.5 * std::sqrt(20000.0), 3.0);  // normal approximation
}

TEST(Summary, CarriesTheMedianInterval) {
    const auto s = summarize({5, 1, 4, 2, 6, 3});
    EXPECT_EQ(s.ci.low, 1.0);
    EXPECT_EQ(s.ci.high, 6.0);
}

// ---- across ranks -------------------------------------------------------------------------

namespace {
gilbench::model::WorkerRecord worker(int trial, int rank, int thread, double start, double end) {
    gilbench::model::WorkerRecord w;
    w.trial = trial;
    w.rank = rank;
    w.thread = thread;
    w.start_s = start;
    w.end_s = end;
    return w;
}
}  // namespace

TEST(RankSpread, SpanPerRankMeanOverTrialsThenMinAvgMax) {
    using gilbench::report::rank_spread;
    EXPECT_EQ(rank_spread({}).ranks, 0);
    // rank 0: spans 1.0 and 3.0 (mean 2.0); rank 1: spans 0.5 (two threads) and 1.5 (mean 1.0)
    const auto s = rank_spread({worker(0, 0, 0, 0.0, 1.0), worker(1, 0, 0, 0.0, 3.0), worker(0, 1, 0, 0.1, 0.4),
                                worker(0, 1, 1, 0.2, 0.6), worker(1, 1, 0, 0.5, 2.0)});
    EXPECT_EQ(s.ranks, 2);
    EXPECT_DOUBLE_EQ(s.min, 1.0);
    EXPECT_DOUBLE_EQ(s.max, 2.0);
    EXPECT_DOUBLE_EQ(s.avg, 1.5);
}

TEST(SummarizeCell, LeavesWarmupsAndOtherCellsOut) {
    gilbench::model::Cell c;
    c.index = 1;
    c.warmups = 1;
    std::vector<gilbench::model::TrialRecord> trials{
        {1, 0, true, 100.0}, {1, 1, false, 2.0}, {1, 2, false, 4.0}, {0, 1, false, 50.0}};
    std::vector<gilbench::model::WorkerRecord> workers{worker(0, 0, 0, 0, 100), worker(1, 0, 0, 0, 2),
                                                       worker(2, 0, 0, 0, 4)};
    for (auto& w : workers) w.cell = 1;
    const auto r = gilbench::report::summarize_cell(c, gilbench::report::CellState::partial, trials, workers);
    EXPECT_EQ(r.cell, 1);
    EXPECT_EQ(r.state, "partial");
    EXPECT_EQ(r.trials, 3);
    EXPECT_EQ(r.n, 2);
    EXPECT_DOUBLE_EQ(r.median_s, 3.0);
    EXPECT_DOUBLE_EQ(r.rank_avg_s, 3.0);  // the warm-up's 100 s span is left out
    EXPECT_DOUBLE_EQ(r.ci_level, 0.5);
    const auto none = gilbench::report::summarize_cell(c, gilbench::report::CellState::pending, {}, {});
    EXPECT_EQ(none.n, 0);
    EXPECT_EQ(none.state, "pending");
}

TEST(SummarizeCell, LeavesTrialsWithIoErrorsOutAndCountsThem) {
    gilbench::model::Cell c;
    c.index = 0;
    c.warmups = 1;
    // A failed warm-up is not counted (warm-ups never are); measured: two clean, two failed
    // (the fast 0.004 s of requests refused at once, and a slow one that timed out).
    std::vector<gilbench::model::TrialRecord> trials{
        {0, 0, true, 0.001, 5}, {0, 1, false, 2.0, 0}, {0, 2, false, 0.004, 10}, {0, 3, false, 4.0, 0},
        {0, 4, false, 30.0, 1}};
    std::vector<gilbench::model::WorkerRecord> workers;
    for (int t = 0; t < 5; ++t) workers.push_back(worker(t, 0, 0, 0, trials[static_cast<std::size_t>(t)].wall_s));
    const auto r = gilbench::report::summarize_cell(c, gilbench::report::CellState::complete, trials, workers);
    EXPECT_EQ(r.trials, 5);
    EXPECT_EQ(r.failed_trials, 2);
    EXPECT_EQ(r.n, 2);
    EXPECT_DOUBLE_EQ(r.median_s, 3.0);
    EXPECT_DOUBLE_EQ(r.min_s, 2.0);
    EXPECT_DOUBLE_EQ(r.max_s, 4.0);
    EXPECT_DOUBLE_EQ(r.mean_s, 3.0);
    EXPECT_DOUBLE_EQ(r.rank_avg_s, 3.0);  // the failed trials' spans are left out too

    // Every measured trial failed: no statistics at all, only the count.
    std::vector<gilbench::model::TrialRecord> bad{{0, 1, false, 0.004, 2}, {0, 2, false, 0.003, 2}};
    const auto none = gilbench::report::summarize_cell(c, gilbench::report::CellState::complete, bad, {});
    EXPECT_EQ(none.n, 0);
    EXPECT_EQ(none.failed_trials, 2);
    EXPECT_EQ(none.median_s, 0.0);
}

TEST(CellTable, MarksCellsWithFailedTrials) {
    gilbench::model::Cell a, b;
    a.index = 0;
    a.name = "some";
    b.index = 1;
    b.name = "all";
    gilbench::model::CellSummaryRecord sa;
    sa.cell = 0;
    sa.state = "complete";
    sa.n = 2;
    sa.median_s = 0.5;
    sa.failed_trials = 1;
    gilbench::model::CellSummaryRecord sb;
    sb.cell = 1;
    sb.state = "complete";
    sb.failed_trials = 3;
    const std::string t = gilbench::report::format_cell_table({a, b}, {sa, sb});
    EXPECT_TRUE(std::regex_search(t, std::regex(R"(\nsome .* 2 +0\.5000 .*\(1 of 3 measured trials failed: I/O errors\))")))
        << t;
    EXPECT_TRUE(std::regex_search(t, std::regex(R"(\nall .* 0 +failed +\(3 of 3 measured trials failed: I/O errors\))")))
        << t;
    EXPECT_NE(t.find("left out"), std::string::npos) << t;
}

TEST(SeedTable, MarksFailedTrialsAndShowsNoTimeWhenAllFailed) {
    using gilbench::model::Workload;
    std::vector<CellTimes> cells{cell("a", Workload::cpu, 1, 1, {2.0}), cell("d", Workload::io, 1, 1, {}),
                                 cell("e", Workload::io, 1, 2, {0.5, 0.7})};
    cells[1].failed = 3;
    cells[2].failed = 1;
    const auto table = gilbench::report::format_seed_table(cells);
    ASSERT_TRUE(table);
    auto has = [&](const char* pattern) { return std::regex_search(*table, std::regex(pattern)); };
    EXPECT_TRUE(has(R"(\nsingle thread +2\.000 s +failed \(3 of 3\)\n)")) << *table;
    EXPECT_TRUE(has(R"(\nmulti thread \(2 threads\) +- +0\.600 s \(1 of 3 failed\)\n)")) << *table;
    EXPECT_TRUE(has(R"(I/O errors)")) << *table;
    EXPECT_FALSE(has(R"(0\.00[0-9] s)")) << *table;  // no time for the cell that only failed
}

TEST(CellTable, ShowsStatisticsAndFlagsNarrowIntervals) {
    gilbench::model::Cell a, b;
    a.index = 0;
    a.name = "alpha";
    b.index = 1;
    b.name = "beta";
    gilbench::model::CellSummaryRecord sa;
    sa.cell = 0;
    sa.state = "complete";
    sa.n = 3;
    sa.median_s = 1.25;
    sa.ci_low_s = 1.0;
    sa.ci_high_s = 1.5;
    sa.ci_level = 0.75;
    gilbench::model::CellSummaryRecord sb;
    sb.cell = 1;
    sb.state = "pending";
    const std::string t = gilbench::report::format_cell_table({a, b}, {sa, sb});
    EXPECT_TRUE(std::regex_search(t, std::regex(R"(\nalpha .* 3 +1\.2500 +\[1\.0000, 1\.5000\]\*)"))) << t;
    EXPECT_TRUE(std::regex_search(t, std::regex(R"(\nbeta .* 0 +- +\(pending\))"))) << t;
    EXPECT_NE(t.find("* fewer than 6 measured trials"), std::string::npos) << t;
    EXPECT_EQ(t.find("engine"), std::string::npos) << "one engine, no engine column:\n" << t;
    b.engine = "cpython";
    const std::string both = gilbench::report::format_cell_table({a, b}, {sa, sb});
    EXPECT_TRUE(std::regex_search(both, std::regex(R"(^cell +workload +ranks +threads +gil +engine +scale)"))) << both;
    EXPECT_TRUE(std::regex_search(both, std::regex(R"(\nalpha .* new +emulated +strong +3 +1\.2500)"))) << both;
    EXPECT_TRUE(std::regex_search(both, std::regex(R"(\nbeta .* new +cpython +strong +0 +-)"))) << both;
    EXPECT_EQ(both.find("emulated profiles"), std::string::npos) << both;
}

TEST(CellTable, SpellsOutFreeThreadedProfilesAndSaysTheyAreModelled) {
    gilbench::model::Cell a, b;
    a.index = 0;
    a.name = "ideal";
    a.gil = gilbench::model::GilPolicy::none;
    b.index = 1;
    b.name = "ft";
    b.gil = gilbench::model::GilPolicy::free_threaded_3_14;
    const std::string t = gilbench::report::format_cell_table({a, b}, {});
    EXPECT_TRUE(std::regex_search(t, std::regex(R"(\nideal .* none +strong +0 +-)"))) << t;
    EXPECT_TRUE(std::regex_search(t, std::regex(R"(\nft .* free-threaded-3\.14 strong +0 +-)"))) << t;
    EXPECT_NE(t.find("emulated profiles of CPython's free-threaded build, not measured ones"), std::string::npos) << t;
}

// ---- progress -----------------------------------------------------------------------------

using gilbench::report::PlannedCell;
using gilbench::report::Progress;

TEST(Progress, NoEstimateUntilATrialIsTimed) {
    Progress p({PlannedCell{"a", 4, 0, false, 0.0}});
    EXPECT_FALSE(p.remaining_s());
    EXPECT_EQ(p.fraction_done(), 0.0);
}

TEST(Progress, EstimatesFromTheCellsOwnTrialsThenTheRunsMean) {
    Progress p({PlannedCell{"a", 4, 0, false, 0.0}, PlannedCell{"b", 2, 0, false, 0.0}});
    p.trial_done(0, 1.0);
    p.trial_done(0, 2.0);  // cell a: 1 s per trial
    ASSERT_TRUE(p.remaining_s());
    EXPECT_DOUBLE_EQ(*p.remaining_s(), 2 * 1.0 + 2 * 1.0);  // b not started: the run's mean
    EXPECT_DOUBLE_EQ(p.fraction_done(), 2.0 / 6.0);
    EXPECT_DOUBLE_EQ(*p.remaining_s(2.5), 3.5);  // half a second into the next trial
    p.trial_done(0, 3.0);
    p.trial_done(0, 4.0);
    p.cell_done(0, 4.0);
    p.trial_done(1, 7.0);  // cell b: 3 s per trial
    EXPECT_DOUBLE_EQ(*p.remaining_s(), 3.0);
}

// Rounds order: the cells' trials interleave; each trial's time still counts for its own cell,
// and a cell's budget against its own trials' time.
TEST(Progress, InterleavedTrialsOfRoundsOrderCountForTheirOwnCells) {
    Progress p({PlannedCell{"a", 3, 0, false, 0.0}, PlannedCell{"b", 3, 0, false, 2.5}});
    p.trial_done(0, 1.0);  // a: 1 s
    p.trial_done(1, 3.0);  // b: 2 s
    p.trial_done(0, 4.0);  // a: 1 s
    p.trial_done(1, 6.0);  // b: 2 s, its budget (2.5 s) spent: at most one more
    EXPECT_DOUBLE_EQ(*p.remaining_s(), 1 * 1.0 + 2.0);
    p.cell_done(1, 6.0);
    EXPECT_DOUBLE_EQ(*p.remaining_s(), 1.0);
}

TEST(Progress, BudgetCapsTheEstimateAndClosedCellsCountAsDone) {
    Progress p({PlannedCell{"a", 100, 0, false, 5.0}});
    p.trial_done(0, 1.0);
    EXPECT_DOUBLE_EQ(*p.remaining_s(), (5.0 - 1.0) + 1.0);  // not 99 s
    p.cell_done(0, 5.0);
    EXPECT_DOUBLE_EQ(*p.remaining_s(), 0.0);
    EXPECT_DOUBLE_EQ(p.fraction_done(), 1.0);
}

TEST(Progress, ResumedTrialsCountAsDone) {
    Progress p({PlannedCell{"a", 4, 3, false, 0.0}});
    EXPECT_DOUBLE_EQ(p.fraction_done(), 0.75);
}

TEST(Progress, LineAndBarSayWhereTheRunIs) {
    Progress p({PlannedCell{"first", 2, 0, false, 0.0}, PlannedCell{"second", 3, 0, false, 0.0}});
    p.trial_done(0, 0.5);
    const gilbench::report::TrialUpdate u{0, 0, true, 0.25};
    EXPECT_EQ(gilbench::report::progress_line(p, u, 0.5),
              "cell 1/2 first: trial 1/2 (warm-up) wall 0.250 s (elapsed 0.5 s, left ~2.0 s)");
    const std::string bar = gilbench::report::progress_bar(p, u, 0.5, 200);
    EXPECT_EQ(bar.rfind("[####....................]  20%  cell 1/2  trial 1/2", 0), 0u) << bar;
    EXPECT_LE(gilbench::report::progress_bar(p, u, 0.5, 30).size(), 30u);
}

TEST(Progress, DurationsReadAsAPersonWouldWriteThem) {
    using gilbench::report::format_duration;
    EXPECT_EQ(format_duration(4.24), "4.2 s");
    EXPECT_EQ(format_duration(185), "3m05s");
    EXPECT_EQ(format_duration(3720), "1h02m");
    EXPECT_EQ(format_duration(-1), "0.0 s");
}

TEST(PairedRatio, PairsByTrialNumberAndGivesTheMediansInterval) {
    // Rounds 1..7 of two cells; b lacks round 4 (disturbed, say): 6 pairs.
    const std::vector<int> ta{1, 2, 3, 4, 5, 6, 7}, tb{1, 2, 3, 5, 6, 7};
    const std::vector<double> a{2.2, 2.4, 2.0, 9.0, 2.6, 2.1, 2.3}, b{2.0, 2.0, 2.0, 2.0, 2.0, 2.0};
    const auto r = gilbench::report::paired_ratio(ta, a, tb, b);
    EXPECT_EQ(r.n, 6);
    // ratios 1.1 1.2 1.0 1.3 1.05 1.15: median (1.1 + 1.15) / 2; 6 pairs: [min, max] at 1 - 2/64
    EXPECT_NEAR(r.median, 1.125, 1e-12);
    EXPECT_NEAR(r.ci.low, 1.0, 1e-12);
    EXPECT_NEAR(r.ci.high, 1.3, 1e-12);
    EXPECT_NEAR(r.ci.level, 1.0 - 2.0 / 64, 1e-12);
    EXPECT_EQ(gilbench::report::paired_ratio({1}, {1.0}, {2}, {1.0}).n, 0);  // no common round
}

TEST(SeedTable, ShowsEachLayoutsRatioToItsSingleThreadWithItsInterval) {
    using gilbench::model::Workload;
    std::vector<CellTimes> cells{cell("a", Workload::cpu, 1, 1, {2.0, 2.0, 2.0, 2.0, 2.0, 2.0}),
                                 cell("b", Workload::cpu, 1, 2, {2.2, 2.4, 2.0, 2.6, 2.1, 2.3}),
                                 cell("c", Workload::cpu, 2, 1, {1.0, 1.1})};
    cells[0].trial = cells[1].trial = {1, 2, 3, 4, 5, 6};
    cells[2].trial = {1, 2};
    cells[2].disturbed = 4;
    cells[2].disturbance = "other processes used 1.30 CPUs";
    const auto table = gilbench::report::format_seed_table(cells);
    ASSERT_TRUE(table);
    auto has = [&](const char* pattern) { return std::regex_search(*table, std::regex(pattern)); };
    EXPECT_TRUE(has(R"(\nsingle thread +2\.000 s +-\n)")) << *table;
    EXPECT_TRUE(has(R"(\nmulti thread \(2 threads\) +2\.250 s 1\.12x \[1\.00, 1\.30\] +-\n)")) << *table;
    // 2 pairs reach only 50 %: the level is shown, and so are the disturbed trials.
    EXPECT_TRUE(has(R"(\nmulti process \(2 ranks\) +1\.050 s 0\.53x \[0\.50, 0\.55\] \(50%\) \(4 of 6 disturbed\) +-\n)"))
        << *table;
    EXPECT_TRUE(has(R"(4 of 6 trials disturbed: other processes used 1\.30 CPUs; they are left out)")) << *table;
}

TEST(SummarizeCell, LeavesDisturbedTrialsOutUnlessTheRunKeepsThem) {
    gilbench::model::Cell c;
    c.index = 0;
    std::vector<gilbench::model::TrialRecord> trials(4);
    const double walls[] = {2.0, 9.0, 4.0, 3.0};
    for (int t = 0; t < 4; ++t) {
        trials[static_cast<std::size_t>(t)].trial = t;
        trials[static_cast<std::size_t>(t)].wall_s = walls[t];
    }
    trials[1].disturbed = true;
    trials[1].disturbance = "the reference loop ran 14 % slow";
    const auto dropped = gilbench::report::summarize_cell(c, gilbench::report::CellState::complete, trials, {});
    EXPECT_EQ(dropped.n, 3);
    EXPECT_EQ(dropped.disturbed_trials, 1);
    EXPECT_DOUBLE_EQ(dropped.max_s, 4.0);
    const auto kept = gilbench::report::summarize_cell(c, gilbench::report::CellState::complete, trials, {}, true);
    EXPECT_EQ(kept.n, 4);
    EXPECT_EQ(kept.disturbed_trials, 1);
    EXPECT_DOUBLE_EQ(kept.max_s, 9.0);
}
