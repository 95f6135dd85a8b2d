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
