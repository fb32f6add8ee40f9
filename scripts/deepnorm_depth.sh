#!/usr/bin/env bash
# DeepNorm vs Post-LN at depth (issue 4 item 4; methods.md D2, D3; DeepNet, arXiv 2203.00555): the same
# small byte-level model (d_model 64, 4 query / 2 kv heads, SwiGLU 128, 64-byte windows, batch 16, an
# untied output head) trained from scratch at a constant lr 1e-3 without warm-up (AdamW, the trainer's
# clipping at 1.0), as a 6-layer Post-LN, a 100-layer Post-LN, a 100-layer DeepNorm with the paper's
# constants and with Su's Adam constants, and a 100-layer Pre-LN; prints the gradient norm of the first
# step, the largest of the first ten, the training loss at a few steps and the validation loss every
# 100 steps (or the step at which a run diverged). Runs go to runs/deepnorm/<name>; THREADS (default 1)
# sets --threads, STEPS (400) the steps, TIE=true ties the output head to the embedding (the presets'
# default; it lengthens the plateau, README). Run time in the README.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
THREADS=${THREADS:-1}
STEPS=${STEPS:-400}
TIE=${TIE:-false}
OUT=runs/deepnorm
mkdir -p "$OUT"

# name | n_layer | layout keys
RUNS=(
  "post-ln|6|norm_position=post"
  "post-ln|100|norm_position=post"
  "deepnorm-paper|100|norm_position=post deepnorm=true deepnorm_constants=paper"
  "deepnorm-adam|100|norm_position=post deepnorm=true deepnorm_constants=adam"
  "pre-ln|100|norm_position=pre"
)

for run in "${RUNS[@]}"; do
  IFS='|' read -r name layers keys <<<"$run"
  dir=$OUT/$name-$layers
  sets=(--set d_model=64 --set n_head=4 --set n_head_kv=2 --set d_ff=128 --set n_ctx_train=64 --set batch_size=16
        --set tie_embeddings=$TIE --set n_layer="$layers" --set lr=1e-3 --set warmup_steps=0 --set min_lr_ratio=1
        --set log_every=1 --set eval_every=100 --set checkpoint_every=$STEPS)
  for k in $keys; do sets+=(--set "$k"); done
  echo "== $name, $layers layers: $BUILD/stretch train --preset tiny ${sets[*]} --steps $STEPS --threads $THREADS" >&2
  rm -rf "$dir"
  # A diverged run stops with a one-line error naming the tensor; its log up to there is the result.
  "$BUILD/stretch" train --preset tiny "${sets[@]}" --steps "$STEPS" --threads "$THREADS" \
    --data "$DATA/austen-emma.txt" --val "$DATA/austen-persuasion.txt" --out "$dir" 2>"$dir.err" \
    || tail -n 1 "$dir.err" >&2
done

python3 - "$OUT" "$STEPS" "${RUNS[@]}" <<'EOF'
import json, sys
out, steps, runs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
marks = [s for s in (1, 10, 50) if s <= steps]
evals = list(range(100, steps + 1, 100))
print("| layout | n_layer | grad norm, step 1 | max grad norm, steps 1-10 | "
      + " | ".join(f"loss @{s}" for s in marks) + " | " + " | ".join(f"val @{s}" for s in evals) + " |")
print("|---|---:|---:|---:|" + "---:|" * (len(marks) + len(evals)))
for run in runs:
    name, layers, _ = run.split("|")
    log = [json.loads(line) for line in open(f"{out}/{name}-{layers}/log.jsonl")]
    by_step = {entry["step"]: entry for entry in log}
    last = max(by_step, default=0)
    if last == 0:
        print(f"| {name} | {layers} | diverged at step 1 |")
        continue
    def cell(s, key):
        if s > last:
            return f"diverged at step {last + 1}"
        return f"{by_step[s][key]:.3f}" if key in by_step[s] else "-"
    first_ten = [by_step[s]["grad_norm"] for s in range(1, 11) if s in by_step]
    print(f"| {name} | {layers} | {by_step[1]['grad_norm']:.1f} | {max(first_ten):.1f} | "
          + " | ".join(cell(s, "loss") for s in marks) + " | " + " | ".join(cell(s, "val_loss") for s in evals) + " |")
EOF
