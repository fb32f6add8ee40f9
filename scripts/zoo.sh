#!/usr/bin/env bash
# The zoo (issue 4): the default model trained once per training-time variant on the demo's data,
# each evaluated at 1x-16x its training length, plain and repeated, with every inference-time method
# that applies -> docs/results/zoo/{table.md,plot.svg,leaderboard.md,runtime.md}. Extra arguments go
# to `stretch zoo` (e.g. --steps 300 --tokens 4096 for a shorter run, --only rope). Trained models
# stay in runs/zoo/models: a killed run picks up where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
"$BUILD/stretch" zoo --preset default --out runs/zoo \
  --data "$DATA/austen-emma.txt" --data "$DATA/austen-mansfieldpark.txt" \
  --data "$DATA/austen-northangerabbey.txt" --data "$DATA/austen-prideprejudice.txt" \
  --data "$DATA/austen-sensesensibility.txt" --val "$DATA/austen-persuasion.txt" "$@"
mkdir -p docs/results/zoo
cp runs/zoo/{table.md,plot.svg,leaderboard.md,runtime.md} docs/results/zoo/
