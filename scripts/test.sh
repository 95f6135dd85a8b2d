#!/usr/bin/env bash
# Install, build and run every test: the unit tests under ThreadSanitizer and under
# AddressSanitizer + UndefinedBehaviorSanitizer, then the whole suite (unit, MPI integration,
# Slurm, virtual cluster, Python) through ctest, whose summary is what this prints last.
#
# Suites whose capability is missing here (namespaces, Slurm: needs root) are reported by ctest
# as "Skipped" with the reason. In CI (CI=true), where this script installs everything they
# need, such a skip fails instead (GILBENCH_REQUIRE_CAPABILITIES=1; set it yourself to insist).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --slurm   # Slurm too: the slurm/ scripts are tested against a local one
scripts/build.sh
scripts/test-sanitizers.sh
source scripts/mpi-env.sh
if [[ ${CI:-} == true ]]; then
  export GILBENCH_REQUIRE_CAPABILITIES=${GILBENCH_REQUIRE_CAPABILITIES:-1}
fi
ctest --test-dir "${GILBENCH_BUILD_DIR:-build}" --output-on-failure -j "${GILBENCH_JOBS:-$(nproc)}"
