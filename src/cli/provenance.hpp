// What a results file records about where and how it was made.
#pragma once

#include <string>

#include "job/job.hpp"
#include "runner/runner.hpp"
#include "store/results_file.hpp"

namespace gilbench::cli {

std::string mpi_library_version();  // first line of MPI_Get_library_version
std::string compiler_version();
store::FileInfo file_info(const std::string& command_line);
// The batch job this process runs in, from Slurm's variables: "<SLURM_CLUSTER_NAME>/<SLURM_JOB_ID>",
// for an array task "<cluster>/<SLURM_ARRAY_JOB_ID>_<SLURM_ARRAY_TASK_ID>"; "" outside Slurm.
// Unlike the submit time it survives a requeue, and unlike the job id alone it differs between
// clusters (store::RunInfo::batch_job).
std::string batch_job();
// The run's attributes: the job, the machine (hosts, CPUs, ranks per node), Slurm's job id and
// batch job.
store::RunInfo run_info(const job::Job& job, const runner::Topology& topology, int world_size);

}  // namespace gilbench::cli
