#!/usr/bin/env bash
# README command 1: set up, build, train the default model (~3 M parameters, byte-level,
# n_ctx_train 256) on five Austen novels, hold out the sixth (Persuasion), and evaluate it at 1x-16x
# its training length on plain and repeated text. Output: runs/default/ (model, checkpoint, log,
# eval JSON). About 5 minutes on 2 cores once built (4 min 37 s on 2026-12-01).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
source scripts/common.sh
OUT="${1:-runs/default}"
./build/stretch train --preset default --out "$OUT" \
  --data "$DATA/austen-emma.txt" --data "$DATA/austen-mansfieldpark.txt" \
  --data "$DATA/austen-northangerabbey.txt" --data "$DATA/austen-prideprejudice.txt" \
  --data "$DATA/austen-sensesensibility.txt" --val "$DATA/austen-persuasion.txt"
for mode in plain repeated; do
  ./build/stretch eval --model "$OUT" --text "$DATA/austen-persuasion.txt" \
    --lengths 256,512,1024,2048,4096 --mode "$mode" --json "$OUT/eval-$mode.json"
done
