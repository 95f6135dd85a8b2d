#include "report/summary.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <numeric>

#include <fmt/format.h>

#include "model/engines.hpp"

namespace gilbench::report {

MedianInterval median_interval(const std::vector<double>& sorted, double confidence) {
    MedianInterval ci;
    const std::size_t n = sorted.size();
    if (n == 0) return ci;
    // P(B <= k) for B ~ Binomial(n, 1/2), summed term by term in log space: C(n, k) / 2^n
    // under- or overflows doubles long before n gets large.
    const double log_total = static_cast<double>(n) * std::log(2.0);
    auto term = [&](std::size_t k) {
        return std::exp(std::lgamma(static_cast<double>(n) + 1) - std::lgamma(static_cast<double>(k) + 1) -
                        std::lgamma(static_cast<double>(n - k) + 1) - log_total);
    };
    // [x(j), x(n+1-j)] (1-based) covers the median with probability 1 - 2 P(B <= j-1).
    // j = 1 is [min, max], the widest there is: kept even when it falls short of `confidence`.
    std::size_t best = 1;
    double cdf = term(0);  // P(B <= best - 1)
    double best_level = std::max(0.0, 1.0 - 2.0 * cdf);
    for (std::size_t j = 2; 2 * j <= n + 1; ++j) {
        const double next = cdf + term(j - 1);  // P(B <= j - 1)
        const double level = 1.0 - 2.0 * next;
        if (level < confidence) break;
        cdf = next;
        best = j;
        best_level = level;
    }
    ci.low = sorted[best - 1];
    ci.high = sorted[n - best];
    ci.level = best_level;
    return ci;
}

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
        // Rounding can make a tiny negative; a variance is never below 0.
        s.stddev = std::sqrt(std::max(0.0, ss / static_cast<double>(n - 1)));
    }
    s.ci = median_interval(v);
    return s;
}

PairedRatio paired_ratio(const std::vector<int>& trial_a, const std::vector<double>& a,
                         const std::vector<int>& trial_b, const std::vector<double>& b) {
    std::map<int, double> by_trial;
    for (std::size_t i = 0; i < trial_b.size() && i < b.size(); ++i) by_trial[trial_b[i]] = b[i];
    std::vector<double> ratios;
    for (std::size_t i = 0; i < trial_a.size() && i < a.size(); ++i) {
        const auto it = by_trial.find(trial_a[i]);
        if (it != by_trial.end() && it->second > 0) ratios.push_back(a[i] / it->second);
    }
    const Summary s = summarize(std::move(ratios));  // the median and its interval, as for a cell's times
    PairedRatio r;
    r.n = s.n;
    r.median = s.median;
    r.ci = s.ci;
    return r;
}

RankSpread rank_spread(const std::vector<model::WorkerRecord>& workers) {
    RankSpread out;
    // (trial, rank) -> the rank's earliest start and latest end in that trial
    std::map<std::pair<int, int>, std::pair<double, double>> spans;
    for (const auto& w : workers) {
        const auto key = std::make_pair(w.trial, w.rank);
        auto [it, fresh] = spans.try_emplace(key, w.start_s, w.end_s);
        if (!fresh) {
            it->second.first = std::min(it->second.first, w.start_s);
            it->second.second = std::max(it->second.second, w.end_s);
        }
    }
    std::map<int, std::pair<double, int>> per_rank;  // rank -> (sum of spans, trials)
    for (const auto& [key, span] : spans) {
        auto& acc = per_rank[key.second];
        acc.first += span.second - span.first;
        acc.second += 1;
    }
    if (per_rank.empty()) return out;
    out.ranks = static_cast<int>(per_rank.size());
    bool first = true;
    double sum = 0.0;
    for (const auto& [rank, acc] : per_rank) {
        const double mean = acc.first / acc.second;
        out.min = first ? mean : std::min(out.min, mean);
        out.max = first ? mean : std::max(out.max, mean);
        sum += mean;
        first = false;
    }
    out.avg = sum / out.ranks;
    return out;
}

const char* to_string(CellState s) {
    switch (s) {
        case CellState::pending: return "pending";
        case CellState::partial: return "partial";
        case CellState::budget: return "budget";
        case CellState::complete: return "complete";
    }
    return "?";
}

model::CellSummaryRecord summarize_cell(const model::Cell& cell, CellState state,
                                        const std::vector<model::TrialRecord>& trials,
                                        const std::vector<model::WorkerRecord>& workers, bool keep_disturbed) {
    model::CellSummaryRecord r;
    r.cell = cell.index;
    r.state = to_string(state);
    std::vector<double> walls;
    std::vector<int> measured;  // trial numbers that count: measured and clean
    for (const auto& t : trials) {
        if (t.cell != cell.index) continue;
        ++r.trials;
        if (t.warmup) continue;
        if (t.io_errors > 0) {
            ++r.failed_trials;
            continue;
        }
        if (t.disturbed) {
            ++r.disturbed_trials;
            if (!keep_disturbed) continue;
        }
        walls.push_back(t.wall_s);
        measured.push_back(t.trial);
    }
    const Summary s = summarize(walls);
    r.n = s.n;
    r.median_s = s.median;
    r.min_s = s.min;
    r.max_s = s.max;
    r.mean_s = s.mean;
    r.std_s = s.stddev;
    r.ci_low_s = s.ci.low;
    r.ci_high_s = s.ci.high;
    r.ci_level = s.ci.level;
    std::sort(measured.begin(), measured.end());
    std::vector<model::WorkerRecord> mine;
    for (const auto& w : workers)
        if (w.cell == cell.index && std::binary_search(measured.begin(), measured.end(), w.trial)) mine.push_back(w);
    const RankSpread spread = rank_spread(mine);
    r.rank_min_s = spread.min;
    r.rank_avg_s = spread.avg;
    r.rank_max_s = spread.max;
    return r;
}

std::string format_cell_table(const std::vector<model::Cell>& cells,
                              const std::vector<model::CellSummaryRecord>& summary) {
    std::size_t name_w = 4;
    for (const auto& c : cells) name_w = std::max(name_w, c.name.size());
    std::map<int, const model::CellSummaryRecord*> by_cell;
    for (const auto& s : summary) by_cell[s.cell] = &s;

    // The engine gets a column when the cells use another than the default one.
    const bool engines = std::any_of(cells.begin(), cells.end(),
                                     [](const model::Cell& c) { return c.engine != model::Cell{}.engine; });
    auto engine_of = [&](const std::string& text) { return engines ? fmt::format(" {:<8}", text) : std::string(); };
    // The gil column widens for the free-threaded profiles' long names, which are spelled out
    // (and explained below the table) so that a modelled cell is not read as a measured one.
    std::size_t gil_w = 4;
    bool profiles = false;
    for (const auto& c : cells) {
        gil_w = std::max(gil_w, std::string_view(model::to_string(c.gil)).size());
        profiles = profiles || model::is_free_threaded_profile(c.gil);
    }
    std::string out = fmt::format("{:<{}}  {:<8} {:>5} {:>7} {:<{}}{} {:<6} {:>3} {:>9} {:>21} {:>9} {:>9} {:>9} {:>9}  {}\n",
                                  "cell", name_w, "workload", "ranks", "threads", "gil", gil_w, engine_of("engine"), "scale",
                                  "n", "median s", "95% CI of median", "min s", "max s", "mean s", "std s",
                                  "ranks min/avg/max s");
    bool narrow = false;  // an interval below 95%
    bool failed = false;  // a cell with failed trials
    bool disturbed = false;  // a cell with disturbed trials
    for (const auto& c : cells) {
        const auto it = by_cell.find(c.index);
        const model::CellSummaryRecord empty{};
        const model::CellSummaryRecord& s = it != by_cell.end() ? *it->second : empty;
        std::string line = fmt::format("{:<{}}  {:<8} {:>5} {:>7} {:<{}}{} {:<6} {:>3}", c.name, name_w,
                                       model::to_string(c.workload), c.ranks, c.threads, model::to_string(c.gil), gil_w,
                                       engine_of(c.engine), model::to_string(c.scaling), s.n);
        if (s.n == 0) {
            line += fmt::format(" {:>9}", s.failed_trials > 0 ? "failed" : "-");
        } else {
            const bool flagged = s.ci_level < 0.95;
            narrow = narrow || flagged;
            line += fmt::format(" {:>9.4f} {:>20}{} {:>9.4f} {:>9.4f} {:>9.4f} {:>9.4f}  {:.4f}/{:.4f}/{:.4f}",
                                s.median_s, fmt::format("[{:.4f}, {:.4f}]", s.ci_low_s, s.ci_high_s),
                                flagged ? "*" : " ", s.min_s, s.max_s, s.mean_s, s.std_s, s.rank_min_s,
                                s.rank_avg_s, s.rank_max_s);
        }
        if (!s.state.empty() && s.state != "complete") line += fmt::format("  ({})", s.state);
        if (s.failed_trials > 0)
            line += fmt::format("  ({} of {} measured trials failed: I/O errors)", s.failed_trials,
                                s.failed_trials + s.n);
        failed = failed || s.failed_trials > 0;
        if (s.disturbed_trials > 0)
            line += fmt::format("  ({} of {} measured trials disturbed)", s.disturbed_trials,
                                s.disturbed_trials + s.failed_trials + s.n);
        disturbed = disturbed || s.disturbed_trials > 0;
        out += line + "\n";
    }
    if (narrow)
        out += "* fewer than 6 measured trials: no order-statistic interval reaches 95%; shown is [min, max],\n"
               "  which covers the median with probability 1 - 2^(1-n) (n = 3: 75%, n = 5: 94%)\n";
    if (disturbed)
        out += "disturbed trials: the machine took time from them (other processes, steal, a slower core; the\n"
               "  trials table says which): their times are kept but left out of n and the statistics\n";
    if (failed)
        out += "failed trials had I/O errors (trials.io_errors > 0): their times are left out, and n and the\n"
               "  statistics are over the other measured trials\n";
    if (profiles)
        out += "free-threaded-3.13/-3.14: emulated profiles of CPython's free-threaded build, not measured ones: no\n"
               "  GIL, and the interpreter pays the build's published single-thread overhead (3.13t +40 %, 3.14t\n"
               "  +10 %) as padding; docs/free-threading.md\n";
    return out;
}

namespace {

// The seed's three rows, then today's two other answers: threads in interpreters of their own
// (a GIL each) and threads with no GIL (free-threaded, ideal or a 3.13t / 3.14t profile).
enum SeedRow { single_thread, multi_thread, multi_process, subinterpreters, free_threaded, seed_rows };

std::optional<SeedRow> seed_row_of(const model::Cell& c) {
    const bool lock_free = model::lock_free(c.gil);
    if (c.ranks == 1 && c.threads == 1) return lock_free ? std::nullopt : std::optional<SeedRow>(single_thread);
    if (c.ranks > 1 && c.threads == 1) return multi_process;
    if (c.ranks == 1 && c.threads > 1) {
        if (c.parallel == model::Parallel::subinterpreters) return subinterpreters;
        return lock_free ? free_threaded : multi_thread;
    }
    return std::nullopt;
}

// Columns: CPU-bound then I/O-bound, each once per engine the cells use (in the registry's
// order), so the real interpreter's times stand beside the emulation's (the convoy case and the
// user's own functions have figures of their own). slot[row][column]: the first cell there.
struct SeedGrid {
    std::vector<const model::EngineDescriptor*> engines;
    std::vector<std::pair<model::Workload, const model::EngineDescriptor*>> columns;
    std::array<std::vector<const CellTimes*>, seed_rows> slot;
};

SeedGrid seed_grid(const std::vector<CellTimes>& cells) {
    SeedGrid g;
    for (const model::EngineDescriptor* e : model::engines())
        if (std::any_of(cells.begin(), cells.end(), [&](const CellTimes& c) {
                return c.cell.engine == e->name && seed_row_of(c.cell) &&
                       (c.cell.workload == model::Workload::cpu || c.cell.workload == model::Workload::io);
            }))
            g.engines.push_back(e);
    for (model::Workload w : {model::Workload::cpu, model::Workload::io})
        for (const model::EngineDescriptor* e : g.engines) g.columns.emplace_back(w, e);
    for (auto& row : g.slot) row.assign(g.columns.size(), nullptr);
    for (const CellTimes& c : cells) {
        const auto row = seed_row_of(c.cell);
        if (!row) continue;
        for (std::size_t col = 0; col < g.columns.size(); ++col)
            if (g.columns[col].first == c.cell.workload && g.columns[col].second->name == c.cell.engine &&
                !g.slot[*row][col])
                g.slot[*row][col] = &c;
    }
    return g;
}

std::string seed_row_label(SeedRow r, const model::Cell& c) {
    switch (r) {
        case single_thread: return "single thread";
        case multi_thread: return fmt::format("multi thread ({} threads)", c.threads);
        case multi_process: return fmt::format("multi process ({} ranks)", c.ranks);
        case subinterpreters: return fmt::format("subinterpreters ({})", c.threads);
        case free_threaded:
            return fmt::format("{} ({} threads)", c.gil == model::GilPolicy::none ? "no GIL" : model::to_string(c.gil),
                               c.threads);
        case seed_rows: break;
    }
    return {};
}

// What the table's notes must explain.
struct SeedNotes {
    bool failed = false;
    bool narrow = false;      // an interval below 95 %
    int disturbed = 0;        // disturbed trials in all shown cells
    int measured = 0;         // measured trials of the cells that had disturbed ones
    std::string disturbance;  // the first reason
};

// A cell's median, its time over the base's (the same column's single thread) with the
// interval, or what kept it from having them.
std::string seed_value(const CellTimes* c, const CellTimes* base, SeedNotes& notes) {
    if (!c) return "-";
    const int total = static_cast<int>(c->wall_s.size()) + c->failed + c->disturbed;
    notes.failed = notes.failed || c->failed > 0;
    if (c->disturbed > 0) {
        notes.disturbed += c->disturbed;
        notes.measured += total;
        if (notes.disturbance.empty()) notes.disturbance = c->disturbance;
    }
    std::string marks;
    if (c->failed > 0) marks += fmt::format(" ({} of {} failed)", c->failed, total);
    if (c->disturbed > 0) marks += fmt::format(" ({} of {} disturbed)", c->disturbed, total);
    // Every measured trial failed: no time to show, only the failure.
    if (c->failed > 0 && c->wall_s.empty()) return fmt::format("failed ({} of {})", c->failed, total);
    if (c->wall_s.empty()) return "-" + marks;
    const Summary s = summarize(c->wall_s);
    std::string ratio;
    if (base && base != c) {
        const PairedRatio r = paired_ratio(c->trial, c->wall_s, base->trial, base->wall_s);
        if (r.n >= 2) {
            notes.narrow = notes.narrow || r.ci.level < 0.95;
            ratio = fmt::format(" {:.2f}x [{:.2f}, {:.2f}]{}", r.median, r.ci.low, r.ci.high,
                                r.ci.level < 0.95 ? fmt::format(" ({:.0f}%)", 100 * r.ci.level) : "");
        }
    }
    return fmt::format("{:.3f} s{}{}", s.median, ratio, marks);
}

}  // namespace

std::optional<std::string> format_seed_table(const std::vector<CellTimes>& cells) {
    const SeedGrid g = seed_grid(cells);
    if (g.engines.empty()) return std::nullopt;
    const bool several = g.engines.size() > 1;
    auto header = [&](std::size_t col) {
        const std::string kind = g.columns[col].first == model::Workload::cpu ? "CPU-bound" : "I/O-bound";
        return several ? fmt::format("{}, {}", kind, g.columns[col].second->label) : kind;
    };
    SeedNotes notes;
    std::vector<std::pair<std::string, std::vector<std::string>>> rows;
    std::size_t width = 12;
    for (std::size_t col = 0; col < g.columns.size(); ++col) width = std::max(width, header(col).size());
    for (int r = 0; r < seed_rows; ++r) {
        const auto& slots = g.slot[r];
        const auto first = std::find_if(slots.begin(), slots.end(), [](const CellTimes* p) { return p != nullptr; });
        if (first == slots.end()) continue;
        std::vector<std::string> values;
        for (std::size_t col = 0; col < slots.size(); ++col) {
            values.push_back(seed_value(slots[col], g.slot[single_thread][col], notes));
            width = std::max(width, values.back().size());
        }
        rows.emplace_back(seed_row_label(static_cast<SeedRow>(r), (*first)->cell), std::move(values));
    }
    // With one engine the columns do not say which: the title does (a model, or the real thing).
    const std::string title =
        several ? "median wall time" : fmt::format("median wall time, {}", g.engines.front()->label);
    // Left-aligned: a value is a time, then maybe its ratio and marks, read from the left.
    auto line = [&](const std::string& first, const std::vector<std::string>& cols) {
        std::string l = fmt::format("{:<30}", first);
        for (const auto& v : cols) l += fmt::format(" {:<{}}", v, width);
        return l.substr(0, l.find_last_not_of(' ') + 1) + "\n";
    };
    std::vector<std::string> headers;
    for (std::size_t col = 0; col < g.columns.size(); ++col) headers.push_back(header(col));
    std::string out = line(title, headers);
    for (const auto& [name, values] : rows) out += line(name, values);
    if (std::any_of(rows.begin(), rows.end(), [](const auto& r) {
            return std::any_of(r.second.begin(), r.second.end(),
                               [](const std::string& v) { return v.find("x [") != std::string::npos; });
        }))
        out += "1.11x [1.04, 1.19]: the layout's time over the same column's single thread, the median of the\n"
               "  per-round ratios (cells of one round ran close in time) with its 95% interval: an interval\n"
               "  that excludes 1.00 says the two layouts differ on this machine\n";
    if (notes.narrow)
        out += "(75%): too few rounds for a 95% interval: shown is [min, max] with the level it reaches; run more\n"
               "  repeats (6 or more pairs reach 95%)\n";
    if (notes.failed)
        out += "(k of n failed): k of the cell's n measured trials had I/O errors; the median is over the others\n";
    if (notes.disturbed > 0)
        out += fmt::format("(k of n disturbed): {} of {} trials disturbed: {}; they are left out; rerun on an idle "
                           "node\n",
                           notes.disturbed, notes.measured, notes.disturbance);
    return out;
}

}  // namespace gilbench::report
