#include "engine/emulated/workloads/urllib_costs.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace gilbench::workloads {

// The table is the record: every index once, in order, and every name once.
static_assert([] {
    for (std::size_t i = 0; i < UrllibCosts::values; ++i) {
        if (UrllibCosts::fields[i].index != i) return false;
        for (std::size_t j = 0; j < i; ++j)
            if (UrllibCosts::fields[j].name == UrllibCosts::fields[i].name) return false;
    }
    return true;
}());

std::optional<std::size_t> UrllibCosts::index_of(std::string_view name) {
    for (const UrllibCostField& f : fields)
        if (f.name == name) return f.index;
    return std::nullopt;
}

std::vector<std::string> UrllibCosts::names() {
    std::vector<std::string> out;
    for (const UrllibCostField& f : fields) out.emplace_back(f.name);
    return out;
}

namespace {

std::size_t checked_index(std::string_view name) {
    if (const auto i = UrllibCosts::index_of(name)) return *i;
    throw std::out_of_range("urllib costs: no field '" + std::string(name) + "' (workloads::UrllibCosts::fields)");
}

}  // namespace

std::int64_t UrllibCosts::get(std::string_view name) const { return ns[checked_index(name)]; }

void UrllibCosts::set(std::string_view name, std::int64_t value) { ns[checked_index(name)] = value; }

UrllibCosts UrllibCosts::fallback() {
    UrllibCosts c;
    // In Step order: warm, then cold; then the countdown per 1000 iterations (libpython3.11,
    // embedded) and urllib's code per 1000 instructions (4894 instructions per GET); then the
    // cold excess's share after 0.5 and 50 ms waits, per mille (the middle of the VM's
    // calibrations of 2026-12-02: 0.21-0.46 and 1.05-1.45); the old GIL's countdown is the
    // embedded one's.
    c.ns = {47'000, 600, 500, 3'500, 14'000, 78'000, 4'000, 277'000, 3'200, 51'000, 48'000, 131'500, 389'000, 55'800,
            43'000, 30'200, 250, 1'300, 43'000};
    return c;
}

namespace {

// Interpolates values given at UrllibCosts::waits, linearly in log(wait); the nearest outside.
double at_wait(const std::array<double, UrllibCosts::waits.size()>& v, std::chrono::nanoseconds wait) {
    const auto& w = UrllibCosts::waits;
    const auto log_ns = [](std::chrono::nanoseconds d) { return std::log(static_cast<double>(d.count())); };
    if (wait <= w.front()) return v.front();
    for (std::size_t i = 1; i < w.size(); ++i) {
        if (wait > w[i]) continue;
        const double f = (log_ns(wait) - log_ns(w[i - 1])) / (log_ns(w[i]) - log_ns(w[i - 1]));
        return v[i - 1] + f * (v[i] - v[i - 1]);
    }
    return v.back();
}

}  // namespace

std::chrono::nanoseconds UrllibCosts::cold(Step s, std::chrono::nanoseconds wait) const {
    const double warm = static_cast<double>(at(s).count());
    const double excess = static_cast<double>(at(s, true).count()) - warm;
    const double scale = at_wait({static_cast<double>(ns[cold_scale_first]) / 1000.0, 1.0,
                                  static_cast<double>(ns[cold_scale_first + 1]) / 1000.0},
                                 wait);
    return std::chrono::nanoseconds(std::max<std::int64_t>(0, std::llround(warm + scale * excess)));
}

}  // namespace gilbench::workloads
