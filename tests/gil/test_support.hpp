// Helpers shared by the gil and interp tests: bounded waiting and trace checks.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "gil/gil.hpp"

namespace gilbench::test {

// Polls `pred` (yielding) until it holds or `limit` passes, and returns its last value, so a
// test can ASSERT_TRUE(eventually(...)) and never hang on a broken implementation.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) return pred();
        std::this_thread::yield();
    }
    return true;
}

struct HoldInterval {
    double take_s;
    double drop_s;
    int thread;
};

// Parses one thread's trace into its hold intervals, checking that it is well formed: take
// and drop alternate starting with take, ending with drop, times never go back, and drop
// requests are only made while not holding.
inline std::vector<HoldInterval> hold_intervals(const gil::ThreadState& ts) {
    std::vector<HoldInterval> out;
    bool holding = false;
    double last_t = -1e300;
    for (const gil::TraceEvent& e : ts.trace()) {
        EXPECT_GE(e.t_s, last_t) << "thread " << ts.id() << ": trace time went back";
        last_t = e.t_s;
        switch (e.kind) {
        case gil::EventKind::take:
            EXPECT_FALSE(holding) << "thread " << ts.id() << ": take while holding";
            holding = true;
            out.push_back({e.t_s, e.t_s, ts.id()});
            break;
        case gil::EventKind::drop:
            EXPECT_TRUE(holding) << "thread " << ts.id() << ": drop while not holding";
            holding = false;
            if (!out.empty()) out.back().drop_s = e.t_s;
            break;
        case gil::EventKind::request:
            EXPECT_FALSE(holding) << "thread " << ts.id() << ": drop request while holding";
            break;
        case gil::EventKind::io_start:
        case gil::EventKind::io_end:
            break;
        }
    }
    EXPECT_FALSE(holding) << "thread " << ts.id() << ": trace ends holding the GIL";
    return out;
}

// No two threads' hold intervals overlap: the GIL was never held twice at once.
inline void expect_exclusive(const std::vector<const gil::ThreadState*>& threads) {
    std::vector<HoldInterval> all;
    for (const gil::ThreadState* ts : threads) {
        EXPECT_EQ(ts->trace_dropped(), 0) << "trace capacity too small for the check";
        const auto mine = hold_intervals(*ts);
        all.insert(all.end(), mine.begin(), mine.end());
    }
    std::sort(all.begin(), all.end(),
              [](const HoldInterval& a, const HoldInterval& b) { return a.take_s < b.take_s; });
    for (std::size_t i = 1; i < all.size(); ++i) {
        // Equal times are fine: a drop and the next take can fall on the same clock tick.
        EXPECT_GE(all[i].take_s, all[i - 1].drop_s)
            << "thread " << all[i].thread << " took the GIL at " << all[i].take_s
            << " s while thread " << all[i - 1].thread << " held it until "
            << all[i - 1].drop_s << " s";
    }
}

}  // namespace gilbench::test
