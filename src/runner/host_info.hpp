// Facts about the machine a rank runs on, for the results file's provenance and for the
// threads-beyond-cores check. Plain functions: no MPI.
#pragma once

#include <istream>
#include <string>

namespace gilbench::runner {

// The CPU's name from /proc/cpuinfo ("model name" on x86; "Hardware", "cpu model" or
// "Processor" elsewhere); "unknown" if there is none.
std::string cpu_model();
std::string cpu_model_from(std::istream& cpuinfo);

int online_cpus();    // CPUs the node has online (sysconf)
int affinity_cpus();  // CPUs this process may run on (its affinity mask: Slurm/mpirun binding)

// "Linux 6.1.0-18-amd64 x86_64" (uname).
std::string os_description();

}  // namespace gilbench::runner
