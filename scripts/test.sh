#!/usr/bin/env bash
# Install, build and run every test (unit, MPI integration, Python) through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --slurm   # Slurm too: the slurm/ scripts are tested against a local one
scripts/build.sh
source scripts/mpi-env.sh
ctest --test-dir "${GILBENCH_BUILD_DIR:-build}" --output-on-failure -j "${GILBENCH_JOBS:-$(nproc)}"
