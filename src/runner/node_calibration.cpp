#include "runner/node_calibration.hpp"

#include <algorithm>

#include <boost/mpi/collectives.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <fmt/format.h>

namespace gilbench::runner {

NodeCalibration calibrate_nodes(engine::CalibrationMode mode, const std::string& cache_dir, const Topology& topology,
                                const boost::mpi::communicator& world, const CalibrationVoice& voice,
                                const std::string& old_gil_python) {
    NodeCalibration out;
    std::vector<std::int64_t> costs(out.mine.ns.size());
    std::string how;
    if (topology.node_rank == 0) {
        const std::string& host = topology.hosts[static_cast<std::size_t>(topology.node)];
        const engine::Calibration c = engine::calibrate_for_run(mode, cache_dir, [&] {
            if (voice.measuring) voice.measuring(host);
        });
        if (!c.warning.empty() && voice.warning) voice.warning(host, c.warning);
        costs.assign(c.costs.ns.begin(), c.costs.ns.end());
        how = c.how;
        if (!old_gil_python.empty()) {
            std::string why;
            if (const auto t = engine::time_old_gil_python(old_gil_python, &why)) {
                costs[workloads::UrllibCosts::old_gil_countdown_per_1000] = t->per_1000_ns;
                how += "; " + engine::describe(*t, old_gil_python);
            } else {
                out.error = fmt::format("{}: --old-gil-python: {}", host, why);
            }
        }
    }
    // The node's other ranks wait asleep meanwhile: one spinning in the broadcast takes a core
    // from the calibration's two threads, and a CPU-bound thread that shares a core with the
    // I/O thread rarely wins its releases (the cold costs came out at half).
    sleeping_barrier(topology.node_comm);
    boost::mpi::broadcast(topology.node_comm, costs, 0);
    boost::mpi::broadcast(topology.node_comm, how, 0);
    std::copy(costs.begin(), costs.end(), out.mine.ns.begin());
    std::vector<std::vector<std::int64_t>> all_costs;
    std::vector<std::string> all_how;
    boost::mpi::gather(world, costs, all_costs, 0);
    boost::mpi::gather(world, how, all_how, 0);
    if (world.rank() != 0) return out;
    std::vector<std::string> node_how(topology.hosts.size());
    std::vector<std::vector<std::int64_t>> node_costs(topology.hosts.size());
    for (std::size_t r = 0; r < all_costs.size(); ++r) {
        const auto n = static_cast<std::size_t>(topology.rank_node[r]);
        if (node_how[n].empty()) {
            node_how[n] = all_how[r];
            node_costs[n] = all_costs[r];
        }
    }
    for (const auto& c : node_costs) out.per_node.insert(out.per_node.end(), c.begin(), c.end());
    const bool same =
        std::all_of(node_how.begin(), node_how.end(), [&](const std::string& h) { return h == node_how[0]; });
    if (same) {
        out.how = node_how[0];
    } else {
        for (std::size_t n = 0; n < node_how.size(); ++n)
            out.how += fmt::format("{}{}: {}", n ? "; " : "", topology.hosts[n], node_how[n]);
    }
    return out;
}

std::optional<workloads::UrllibCosts> share_kept_costs(const std::vector<std::int64_t>& per_node,
                                                       const Topology& topology, const boost::mpi::communicator& world) {
    constexpr std::size_t k = workloads::UrllibCosts::values;
    // Rank 0 decides for all: every node's costs, or none (then every rank calibrates alike).
    std::vector<std::int64_t> all;
    if (world.rank() == 0 && per_node.size() == k * topology.hosts.size()) all = per_node;
    boost::mpi::broadcast(world, all, 0);
    if (all.empty()) return std::nullopt;
    const auto at = static_cast<std::size_t>(topology.node) * k;
    workloads::UrllibCosts c;
    std::copy(all.begin() + static_cast<std::ptrdiff_t>(at), all.begin() + static_cast<std::ptrdiff_t>(at + k),
              c.ns.begin());
    return c;
}

}  // namespace gilbench::runner
