#!/usr/bin/env bash
# Install, build and run the seed experiment on the embedded server:
#   mpirun -np 2 gilbench run jobs/seed.toml -o results/seed.h5
# Prints the table and the results file. Extra arguments go to `gilbench run`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh >/dev/null
source scripts/mpi-env.sh
out=${GILBENCH_SEED_OUTPUT:-results/seed.h5}
# --bind-to none: Open MPI would pin each of the 2 ranks to one core, and with it both threads
# of the multi-thread cells; CPython's threads may run on any core.
mpirun -np 2 --bind-to none build/gilbench run jobs/seed.toml -o "$out" "$@"

# The report of this run: report/seed/report.md (+ report.html, PNG figures); see analysis/README.md.
report=${GILBENCH_SEED_REPORT:-report/seed}
/usr/bin/python3 analysis/gilbench-report "$out" -o "$report"
