// Machine facts and the threads-beyond-cores check: plain data, no MPI.
#include <gtest/gtest.h>

#include <sstream>

#include "runner/host_info.hpp"
#include "runner/runner.hpp"

namespace gr = gilbench::runner;

TEST(CpuModel, X86NamesTheModel) {
    std::istringstream in(
        "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz  \n"
        "processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz\n");
    EXPECT_EQ(gr::cpu_model_from(in), "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz");
}

TEST(CpuModel, OtherArchitecturesAndNothing) {
    std::istringstream arm("processor : 0\nBogoMIPS : 50.00\nCPU part : 0xd0c\nHardware : Graviton2\n");
    EXPECT_EQ(gr::cpu_model_from(arm), "Graviton2");
    std::istringstream empty("");
    EXPECT_EQ(gr::cpu_model_from(empty), "unknown");
}

TEST(HostInfo, CountsArePositive) {
    EXPECT_GE(gr::online_cpus(), 1);
    EXPECT_GE(gr::affinity_cpus(), 1);
    EXPECT_LE(gr::affinity_cpus(), gr::online_cpus());
    EXPECT_FALSE(gr::os_description().empty());
    EXPECT_FALSE(gr::cpu_model().empty());
}

namespace {

// Two nodes: "a" with 4 CPUs and ranks 0, 1 (2 CPUs each), "b" with 2 CPUs and rank 2.
gr::Topology two_nodes() {
    gr::Topology t;
    t.hosts = {"a", "b"};
    t.cores = {4, 2};
    t.cpu_model = {"x", "x"};
    t.ranks_per_node = {2, 1};
    t.rank_node = {0, 0, 1};
    t.rank_cpus = {2, 2, 2};
    return t;
}

gilbench::model::Cell cell(const char* name, int ranks, int threads,
                           gilbench::model::Workload w = gilbench::model::Workload::cpu) {
    gilbench::model::Cell c;
    c.name = name;
    c.ranks = ranks;
    c.threads = threads;
    c.workload = w;
    return c;
}

}  // namespace

TEST(Oversubscription, NothingToSayWhenThreadsFit) {
    EXPECT_TRUE(gr::oversubscription_warnings({cell("fits", 3, 2)}, two_nodes()).empty());
}

TEST(Oversubscription, NamesTheWorstNodeAndRank) {
    const auto w = gr::oversubscription_warnings({cell("mild", 2, 3), cell("worst", 3, 4), cell("fits", 1, 1)},
                                                 two_nodes());
    ASSERT_EQ(w.size(), 2u);
    // 'worst' puts 8 threads on a (4 CPUs) and 4 on b (2 CPUs), 2 per CPU on both: the first is named.
    EXPECT_NE(w[0].find("2 cell(s) run more threads on a node than it has CPUs, up to 8 threads on a (4 CPUs) in "
                        "cell 'worst'"),
              std::string::npos)
        << w[0];
    EXPECT_NE(w[1].find("2 cell(s) run more threads on a rank than it may use CPUs"), std::string::npos) << w[1];
    EXPECT_NE(w[1].find("up to 4 threads on rank 0 bound to 2 CPU(s) in cell 'worst'"), std::string::npos) << w[1];
}

TEST(Oversubscription, IoThreadsWaitAndDoNotCount) {
    EXPECT_TRUE(gr::oversubscription_warnings({cell("io", 3, 8, gilbench::model::Workload::io)}, two_nodes()).empty());
}

namespace {

gilbench::model::Cell placed(int ranks, gilbench::model::Placement p) {
    gilbench::model::Cell c = cell("c", ranks, 1);
    c.placement = p;
    return c;
}

}  // namespace

TEST(CellRanks, LaunchTakesTheFirstWorldRanks) {
    // A cyclic launch (mpirun --map-by node): ranks 0, 3 on node 0, 1, 4 on node 1, 2 on node 2.
    const std::vector<int> cyclic = {0, 1, 2, 0, 1};
    EXPECT_EQ(gr::cell_ranks(placed(3, gilbench::model::Placement::launch), cyclic), (std::vector<int>{0, 1, 2}));
}

TEST(CellRanks, PackFillsOneNodeBeforeTheNext) {
    const std::vector<int> cyclic = {0, 1, 2, 0, 1};
    EXPECT_EQ(gr::cell_ranks(placed(1, gilbench::model::Placement::pack), cyclic), (std::vector<int>{0}));
    EXPECT_EQ(gr::cell_ranks(placed(2, gilbench::model::Placement::pack), cyclic), (std::vector<int>{0, 3}));
    EXPECT_EQ(gr::cell_ranks(placed(4, gilbench::model::Placement::pack), cyclic), (std::vector<int>{0, 3, 1, 4}));
}

TEST(CellRanks, SpreadTakesANewNodeForEachRankWhileThereAreNodes) {
    // A block launch (srun, --map-by ppr:2:node): ranks 0, 1 on node 0, 2, 3 on node 1, 4 on node 2.
    const std::vector<int> block = {0, 0, 1, 1, 2};
    EXPECT_EQ(gr::cell_ranks(placed(2, gilbench::model::Placement::spread), block), (std::vector<int>{0, 2}));
    EXPECT_EQ(gr::cell_ranks(placed(3, gilbench::model::Placement::spread), block), (std::vector<int>{0, 2, 4}));
    // Node 2 has one rank only: the fifth goes to the nodes that have more.
    EXPECT_EQ(gr::cell_ranks(placed(5, gilbench::model::Placement::spread), block),
              (std::vector<int>{0, 2, 4, 1, 3}));
    EXPECT_EQ(gr::cell_ranks(placed(2, gilbench::model::Placement::pack), block), (std::vector<int>{0, 1}));
}

TEST(CellRanks, OnOneHostEveryPlacementIsTheLaunchOrder) {
    const std::vector<int> one = {0, 0, 0, 0};
    for (auto p : {gilbench::model::Placement::launch, gilbench::model::Placement::pack,
                   gilbench::model::Placement::spread})
        EXPECT_EQ(gr::cell_ranks(placed(3, p), one), (std::vector<int>{0, 1, 2}));
}

TEST(Oversubscription, CountsTheRanksThePlacementPicks) {
    // Packed, 2 ranks x 3 threads land on node a (4 CPUs): 6 threads. Spread, they land on a and
    // b (2 CPUs): 3 threads each, too many for b only.
    gr::Topology t = two_nodes();
    const auto packed = gr::oversubscription_warnings({placed(2, gilbench::model::Placement::pack)}, t);
    EXPECT_TRUE(packed.empty());
    gilbench::model::Cell pack3 = placed(2, gilbench::model::Placement::pack);
    pack3.threads = 3;
    gilbench::model::Cell spread3 = pack3;
    spread3.placement = gilbench::model::Placement::spread;
    t.rank_cpus = {4, 4, 4};
    const auto a = gr::oversubscription_warnings({pack3}, t);
    ASSERT_EQ(a.size(), 1u);
    EXPECT_NE(a[0].find("up to 6 threads on a (4 CPUs)"), std::string::npos) << a[0];
    const auto b = gr::oversubscription_warnings({spread3}, t);
    ASSERT_EQ(b.size(), 1u);
    EXPECT_NE(b[0].find("up to 3 threads on b (2 CPUs)"), std::string::npos) << b[0];
}
