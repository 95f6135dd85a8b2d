#include "runner/runner.hpp"

#include <sys/prctl.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <limits>
#include <exception>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include <boost/mpi/collectives.hpp>
#include <boost/mpi/packed_iarchive.hpp>
#include <boost/mpi/packed_oarchive.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <fmt/format.h>
#include <mpi.h>

#include "http/delay_url.hpp"
#include "runner/host_info.hpp"
#include "runner/interrupt.hpp"
#include "runner/probes.hpp"
#include "runner/auto_rounds.hpp"
#include "runner/schedule.hpp"

// Boost.Serialization of the plain records, kept here so model/ stays dependency-free.
namespace boost::serialization {
template <class Archive>
void serialize(Archive& ar, gilbench::model::WorkerRecord& w, unsigned) {
    ar & w.cell & w.trial & w.rank & w.thread & w.node & w.start_s & w.end_s & w.ops & w.gil_acquisitions &
        w.gil_wait_s & w.gil_hold_s & w.gil_forced_drops & w.io_requests & w.io_errors & w.trace_dropped & w.cpu_s;
}
template <class Archive>
void serialize(Archive& ar, gilbench::model::TraceRecord& t, unsigned) {
    ar & t.cell & t.trial & t.rank & t.thread & t.t_s & t.event;
}
template <class Archive>
void serialize(Archive& ar, gilbench::model::RequestRecord& r, unsigned) {
    ar & r.cell & r.trial & r.rank & r.thread & r.request & r.start_s & r.end_s & r.ok;
}
template <class Archive>
void serialize(Archive& ar, gilbench::model::ErrorRecord& e, unsigned) {
    ar & e.cell & e.trial & e.rank & e.thread & e.message & e.detail;
}
template <class Archive>
void serialize(Archive& ar, gilbench::runner::LocalTrial& l, unsigned) {
    ar & l.workers & l.trace & l.requests & l.errors & l.first_error & l.probe;
}
}  // namespace boost::serialization

namespace gilbench::runner {
namespace {

using clock = std::chrono::steady_clock;

double seconds_between(clock::time_point a, clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

// CPU time this thread has used: what it ran, not what it waited for (a lock, a response).
double thread_cpu_seconds() {
    timespec ts{};
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return std::numeric_limits<double>::quiet_NaN();
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string io_url_for(const model::Cell& cell, const RunSettings& settings) {
    if (cell.workload == model::Workload::cpu) return {};
    if (!cell.url.empty()) return cell.url;
    return http::delay_url(settings.embedded_base_url, cell.latency_s);
}

// What the ranks agree on at a trial or cell boundary: whether to stop (any rank's request
// stops all of them), the signal behind it, and (rank 0's clock alone) whether the cell's
// time budget ran out. The signal travels with the decision: a signal that reached only
// another rank (a kill aimed at one process, a launcher that forwards to some ranks) must
// still be named by rank 0, which reports the run.
struct Verdict {
    int stop = 0;    // 1: stop now
    int signal = 0;  // highest signal number any rank received
    int budget = 0;  // 1: the cell's time budget ran out (set by the cell's rank 0 only)
    int failed = 0;  // 1: a trial failed and the run stops on failure (set by rank 0 only)
    int retry = 0;   // 1: the trial was disturbed: run it again at once (set by rank 0 only)
    int spent = 0;   // 1: the run's time budget (repeats = "auto") ran out (set by rank 0 only)
};

// What one failed worker may add to the errors table: an exception's text is the user's (a
// str() of a large object, a deep traceback), and every failed trial stores it again.
constexpr std::size_t max_error_message = 4 * 1024;
constexpr std::size_t max_error_detail = 64 * 1024;

std::string bounded(std::string text, std::size_t limit) {
    if (text.size() <= limit) return text;
    const std::size_t cut = text.size() - limit;
    text.resize(limit);  // a UTF-8 sequence cut in two is repaired where the store writes text
    return text + fmt::format(" ... [{} more bytes not stored]", cut);
}

// How a rank waits for the others (wait_until). It polls first for `spin` (the other ranks
// are usually there already: a trial's messages follow each other closely), then sleeps in
// short, slowly growing pauses up to `longest`: a pause is the most this rank can arrive late,
// and each collective waits for its latest rank. (The main thread's timer slack is set small
// in run_cells, or each pause would last at least the default 50 us.)
struct Patience {
    std::chrono::microseconds spin{20};
    std::chrono::microseconds longest{100};
};
// Where no rank measures (the start gate: every worker thread is still waiting for it), a rank
// may poll for longer: only the ranks' own bookkeeping runs meanwhile. Where others may still
// measure (the gather, after this rank's workers ended), it must soon leave them the cores.
constexpr Patience at_the_gate{std::chrono::microseconds(1000), std::chrono::microseconds(100)};
constexpr Patience while_others_measure{};
// Ranks that sit a whole cell out: they cost next to nothing.
constexpr Patience between_cells{std::chrono::microseconds(20), std::chrono::microseconds(1000)};

// The timer slack the process started with (Linux: 50 us), which run_cells keeps for the
// worker threads: a Python process's threads wait for the GIL with it (a 0.5 ms switch
// interval's timed wait ends ~50 us late), and the workers are what is compared with one.
long worker_timer_slack_ns = 0;  // 0: not read yet (run_cells reads it)

template <class Done>
void wait_until(Done done, Patience patience = while_others_measure) {
    const auto spin_until = clock::now() + patience.spin;
    while (clock::now() < spin_until) {
        if (done()) return;
        std::this_thread::yield();
    }
    for (auto pause = std::chrono::microseconds(10); !done(); pause = std::min(pause + pause / 2, patience.longest)) {
        abandon_point();  // a SIGTERM is acted on here, by this thread (runner/interrupt.hpp)
        std::this_thread::sleep_for(pause);
    }
}

void wait_asleep(MPI_Request& req, Patience patience = while_others_measure) {
    wait_until(
        [&] {
            int done = 0;
            MPI_Test(&req, &done, MPI_STATUS_IGNORE);
            return done != 0;
        },
        patience);
}

// Every member's LocalTrial, on member 0 (in member order; empty elsewhere). One message per
// member, and asleep while it waits: member 0 usually waits here while the others' workers
// still run, and must not take a core from them (a blocking gather spins).
constexpr int gather_tag = 4201;
std::vector<LocalTrial> gather_asleep(const boost::mpi::communicator& comm, LocalTrial& mine) {
    std::vector<LocalTrial> all;
    if (comm.rank() != 0) {
        boost::mpi::packed_oarchive out(comm);
        out << mine;
        MPI_Request req = MPI_REQUEST_NULL;
        MPI_Isend(out.address(), static_cast<int>(out.size()), MPI_PACKED, 0, gather_tag, comm, &req);
        wait_asleep(req);
        return all;
    }
    all.resize(static_cast<std::size_t>(comm.size()));
    all[0] = std::move(mine);
    for (int from = 1; from < comm.size(); ++from) {
        MPI_Message message = MPI_MESSAGE_NULL;
        MPI_Status status;
        wait_until([&] {
            int found = 0;
            MPI_Improbe(from, gather_tag, comm, &found, &message, &status);
            return found != 0;
        });
        int bytes = 0;
        MPI_Get_count(&status, MPI_PACKED, &bytes);
        boost::mpi::packed_iarchive in(comm);
        in.resize(static_cast<std::size_t>(bytes));
        MPI_Mrecv(in.address(), bytes, MPI_PACKED, &message, MPI_STATUS_IGNORE);
        in >> all[static_cast<std::size_t>(from)];
    }
    return all;
}

Verdict agree(const boost::mpi::communicator& comm, const RunSettings& settings, bool budget_out,
              bool failed = false, Patience patience = while_others_measure, bool retry = false,
              bool spent = false) {
    std::array<int, 6> mine{settings.stop_requested && settings.stop_requested->load() ? 1 : 0,
                            settings.stop_signal ? settings.stop_signal() : 0, budget_out ? 1 : 0, failed ? 1 : 0,
                            retry ? 1 : 0, spent ? 1 : 0};
    std::array<int, 6> all{};
    // Every field is a flag or a number where the highest wins, so one element-wise max does.
    // Non-blocking, and waited for as `patience` says (at the start gate the other ranks wait
    // here while rank 0 stores the previous trial).
    MPI_Request req = MPI_REQUEST_NULL;
    MPI_Iallreduce(mine.data(), all.data(), static_cast<int>(mine.size()), MPI_INT, MPI_MAX, comm, &req);
    wait_asleep(req, patience);
    return {all[0], all[1], all[2], all[3], all[4], all[5]};
}

}  // namespace

Topology discover_topology(const boost::mpi::communicator& world) {
    MPI_Comm shared = MPI_COMM_NULL;
    MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, world.rank(), MPI_INFO_NULL, &shared);
    Topology topo;
    topo.node_comm = boost::mpi::communicator(shared, boost::mpi::comm_take_ownership);
    topo.node_rank = topo.node_comm.rank();
    topo.node_size = topo.node_comm.size();

    // A node is named by the world rank of its first rank; number nodes in that order.
    int leader = world.rank();
    boost::mpi::broadcast(topo.node_comm, leader, 0);
    std::vector<int> leaders;
    boost::mpi::all_gather(world, leader, leaders);
    std::vector<int> distinct = leaders;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    topo.node = static_cast<int>(std::lower_bound(distinct.begin(), distinct.end(), leader) - distinct.begin());

    char name[MPI_MAX_PROCESSOR_NAME] = {};
    int len = 0;
    MPI_Get_processor_name(name, &len);
    std::vector<std::string> names, models;
    std::vector<int> online;
    boost::mpi::all_gather(world, std::string(name, static_cast<std::size_t>(len)), names);
    boost::mpi::all_gather(world, cpu_model(), models);
    boost::mpi::all_gather(world, online_cpus(), online);
    boost::mpi::all_gather(world, affinity_cpus(), topo.rank_cpus);
    boost::mpi::all_gather(world, topo.node, topo.rank_node);
    // Per node, as its first rank sees it.
    for (int l : distinct) {
        const auto i = static_cast<std::size_t>(l);
        topo.hosts.push_back(names[i]);
        topo.cpu_model.push_back(models[i]);
        topo.cores.push_back(online[i]);
    }
    topo.ranks_per_node.assign(distinct.size(), 0);
    for (int n : topo.rank_node) ++topo.ranks_per_node[static_cast<std::size_t>(n)];
    return topo;
}

std::vector<int> cell_ranks(const model::Cell& cell, const std::vector<int>& rank_node) {
    const int world = static_cast<int>(rank_node.size());
    const int want = std::min(cell.ranks, world);
    std::vector<int> out;
    out.reserve(static_cast<std::size_t>(want));
    if (cell.placement == model::Placement::launch) {
        for (int r = 0; r < want; ++r) out.push_back(r);
        return out;
    }
    // Each node's ranks in world order; nodes are numbered by their lowest rank, so node 0
    // starts with world rank 0 and both orders below put it first.
    std::vector<std::vector<int>> by_node;
    for (int r = 0; r < world; ++r) {
        const auto n = static_cast<std::size_t>(rank_node[static_cast<std::size_t>(r)]);
        if (by_node.size() <= n) by_node.resize(n + 1);
        by_node[n].push_back(r);
    }
    if (cell.placement == model::Placement::pack) {
        for (const auto& ranks : by_node)
            for (int r : ranks)
                if (static_cast<int>(out.size()) < want) out.push_back(r);
        return out;
    }
    for (std::size_t round = 0; static_cast<int>(out.size()) < want; ++round)
        for (const auto& ranks : by_node)
            if (round < ranks.size() && static_cast<int>(out.size()) < want) out.push_back(ranks[round]);
    return out;
}

std::vector<std::string> oversubscription_warnings(const std::vector<model::Cell>& cells, const Topology& topo) {
    // The worst case over all cells, per node and per rank: a sweep gives two lines, not one
    // per cell. (Open MPI binds each rank to one core by default when ranks <= cores.)
    struct Worst {
        int cells = 0;
        double ratio = 0.0;  // threads per CPU
        int threads = 0, cpus = 0, where = -1;
        std::string cell;
        void note(int t, int c, int w, const std::string& name) {
            if (static_cast<double>(t) / c <= ratio) return;
            ratio = static_cast<double>(t) / c;
            threads = t, cpus = c, where = w, cell = name;
        }
    } node, rank;
    for (const auto& c : cells) {
        // I/O threads spend the trial waiting for responses: only cells that compute count.
        if (c.workload == model::Workload::io) continue;
        std::vector<int> per_node(topo.cores.size(), 0);
        bool rank_over = false, node_over = false;
        for (int r : cell_ranks(c, topo.rank_node)) {
            const auto i = static_cast<std::size_t>(r);
            per_node[static_cast<std::size_t>(topo.rank_node[i])] += c.threads;
            if (c.threads > topo.rank_cpus[i]) {
                rank_over = true;
                rank.note(c.threads, topo.rank_cpus[i], r, c.name);
            }
        }
        for (std::size_t n = 0; n < per_node.size(); ++n)
            if (per_node[n] > topo.cores[n]) {
                node_over = true;
                node.note(per_node[n], topo.cores[n], static_cast<int>(n), c.name);
            }
        node.cells += node_over;
        rank.cells += rank_over;
    }
    std::vector<std::string> out;
    if (node.cells > 0)
        out.push_back(fmt::format("{} cell(s) run more threads on a node than it has CPUs, up to {} threads on {} "
                                  "({} CPUs) in cell '{}': threads share cores, so those times include the "
                                  "oversubscription; use fewer ranks or threads per node, or more nodes",
                                  node.cells, node.threads, topo.hosts[static_cast<std::size_t>(node.where)],
                                  node.cpus, node.cell));
    if (rank.cells > 0)
        out.push_back(fmt::format("{} cell(s) run more threads on a rank than it may use CPUs (its affinity mask), "
                                  "up to {} threads on rank {} bound to {} CPU(s) in cell '{}': its threads take turns "
                                  "on those CPUs; give each rank T CPUs (mpirun --map-by slot:PE=T, or --bind-to "
                                  "none; srun -c T) or lower threads (--threads)",
                                  rank.cells, rank.threads, rank.where, rank.cpus, rank.cell));
    return out;
}

void sleeping_barrier(const boost::mpi::communicator& comm) {
    MPI_Request req = MPI_REQUEST_NULL;
    MPI_Ibarrier(comm, &req);
    // Its callers wait here for whole cells (ranks that sit one out).
    wait_asleep(req, between_cells);
}

model::TrialResult join_trial(const model::Cell& cell, int trial, std::vector<LocalTrial>& all) {
    model::TrialResult result;
    result.trial.cell = cell.index;
    result.trial.trial = trial;
    result.trial.warmup = trial < cell.warmups;
    double first = 0.0, last = 0.0;
    bool any = false;
    for (auto& l : all) {
        for (const auto& w : l.workers) {
            first = any ? std::min(first, w.start_s) : w.start_s;
            last = any ? std::max(last, w.end_s) : w.end_s;
            any = true;
            result.trial.io_errors += w.io_errors;
        }
        result.workers.insert(result.workers.end(), l.workers.begin(), l.workers.end());
        result.trace.insert(result.trace.end(), std::make_move_iterator(l.trace.begin()),
                            std::make_move_iterator(l.trace.end()));
        result.requests.insert(result.requests.end(), l.requests.begin(), l.requests.end());
        result.errors.insert(result.errors.end(), std::make_move_iterator(l.errors.begin()),
                             std::make_move_iterator(l.errors.end()));
        if (result.first_error.empty()) result.first_error = l.first_error;
    }
    result.trial.wall_s = last - first;
    return result;
}

LocalTrial run_local_trial(engine::Engine& engine, const model::Cell& cell, const engine::TrialContext& trial,
                           const std::function<void()>& start_barrier) {
    return *run_local_trial_if(engine, cell, trial, [&] {
        start_barrier();
        return true;
    });
}

std::optional<LocalTrial> run_local_trial_if(engine::Engine& engine, const model::Cell& cell,
                                             const engine::TrialContext& trial,
                                             const std::function<bool()>& start_gate) {
    const int n = cell.threads;
    const int member = trial.member < 0 ? trial.rank : trial.member;
    const std::unique_ptr<engine::TrialWorkers> workers = engine.make_trial(cell, trial);
    // Work is shared by the I/O threads of a mixed cell, by every thread otherwise; a mixed
    // cell's CPU threads run until its I/O threads are done and get none.
    const int sharers_per_rank = cell.work_sharers() / cell.ranks;
    auto work_of_thread = [&](int t) -> std::int64_t {
        if (cell.workload == model::Workload::mixed && !cell.is_io_thread(t)) return 0;
        return model::work_of_worker(cell, member * sharers_per_rank + t);
    };

    LocalTrial out;
    out.workers.resize(static_cast<std::size_t>(n));
    // A worker's exception ends its thread's work, not the process: every thread still
    // passes the latches (or the others wait for ever) and the first is rethrown after the join.
    // A thread that could not be set up stops the whole trial before it starts.
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(n));
    bool set_up = true;  // written before `go` opens, read after: false, the threads do not run
    clock::time_point t0;
    std::latch ready(n), go(1);
    // The workers' end, waited for in naps that look for an abandon (runner/interrupt.hpp):
    // a trial can run for minutes and its threads cannot be cancelled.
    std::mutex end_mutex;
    std::condition_variable ended;
    int running = n;
    std::vector<std::thread> threads;
    threads.reserve(static_cast<std::size_t>(n));
    for (int t = 0; t < n; ++t) {
        threads.emplace_back([&, t] {
            struct Ending {  // however the thread leaves: the main thread's wait counts it
                std::mutex& m;
                std::condition_variable& cv;
                int& running;
                ~Ending() {
                    std::lock_guard lock(m);
                    if (--running == 0) cv.notify_one();
                }
            } ending{end_mutex, ended, running};
            const auto i = static_cast<std::size_t>(t);
            const std::int64_t work = work_of_thread(t);
            if (worker_timer_slack_ns > 0)
                prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(worker_timer_slack_ns), 0UL, 0UL, 0UL);
            try {
                workers->prepare_thread(t);
            } catch (...) {
                errors[i] = std::current_exception();
            }
            ready.count_down();
            go.wait();
            if (!set_up) return;
            const double cpu_before = thread_cpu_seconds();
            const auto start = clock::now();
            try {
                workers->run(t, work);
            } catch (...) {
                errors[i] = std::current_exception();
            }
            const auto end = clock::now();
            auto& w = out.workers[i];
            w.start_s = seconds_between(t0, start);
            w.end_s = seconds_between(t0, end);
            w.cpu_s = thread_cpu_seconds() - cpu_before;
        });
    }
    ready.wait();
    set_up = std::none_of(errors.begin(), errors.end(), [](const std::exception_ptr& e) { return bool(e); });
    const bool open = start_gate();  // also when not set up: the cell's other ranks wait in it
    set_up = set_up && open;
    t0 = clock::now();
    if (set_up) workers->start(t0);
    go.count_down();
    {
        std::unique_lock lock(end_mutex);
        while (!ended.wait_for(lock, std::chrono::milliseconds(20), [&] { return running == 0; })) {
            lock.unlock();
            abandon_point();
            lock.lock();
        }
    }
    for (auto& th : threads) th.join();
    for (const auto& e : errors)
        if (e) std::rethrow_exception(e);
    if (!open) return std::nullopt;

    for (int t = 0; t < n; ++t) {
        const auto i = static_cast<std::size_t>(t);
        engine::WorkerReport r = workers->report(t);
        auto& w = out.workers[i];
        w.cell = cell.index;
        w.trial = trial.trial;
        w.rank = trial.rank;
        w.thread = t;
        w.node = trial.node;
        w.ops = r.ops;
        if (r.gil) {
            w.gil_acquisitions = r.gil->acquisitions;
            w.gil_wait_s = r.gil->wait_s;
            w.gil_hold_s = r.gil->hold_s;
            w.gil_forced_drops = r.gil->forced_drops;
        } else {
            w.gil_acquisitions = not_measured_count;
            w.gil_wait_s = not_measured_seconds;
            w.gil_hold_s = not_measured_seconds;
            w.gil_forced_drops = not_measured_count;
        }
        w.io_requests = r.io_requests;
        w.io_errors = r.io_errors;
        if (!r.first_error.empty())
            out.errors.push_back({cell.index, trial.trial, trial.rank, t, bounded(r.first_error, max_error_message),
                                  bounded(std::move(r.error_detail), max_error_detail)});
        if (out.first_error.empty()) out.first_error = std::move(r.first_error);
        // The capacity bounds what one thread may add to the file, whatever the engine kept.
        const std::size_t kept = cell.trace ? std::min(r.trace.size(), trial.trace_capacity) : 0;
        w.trace_dropped = cell.trace ? r.trace_dropped + static_cast<std::int64_t>(r.trace.size() - kept) : 0;
        for (std::size_t k = 0; k < kept; ++k)
            out.trace.push_back({cell.index, trial.trial, trial.rank, t, r.trace[k].t_s, std::string(r.trace[k].event)});
        for (std::size_t k = 0; k < r.requests.size(); ++k)
            out.requests.push_back({cell.index, trial.trial, trial.rank, t, static_cast<std::int32_t>(k),
                                    seconds_between(t0, r.requests[k].start), seconds_between(t0, r.requests[k].end),
                                    static_cast<std::uint8_t>(r.requests[k].ok ? 1 : 0)});
    }
    return out;
}

namespace {

// Every distinct engine of the plan, prepared once on this rank before the first cell. A
// failure anywhere stops every rank (a rank left behind would wait in the first barrier for
// ever) with the first failing rank's message.
void prepare_engines(const boost::mpi::communicator& world, int node, const std::vector<model::Cell>& cells,
                     const engine::EngineFor& engine_for) {
    std::vector<engine::Engine*> engines;
    std::vector<engine::RankContext> contexts;
    for (const auto& c : cells) {
        engine::Engine* e = &engine_for(c);
        const auto at = std::find(engines.begin(), engines.end(), e);
        if (at == engines.end()) {
            engines.push_back(e);
            contexts.push_back({world.rank(), node, {c}});
        } else {
            contexts[static_cast<std::size_t>(at - engines.begin())].cells.push_back(c);
        }
    }
    std::string error;
    for (std::size_t i = 0; i < engines.size() && error.empty(); ++i) {
        try {
            engines[i]->prepare_rank(contexts[i]);
        } catch (const std::exception& e) {
            error = fmt::format("engine '{}' could not start on rank {}: {}", engines[i]->name(), world.rank(), e.what());
        }
    }
    int first_failed = error.empty() ? world.size() : world.rank();
    boost::mpi::all_reduce(world, first_failed, first_failed, boost::mpi::minimum<int>());
    if (first_failed == world.size()) return;
    boost::mpi::broadcast(world, error, first_failed);
    throw std::runtime_error(error);
}

}  // namespace

namespace {

// Trials a resumed run has already: every rank holds the same lists, so all skip alike without
// talking.
std::set<int> stored_trials(const RunSettings& settings, std::size_t ci) {
    std::set<int> stored;
    if (ci < settings.done.trials.size()) stored.insert(settings.done.trials[ci].begin(), settings.done.trials[ci].end());
    return stored;
}

bool closed_by_budget(const RunSettings& settings, std::size_t ci) {
    return ci < settings.done.closed.size() && settings.done.closed[ci];
}

// One cell across the schedule: its communicator, and what its rank 0 tracks for the budget.
struct Lane {
    bool running = false;  // has trials left, and has not ended
    bool member = false;   // this rank runs the cell
    bool node_first = false;  // and is its first rank on this node: it probes the node
    const boost::mpi::communicator* sub = nullptr;
    std::string url;
    int measured = 0;      // measured trials stored, earlier starts included
    double spent_s = 0.0;  // rank 0: time in this cell's own trials (its time budget's clock)
    // Retries of disturbed trials (RunSettings::retries), kept alike on every rank.
    int next_trial = 0;    // the trial number the next retry gets: past the plan and what is stored
    int retries = 0;       // retries on this start
    int streak_round = -1, streak = 0;  // retries in a row of one round
    bool disturbed = false;  // rank 0: the cell's last trial was flagged disturbed
    // Rank 0, repeats = "auto": wall seconds of the measured trials by round (a clean trial's
    // before a disturbed one's), for the pilot's decision; `dirty`: rounds holding a disturbed one.
    std::map<int, double> walls;
    std::set<int> dirty;
    void note_wall(int round, double wall_s, bool disturbed_trial) {
        const bool have = walls.count(round) > 0;
        if (have && !dirty.count(round)) return;
        if (have && disturbed_trial) return;
        walls[round] = wall_s;
        if (disturbed_trial) dirty.insert(round);
        else dirty.erase(round);
    }
};

// At most this many retries of one round's trial in a row: a machine that stays busy is
// reported, not waited out.
constexpr int max_retries_in_a_row = 2;

// The most measured rounds the cell may get: its repeats, or repeats = "auto"'s maximum. Retries
// are numbered past them, so the rounds "auto" adds keep trial number = round; and the default
// retry limit is this many.
int most_rounds(const model::Cell& cell, const RunSettings& settings) {
    return std::max(cell.repeats, settings.auto_rounds.on ? settings.auto_rounds.max : 0);
}

// Rank 0: whether the trial just run (slot `slot`) is run again at once.
bool wants_retry(const Lane& lane, const model::Cell& cell, const Slot& slot, const RunSettings& settings) {
    const int limit = settings.retries < 0 ? most_rounds(cell, settings) : settings.retries;
    if (!lane.disturbed || slot.trial < cell.warmups || lane.retries >= limit) return false;
    return lane.streak_round != slot.round_of() || lane.streak < max_retries_in_a_row;
}

// Every rank, once the ranks agreed on a retry: the slot after `at` repeats its round.
void add_retry(Schedule& schedule, std::size_t at, Lane& lane) {
    const Slot done = schedule.slots()[at];
    schedule.insert_after(at, Slot{done.cell, lane.next_trial++, -1});
    ++lane.retries;
    lane.streak = lane.streak_round == done.round_of() ? lane.streak + 1 : 1;
    lane.streak_round = done.round_of();
}

// Every cell's lane: each cell keeps one sub-communicator for the whole run (built before the
// first trial, collectively over the world in plan order; cells on the same ranks share one,
// so a long plan does not use up the MPI library's communicators). Cells with nothing left end
// at once.
std::vector<Lane> make_lanes(const boost::mpi::communicator& world, const Topology& topology,
                             const std::vector<model::Cell>& cells, const RunSettings& settings,
                             const Schedule& schedule, std::map<std::vector<int>, boost::mpi::communicator>& subs,
                             TrialSink* sink, bool pilot_pending) {
    std::vector<Lane> lanes(cells.size());
    for (std::size_t ci = 0; ci < cells.size(); ++ci) {
        const model::Cell& cell = cells[ci];
        Lane& lane = lanes[ci];
        // A cell whose pilot is all stored waits for the decision on its further rounds.
        if (!schedule.cell_has_after(ci, -1) && !(pilot_pending && !closed_by_budget(settings, ci))) {
            if (sink && world.rank() == 0)
                sink->on_cell_end(cell, ci, closed_by_budget(settings, ci) ? CellEnd::budget : CellEnd::complete);
            continue;
        }
        lane.running = true;
        // The cell's ranks get sub-communicator ranks in cell_ranks' order (world rank 0 first).
        const std::vector<int> chosen = cell_ranks(cell, topology.rank_node);
        const auto mine = std::find(chosen.begin(), chosen.end(), world.rank());
        lane.member = mine != chosen.end();
        const auto node_of = [&](int r) { return topology.rank_node[static_cast<std::size_t>(r)]; };
        lane.node_first = lane.member && std::find_if(chosen.begin(), chosen.end(), [&](int r) {
                                             return node_of(r) == topology.node;
                                         }) == mine;
        auto at = subs.find(chosen);
        if (at == subs.end())
            at = subs.emplace(chosen, world.split(lane.member ? 0 : 1,
                                                  lane.member ? static_cast<int>(mine - chosen.begin()) : world.rank()))
                     .first;
        lane.sub = &at->second;
        lane.url = io_url_for(cell, settings);
        lane.next_trial = cell.warmups + most_rounds(cell, settings);
        if (world.rank() == 0 && ci < settings.done.walls.size())
            for (const StoredWall& w : settings.done.walls[ci]) lane.note_wall(w.round, w.wall_s, w.disturbed);
        for (int t : stored_trials(settings, ci)) {
            lane.measured += t >= cell.warmups;
            lane.next_trial = std::max(lane.next_trial, t + 1);
        }
    }
    return lanes;
}

// Runs one trial on the cell's ranks; rank 0 hands it to the sink. false: its start gate called
// it off (a stop, or a failure elsewhere that stops the run).
// The disturbance probes (runner/probes.hpp) take the trial's edges at its start gate, where
// every thread is made and waiting, and once the rank's workers have ended.
bool run_trial(const boost::mpi::communicator& world, const Topology& topology, const model::Cell& cell,
               std::size_t ci, const Slot& slot, Lane& lane, const RunSettings& settings,
               const engine::EngineFor& engine_for, TrialSink* sink, bool& failed,
               disturbance::ReferenceClock& reference) {
    const int k = slot.trial;
    const boost::mpi::communicator& sub = *lane.sub;
    const auto began = clock::now();
    const engine::TrialContext context{k, world.rank(), topology.node, sub.rank(), lane.url};
    EdgeProbe probe(world.rank(), topology.node, lane.node_first, reference);
    std::optional<LocalTrial> local = run_local_trial_if(engine_for(cell), cell, context, [&] {
        probe.start();
        // A stop request can come between the world's agreement and this gate.
        const Verdict v = agree(sub, settings, false, failed, at_the_gate);
        return !v.stop && !v.failed;
    });
    lane.spent_s += seconds_between(began, clock::now());
    if (!local) return false;
    local->probe = probe.finish();
    std::vector<LocalTrial> all = gather_asleep(sub, *local);
    if (sub.rank() == 0) {
        std::vector<RankProbe> probes;
        for (const LocalTrial& l : all) probes.push_back(l.probe);
        model::TrialResult result = join_trial(cell, k, all);
        judge_trial(result.trial, probes, result.workers,
                    ProbeContext{&cell, &topology.rank_cpus, &topology.cores, settings.disturbance});
        result.trial.round = slot.round_of();
        lane.disturbed = result.trial.disturbed;
        if (k >= cell.warmups && result.trial.io_errors == 0)
            lane.note_wall(slot.round_of(), result.trial.wall_s, result.trial.disturbed);
        // World rank 0 is every cell's rank 0: it alone keeps this flag.
        failed = failed || (settings.stop_on_failure && result.trial.io_errors > 0);
        if (sink) sink->on_trial(cell, ci, result);
    }
    lane.measured += k >= cell.warmups;
    return true;
}

// This start's schedule: what the plan has left. With repeats = "auto" the plan holds the pilot;
// a resumed run whose pilot already fixed the rounds plans them all at once.
Schedule start_schedule(const std::vector<model::Cell>& cells, const RunSettings& settings) {
    std::vector<std::set<int>> stored(cells.size());
    for (std::size_t ci = 0; ci < cells.size(); ++ci) stored[ci] = stored_trials(settings, ci);
    std::vector<model::Cell> sized = cells;
    if (settings.auto_rounds.on && settings.done.auto_rounds > 0)
        for (model::Cell& c : sized) c.repeats = std::max(c.repeats, settings.done.auto_rounds);
    return Schedule(sized, settings.order, stored, settings.done.closed);
}

// The pilot's last trial (repeats = "auto"): rank 0 fixes the rounds from its spread
// (runner/auto_rounds.hpp), every rank adds them to the schedule. Returns the cells that got
// nothing more (they end complete).
std::vector<char> plan_after_pilot(const boost::mpi::communicator& world, const std::vector<model::Cell>& cells,
                                   const RunSettings& settings, Schedule& schedule, const std::vector<Lane>& lanes,
                                   double elapsed_s, int trials_run, TrialSink* sink) {
    int rounds = settings.auto_rounds.pilot;
    if (world.rank() == 0) {
        auto_rounds::RoundTimes times(cells.size());
        for (std::size_t ci = 0; ci < cells.size(); ++ci) times[ci] = lanes[ci].walls;
        const double per_cell = cells.empty() ? 0.0 : static_cast<double>(trials_run) / cells.size();
        const auto_rounds::Decision d = auto_rounds::decide(settings.auto_rounds, cells, times, elapsed_s, per_cell);
        rounds = d.rounds;
        if (sink) sink->on_rounds_decided(d);
    }
    boost::mpi::broadcast(world, rounds, 0);
    std::vector<int> from(cells.size(), 0), to(cells.size(), 0);
    for (std::size_t ci = 0; ci < cells.size(); ++ci)
        if (lanes[ci].running) {
            from[ci] = cells[ci].warmups + cells[ci].repeats;
            to[ci] = cells[ci].warmups + std::max(cells[ci].repeats, rounds);
        }
    schedule.extend(settings.order, from, to);
    std::vector<char> ended(cells.size(), 0);
    for (std::size_t ci = 0; ci < cells.size(); ++ci) ended[ci] = lanes[ci].running && from[ci] == to[ci];
    return ended;
}

// Every order (RunSettings::order) runs from one schedule (runner/schedule.hpp). After every
// trial the whole world agrees, asleep (the ranks that sat the trial out wait there), on a stop
// request, a failure that stops the run and the end of the cell's time budget; that agreement
// also tells the ranks outside the cell that it ended. A cell ends (on_cell_end) after its last
// scheduled trial, or when its budget runs out; at a stop every cell still running ends as
// interrupted.
RunEnd run_schedule(const boost::mpi::communicator& world, const Topology& topology,
                    const std::vector<model::Cell>& cells, const RunSettings& settings,
                    const engine::EngineFor& engine_for, TrialSink* sink) {
    const bool root = world.rank() == 0;  // every cell's rank 0: it stores, and alone decides budgets
    const model::AutoRounds& autos = settings.auto_rounds;
    const auto began = clock::now();
    bool pilot_pending = autos.on && settings.done.auto_rounds <= 0;
    Schedule schedule = start_schedule(cells, settings);
    std::map<std::vector<int>, boost::mpi::communicator> subs;  // a cell's ranks -> their communicator
    std::vector<Lane> lanes = make_lanes(world, topology, cells, settings, schedule, subs, sink, pilot_pending);
    auto end_cell = [&](std::size_t ci, CellEnd end) {
        lanes[ci].running = false;
        if (sink && root) sink->on_cell_end(cells[ci], ci, end);
    };
    bool failed = false;  // rank 0: a trial failed and the run stops on failure
    int trials_run = 0;   // on this start, for the pace the budget assumes
    disturbance::ReferenceClock reference;  // this rank's reference loop times over the run
    for (std::size_t at = 0;; ++at) {
        if (at == schedule.slots().size()) {
            if (!pilot_pending) break;
            pilot_pending = false;
            const std::vector<char> ended = plan_after_pilot(world, cells, settings, schedule, lanes,
                                                             seconds_between(began, clock::now()), trials_run, sink);
            for (std::size_t ci = 0; ci < cells.size(); ++ci)
                if (ended[ci]) end_cell(ci, CellEnd::complete);
            if (at == schedule.slots().size()) break;
        }
        const Slot slot = schedule.slots()[at];  // a copy: a retry inserts into the schedule
        const std::size_t ci = slot.cell;
        const model::Cell& cell = cells[ci];
        Lane& lane = lanes[ci];
        if (!lane.running) continue;
        const auto pos = static_cast<std::ptrdiff_t>(at);
        lane.disturbed = false;
        const bool called_off = lane.member && !run_trial(world, topology, cell, ci, slot, lane, settings, engine_for,
                                                          sink, failed, reference);
        ++trials_run;
        // Rank 0's decisions: the budget ends the cell once it has a measured trial and has run
        // its budget (warm-ups always all run: they come first); a failure stops the run unless
        // this was the very last trial of all (then the run is complete). The run's own budget
        // (repeats = "auto") ends every cell once the pilot is decided.
        bool budget_out = false, stop_failed = false, retry = false, spent = false;
        if (root) {
            budget_out = !called_off && cell.time_budget_s > 0 && lane.measured >= 1 &&
                         lane.spent_s >= cell.time_budget_s && schedule.cell_has_after(ci, pos);
            retry = !called_off && !budget_out && wants_retry(lane, cell, slot, settings);
            bool more = false;
            for (std::size_t j = 0; j < lanes.size() && !more; ++j)
                more = lanes[j].running && !(j == ci && budget_out) && schedule.cell_has_after(j, pos);
            stop_failed = failed && (called_off || more || retry);
            spent = !called_off && autos.on && !pilot_pending && autos.budget_s > 0 && (more || retry) &&
                    seconds_between(began, clock::now()) >= autos.budget_s;
        }
        const Verdict v = agree(world, settings, budget_out, stop_failed, lane.member ? at_the_gate : between_cells,
                                retry, spent);
        if (v.stop || v.failed) {
            for (std::size_t j = 0; j < lanes.size(); ++j)
                if (lanes[j].running)
                    end_cell(j, j == ci && !called_off && !schedule.cell_has_after(ci, pos) && !pilot_pending
                                    ? CellEnd::complete
                                    : CellEnd::interrupted);
            if (v.stop) return {RunOutcome::interrupted, v.signal};
            return {RunOutcome::failed, 0};
        }
        if (v.spent) {
            if (root && sink) sink->on_run_budget_spent(autos.budget_s);
            for (std::size_t j = 0; j < lanes.size(); ++j)
                if (lanes[j].running) end_cell(j, CellEnd::budget);
            break;
        }
        if (v.retry) add_retry(schedule, at, lane);
        if (v.budget) end_cell(ci, CellEnd::budget);
        else if (!schedule.cell_has_after(ci, pos) && !pilot_pending) end_cell(ci, CellEnd::complete);
    }
    return {};
}

}  // namespace

RunEnd run_cells(const boost::mpi::communicator& world, const Topology& topology,
                 const std::vector<model::Cell>& cells, const RunSettings& settings,
                 const engine::EngineFor& engine_for, TrialSink* sink) {
    prepare_engines(world, topology.node, cells, engine_for);
    // Short pauses in wait_until must be short: the default timer slack (50 us) would add
    // that much to every wait of every trial. The workers keep the process's own.
    if (worker_timer_slack_ns == 0) worker_timer_slack_ns = prctl(PR_GET_TIMERSLACK, 0UL, 0UL, 0UL, 0UL);
    prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
    return run_schedule(world, topology, cells, settings, engine_for, sink);
}

}  // namespace gilbench::runner
