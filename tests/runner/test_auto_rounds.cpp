// repeats = "auto" (runner/auto_rounds.hpp): Stein's rule on known numbers, each cell's base,
// the decision's caps, and by simulation the rule's error rate: the interval it sizes covers the
// true ratio 95 % of the time, and is no wider than asked.
#include "runner/auto_rounds.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

namespace ar = gilbench::runner::auto_rounds;
using gilbench::model::AutoRounds;
using gilbench::model::Cell;
using gilbench::model::Workload;

namespace {

Cell cell(const char* name, int threads, int ranks = 1, Workload w = Workload::cpu) {
    Cell c;
    c.name = name;
    c.threads = threads;
    c.ranks = ranks;
    c.workload = w;
    c.work = 1000;
    return c;
}

// Rounds 0..n-1 of a cell whose time is `base` times exp(log_ratios[k]).
std::map<int, double> rounds(const std::vector<double>& log_ratios, double base = 1.0) {
    std::map<int, double> out;
    for (std::size_t k = 0; k < log_ratios.size(); ++k) out[static_cast<int>(k) + 1] = base * std::exp(log_ratios[k]);
    return out;
}

}  // namespace

TEST(AutoRounds, StudentQuantilesMatchTheTables) {
    EXPECT_NEAR(ar::t_quantile(0.975, 5), 2.5706, 1e-4);
    EXPECT_NEAR(ar::t_quantile(0.975, 30), 2.0423, 1e-4);
}

TEST(AutoRounds, SteinsRuleOnKnownNumbers) {
    // (2.5706 * 0.05 / log 1.03)^2 = 18.9: 19 rounds.
    EXPECT_EQ(ar::rounds_for(0.05, 6, 0.03), 19);
    // A quiet pilot asks for no more than it ran.
    EXPECT_EQ(ar::rounds_for(0.001, 6, 0.03), 6);
    // Half the precision: four times the rounds (ceil(4 * 18.9) = 76).
    EXPECT_EQ(ar::rounds_for(0.05, 6, std::expm1(std::log1p(0.03) / 2)), 76);
    EXPECT_EQ(ar::rounds_for(0.05, 1, 0.03), 1);  // no spread from one round
}

TEST(AutoRounds, EachCellsBaseIsItsOneThreadOneRankTwin) {
    std::vector<Cell> cells{cell("1t", 1), cell("2t", 2), cell("2r", 1, 2), cell("io", 1, 1, Workload::io),
                            cell("io-2t", 2, 1, Workload::io), cell("4t-slow", 4)};
    cells[5].switch_interval_s = 0.05;  // differs in a measured setting: no base
    EXPECT_EQ(ar::base_cells(cells), (std::vector<std::ptrdiff_t>{-1, 0, 0, -1, 3, -1}));
}

TEST(AutoRounds, TheNoisiestComparisonFixesTheRounds) {
    std::vector<Cell> cells{cell("1t", 1), cell("2t", 2), cell("2r", 1, 2)};
    const std::vector<double> quiet{0.01, -0.01, 0.0, 0.01, -0.01, 0.0};
    const std::vector<double> noisy{0.06, -0.06, 0.02, -0.02, 0.05, -0.05};
    ar::RoundTimes times{rounds(std::vector<double>(6, 0.0), 1.0), rounds(quiet, 1.0), rounds(noisy, 0.5)};
    AutoRounds a;
    a.on = true;
    const ar::Decision d = ar::decide(a, cells, times, 0, 0);
    EXPECT_EQ(d.reason, "precision");
    EXPECT_GT(d.rounds, 6);
    EXPECT_NE(d.detail.find("'2r' against '1t'"), std::string::npos) << d.detail;
    // What the noisy pair asks for alone.
    double mean = 0, ss = 0;
    for (double v : noisy) mean += v / 6;
    for (double v : noisy) ss += (v - mean) * (v - mean);
    EXPECT_EQ(d.rounds, ar::rounds_for(std::sqrt(ss / 5), 6, 0.03));
}

TEST(AutoRounds, TheMaximumAndTheBudgetCapTheRounds) {
    std::vector<Cell> cells{cell("1t", 1), cell("2t", 2)};
    ar::RoundTimes times{rounds(std::vector<double>(6, 0.0)), rounds({0.2, -0.2, 0.1, -0.1, 0.2, -0.2})};
    AutoRounds a;
    a.on = true;
    a.max = 25;
    ar::Decision d = ar::decide(a, cells, times, 0, 0);
    EXPECT_EQ(d.reason, "max");
    EXPECT_EQ(d.rounds, 25);
    // 7 rounds (1 warm-up + 6) took 14 s: 2 s a round; 90 % of 30 s leave 13 s: 6 more.
    a.budget_s = 30;
    d = ar::decide(a, cells, times, 14, 7);
    EXPECT_EQ(d.reason, "budget");
    EXPECT_EQ(d.rounds, 6 + 6);
    // A budget already spent keeps the pilot.
    a.budget_s = 10;
    EXPECT_EQ(ar::decide(a, cells, times, 14, 7).rounds, 6);
}

TEST(AutoRounds, WithoutPairsThePilotStands) {
    std::vector<Cell> cells{cell("1t", 1), cell("2t", 2)};
    ar::RoundTimes times{rounds({0.0, 0.0}), std::map<int, double>{{5, 1.0}}};  // no round in common
    AutoRounds a;
    a.on = true;
    const ar::Decision d = ar::decide(a, cells, times, 0, 0);
    EXPECT_EQ(d.reason, "pilot");
    EXPECT_EQ(d.rounds, a.pilot);
}

TEST(AutoRounds, ACellWithoutBaseIsJudgedOnItsOwnTime) {
    std::vector<Cell> cells{cell("io", 1, 1, Workload::io)};
    ar::RoundTimes times{rounds({0.04, -0.04, 0.02, -0.02, 0.04, -0.04})};
    AutoRounds a;
    a.on = true;
    const ar::Decision d = ar::decide(a, cells, times, 0, 0);
    EXPECT_EQ(d.reason, "precision");
    EXPECT_EQ(d.rounds, 11);  // sd 0.0379: (2.5706 * 0.0379 / log 1.03)^2 = 10.9
    EXPECT_NE(d.detail.find("its time spread"), std::string::npos) << d.detail;
}

TEST(AutoRounds, ACellsOwnPrecisionSizesItsComparison) {
    // The noisy pair asks for many rounds at the job's 3 %, few at its own 50 %: the quieter pair
    // at 3 % then fixes the run.
    std::vector<Cell> cells{cell("1t", 1), cell("2t", 2), cell("2r", 1, 2)};
    const std::vector<double> quiet{0.06, -0.06, 0.02, -0.02, 0.05, -0.05};
    const std::vector<double> noisy{0.3, -0.3, 0.1, -0.1, 0.25, -0.25};
    ar::RoundTimes times{rounds(std::vector<double>(6, 0.0), 1.0), rounds(quiet, 1.0), rounds(noisy, 0.5)};
    AutoRounds a;
    a.on = true;
    a.max = 100000;
    const int at_job_precision = ar::decide(a, cells, times, 0, 0).rounds;
    cells[2].precision = 0.5;
    // Its own precision is not a setting its base must share.
    EXPECT_EQ(ar::base_cells(cells), (std::vector<std::ptrdiff_t>{-1, 0, 0}));
    const ar::Decision d = ar::decide(a, cells, times, 0, 0);
    EXPECT_LT(d.rounds, at_job_precision);
    double ss = 0;  // the quieter pair's own need at 3 % (its mean is 0)
    for (double v : quiet) ss += v * v;
    EXPECT_EQ(d.rounds, ar::rounds_for(std::sqrt(ss / 5), 6, 0.03));
    EXPECT_NE(d.detail.find("'2t' against '1t'"), std::string::npos) << d.detail;
    // Made the noisiest at its own precision, the detail says which precision asked.
    cells[2].precision = 0.005;
    const ar::Decision strict = ar::decide(a, cells, times, 0, 0);
    EXPECT_GT(strict.rounds, at_job_precision);
    EXPECT_NE(strict.detail.find("for its precision of 0.5 %"), std::string::npos) << strict.detail;
}

// The error rate of the whole procedure, simulated: a pilot of 6 paired rounds fixes N (Stein),
// N - 6 more rounds are drawn, and the interval is the mean of all N per-round log ratios.
// - Stein's own interval (+- t(0.975, 5) * s_pilot / sqrt(N)) covers the true log ratio 95 % of
//   the time (exact for normal rounds) and is never wider than the precision asked.
// - The t interval from all N rounds (what a reader computes afterwards; the report's
//   bootstrap is close to it) also covers about 95 %: N depends on the pilot's spread only,
//   never on the estimate, so stopping there biases nothing.
TEST(AutoRounds, SimulatedErrorRateOfTheRuleIsFivePercent) {
    std::mt19937_64 rng(20261207);
    const double precision = 0.03, h = std::log1p(precision), truth = 0.1;
    const int pilot = 6, runs = 4000;
    int stein_covers = 0, t_covers = 0, stein_too_wide = 0;
    for (int run = 0; run < runs; ++run) {
        // The machine's noise differs from run to run: 2 % to 10 % per round.
        const double sigma = 0.02 + 0.08 * (run % 9) / 8.0;
        std::normal_distribution<double> round(truth, sigma);
        std::vector<double> x;
        for (int k = 0; k < pilot; ++k) x.push_back(round(rng));
        double m0 = 0, ss0 = 0;
        for (double v : x) m0 += v / pilot;
        for (double v : x) ss0 += (v - m0) * (v - m0);
        const double s0 = std::sqrt(ss0 / (pilot - 1));
        const int n = ar::rounds_for(s0, pilot, precision);
        while (static_cast<int>(x.size()) < n) x.push_back(round(rng));
        double m = 0;
        for (double v : x) m += v / n;
        double ss = 0;
        for (double v : x) ss += (v - m) * (v - m);
        const double stein_half = ar::t_quantile(0.975, pilot - 1) * s0 / std::sqrt(n);
        const double t_half = ar::t_quantile(0.975, n - 1) * std::sqrt(ss / (n - 1)) / std::sqrt(n);
        stein_covers += std::abs(m - truth) <= stein_half;
        t_covers += std::abs(m - truth) <= t_half;
        stein_too_wide += stein_half > h * (1 + 1e-12);
    }
    const double stein = double(stein_covers) / runs, t = double(t_covers) / runs;
    // The figures docs/statistics.md quotes.
    std::printf("simulated coverage: Stein %.4f, t over all rounds %.4f (%d runs)\n", stein, t, runs);
    EXPECT_GE(stein, 0.935) << stein;
    EXPECT_LE(stein, 0.965) << stein;
    EXPECT_GE(t, 0.93) << t;
    EXPECT_LE(t, 0.97) << t;
    EXPECT_EQ(stein_too_wide, 0);
}
