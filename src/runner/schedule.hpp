// The order a run's trials take: one list of slots (cell, trial) made from the plan, the job's
// order and what a resumed run has stored. The runner drives every trial from it, in every
// order, so resume, budgets and stops act on one schedule (as Google Benchmark drives its
// repetitions from one list of indices).
#pragma once

#include <cstddef>
#include <set>
#include <vector>

#include "model/cell.hpp"

namespace gilbench::runner {

struct Slot {
    std::size_t cell = 0;  // the cell's place in the plan
    int trial = 0;         // 0-based, warm-ups first; also the round of rounds orders
    int round = -1;        // the round it belongs to: its trial's, or the one a retry repeats (-1: = trial)
    int round_of() const { return round < 0 ? trial : round; }
};

// Orders (model::Order):
//   cells        every trial of a cell, then the next cell;
//   rounds       round k runs trial k of every cell that has one, in plan order;
//   alternating  as rounds, but odd rounds run the cells in reverse plan order (A B C, C B A,
//                A B C ...): over two rounds every pair of cells runs once each way round, so a
//                drift of the machine that is linear over the two rounds adds the same to both
//                sides of every ratio (an ABBA design), while adjacent cells stay adjacent.
// `stored[c]`: trials of cell c a resumed run has already (left out); `closed[c]`: the cell's
// time budget already ran out (nothing of it is scheduled).
class Schedule {
public:
    Schedule(const std::vector<model::Cell>& cells, model::Order order,
             const std::vector<std::set<int>>& stored = {}, const std::vector<char>& closed = {});

    const std::vector<Slot>& slots() const { return slots_; }
    // Whether cell `cell` has a slot after position `at` (-1: any slot at all).
    bool cell_has_after(std::size_t cell, std::ptrdiff_t at) const {
        return last_[cell] > at;
    }
    // The number of rounds: the most trials any cell has (warm-ups included).
    int rounds() const { return rounds_; }
    // A retry: `slot` runs right after position `at` (so it stays next to the cells it is
    // compared with), in the same round as the slot at `at`.
    void insert_after(std::size_t at, Slot slot);
    // More rounds at the end (repeats = "auto", once its pilot fixed their number): trials
    // from[c] .. to[c] - 1 of each cell c, in the order's way (round k keeps its place in
    // the alternation).
    void extend(model::Order order, const std::vector<int>& from, const std::vector<int>& to);

private:
    std::vector<Slot> slots_;
    std::vector<std::ptrdiff_t> last_;  // per cell: the position of its last slot, -1 if none
    int rounds_ = 0;
};

// The order of the cells in round `round` (rounds and alternating orders): plan positions.
std::vector<std::size_t> round_order(std::size_t cells, model::Order order, int round);

}  // namespace gilbench::runner
