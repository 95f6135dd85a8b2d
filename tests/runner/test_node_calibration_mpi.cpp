// The calibration across nodes on 2 ranks (one node here): the node's first rank calibrates and
// its ranks share the result, rank 0 gets every node's for the provenance, and a resumed run's
// stored costs reach every rank. No measurement: the fallback, or a cache written by the test.
#include "runner/node_calibration.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include <unistd.h>

#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <boost/serialization/string.hpp>

#include "engine/cpython/cpython_engine.hpp"

namespace gilbench::runner {
namespace {

constexpr std::size_t k = workloads::UrllibCosts::values;

TEST(NodeCalibrationMpi, OffGivesEveryRankTheFallbackAndRankZeroEveryNodes) {
    boost::mpi::communicator world;
    const Topology topo = discover_topology(world);
    int measured = 0;
    const NodeCalibration c = calibrate_nodes(engine::CalibrationMode::off, "", topo, world,
                                              {[&](const std::string&) { ++measured; }, {}});
    EXPECT_EQ(measured, 0);
    EXPECT_EQ(c.mine.ns, workloads::UrllibCosts::fallback().ns);
    if (world.rank() == 0) {
        EXPECT_EQ(c.per_node.size(), k * topo.hosts.size());
        EXPECT_EQ(c.how, "fallback: --no-calibration");
    } else {
        EXPECT_TRUE(c.per_node.empty());
        EXPECT_TRUE(c.how.empty());
    }
}

TEST(NodeCalibrationMpi, TheNodesFirstRankReadsTheCacheAndItsRanksShareIt) {
    boost::mpi::communicator world;
    const Topology topo = discover_topology(world);
    std::string dir;
    if (world.rank() == 0)
        dir = (std::filesystem::temp_directory_path() / ("gilbench_node_cal_" + std::to_string(::getpid()))).string();
    boost::mpi::broadcast(world, dir, 0);
    engine::CachedCosts cached{workloads::UrllibCosts::fallback(), "2026-12-02T12:00:00Z"};
    for (std::size_t i = 0; i < k; ++i) cached.costs.ns[i] = static_cast<std::int64_t>(1000 + i);
    char host[256] = {};
    ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
    const std::string version = engine::CpythonEngine::library_version();
    if (topo.node_rank == 0) engine::write_cached_costs(engine::calibration_cache_file(dir, host, version), version, cached);
    world.barrier();
    int measured = 0;
    const NodeCalibration c = calibrate_nodes(engine::CalibrationMode::cached, dir, topo, world,
                                              {[&](const std::string&) { ++measured; }, {}});
    world.barrier();
    if (world.rank() == 0) std::filesystem::remove_all(dir);
    EXPECT_EQ(measured, 0);  // the cache, not a measurement
    EXPECT_EQ(c.mine.ns, cached.costs.ns) << "rank " << world.rank();
    if (world.rank() == 0) {
        ASSERT_EQ(c.per_node.size(), k * topo.hosts.size());
        EXPECT_EQ(c.per_node[k - 1], static_cast<std::int64_t>(1000 + k - 1));
        EXPECT_EQ(c.how, "cached 2026-12-02T12:00:00Z");
    }
}

TEST(NodeCalibrationMpi, KeptCostsReachEveryRankOrNone) {
    boost::mpi::communicator world;
    const Topology topo = discover_topology(world);
    std::vector<std::int64_t> per_node;
    for (std::size_t n = 0; n < topo.hosts.size(); ++n)
        for (std::size_t i = 0; i < k; ++i) per_node.push_back(static_cast<std::int64_t>(100 * n + i + 1));
    // Only rank 0's argument counts: the others pass nothing.
    const auto kept = share_kept_costs(world.rank() == 0 ? per_node : std::vector<std::int64_t>{}, topo, world);
    ASSERT_TRUE(kept.has_value()) << "rank " << world.rank();
    EXPECT_EQ(kept->ns[0], 100 * topo.node + 1);
    EXPECT_EQ(kept->ns[k - 1], static_cast<std::int64_t>(100 * topo.node + k));
    // None, or a wrong count from rank 0: nullopt everywhere (then every rank calibrates).
    EXPECT_FALSE(share_kept_costs({}, topo, world).has_value());
    per_node.pop_back();
    EXPECT_FALSE(share_kept_costs(per_node, topo, world).has_value());
}

}  // namespace
}  // namespace gilbench::runner

int main(int argc, char** argv) {
    boost::mpi::environment env(argc, argv);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
