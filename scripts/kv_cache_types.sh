#!/usr/bin/env bash
# The KV cache types measurements of docs/performance.md ("KV cache types"): SmolLM2-135M's
# perplexity on Emma at 1x, 2x and 4x its 8192-token context (one chunk each, llama-perplexity's
# second half scored, --pos yarn, whose automatic factor is 1 at 1x) with f32, f16, q8_0 and q4_0
# caches, each beside the f32 run's next-token distributions (--kl-divergence), then decode
# tokens/s after 32768 cached tokens per type. Outputs (logs and JSON) go to OUT; a run whose JSON
# exists is skipped, so it can be resumed. The f32 runs' base files take 196 KB per scored token.
# usage: scripts/kv_cache_types.sh OUT [CTX...]   (default CTX: 8192 16384 32768)
set -euo pipefail
out="$1"
shift
contexts=("${@:-8192 16384 32768}")
stretch=./build/stretch
model=$(bash scripts/get_smollm2.sh)
text=../shared/data/austen-emma.txt
mkdir -p "$out"
for c in ${contexts[@]}; do
  for t in f32 q8_0 q4_0 f16; do
    name="$out/ppl-$c-$t-yarn"
    [ -f "$name.json" ] && continue
    kl=(--kl-divergence-base "$out/base-$c-yarn.kld")
    [ "$t" = f32 ] || kl+=(--kl-divergence)
    "$stretch" ppl -m "$model" -f "$text" -c "$c" --chunks 1 --threads 2 --pos yarn --cache-type-k "$t" \
      --cache-type-v "$t" "${kl[@]}" --json "$name.json" > "$name.log" 2>&1
  done
done
for t in q8_0 f32 q4_0 f16; do
  [ -f "$out/bench-$t.json" ] && continue
  "$stretch" bench --threads 2 --model "$model" --prefill 64 --decode 16 --cached 32768 --cached-decode 16 \
    --repeat 2 --cache-type-k "$t" --cache-type-v "$t" --json "$out/bench-$t.json" > "$out/bench-$t.log" 2>&1
done
