#!/usr/bin/env bash
# Configure and build gilbench into build/ (or $GILBENCH_BUILD_DIR).
#   scripts/build.sh                          # RelWithDebInfo
#   scripts/build.sh -DGILBENCH_SANITIZE=thread   # extra CMake arguments pass through
set -euo pipefail
cd "$(dirname "$0")/.."
build=${GILBENCH_BUILD_DIR:-build}
jobs=${GILBENCH_JOBS:-$(nproc)}
cmake -S . -B "$build" "$@"
cmake --build "$build" -j "$jobs"
echo "build: $build/gilbench"
