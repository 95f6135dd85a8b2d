// One cell of an experiment: everything needed to run it, already validated.
// Produced by job/ (from TOML), consumed by runner/ and store/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gilbench::model {

// mixed: `io_threads` threads per rank do HTTP GETs while the others count down until they
// are done: the convoy case, where the figure is the I/O threads' per-request latency.
enum class Workload { cpu, io, mixed };
enum class Scaling { strong, weak };
// Which world ranks a cell runs on (runner::cell_ranks): launch = the first `ranks` in
// MPI_COMM_WORLD order, as the launcher placed them; pack = node 0's ranks first, then node
// 1's, ... (one node while it has ranks enough); spread = round-robin over the nodes (a new
// node for each rank while there are nodes). On one host all three are the same.
enum class Placement { launch, pack, spread };

struct Cell {
    int index = 0;                 // position in the job's plan, 0-based
    std::string name;
    Workload workload = Workload::cpu;
    int ranks = 1;                 // MPI ranks (processes) taking part
    Placement placement = Placement::launch;  // which ranks, across nodes
    int threads = 1;               // threads per rank, sharing that rank's GIL
    int io_threads = 0;            // mixed only: threads per rank doing requests (the first ones)
    std::int64_t work = 0;         // countdown steps (cpu) or HTTP requests (io, mixed)
    Scaling scaling = Scaling::strong;  // strong: work is the total; weak: work per worker
    std::string gil = "new";       // GIL policy name: new | old | none
    double switch_interval_s = 0.005;
    int check_interval = 100;      // ticks, old GIL only
    std::string url;               // empty: the node's embedded server
    double latency_s = 0.0;        // embedded server's delay per request
    bool keep_alive = false;       // reuse the HTTP connection between requests
    // Seconds one whole HTTP GET may take (connect to last byte, redirects included) before it
    // counts as failed: a server that stalls or drips cannot hold a trial for ever.
    double io_timeout_s = 30.0;
    int repeats = 3;
    int warmups = 1;
    bool trace = false;            // record GIL/IO events into /runs/<run>/trace
    // Seconds; 0: none. Once a cell has run this long (warm-ups included) and has at least one
    // measured trial, it starts no further repeats.
    double time_budget_s = 0.0;

    int workers() const { return ranks * threads; }
    // Workers that share `work`: every worker, or only the I/O threads of a mixed cell.
    int work_sharers() const { return ranks * (workload == Workload::mixed ? io_threads : threads); }
    // Does thread `t` of a rank do requests?
    bool is_io_thread(int t) const {
        return workload == Workload::io || (workload == Workload::mixed && t < io_threads);
    }
};

inline const char* to_string(Workload w) {
    switch (w) {
        case Workload::cpu: return "cpu";
        case Workload::io: return "io";
        case Workload::mixed: return "mixed";
    }
    return "?";
}
inline const char* to_string(Scaling s) { return s == Scaling::strong ? "strong" : "weak"; }
inline const char* to_string(Placement p) {
    switch (p) {
        case Placement::launch: return "launch";
        case Placement::pack: return "pack";
        case Placement::spread: return "spread";
    }
    return "?";
}
// The inverse of to_string; nullopt for any other name.
inline std::optional<Placement> parse_placement(std::string_view name) {
    for (Placement p : {Placement::launch, Placement::pack, Placement::spread})
        if (name == to_string(p)) return p;
    return std::nullopt;
}

// Work of one of the cell's work sharers (numbered rank-major: rank * sharers per rank +
// thread): strong scaling splits the total as evenly as possible (the first
// `total % sharers` take one more), weak scaling gives each the full amount.
inline std::int64_t work_of_worker(const Cell& c, int worker) {
    if (c.scaling == Scaling::weak) return c.work;
    const std::int64_t n = c.work_sharers();
    return c.work / n + (worker < c.work % n ? 1 : 0);
}

}  // namespace gilbench::model
