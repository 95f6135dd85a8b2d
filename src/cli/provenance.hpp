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
// The run's attributes: the job, the machine (hosts, CPUs, ranks per node), Slurm's job id.
store::RunInfo run_info(const job::Job& job, const runner::Topology& topology, int world_size);

}  // namespace gilbench::cli
