#!/usr/bin/env bash
# ThreadSanitizer on two models and two engines computing at once in one process
# (tests/serve/test_concurrency.cpp): builds the library and stretch_tsan_tests with
# -fsanitize=thread into build-tsan/ and runs them; any race report fails (exit 66).
# scripts/test.sh runs it in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-tsan
start=$(date +%s)
mkdir -p "$build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTRETCH_TSAN=ON \
  ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER=$CMAKE_CXX_COMPILER_LAUNCHER} > "$build/tsan-build.log" 2>&1 ||
  { cat "$build/tsan-build.log"; exit 1; }
cmake --build "$build" --target stretch_tsan_tests >> "$build/tsan-build.log" 2>&1 || { tail -50 "$build/tsan-build.log"; exit 1; }
echo "tsan.sh: built $build/stretch_tsan_tests in $(( $(date +%s) - start )) s"
# libgomp (oneDNN's OpenMP) is not instrumented; stretch runs it with one thread per call, so it
# starts no threads of its own. halt_on_error: the first race fails the run.
TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}" "$build/stretch_tsan_tests"
