// Console output that cannot end the run. SIGPIPE is ignored (runner::install_stop_signals),
// so a write to a pipe whose reader is gone (mpirun exited first) fails with EPIPE, on which
// fmt::print throws; rank 0 must still mark the run in the file, which matters more than a
// progress line nobody can read.
#pragma once

#include <cstdio>
#include <utility>

#include <fmt/format.h>

namespace gilbench::report {

template <class... Args>
void print_safely(std::FILE* to, fmt::format_string<Args...> format, Args&&... args) noexcept {
    try {
        fmt::print(to, format, std::forward<Args>(args)...);
    } catch (...) {
        std::clearerr(to);  // the next write tries again (and fails alike) instead of staying silent
    }
}
template <class... Args>
void print_safely(fmt::format_string<Args...> format, Args&&... args) noexcept {
    print_safely(stdout, format, std::forward<Args>(args)...);
}

}  // namespace gilbench::report
