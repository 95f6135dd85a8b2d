#!/usr/bin/env bash
# The unit tests under sanitizers, each in its own build folder:
#   thread              the GIL, interpreter, HTTP and runner tests (the concurrent code), build-tsan/
#   address,undefined   every unit test, build-asan/: use after scope, leaks, overflows,
#                       undefined behaviour
# Any report fails the run (halt_on_error, -fno-sanitize-recover), naming the stacks.
#   scripts/test-sanitizers.sh                 # both
#   scripts/test-sanitizers.sh thread          # one of them
# GILBENCH_TSAN_DIR / GILBENCH_ASAN_DIR choose the folders, GILBENCH_JOBS the build jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${GILBENCH_JOBS:-$(nproc)}
unit_tests=(test_gil test_interp test_http test_job test_store test_store_run test_report test_runner test_cli test_fake_engine)

kinds=("$@")
[[ ${#kinds[@]} -gt 0 ]] || kinds=(thread address,undefined)

# second_deadlock_stack: both stacks of a lock-order report. detect_leaks: on by default on
# x86-64 Linux, named so that a platform without it is not silently leak-free. The tests bound
# their own waits; the timeout only guards against a hang that slipped through.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
export ASAN_OPTIONS="halt_on_error=1 detect_leaks=1 detect_stack_use_after_return=1 ${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1 ${UBSAN_OPTIONS:-}"

status=0
for kind in "${kinds[@]}"; do
  case $kind in
    thread) build=${GILBENCH_TSAN_DIR:-build-tsan}; targets=(test_gil test_interp test_http test_runner) ;;
    address,undefined) build=${GILBENCH_ASAN_DIR:-build-asan}; targets=("${unit_tests[@]}") ;;
    *) echo "test-sanitizers: '$kind' is not one of: thread, address,undefined" >&2; exit 2 ;;
  esac
  start=$(date +%s)
  cmake -S . -B "$build" -DGILBENCH_SANITIZE="$kind" -DGILBENCH_BUILD_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j "$jobs" --target "${targets[@]}"
  built=$(date +%s)
  for t in "${targets[@]}"; do
    bin=$(find "$build/tests" -type f -name "$t" -perm -u+x | head -n1)
    echo "== $t ($kind sanitizer)"
    if [[ -z $bin ]]; then
      echo "test-sanitizers: $t was not built in $build" >&2
      status=1
    elif ! timeout 900 "$bin" --gtest_brief=1; then
      echo "test-sanitizers: $t failed under the $kind sanitizer (report above)" >&2
      status=1
    fi
  done
  end=$(date +%s)
  echo "test-sanitizers ($kind): build $((built - start)) s, tests $((end - built)) s"
done
exit $status
