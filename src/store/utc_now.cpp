#include "store/utc_now.hpp"

#include <chrono>
#include <ctime>

namespace gilbench::store {

std::string utc_now() {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&now, &tm);  // the reentrant form: ranks may be multithreaded
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace gilbench::store
