// One HTTP request's timing as an engine reports it (WorkerReport::requests, engine.hpp). Its
// own header so that the emulated engine's workloads, which measure it, fill the seam's type
// without including the seam.
#pragma once

#include <chrono>

namespace gilbench::engine {

struct RequestTiming {
    std::chrono::steady_clock::time_point start, end;
    bool ok = false;  // HTTP 2xx
};

}  // namespace gilbench::engine
