#include <gtest/gtest.h>

#include <regex>

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

TEST(SeedTable, AbsentWhenNoCellFits) {
    const std::vector<CellTimes> cells{cell("x", gilbench::model::Workload::cpu, 2, 2, {1.0})};
    EXPECT_FALSE(gilbench::report::format_seed_table(cells));
    EXPECT_NE(gilbench::report::format_cell_table(cells).find("x "), std::string::npos);
}
