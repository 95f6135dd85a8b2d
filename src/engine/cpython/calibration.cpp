#include "engine/cpython/calibration.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/cpython/cpython_engine.hpp"
#include "http/server.hpp"
#include "store/utc_now.hpp"

namespace gilbench::engine {
namespace {

// The cache's format: 5 is one `name value` line per field of workloads::UrllibCosts (and its
// record_version); 1-4 were one line of values by position (7, 14, 16, then 18 of them). A cache
// of another format, or of another version of the record, is measured again.
constexpr const char* cache_header = "gilbench urllib costs 5";

std::string host_name() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) return "unknown-host";
    return buf;
}

// "3.11.2 (main, ...) [GCC 12.2.0]" -> "3.11.2": the file name's part.
std::string short_version(const std::string& version) { return version.substr(0, version.find(' ')); }

// Keeps a file name one path component of plain characters.
std::string file_safe(const std::string& s) {
    std::string out;
    for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_') ? c : '_';
    return out;
}

bool plausible(const workloads::UrllibCosts& c) {
    for (std::int64_t v : c.ns)
        if (v <= 0) return false;
    return true;
}

}  // namespace

std::optional<workloads::UrllibCosts> calibrate_urllib(const std::string& url, std::string* why, int requests) {
    std::vector<std::int64_t> ns;
    try {
        ns = CpythonEngine::measure_urllib_steps(url, requests);
    } catch (const std::exception& e) {
        if (why) *why = e.what();
        return std::nullopt;
    }
    workloads::UrllibCosts c;
    if (ns.size() != workloads::UrllibCosts::measured_values) {
        if (why)
            *why = fmt::format("the embedded Python measured {} urllib steps instead of {}", ns.size(),
                               workloads::UrllibCosts::measured_values);
        return std::nullopt;
    }
    std::copy(ns.begin(), ns.end(), c.ns.begin());
    // The embedded CPython 3 times the old GIL's ticks until a run gives a Python 2.
    c.ns[workloads::UrllibCosts::old_gil_countdown_per_1000] = c.ns[workloads::UrllibCosts::countdown_per_1000];
    if (!plausible(c)) {
        if (why) *why = fmt::format("a urllib cost measured <= 0 ns ({})", fmt::join(ns, ", "));
        return std::nullopt;
    }
    return c;
}

std::string calibration_cache_dir() {
    if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/gilbench";
    if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/gilbench";
    return {};
}

std::string calibration_cache_file(const std::string& dir, const std::string& host, const std::string& python_version) {
    return fmt::format("{}/urllib-costs-{}-python{}.txt", dir, file_safe(host), file_safe(short_version(python_version)));
}

std::optional<CachedCosts> read_cached_costs(const std::string& path, const std::string& python_version) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::string line;
    if (!std::getline(in, line) || line != cache_header) return std::nullopt;
    CachedCosts out;
    bool python_ok = false, version_ok = false;
    std::vector<bool> seen(workloads::UrllibCosts::values, false);
    while (std::getline(in, line)) {
        const auto space = line.find(' ');
        const std::string key = line.substr(0, space);
        const std::string value = space == std::string::npos ? "" : line.substr(space + 1);
        if (key == "python") {
            python_ok = value == python_version;
        } else if (key == "measured_utc") {
            out.measured_utc = value;
        } else if (key == "record_version") {
            version_ok = value == std::to_string(workloads::UrllibCosts::version);
        } else if (const auto i = workloads::UrllibCosts::index_of(key)) {
            std::istringstream text(value);
            std::string rest;
            if (seen[*i] || !(text >> out.costs.ns[*i]) || text >> rest) return std::nullopt;
            seen[*i] = true;
        } else {
            return std::nullopt;  // a field this record does not have
        }
    }
    const bool complete = std::all_of(seen.begin(), seen.end(), [](bool b) { return b; });
    if (!python_ok || !version_ok || !complete || out.measured_utc.empty() || !plausible(out.costs))
        return std::nullopt;
    return out;
}

void write_cached_costs(const std::string& path, const std::string& python_version, const CachedCosts& costs) {
    namespace fs = std::filesystem;
    const fs::path target(path);
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) throw std::runtime_error(fmt::format("cannot create '{}': {}", target.parent_path().string(), ec.message()));
    const std::string tmp = fmt::format("{}.{}.tmp", path, getpid());
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << cache_header << "\n"
            << "python " << python_version << "\n"
            << "measured_utc " << costs.measured_utc << "\n"
            << "record_version " << workloads::UrllibCosts::version << "\n";
        for (const workloads::UrllibCostField& f : workloads::UrllibCosts::fields)
            out << f.name << " " << costs.costs.ns[f.index] << "\n";
        out.flush();
        if (!out) throw std::runtime_error(fmt::format("cannot write '{}': {}", tmp, std::strerror(errno)));
    }
    fs::rename(tmp, target, ec);
    if (ec) {
        fs::remove(tmp, ec);
        throw std::runtime_error(fmt::format("cannot write '{}': {}", path, ec.message()));
    }
}

Calibration calibrate_for_run(CalibrationMode mode, const std::string& cache_dir,
                              const std::function<void()>& measuring) {
    Calibration out;
    out.costs = workloads::UrllibCosts::fallback();
    if (mode == CalibrationMode::off) {
        out.how = "fallback: --no-calibration";
        return out;
    }
    const std::string version = CpythonEngine::library_version();
    const std::string file = cache_dir.empty() ? "" : calibration_cache_file(cache_dir, host_name(), version);
    if (mode == CalibrationMode::cached && !file.empty())
        if (auto cached = read_cached_costs(file, version)) {
            out.costs = cached->costs;
            out.how = "cached " + cached->measured_utc;
            return out;
        }
    std::string why;
    std::optional<workloads::UrllibCosts> measured;
    if (measuring) measuring();
    try {
        http::DelayServer server(http::ServerConfig{});
        measured = calibrate_urllib(server.base_url(), &why);
    } catch (const std::exception& e) {
        why = fmt::format("no loopback server for the calibration: {}", e.what());
    }
    if (!measured) {
        out.how = "fallback: " + why;
        return out;
    }
    out.costs = *measured;
    out.how = "measured";
    if (file.empty()) {
        out.warning = "calibration not cached: neither XDG_CACHE_HOME nor HOME is set";
        return out;
    }
    try {
        write_cached_costs(file, version, {*measured, store::utc_now()});
    } catch (const std::exception& e) {
        out.warning = fmt::format("calibration not cached: {}", e.what());
    }
    return out;
}

}  // namespace gilbench::engine
