#!/usr/bin/env bash
# The GIL, interpreter and HTTP tests under ThreadSanitizer: builds only those test targets
# with -DGILBENCH_SANITIZE=thread into build-tsan/ (or $GILBENCH_TSAN_DIR) and runs them.
# Any data race or lock-order problem fails the run (halt_on_error), naming both stacks.
#   scripts/test-tsan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build=${GILBENCH_TSAN_DIR:-build-tsan}
jobs=${GILBENCH_JOBS:-$(nproc)}
targets=(test_gil test_interp test_http)

start=$(date +%s)
cmake -S . -B "$build" -DGILBENCH_SANITIZE=thread -DGILBENCH_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$jobs" --target "${targets[@]}"
built=$(date +%s)

# second_deadlock_stack: both stacks of a lock-order report. The tests bound their own
# waits; the timeout only guards against a hang that slipped through.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
status=0
for t in test_gil test_interp test_http; do
  bin=$(find "$build/tests" -type f -name "$t" -perm -u+x | head -n1)
  echo "== $t (ThreadSanitizer)"
  if ! timeout 900 "$bin" --gtest_brief=1; then
    echo "test-tsan: $t failed under ThreadSanitizer (report above)" >&2
    status=1
  fi
done
end=$(date +%s)
echo "test-tsan: build $((built - start)) s, tests $((end - built)) s"
exit $status
