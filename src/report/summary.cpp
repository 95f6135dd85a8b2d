#include "report/summary.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

namespace gilbench::report {

Summary summarize(std::vector<double> v) {
    Summary s;
    s.n = static_cast<int>(v.size());
    if (v.empty()) return s;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    s.min = v.front();
    s.max = v.back();
    s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(n);
    if (n >= 2) {
        double ss = 0.0;
        for (double x : v) ss += (x - s.mean) * (x - s.mean);
        s.stddev = std::sqrt(std::max(0.0, ss / static_cast<double>(n - 1)));
    }
    return s;
}

std::string format_cell_table(const std::vector<CellTimes>& cells) {
    std::size_t name_w = 4;
    for (const auto& c : cells) name_w = std::max(name_w, c.cell.name.size());
    std::string out = fmt::format("{:<{}}  {:<8} {:>5} {:>7} {:<4} {:>3} {:>10} {:>10} {:>10}\n", "cell", name_w,
                                  "workload", "ranks", "threads", "gil", "n", "median s", "min s", "max s");
    for (const auto& c : cells) {
        const Summary s = summarize(c.wall_s);
        out += fmt::format("{:<{}}  {:<8} {:>5} {:>7} {:<4} {:>3} {:>10.4f} {:>10.4f} {:>10.4f}\n", c.cell.name,
                           name_w, model::to_string(c.cell.workload), c.cell.ranks, c.cell.threads, c.cell.gil, s.n,
                           s.median, s.min, s.max);
    }
    return out;
}

std::optional<std::string> format_seed_table(const std::vector<CellTimes>& cells) {
    enum Row { single_thread, multi_thread, multi_process };
    auto row_of = [](const model::Cell& c) -> std::optional<Row> {
        if (c.ranks == 1 && c.threads == 1) return single_thread;
        if (c.ranks == 1 && c.threads > 1) return multi_thread;
        if (c.ranks > 1 && c.threads == 1) return multi_process;
        return std::nullopt;
    };
    std::array<std::array<const CellTimes*, 2>, 3> slot{};
    bool any = false;
    for (const auto& c : cells) {
        if (c.cell.workload == model::Workload::mixed) continue;  // the convoy case has its own figure
        const auto row = row_of(c.cell);
        const int col = c.cell.workload == model::Workload::cpu ? 0 : 1;
        if (row && !slot[*row][col]) {
            slot[*row][col] = &c;
            any = true;
        }
    }
    if (!any) return std::nullopt;

    auto label = [](Row r, const std::array<const CellTimes*, 2>& s) {
        const CellTimes* c = s[0] ? s[0] : s[1];
        switch (r) {
            case single_thread: return std::string("single thread");
            case multi_thread: return fmt::format("multi thread ({} threads)", c->cell.threads);
            case multi_process: return fmt::format("multi process ({} ranks)", c->cell.ranks);
        }
        return std::string();
    };
    auto value = [](const CellTimes* c) {
        if (!c) return std::string("-");
        const Summary s = summarize(c->wall_s);
        return fmt::format("{:.3f} s", s.median);
    };
    std::string out = fmt::format("{:<26} {:>12} {:>12}\n", "median wall time", "CPU-bound", "I/O-bound");
    for (Row r : {single_thread, multi_thread, multi_process}) {
        if (!slot[r][0] && !slot[r][1]) continue;
        out += fmt::format("{:<26} {:>12} {:>12}\n", label(r, slot[r]), value(slot[r][0]), value(slot[r][1]));
    }
    return out;
}

}  // namespace gilbench::report
