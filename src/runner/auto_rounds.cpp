#include "runner/auto_rounds.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string_view>

#include <boost/math/distributions/students_t.hpp>
#include <fmt/format.h>

#include "model/cell_fields.hpp"

namespace gilbench::runner::auto_rounds {

namespace {

// The part of the run's budget the rounds are planned to fill (auto_rounds.hpp).
constexpr double budget_share = 0.9;

// Settings in which a cell may differ from its base: the ones a comparison varies, and the
// ones that do not change what a trial measures.
constexpr std::array<std::string_view, 10> not_compared{"name",    "threads", "ranks", "io_threads", "placement",
                                                       "repeats", "warmups", "trace", "time_budget",
                                                       "precision"};

bool same_but_scale(const model::Cell& a, const model::Cell& b) {
    for (const model::CellField& f : model::cell_fields()) {
        if (std::find(not_compared.begin(), not_compared.end(), f.key) != not_compared.end()) continue;
        if (f.get(a) != f.get(b)) return false;
    }
    return true;
}

struct Spread {
    double sd = 0.0;
    int n = 0;
};

// Standard deviation of log(a / b) over the rounds both have (b null: of log a).
Spread log_spread(const std::map<int, double>& a, const std::map<int, double>* b) {
    std::vector<double> x;
    for (const auto& [round, wall] : a) {
        if (!(wall > 0)) continue;
        if (!b) {
            x.push_back(std::log(wall));
            continue;
        }
        const auto other = b->find(round);
        if (other != b->end() && other->second > 0) x.push_back(std::log(wall / other->second));
    }
    Spread s;
    s.n = static_cast<int>(x.size());
    if (s.n < 2) return s;
    double mean = 0;
    for (double v : x) mean += v;
    mean /= s.n;
    double ss = 0;
    for (double v : x) ss += (v - mean) * (v - mean);
    s.sd = std::sqrt(ss / (s.n - 1));
    return s;
}

}  // namespace

std::vector<std::ptrdiff_t> base_cells(const std::vector<model::Cell>& cells) {
    std::vector<std::ptrdiff_t> base(cells.size(), -1);
    for (std::size_t i = 0; i < cells.size(); ++i) {
        if (cells[i].threads == 1 && cells[i].ranks == 1) continue;
        for (std::size_t j = 0; j < cells.size(); ++j)
            if (cells[j].threads == 1 && cells[j].ranks == 1 && same_but_scale(cells[i], cells[j])) {
                base[i] = static_cast<std::ptrdiff_t>(j);
                break;
            }
    }
    return base;
}

double t_quantile(double p, int df) {
    return boost::math::quantile(boost::math::students_t_distribution<double>(df), p);
}

int rounds_for(double sd, int n, double precision) {
    if (n < 2 || !(precision > 0)) return n;
    const double h = std::log1p(precision);
    const double wanted = std::pow(t_quantile(0.975, n - 1) * sd / h, 2);
    if (!(wanted < 1e9)) return std::numeric_limits<int>::max();
    return std::max(n, static_cast<int>(std::ceil(wanted)));
}

Decision decide(const model::AutoRounds& settings, const std::vector<model::Cell>& cells, const RoundTimes& times,
                double elapsed_s, int rounds_run) {
    const std::vector<std::ptrdiff_t> base = base_cells(cells);
    std::vector<char> is_base(cells.size(), 0);
    for (std::ptrdiff_t b : base)
        if (b >= 0) is_base[static_cast<std::size_t>(b)] = 1;
    Decision d;
    d.rounds = settings.pilot;
    d.reason = "pilot";
    d.detail = "no comparison had 2 paired rounds in the pilot: the run keeps the pilot's rounds";
    int most = -1;
    for (std::size_t i = 0; i < cells.size() && i < times.size(); ++i) {
        const bool alone = base[i] < 0;
        if (alone && is_base[i]) continue;  // judged in the ratios it is the base of
        const std::map<int, double>* b = alone ? nullptr : &times[static_cast<std::size_t>(base[i])];
        const Spread s = log_spread(times[i], b);
        if (s.n < 2) continue;
        const bool own = cells[i].precision > 0;
        const int n = rounds_for(s.sd, s.n, own ? cells[i].precision : settings.precision);
        if (n <= most) continue;
        most = n;
        const std::string at = own ? fmt::format(" for its precision of {:g} %", 100 * cells[i].precision) : "";
        d.detail = alone ? fmt::format("'{}' (its time spread {:.1f} % over {} pilot rounds) needs {} rounds{}",
                                       cells[i].name, 100 * std::expm1(s.sd), s.n, n, at)
                         : fmt::format("'{}' against '{}' (their ratio spread {:.1f} % over {} pilot rounds) needs {} "
                                       "rounds{}",
                                       cells[i].name, cells[static_cast<std::size_t>(base[i])].name,
                                       100 * std::expm1(s.sd), s.n, n, at);
    }
    if (most < 0) return d;
    d.rounds = std::max(most, settings.pilot);
    d.reason = "precision";
    if (d.rounds > settings.max) {
        d.rounds = settings.max;
        d.reason = "max";
        d.detail += fmt::format("; the maximum is {}", settings.max);
    }
    if (settings.budget_s > 0 && rounds_run > 0 && elapsed_s > 0) {
        const double per_round = elapsed_s / rounds_run;
        // A tenth kept back: retries of disturbed trials and a slower stretch of the machine make
        // later rounds longer than the pilot's.
        const double left = budget_share * settings.budget_s - elapsed_s;
        const int affordable = settings.pilot + std::max(0, static_cast<int>(std::floor(left / per_round)));
        if (affordable < d.rounds) {
            d.rounds = affordable;
            d.reason = "budget";
            d.detail += fmt::format("; the budget of {:g} s allows {} at {:.2g} s a round", settings.budget_s,
                                    affordable, per_round);
        }
    }
    return d;
}

}  // namespace gilbench::runner::auto_rounds
