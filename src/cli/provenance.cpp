#include "cli/provenance.hpp"

#include <cstdlib>

#include <fmt/format.h>
#include <mpi.h>

#include "http/client.hpp"
#include "runner/host_info.hpp"
#include "store/utc_now.hpp"

namespace gilbench::cli {

std::string mpi_library_version() {
    char buf[MPI_MAX_LIBRARY_VERSION_STRING] = {};
    int len = 0;
    MPI_Get_library_version(buf, &len);
    std::string s(buf, static_cast<std::size_t>(len));
    if (auto nl = s.find_first_of(",\n"); nl != std::string::npos) s.resize(nl);
    return s;
}

std::string compiler_version() {
#if defined(__clang__)
    return fmt::format("clang {}", __clang_version__);
#elif defined(__GNUC__)
    return fmt::format("gcc {}", __VERSION__);
#else
    return "unknown";
#endif
}

store::FileInfo file_info(const std::string& command_line) {
    store::FileInfo info;
    info.gilbench_version = GILBENCH_VERSION;
    info.git_sha = GILBENCH_GIT_SHA;
    info.created_utc = store::utc_now();
    info.command_line = command_line;
    info.mpi_library = mpi_library_version();
    info.curl_version = http::curl_version();
    info.compiler = compiler_version();
    return info;
}

store::RunInfo run_info(const job::Job& job, const runner::Topology& topology, int world_size) {
    store::RunInfo info;
    info.job = job.text;
    info.job_path = job.path;
    info.job_name = job.name;
    info.started_utc = store::utc_now();
    info.ranks = world_size;
    info.nodes = static_cast<int>(topology.hosts.size());
    info.hosts = topology.hosts;
    info.cpu_model = topology.cpu_model;
    info.cores = topology.cores;
    info.ranks_per_node = topology.ranks_per_node;
    info.rank_node = topology.rank_node;
    info.rank_cpus = topology.rank_cpus;
    if (const char* id = std::getenv("SLURM_JOB_ID")) info.slurm_job_id = id;
    info.os = runner::os_description();
    return info;
}

}  // namespace gilbench::cli
