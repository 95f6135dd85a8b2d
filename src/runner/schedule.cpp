#include "runner/schedule.hpp"

#include <algorithm>
#include <numeric>

namespace gilbench::runner {

std::vector<std::size_t> round_order(std::size_t cells, model::Order order, int round) {
    std::vector<std::size_t> out(cells);
    std::iota(out.begin(), out.end(), std::size_t{0});
    if (order == model::Order::alternating && round % 2 == 1) std::reverse(out.begin(), out.end());
    return out;
}

Schedule::Schedule(const std::vector<model::Cell>& cells, model::Order order, const std::vector<std::set<int>>& stored,
                   const std::vector<char>& closed) {
    const std::size_t n = cells.size();
    auto trials = [&](std::size_t c) { return cells[c].warmups + cells[c].repeats; };
    auto wanted = [&](std::size_t c, int t) {
        if (c < closed.size() && closed[c]) return false;
        return !(c < stored.size() && stored[c].count(t));
    };
    for (std::size_t c = 0; c < n; ++c) rounds_ = std::max(rounds_, trials(c));
    if (order == model::Order::cells) {
        for (std::size_t c = 0; c < n; ++c)
            for (int t = 0; t < trials(c); ++t)
                if (wanted(c, t)) slots_.push_back({c, t});
    } else {
        for (int k = 0; k < rounds_; ++k)
            for (std::size_t c : round_order(n, order, k))
                if (k < trials(c) && wanted(c, k)) slots_.push_back({c, k});
    }
    last_.assign(n, -1);
    for (std::size_t i = 0; i < slots_.size(); ++i) last_[slots_[i].cell] = static_cast<std::ptrdiff_t>(i);
}

void Schedule::insert_after(std::size_t at, Slot slot) {
    slot.round = slots_.at(at).round_of();
    slots_.insert(slots_.begin() + static_cast<std::ptrdiff_t>(at) + 1, slot);
    for (auto& last : last_)
        if (last > static_cast<std::ptrdiff_t>(at)) ++last;
    last_.at(slot.cell) = std::max(last_[slot.cell], static_cast<std::ptrdiff_t>(at) + 1);
}

void Schedule::extend(model::Order order, const std::vector<int>& from, const std::vector<int>& to) {
    const std::size_t n = std::min(from.size(), to.size());
    auto add = [&](std::size_t c, int t) {
        last_.at(c) = static_cast<std::ptrdiff_t>(slots_.size());
        slots_.push_back({c, t});
    };
    int end = 0;
    for (std::size_t c = 0; c < n; ++c) end = std::max(end, to[c]);
    if (order == model::Order::cells) {
        for (std::size_t c = 0; c < n; ++c)
            for (int t = from[c]; t < to[c]; ++t) add(c, t);
    } else {
        for (int k = 0; k < end; ++k)
            for (std::size_t c : round_order(n, order, k))
                if (k >= from[c] && k < to[c]) add(c, k);
    }
    rounds_ = std::max(rounds_, end);
}

}  // namespace gilbench::runner
