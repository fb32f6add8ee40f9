#!/usr/bin/env bash
# Data-parallel training on this machine (docs/distributed.md quotes its output): training tokens/s
# of the default model as 2 ranks x 1 thread against 1 process x 2 threads (`stretch bench
# --distributed`; the ratio is the cost of communication and of the smaller products of half a batch),
# and the gradient's mean over the 2 ranks beside MPI_Allreduce of the same size. The two set-ups run
# in turn, `rounds` times, and the best of each is kept, so that a load that comes and goes on a
# shared machine touches both alike.
#   bash bench/distributed.sh [stretch binary, default build/stretch] [rounds, default 2] [train steps, default 5]
set -euo pipefail
cd "$(dirname "$0")/.."
stretch=${1:-build/stretch}
rounds=${2:-2}
steps=${3:-5}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # containers and CI run as root
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for round in $(seq "$rounds"); do
  "$stretch" bench --distributed --threads 2 --train-steps "$steps" --json "$out/one.$round.json"
  mpirun -np 2 --bind-to none "$stretch" bench --distributed --threads 1 --train-steps "$steps" --json "$out/two.$round.json"
done
python3 - "$out" "$rounds" <<'PY'
import json, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def best(kind, key, pick):
    return pick(json.load(open(f"{out}/{kind}.{r}.json"))[key] for r in range(1, rounds + 1))
one = best("one", "train_tokens_per_s", max)
two = best("two", "train_tokens_per_s", max)
ours = best("two", "stretch_reduce_seconds", min)
mpi = best("two", "mpi_allreduce_seconds", min)
print(f"best of {rounds}: 1 process x 2 threads {one:.0f} tokens/s, 2 ranks x 1 thread {two:.0f} tokens/s: "
      f"ratio {two / one:.3f}")
print(f"best of {rounds}: gradient mean {ours * 1e3:.2f} ms (stretch) against MPI_Allreduce {mpi * 1e3:.2f} ms: "
      f"{ours / mpi:.2f}x")
PY
