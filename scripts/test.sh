#!/usr/bin/env bash
# README command 2: set up, build, and run every test (ctest; the CLI tests use ../shared/data or
# the texts fetched by scripts/get_data.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
if [ -z "${STRETCH_DATA:-}" ] && [ ! -d ../shared/data ]; then
  bash scripts/get_data.sh data
fi
ctest --test-dir build --output-on-failure -j 2 "$@"
