// The trial schedule (runner/schedule.hpp): every order's slots, what a resumed run leaves out,
// cells of different trial counts, and closed (budget) cells.
#include "runner/schedule.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace gr = gilbench::runner;
using gilbench::model::Cell;
using gilbench::model::Order;

namespace {

std::vector<Cell> cells_with_trials(const std::vector<std::pair<int, int>>& warmups_repeats) {
    std::vector<Cell> cells;
    for (const auto& [w, r] : warmups_repeats) {
        Cell c;
        c.index = static_cast<int>(cells.size());
        c.warmups = w;
        c.repeats = r;
        cells.push_back(c);
    }
    return cells;
}

std::vector<std::pair<std::size_t, int>> flat(const gr::Schedule& s) {
    std::vector<std::pair<std::size_t, int>> out;
    for (const gr::Slot& slot : s.slots()) out.emplace_back(slot.cell, slot.trial);
    return out;
}

using Slots = std::vector<std::pair<std::size_t, int>>;

}  // namespace

TEST(Schedule, CellsOrderRunsEveryTrialOfACellThenTheNext) {
    const gr::Schedule s(cells_with_trials({{1, 1}, {0, 2}}), Order::cells);
    EXPECT_EQ(flat(s), (Slots{{0, 0}, {0, 1}, {1, 0}, {1, 1}}));
    EXPECT_EQ(s.rounds(), 2);
}

TEST(Schedule, RoundsOrderRunsTrialKOfEveryCellFirst) {
    const gr::Schedule s(cells_with_trials({{1, 2}, {0, 4}, {0, 1}}), Order::rounds);
    EXPECT_EQ(flat(s), (Slots{{0, 0}, {1, 0}, {2, 0}, {0, 1}, {1, 1}, {0, 2}, {1, 2}, {1, 3}}));
    EXPECT_EQ(s.rounds(), 4);
}

TEST(Schedule, AlternatingOrderReversesOddRounds) {
    const gr::Schedule s(cells_with_trials({{0, 3}, {0, 3}, {0, 3}}), Order::alternating);
    EXPECT_EQ(flat(s), (Slots{{0, 0}, {1, 0}, {2, 0}, {2, 1}, {1, 1}, {0, 1}, {0, 2}, {1, 2}, {2, 2}}));
    // Over rounds 0 and 1 every pair runs once each way round (the ABBA balance).
    for (std::size_t a = 0; a < 3; ++a)
        for (std::size_t b = a + 1; b < 3; ++b) {
            const auto r0 = gr::round_order(3, Order::alternating, 0);
            const auto r1 = gr::round_order(3, Order::alternating, 1);
            auto pos = [](const std::vector<std::size_t>& r, std::size_t c) {
                return std::find(r.begin(), r.end(), c) - r.begin();
            };
            EXPECT_NE(pos(r0, a) < pos(r0, b), pos(r1, a) < pos(r1, b));
        }
}

TEST(Schedule, AResumedRunLeavesOutWhatIsStoredAndKeepsTheOrder) {
    const auto cells = cells_with_trials({{0, 3}, {0, 3}});
    const gr::Schedule whole(cells, Order::alternating);
    const gr::Schedule resumed(cells, Order::alternating, {{0, 1}, {0}});
    // The resumed schedule is the whole one without the stored slots, in the same order.
    Slots expected;
    for (const auto& slot : flat(whole))
        if (!(slot == std::pair<std::size_t, int>{0, 0} || slot == std::pair<std::size_t, int>{0, 1} ||
              slot == std::pair<std::size_t, int>{1, 0}))
            expected.push_back(slot);
    EXPECT_EQ(flat(resumed), expected);
    EXPECT_EQ(flat(resumed), (Slots{{1, 1}, {0, 2}, {1, 2}}));
}

TEST(Schedule, ClosedCellsGetNoSlotsAndCellHasAfterTracksTheLast) {
    const gr::Schedule s(cells_with_trials({{0, 2}, {0, 2}}), Order::rounds, {}, {1, 0});
    EXPECT_EQ(flat(s), (Slots{{1, 0}, {1, 1}}));
    EXPECT_FALSE(s.cell_has_after(0, -1));
    EXPECT_TRUE(s.cell_has_after(1, -1));
    EXPECT_TRUE(s.cell_has_after(1, 0));
    EXPECT_FALSE(s.cell_has_after(1, 1));
}

TEST(Schedule, ARetryRunsNextInTheRoundOfTheTrialItRepeats) {
    gr::Schedule s(cells_with_trials({{0, 2}, {0, 2}}), Order::rounds);
    // Slot 1 is cell 1's trial 0 (round 0); its retry gets trial 2 and round 0.
    s.insert_after(1, gr::Slot{1, 2, -1});
    EXPECT_EQ(flat(s), (Slots{{0, 0}, {1, 0}, {1, 2}, {0, 1}, {1, 1}}));
    EXPECT_EQ(s.slots()[2].round_of(), 0);
    EXPECT_EQ(s.slots()[4].round_of(), 1);
    // A retry of the retry stays in round 0.
    s.insert_after(2, gr::Slot{1, 3, -1});
    EXPECT_EQ(s.slots()[3].trial, 3);
    EXPECT_EQ(s.slots()[3].round_of(), 0);
    EXPECT_TRUE(s.cell_has_after(1, 4));
    EXPECT_FALSE(s.cell_has_after(1, 5));
    EXPECT_FALSE(s.cell_has_after(0, 4));  // cell 0's last slot moved from 2 to 4
    EXPECT_TRUE(s.cell_has_after(0, 3));
}

TEST(Schedule, ExtendAddsRoundsThatKeepTheAlternation) {
    // repeats = "auto": a pilot of 1 warm-up + 2 measured rounds, then 2 more rounds.
    gr::Schedule s(cells_with_trials({{1, 2}, {1, 2}}), Order::alternating);
    s.extend(Order::alternating, {3, 3}, {5, 5});
    EXPECT_EQ(flat(s), (Slots{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 2}, {1, 2}, {1, 3}, {0, 3}, {0, 4}, {1, 4}}));
    EXPECT_EQ(s.rounds(), 5);
    EXPECT_TRUE(s.cell_has_after(0, 7));
    EXPECT_FALSE(s.cell_has_after(0, 8));
    EXPECT_TRUE(s.cell_has_after(1, 8));
    EXPECT_FALSE(s.cell_has_after(1, 9));
}

TEST(Schedule, ExtendSkipsCellsWithNothingToAdd) {
    gr::Schedule s(cells_with_trials({{0, 1}, {0, 1}}), Order::cells);
    s.extend(Order::cells, {1, 0}, {3, 0});  // cell 1 ended (its budget): nothing for it
    EXPECT_EQ(flat(s), (Slots{{0, 0}, {1, 0}, {0, 1}, {0, 2}}));
}
