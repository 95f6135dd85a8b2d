#include "runner/runner.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <latch>
#include <map>
#include <set>
#include <thread>

#include <boost/mpi/collectives.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <fmt/format.h>
#include <mpi.h>

#include "gil/gil.hpp"
#include "runner/host_info.hpp"
#include "workloads/workload.hpp"

// Boost.Serialization of the plain records, kept here so model/ stays dependency-free.
namespace boost::serialization {
template <class Archive>
void serialize(Archive& ar, gilbench::model::WorkerRecord& w, unsigned) {
    ar & w.cell & w.trial & w.rank & w.thread & w.node & w.start_s & w.end_s & w.ops & w.gil_acquisitions &
        w.gil_wait_s & w.gil_hold_s & w.gil_forced_drops & w.io_requests & w.io_errors & w.trace_dropped;
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
void serialize(Archive& ar, gilbench::runner::LocalTrial& l, unsigned) {
    ar & l.workers & l.trace & l.requests & l.first_error;
}
}  // namespace boost::serialization

namespace gilbench::runner {
namespace {

using clock = std::chrono::steady_clock;

double seconds_between(clock::time_point a, clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

gil::Config gil_config(const model::Cell& cell) {
    gil::Config cfg;
    cfg.policy = cell.gil;
    cfg.switch_interval = std::chrono::nanoseconds(static_cast<std::int64_t>(cell.switch_interval_s * 1e9));
    cfg.check_interval = cell.check_interval;
    return cfg;
}

std::string io_url_for(const model::Cell& cell, const RunSettings& settings) {
    if (cell.workload == model::Workload::cpu) return {};
    if (!cell.url.empty()) return cell.url;
    return workloads::embedded_url(settings.embedded_base_url, cell.latency_s);
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
};

Verdict agree(const boost::mpi::communicator& comm, const RunSettings& settings, bool budget_out) {
    std::array<int, 3> mine{settings.stop_requested && settings.stop_requested->load() ? 1 : 0,
                            settings.stop_signal ? settings.stop_signal() : 0, budget_out ? 1 : 0};
    std::array<int, 3> all{};
    // Every field is a flag or a number where the highest wins, so one element-wise max does.
    boost::mpi::all_reduce(comm, mine.data(), static_cast<int>(mine.size()), all.data(), boost::mpi::maximum<int>());
    return {all[0], all[1], all[2]};
}

// Rank 0's view of one trial: every rank's records joined, wall time = latest end - earliest start.
model::TrialResult join_trial(const model::Cell& cell, int trial, std::vector<LocalTrial>& all) {
    model::TrialResult result;
    result.trial = {cell.index, trial, trial < cell.warmups, 0.0, 0};
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
        if (result.first_error.empty()) result.first_error = l.first_error;
    }
    result.trial.wall_s = last - first;
    return result;
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
    int done = 0;
    // Short sleeps at first keep the start skew small; longer ones keep idle ranks cheap.
    auto pause = std::chrono::microseconds(20);
    for (MPI_Test(&req, &done, MPI_STATUS_IGNORE); !done; MPI_Test(&req, &done, MPI_STATUS_IGNORE)) {
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(1000));
    }
}

LocalTrial run_local_trial(const model::Cell& cell, int trial, int rank, int node, const std::string& io_url,
                           const std::function<void()>& start_barrier, int member, std::size_t trace_capacity) {
    const int n = cell.threads;
    if (member < 0) member = rank;
    gil::Gil gil(gil_config(cell));
    std::vector<gil::ThreadState> states;
    std::vector<std::unique_ptr<workloads::Worker>> workers;
    // Mixed cells: the CPU threads run until the rank's last I/O thread is done.
    std::atomic<bool> io_done{false};
    std::atomic<int> io_running{0};
    states.reserve(static_cast<std::size_t>(n));
    for (int t = 0; t < n; ++t) {
        states.emplace_back(t, cell.trace, trace_capacity);
        workers.push_back(workloads::make_worker(cell, t, io_url, &io_done));
        if (cell.is_io_thread(t)) ++io_running;
    }
    // Work is shared by the I/O threads of a mixed cell, by every thread otherwise.
    const int sharers_per_rank = cell.work_sharers() / cell.ranks;

    LocalTrial out;
    out.workers.resize(static_cast<std::size_t>(n));
    std::vector<workloads::Outcome> outcomes(static_cast<std::size_t>(n));
    clock::time_point t0;
    std::latch ready(n), go(1);
    std::vector<std::thread> threads;
    threads.reserve(static_cast<std::size_t>(n));
    for (int t = 0; t < n; ++t) {
        threads.emplace_back([&, t] {
            const auto i = static_cast<std::size_t>(t);
            const bool io = cell.is_io_thread(t);
            const std::int64_t work =
                io || cell.workload != model::Workload::mixed ? model::work_of_worker(cell, member * sharers_per_rank + t) : 0;
            ready.count_down();
            go.wait();
            const auto start = clock::now();
            gil.take(states[i]);  // a new Python thread first waits for the GIL
            outcomes[i] = workers[i]->run(gil, states[i], work);
            gil.drop(states[i]);
            if (io && --io_running == 0) io_done = true;
            const auto end = clock::now();
            auto& w = out.workers[i];
            w.start_s = seconds_between(t0, start);
            w.end_s = seconds_between(t0, end);
        });
    }
    ready.wait();
    start_barrier();
    t0 = clock::now();
    gil.set_epoch(t0);
    go.count_down();
    for (auto& th : threads) th.join();

    for (int t = 0; t < n; ++t) {
        const auto i = static_cast<std::size_t>(t);
        const gil::ThreadStats& s = states[i].stats();
        auto& w = out.workers[i];
        w.cell = cell.index;
        w.trial = trial;
        w.rank = rank;
        w.thread = t;
        w.node = node;
        w.ops = outcomes[i].ops;
        w.gil_acquisitions = s.acquisitions;
        w.gil_wait_s = s.wait_s;
        w.gil_hold_s = s.hold_s;
        w.gil_forced_drops = s.forced_drops;
        w.io_requests = outcomes[i].io_requests;
        w.io_errors = outcomes[i].io_errors;
        w.trace_dropped = states[i].trace_dropped();
        if (out.first_error.empty()) out.first_error = outcomes[i].first_error;
        for (const gil::TraceEvent& e : states[i].trace())
            out.trace.push_back({cell.index, trial, rank, t, e.t_s, std::string(gil::to_string(e.kind))});
        const auto& reqs = outcomes[i].requests;
        for (std::size_t k = 0; k < reqs.size(); ++k)
            out.requests.push_back({cell.index, trial, rank, t, static_cast<std::int32_t>(k),
                                    seconds_between(t0, reqs[k].start), seconds_between(t0, reqs[k].end),
                                    static_cast<std::uint8_t>(reqs[k].ok ? 1 : 0)});
    }
    return out;
}

RunEnd run_cells(const boost::mpi::communicator& world, const Topology& topology,
                 const std::vector<model::Cell>& cells, const RunSettings& settings, TrialSink* sink) {
    for (std::size_t ci = 0; ci < cells.size(); ++ci) {
        const model::Cell& cell = cells[ci];
        const int trials = cell.warmups + cell.repeats;
        // Trials a resumed run has already: every rank holds the same lists, so all skip alike
        // without talking.
        std::set<int> stored;
        if (ci < settings.done.trials.size()) stored.insert(settings.done.trials[ci].begin(), settings.done.trials[ci].end());
        const bool closed = ci < settings.done.closed.size() && settings.done.closed[ci];
        auto pending_after = [&](int t) {
            for (int u = t + 1; u < trials; ++u)
                if (!stored.count(u)) return true;
            return false;
        };
        if (closed || !pending_after(-1)) {
            if (sink && world.rank() == 0) sink->on_cell_end(cell, ci, closed ? CellEnd::budget : CellEnd::complete);
            continue;
        }

        // The cell's ranks get sub-communicator ranks in cell_ranks' order (world rank 0 first).
        const std::vector<int> chosen = cell_ranks(cell, topology.rank_node);
        const auto mine = std::find(chosen.begin(), chosen.end(), world.rank());
        const bool member = mine != chosen.end();
        const boost::mpi::communicator sub =
            world.split(member ? 0 : 1, member ? static_cast<int>(mine - chosen.begin()) : world.rank());
        CellEnd end = CellEnd::complete;
        if (member) {
            const std::string url = io_url_for(cell, settings);
            int measured = 0;
            for (int t : stored) measured += t >= cell.warmups;
            const auto cell_start = clock::now();
            for (int trial = 0; trial < trials; ++trial) {
                if (stored.count(trial)) continue;
                LocalTrial local = run_local_trial(cell, trial, world.rank(), topology.node, url,
                                                   [&] { sleeping_barrier(sub); }, sub.rank());
                sleeping_barrier(sub);  // nobody spins in the gather while others still measure
                std::vector<LocalTrial> all;
                boost::mpi::gather(sub, local, all, 0);
                if (sub.rank() == 0) {
                    model::TrialResult result = join_trial(cell, trial, all);
                    if (sink) sink->on_trial(cell, ci, result);
                }
                measured += trial >= cell.warmups;
                // The budget is rank 0's clock alone: one decision, shared. At least one repeat
                // runs, and warm-ups always all run.
                const bool budget_out =
                    sub.rank() == 0 && cell.time_budget_s > 0 && measured >= 1 && pending_after(trial) &&
                    std::chrono::duration<double>(clock::now() - cell_start).count() >= cell.time_budget_s;
                const Verdict v = agree(sub, settings, budget_out);
                if (v.stop) {
                    end = pending_after(trial) ? CellEnd::interrupted : CellEnd::complete;
                    break;
                }
                if (v.budget) {
                    end = CellEnd::budget;
                    break;
                }
            }
        }
        sleeping_barrier(world);  // ranks that sat this cell out wait here, asleep
        if (sink && world.rank() == 0) sink->on_cell_end(cell, ci, end);
        if (const Verdict v = agree(world, settings, false); v.stop) return {RunOutcome::interrupted, v.signal};
    }
    return {};
}

}  // namespace gilbench::runner
