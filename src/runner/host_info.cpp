#include "runner/host_info.hpp"

#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <fstream>

namespace gilbench::runner {

std::string cpu_model_from(std::istream& cpuinfo) {
    // In order of preference: x86 names the model per processor; ARM and others name the
    // board or the core in one of these.
    constexpr std::array keys{"model name", "Hardware", "cpu model", "Processor", "uarch"};
    std::array<std::string, keys.size()> found;
    std::string line;
    while (std::getline(cpuinfo, line)) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string key = line.substr(0, colon);
        key.erase(key.find_last_not_of(" \t") + 1);
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        value.erase(value.find_last_not_of(" \t\r") + 1);
        for (std::size_t i = 0; i < keys.size(); ++i)
            if (key == keys[i] && found[i].empty() && !value.empty()) found[i] = value;
    }
    for (const auto& f : found)
        if (!f.empty()) return f;
    return "unknown";
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    if (!in) return "unknown";
    return cpu_model_from(in);
}

int online_cpus() {
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<int>(n) : 1;
}

int affinity_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return online_cpus();
    return std::max(1, CPU_COUNT(&set));
}

std::string os_description() {
    utsname u{};
    if (uname(&u) != 0) return "unknown";
    return std::string(u.sysname) + " " + u.release + " " + u.machine;
}

}  // namespace gilbench::runner
