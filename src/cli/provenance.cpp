#include "cli/provenance.hpp"

#include <cstdlib>

#include <fmt/format.h>
#include <mpi.h>

#include "http/client.hpp"
#include "runner/host_info.hpp"
#include "store/utc_now.hpp"

namespace gilbench::cli {

namespace {

std::string env_or_empty(const char* name) {
    const char* value = std::getenv(name);
    return value == nullptr ? std::string() : std::string(value);
}

}  // namespace

std::string batch_job() {
    const std::string job_id = env_or_empty("SLURM_JOB_ID");
    if (job_id.empty()) return "";
    // An array task by the name Slurm shows it under (squeue, the %A_%a of file names): its
    // own SLURM_JOB_ID is a number of its own that nobody sees. slurm/common.sh
    // (gb_batch_job) spells the same text to compare it.
    const std::string array_job = env_or_empty("SLURM_ARRAY_JOB_ID");
    const std::string task = env_or_empty("SLURM_ARRAY_TASK_ID");
    const std::string id = array_job.empty() || task.empty() ? job_id : array_job + "_" + task;
    return env_or_empty("SLURM_CLUSTER_NAME") + "/" + id;
}

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
    info.slurm_job_id = env_or_empty("SLURM_JOB_ID");
    info.batch_job = batch_job();
    info.os = runner::os_description();
    return info;
}

}  // namespace gilbench::cli
