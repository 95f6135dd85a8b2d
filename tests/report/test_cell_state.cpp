#include <gtest/gtest.h>

#include <set>
#include <string>

#include "report/summary.hpp"

using gilbench::report::CellState;
using gilbench::report::cell_states;
using gilbench::report::parse_cell_state;
using gilbench::report::to_string;

// The text is what summary.state holds in every file written so far: it must not change.
TEST(CellState, StoredTextIsTheSchemas) {
    EXPECT_STREQ(to_string(CellState::pending), "pending");
    EXPECT_STREQ(to_string(CellState::partial), "partial");
    EXPECT_STREQ(to_string(CellState::budget), "budget");
    EXPECT_STREQ(to_string(CellState::complete), "complete");
}

TEST(CellState, EveryStateReadsBackAsItself) {
    std::set<std::string> texts;
    for (const CellState s : cell_states) {
        EXPECT_EQ(parse_cell_state(to_string(s)), s) << to_string(s);
        texts.insert(to_string(s));
    }
    EXPECT_EQ(texts.size(), std::size(cell_states));  // no two states share a text
}

TEST(CellState, UnknownTextIsNoState) {
    EXPECT_EQ(parse_cell_state(""), std::nullopt);
    EXPECT_EQ(parse_cell_state("Budget"), std::nullopt);
    EXPECT_EQ(parse_cell_state("abandoned"), std::nullopt);  // a newer gilbench's state
}
