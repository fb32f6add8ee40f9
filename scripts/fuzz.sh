#!/usr/bin/env bash
# Fuzzing (docs/fuzzing.md): builds the libFuzzer targets of tools/fuzz/ (the file readers, the
# tokenizers, and fuzz_cli: the CLI's flags, --pos specs and config keys) with clang++, ASan and
# UBSan into build-fuzz/ (cmake -DSTRETCH_FUZZ=ON) and runs each for RUNS executions (default
# 1000000) from a fresh seed corpus of the test fixtures, printing executions and executions per
# second. Exits non-zero if any target crashes, leaks, times out (10 s per input) or trips a
# sanitizer or one of the targets' checks; the input that did so is kept as
# build-fuzz/crashes/<target>/crash-* (or leak-*, timeout-*) and `build-fuzz/fuzz_<target> FILE`
# replays it. scripts/test.sh runs a short one in CI.
# Usage: bash scripts/fuzz.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000000}
build=build-fuzz
cxx=${STRETCH_FUZZ_CXX:-clang++}
command -v "$cxx" > /dev/null || { echo "fuzz.sh: $cxx not found (scripts/setup.sh installs clang)" >&2; exit 1; }

start=$(date +%s)
mkdir -p "$build"
cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTRETCH_FUZZ=ON \
  -DBUILD_TESTING=OFF > "$build/fuzz-build.log" 2>&1 || { cat "$build/fuzz-build.log"; exit 1; }
cmake --build "$build" --target fuzz_gguf fuzz_llama2c fuzz_tokenizer fuzz_cli fuzz_serve_request >> "$build/fuzz-build.log" 2>&1 ||
  { tail -50 "$build/fuzz-build.log"; exit 1; }
echo "fuzz.sh: built $build/fuzz_{gguf,llama2c,tokenizer,cli,serve_request} in $(( $(date +%s) - start )) s"

# A fresh corpus per run, from the seeds (tests/fixtures/fuzz/<target>/ holds the generated seeds
# of tools/fuzz/make_seeds.py and the regression inputs of crashes found so far).
seed() {
  local dir=$build/corpus/$1
  shift
  rm -rf "$dir"
  mkdir -p "$dir"
  local f
  for f in "$@"; do
    if [ -f "$f" ]; then cp "$f" "$dir/"; fi
  done
}
seed gguf tests/fixtures/fuzz/gguf/* tests/fixtures/gguf/*.gguf tests/fixtures/tokenizer/*.gguf
seed llama2c tests/fixtures/fuzz/llama2c/* ../shared/models/tok512.bin
seed tokenizer tests/fixtures/fuzz/tokenizer/*
seed cli tests/fixtures/fuzz/cli/*
seed serve_request tests/fixtures/fuzz/serve_request/*

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
failed=0
fuzz() {  # target, max_len
  local target=$1 max_len=$2
  local log=$build/fuzz_$target.log artifacts=$build/crashes/$target/
  mkdir -p "$artifacts"
  local t0 t1 rc=0
  t0=$(date +%s.%N)
  "$build/fuzz_$target" -runs="$runs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts" "$build/corpus/$target" > "$log" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  local execs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$rc" -eq 0 ]; then
    # exec/s over the whole run, loading the vocabularies and the seed corpus included
    awk -v t="$target" -v n="${execs:-0}" -v s="$(awk "BEGIN { print $t1 - $t0 }")" -v m="$max_len" \
      'BEGIN { printf "fuzz_%-9s %8d executions in %6.1f s, %6.0f exec/s (max_len %d): OK\n", t, n, s, n / s, m }'
  else
    failed=1
    echo "fuzz_$target: FAILED (exit $rc) after ${execs:-?} executions; the end of $log:"
    tail -40 "$log"
    local f
    for f in "$artifacts"*; do
      if [ -f "$f" ]; then echo "fuzz_$target: reproduce with: $build/fuzz_$target $f"; fi
    done
  fi
}
fuzz gguf 16384
fuzz llama2c 8192
fuzz tokenizer 4096
fuzz cli 1024
fuzz serve_request 4096
echo "fuzz.sh: $runs runs per target, $(( $(date +%s) - start )) s in all"
exit $failed
