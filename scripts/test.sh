#!/usr/bin/env bash
# Install, build and run every test: the concurrency core under ThreadSanitizer, then the
# whole suite (unit, MPI integration, Slurm, virtual cluster, Python) through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --slurm   # Slurm too: the slurm/ scripts are tested against a local one
scripts/build.sh
# The GIL, interpreter and HTTP tests under ThreadSanitizer first (~1 min), so that ctest's
# summary of the whole suite is what this command prints last.
scripts/test-tsan.sh
source scripts/mpi-env.sh
ctest --test-dir "${GILBENCH_BUILD_DIR:-build}" --output-on-failure -j "${GILBENCH_JOBS:-$(nproc)}"
