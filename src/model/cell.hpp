// One cell of an experiment: everything needed to run it, already validated.
// Produced by job/ (from TOML), consumed by runner/ and store/.
#pragma once

#include <cstdint>
#include <string>

namespace gilbench::model {

enum class Workload { cpu, io };
enum class Scaling { strong, weak };

struct Cell {
    int index = 0;                 // position in the job's plan, 0-based
    std::string name;
    Workload workload = Workload::cpu;
    int ranks = 1;                 // MPI ranks (processes) taking part
    int threads = 1;               // threads per rank, sharing that rank's GIL
    std::int64_t work = 0;         // countdown steps (cpu) or HTTP requests (io)
    Scaling scaling = Scaling::strong;  // strong: work is the total; weak: work per worker
    std::string gil = "new";       // GIL policy name: new | old | none
    double switch_interval_s = 0.005;
    int check_interval = 100;      // ticks, old GIL only
    std::string url;               // empty: the node's embedded server
    double latency_s = 0.0;        // embedded server's delay per request
    bool keep_alive = false;       // reuse the HTTP connection between requests
    int repeats = 3;
    int warmups = 1;
    bool trace = false;            // record GIL/IO events into /runs/<run>/trace

    int workers() const { return ranks * threads; }
};

inline const char* to_string(Workload w) { return w == Workload::cpu ? "cpu" : "io"; }
inline const char* to_string(Scaling s) { return s == Scaling::strong ? "strong" : "weak"; }

// Work of one worker: strong scaling splits the total as evenly as possible
// (the first `total % workers` workers take one more), weak scaling gives each the full amount.
inline std::int64_t work_of_worker(const Cell& c, int worker) {
    if (c.scaling == Scaling::weak) return c.work;
    const std::int64_t n = c.workers();
    return c.work / n + (worker < c.work % n ? 1 : 0);
}

}  // namespace gilbench::model
