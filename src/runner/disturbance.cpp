#include "runner/disturbance.hpp"

#include <fmt/format.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace gilbench::runner::disturbance {

namespace {

// The "cpu " line's text after its name, or empty when there is none. It is the first line in
// every kernel; looked for anywhere so that a test or a future kernel may put something first.
std::string_view cpu_line(std::string_view text) {
    for (std::size_t at = 0; at < text.size();) {
        std::size_t end = text.find('\n', at);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view line = text.substr(at, end - at);
        if (line.starts_with("cpu ")) return line.substr(4);
        at = end + 1;
    }
    return {};
}

// The reference loop's start, unknown to the compiler, and its result, which it must store.
volatile std::uint64_t reference_seed = 0x9E3779B97F4A7C15ULL;
volatile std::uint64_t reference_sink = 0;

bool finite_positive(double x) { return std::isfinite(x) && x > 0; }

// The larger of two samples' field; NaN only when both are. `lower` picks the smaller instead.
double worse(double a, double b, bool lower = false) {
    if (std::isnan(a)) return b;
    if (std::isnan(b)) return a;
    return lower ? std::min(a, b) : std::max(a, b);
}

}  // namespace

std::optional<CpuTimes> parse_proc_stat(std::string_view text) {
    // user nice system idle iowait irq softirq steal [guest guest_nice: inside user, nice]
    std::array<std::uint64_t, 8> f{};
    std::size_t n = 0;
    std::string_view rest = cpu_line(text);
    while (true) {
        const std::size_t start = rest.find_first_not_of(" \t\r");
        if (start == std::string_view::npos) break;
        rest.remove_prefix(start);
        std::uint64_t v = 0;
        const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v);
        if (ec != std::errc{} || (ptr != rest.data() + rest.size() && *ptr != ' ' && *ptr != '\t' && *ptr != '\r'))
            return std::nullopt;
        if (n < f.size()) f[n] = v;
        ++n;
        rest.remove_prefix(static_cast<std::size_t>(ptr - rest.data()));
    }
    if (n < 4) return std::nullopt;
    CpuTimes t;
    t.busy = f[0] + f[1] + f[2] + f[5] + f[6];
    t.idle = f[3] + f[4];
    t.steal = f[7];
    t.total = t.busy + t.idle + t.steal;
    return t;
}

std::optional<CpuTimes> read_proc_stat() {
    // One read(2) call of a buffer large enough for the "cpu " line: the kernel renders the whole
    // file anyway, but we do not copy the per-CPU and interrupt lines we do not use.
    std::FILE* f = std::fopen("/proc/stat", "re");
    if (f == nullptr) return std::nullopt;
    std::array<char, 512> buf{};
    const std::size_t got = std::fread(buf.data(), 1, buf.size(), f);
    std::fclose(f);
    return parse_proc_stat(std::string_view(buf.data(), got));
}

double ticks_per_second() {
    const long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? static_cast<double>(hz) : 100.0;
}

double process_cpu_seconds() {
    timespec ts{};
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return not_measured;
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double reference_loop_seconds(int repeats) {
    // ~4 cycles per step (a 64-bit multiply and an add, each step needing the last): 75'000
    // steps are ~100 us at 3 GHz. The seed is read from a volatile so nothing is known at compile
    // time; the result is written to one so the loop is not dead.
    constexpr std::uint64_t steps = 75'000;
    double best = std::numeric_limits<double>::infinity();
    for (int r = 0; r < std::max(1, repeats); ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        std::uint64_t x = reference_seed;
        for (std::uint64_t i = 0; i < steps; ++i) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        reference_sink = x;
        const std::chrono::duration<double> d = std::chrono::steady_clock::now() - t0;
        best = std::min(best, d.count());
    }
    return best;
}

void ReferenceClock::add(double seconds) {
    if (!finite_positive(seconds)) return;
    sorted_.insert(std::upper_bound(sorted_.begin(), sorted_.end(), seconds), seconds);
}

double ReferenceClock::median() const {
    const std::size_t n = sorted_.size();
    if (n == 0) return not_measured;
    return n % 2 == 1 ? sorted_[n / 2] : (sorted_[n / 2 - 1] + sorted_[n / 2]) / 2;
}

double ReferenceClock::slowdown(double before_s, double after_s) const {
    const double m = median();
    const double edge =
        worse(finite_positive(before_s) ? before_s : not_measured, finite_positive(after_s) ? after_s : not_measured);
    if (std::isnan(m) || std::isnan(edge)) return not_measured;
    return edge / m - 1;
}

Sample measure(const Window& w, double ticks_per_s) {
    Sample s;
    const CpuTimes& a = w.before;
    const CpuTimes& b = w.after;
    // A counter that went backwards (a kernel's idle/iowait accounting has done so) or an empty
    // window gives nothing to judge.
    if (b.busy < a.busy || b.idle < a.idle || b.steal < a.steal || b.total < a.total) return s;
    if (!finite_positive(w.wall_s) || !finite_positive(ticks_per_s)) return s;
    const double busy_s = static_cast<double>(b.busy - a.busy) / ticks_per_s;
    const double ours = std::isfinite(w.ours_cpu_s) ? std::max(0.0, w.ours_cpu_s) : 0.0;
    s.others_cpus = std::max(0.0, (busy_s - ours) / w.wall_s);
    const std::uint64_t total = b.total - a.total;
    if (total > 0) s.steal = static_cast<double>(b.steal - a.steal) / static_cast<double>(total);
    return s;
}

double expected_cpu_share(bool gil_bound, int threads_on_rank, int cpus_for_rank) {
    const double threads = std::max(1, threads_on_rank);
    if (gil_bound) return 1.0 / threads;
    return std::min(1.0, std::max(1, cpus_for_rank) / threads);
}

double cpu_share(double cpu_s, double wall_s, double expected_share) {
    if (!std::isfinite(cpu_s) || cpu_s < 0 || !finite_positive(wall_s) || !finite_positive(expected_share))
        return not_measured;
    return cpu_s / (wall_s * expected_share);
}

std::string classify(const Sample& s, const Thresholds& t) {
    // NaN compares false: a field not measured never passes.
    std::string out;
    const auto add = [&out](const std::string& reason) { out += (out.empty() ? "" : "; ") + reason; };
    if (s.others_cpus > t.others_cpus) add(fmt::format("other processes used {:.2f} CPUs", s.others_cpus));
    if (s.steal > t.steal)
        add(fmt::format("the hypervisor took {:.1f} % of the node's CPU time (steal)", 100 * s.steal));
    if (s.reference_slowdown > t.reference_slowdown)
        add(fmt::format("the reference loop ran {:.0f} % slow", 100 * s.reference_slowdown));
    if (s.cpu_share < t.cpu_share) add(fmt::format("a worker got {:.2f} of its expected CPU", s.cpu_share));
    return out;
}

Sample worst(const Sample& a, const Sample& b) {
    return Sample{worse(a.others_cpus, b.others_cpus), worse(a.steal, b.steal),
                  worse(a.reference_slowdown, b.reference_slowdown), worse(a.cpu_share, b.cpu_share, /*lower=*/true)};
}

}  // namespace gilbench::runner::disturbance
