// repeats = "auto": how many rounds a run takes, fixed once from a pilot (Stein's two-stage
// rule). Adding rounds until an interval looks narrow enough would let the data decide when to
// stop, and so widen the real error beyond the nominal 5 % (optional stopping); here the pilot's
// spread alone fixes the count, before any further round is seen, and the estimates never
// enter it. Pure (no MPI): the runner calls decide() on rank 0 after the pilot's last round.
//
// The comparisons are the ones the tables make: every cell against its base, the cell with the
// same settings run as one thread in one rank (a 2-thread cell against the 1-thread one, two
// ranks against one), paired by round. A cell with no base and no cell based on it is judged on
// its own time. For each, with s the standard deviation of the pilot's per-round log ratios over
// n paired rounds and h = log(1 + precision), Stein's rule takes
//     N = max(n, ceil((t(0.975, n - 1) * s / h)^2))
// rounds, so that the 95 % interval t(0.975, n - 1) * s / sqrt(N) is at most h wide on each
// side (exact for normal per-round log ratios: Stein, Ann. Math. Statist. 16(3), 1945). The run
// takes the largest N over the comparisons, at most `max`, and no more than 90 % of its time
// budget allows at the pilot's pace (retries and a slower machine make later rounds longer). docs/statistics.md says more; tests/runner/test_auto_rounds.cpp
// checks the coverage and the widths by simulation.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "model/cell.hpp"

namespace gilbench::runner::auto_rounds {

// Per cell: wall seconds of its measured trials by round (one value per round).
using RoundTimes = std::vector<std::map<int, double>>;

// Each cell's base (its place in `cells`): the cell with threads = 1, ranks = 1 and every other
// setting the same but name, io_threads, placement, repeats, warmups, trace and time budget;
// -1 where there is none or the cell is its own base.
std::vector<std::ptrdiff_t> base_cells(const std::vector<model::Cell>& cells);

// Student's t quantile (boost::math).
double t_quantile(double p, int df);

// Stein's N for one comparison: its pilot gave standard deviation `sd` (of per-round log
// ratios) over `n` >= 2 paired rounds; at least n.
int rounds_for(double sd, int n, double precision);

struct Decision {
    int rounds = 0;      // measured rounds every auto cell gets (the pilot's included)
    std::string reason;  // "precision" | "max" | "budget" | "pilot" (no comparison could be judged)
    std::string detail;  // the comparison that asked for the most rounds, and what it asked
};

// After the pilot: `times` holds its measured rounds; `elapsed_s` the seconds this start has
// run and `rounds_run` the rounds (warm-ups included) it ran in them, for the budget.
Decision decide(const model::AutoRounds& settings, const std::vector<model::Cell>& cells, const RoundTimes& times,
                double elapsed_s, int rounds_run);

}  // namespace gilbench::runner::auto_rounds
