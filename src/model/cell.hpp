// One cell of an experiment: everything needed to run it, already validated.
// Produced by job/ (from TOML), consumed by runner/ and store/. How each setting is read,
// checked, overridden, compared, shown and stored is described once, in cell_fields.hpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gilbench::model {

// mixed: `io_threads` threads per rank do HTTP GETs while the others count down until they
// are done: the convoy case, where the figure is the I/O threads' per-request latency.
// python (engine cpython only): the user's own `function`, called in every worker thread.
enum class Workload { cpu, io, mixed, python };
enum class Scaling { strong, weak };
// Which world ranks a cell runs on (runner::cell_ranks): launch = the first `ranks` in
// MPI_COMM_WORLD order, as the launcher placed them; pack = node 0's ranks first, then node
// 1's, ... (one node while it has ranks enough); spread = round-robin over the nodes (a new
// node for each rank while there are nodes). On one host all three are the same.
enum class Placement { launch, pack, spread };
// The GIL a rank's threads share: new = CPython >= 3.2 (switch interval, drop requests, forced
// switching), old = CPython 2 (release + re-acquire every check_interval ticks), none =
// free-threaded CPython as an ideal (no lock, no cost); free-threaded-3.13 / -3.14: no lock either,
// but the emulated interpreter pays what the free-threaded 3.13t / 3.14t builds pay over a GIL
// build (gil/free_threading.hpp, docs/free-threading.md). The profiles come after `none`, so
// "no lock" is one compare (lock_free).
enum class GilPolicy { new_gil, old_gil, none, free_threaded_3_13, free_threaded_3_14 };
// Policies without a lock (none and the free-threaded profiles): threads never wait for each
// other. The one place that says so: the store writes it into cells.lock_free for analysis/
// (model/engines.hpp, engine_columns).
constexpr bool lock_free(GilPolicy p) { return p >= GilPolicy::none; }
// What a rank's threads run in: threads = one interpreter, so one GIL shared by all of them;
// subinterpreters = each thread in an interpreter of its own with its own GIL (PEP 684,
// CPython >= 3.12), each from a pool the rank starts before the trial's clock.
enum class Parallel { threads, subinterpreters };
// The order a run's trials take (a job setting, `[job] order`, not a cell's): cells = every
// trial of a cell, then the next cell; rounds = trial k of every cell before trial k+1 of any
// cell, so a drift of a shared machine (another job, thermal throttling) falls on every cell
// alike instead of on the cells that happened to run during it; alternating (the default) =
// rounds whose odd rounds run the cells in reverse (runner/schedule.hpp: an ABBA design).
enum class Order { cells, rounds, alternating };

// repeats = "auto" (docs/statistics.md, "Run until decided"): every cell first runs `pilot`
// measured rounds; their spread fixes how many rounds the run takes (Stein's two-stage rule,
// runner/auto_rounds.hpp), at most `max`, within `budget_s` of the run's time.
struct AutoRounds {
    bool on = false;
    double precision = 0.03;  // wanted half-width of every paired ratio's 95 % interval, relative
    int pilot = 6;            // measured rounds that fix the number of rounds
    int max = 40;             // the most measured rounds
    double budget_s = 0.0;    // the most seconds the run's rounds may take (0: no limit)
    bool operator==(const AutoRounds&) const = default;
};

// The names of an enum's values, in declaration order: the text of job files, options, HDF5
// and messages. to_string and parse_name below work for any enum listed here.
template <class E>
struct enum_names;
template <>
struct enum_names<Workload> {
    static constexpr std::array<std::string_view, 4> names{"cpu", "io", "mixed", "python"};
};
template <>
struct enum_names<Scaling> {
    static constexpr std::array<std::string_view, 2> names{"strong", "weak"};
};
template <>
struct enum_names<Placement> {
    static constexpr std::array<std::string_view, 3> names{"launch", "pack", "spread"};
};
template <>
struct enum_names<GilPolicy> {
    static constexpr std::array<std::string_view, 5> names{"new", "old", "none", "free-threaded-3.13",
                                                           "free-threaded-3.14"};
};
template <>
struct enum_names<Parallel> {
    static constexpr std::array<std::string_view, 2> names{"threads", "subinterpreters"};
};
template <>
struct enum_names<Order> {
    static constexpr std::array<std::string_view, 3> names{"cells", "rounds", "alternating"};
};

// Null-terminated (the names are literals), so usable as a C string for HDF5.
template <class E, class = decltype(enum_names<E>::names)>
const char* to_string(E value) {
    const auto i = static_cast<std::size_t>(value);
    return i < enum_names<E>::names.size() ? enum_names<E>::names[i].data() : "?";
}
// The inverse of to_string; nullopt for any other name (there is no fallback value).
template <class E>
std::optional<E> parse_name(std::string_view name) {
    for (std::size_t i = 0; i < enum_names<E>::names.size(); ++i)
        if (enum_names<E>::names[i] == name) return static_cast<E>(i);
    return std::nullopt;
}
inline std::optional<Placement> parse_placement(std::string_view name) { return parse_name<Placement>(name); }
inline std::optional<GilPolicy> parse_gil_policy(std::string_view name) { return parse_name<GilPolicy>(name); }
// An emulated free-threaded version profile (not the cost-free ideal `none`).
constexpr bool is_free_threaded_profile(GilPolicy g) {
    return g == GilPolicy::free_threaded_3_13 || g == GilPolicy::free_threaded_3_14;
}

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
    GilPolicy gil = GilPolicy::new_gil;
    Parallel parallel = Parallel::threads;
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
    // repeats = "auto" only: the relative half-width this cell's comparisons need (its ratio to
    // its base, or its own time), in place of the job's [job.auto] precision; 0: the job's.
    // A figure with a wide band (the convoy's +-20 %) need not drive the run to +-2 %.
    double precision = 0.0;
    // What runs the cell's threads: the name of a registered engine (model/engines.hpp says
    // what each accepts and measures; the job checks the name).
    std::string engine = "emulated";
    // workload python: "module:callable", imported once per rank, called in each worker thread
    // as callable(work, index, count).
    std::string function;
    // workload python: directories put before sys.path to import `function` from: absolute,
    // joined by ':' (the job file gives a list, relative to the job file's directory).
    std::string python_path;

    int workers() const { return ranks * threads; }
    // Workers that share `work`: every worker, or only the I/O threads of a mixed cell.
    int work_sharers() const { return ranks * (workload == Workload::mixed ? io_threads : threads); }
    // Does thread `t` of a rank do requests?
    bool is_io_thread(int t) const {
        return workload == Workload::io || (workload == Workload::mixed && t < io_threads);
    }
};

// Work of one of the cell's work sharers (numbered rank-major: rank * sharers per rank +
// thread): strong scaling splits the total as evenly as possible (the first
// `total % sharers` take one more), weak scaling gives each the full amount.
inline std::int64_t work_of_worker(const Cell& c, int worker) {
    if (c.scaling == Scaling::weak) return c.work;
    const std::int64_t n = c.work_sharers();
    return c.work / n + (worker < c.work % n ? 1 : 0);
}

}  // namespace gilbench::model
