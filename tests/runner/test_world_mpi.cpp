// World preparation on 2 ranks: failure agreement, the job text every rank gets, the per-node
// servers and what they served (loopback only).
#include "runner/world.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <boost/mpi/collectives.hpp>
#include <boost/serialization/string.hpp>
#include <boost/mpi/communicator.hpp>

#include "http/client.hpp"

namespace gilbench::runner {
namespace {

TEST(WorldMpi, RankZerosVerdictReachesEveryRank) {
    boost::mpi::communicator world;
    std::string none;
    EXPECT_FALSE(failed_everywhere(world, none));
    std::string message = world.rank() == 0 ? "bad path" : "";
    EXPECT_TRUE(failed_everywhere(world, message));
    EXPECT_EQ(message, "bad path");  // every rank holds it
}

TEST(WorldMpi, AnyRanksFailureStopsAllNamingTheRank) {
    boost::mpi::communicator world;
    EXPECT_FALSE(any_failed(world, ""));
    std::string message = world.rank() == world.size() - 1 ? "cannot bind" : "";
    EXPECT_TRUE(any_failed(world, message));
}

TEST(WorldMpi, TheJobTextComesFromRankZero) {
    boost::mpi::communicator world;
    std::string path;  // rank 0's choice, as the path a user gives
    if (world.rank() == 0)
        path = (std::filesystem::temp_directory_path() / ("gilbench_world_job_" + std::to_string(::getpid()) + ".toml"))
                   .string();
    boost::mpi::broadcast(world, path, 0);
    const std::string text = "[job]\nname = \"w\"\n[[cell]]\nworkload = \"cpu\"\nwork = 1\n";
    if (world.rank() == 0) std::ofstream(path) << text;
    const auto got = share_job_text(world, path);
    if (world.rank() == 0) std::filesystem::remove(path);
    EXPECT_TRUE(got.has_value());
    EXPECT_EQ(got.value_or("(none)"), text);
    world.barrier();
    EXPECT_FALSE(share_job_text(world, path + ".missing").has_value());  // on every rank
}

TEST(WorldMpi, OneServerPerNodeAndItsCountsPerHost) {
    boost::mpi::communicator world;
    http::global_init();
    const Topology topo = discover_topology(world);
    EXPECT_FALSE(start_servers(world, topo, false, "")->server);  // not needed: none
    auto servers = start_servers(world, topo, true, "");
    if (!servers) {  // then every rank has none (any_failed): all leave alike
        ADD_FAILURE() << "no servers";
        return;
    }
    EXPECT_EQ(servers->server != nullptr, topo.node_rank == 0);
    http::HttpClient client(http::ClientConfig{});
    EXPECT_TRUE(client.get(servers->base_url + "?delay=0").ok());
    world.barrier();  // every rank's request answered before the count
    // The run's hosts list has one more host first: this start's node 0 is its index 1.
    std::vector<int> host_of(topo.hosts.size());
    for (std::size_t n = 0; n < host_of.size(); ++n) host_of[n] = static_cast<int>(n) + 1;
    const ServedCounts served = served_counts(world, topo, *servers, host_of, topo.hosts.size() + 1);
    if (world.rank() == 0) {
        ASSERT_EQ(served.per_host.size(), topo.hosts.size() + 1);
        EXPECT_EQ(served.per_host[0], -1);  // no server of this start there
        std::int64_t total = 0;
        for (std::size_t h = 1; h < served.per_host.size(); ++h) total += served.per_host[h];
        EXPECT_EQ(total, world.size());  // one request per rank, each to its node's server
        EXPECT_NE(served.text.find(topo.hosts[0]), std::string::npos) << served.text;
    }
}

}  // namespace
}  // namespace gilbench::runner
