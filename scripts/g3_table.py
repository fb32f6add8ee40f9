#!/usr/bin/env python3
"""methods.md G3 for one model: the loss on the same last N tokens of each sample given L tokens of
context, L = several multiples of the training context, for several --pos methods each with and
without +logn, as a Markdown table (rows: methods; columns: lengths; a last row with each column's
run time). One `stretch eval --score last:N --json` per method; the script checks that every cell of
every method scored the same targets (the hash stretch records) before printing.

usage: scripts/g3_table.py --model M --text F --ctx N --multiples 1,2,4 --last 1024 --samples 2
                           [--methods default,ntk,yarn,rerope,leaky_rerope,self_extend] [--threads 2]
(the binary: $STRETCH, else build/stretch)
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
stretch = os.environ.get("STRETCH", os.path.join(here, "..", "build", "stretch"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--text", required=True)
    p.add_argument("--ctx", type=int, required=True, help="the model's training context")
    p.add_argument("--multiples", default="1,2,4")
    p.add_argument("--last", type=int, required=True, help="N: scored tokens at the end of each sample")
    p.add_argument("--samples", type=int, default=1)
    p.add_argument("--methods", default="default,ntk,yarn,rerope,leaky_rerope,self_extend")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    lengths = [a.ctx * int(m) for m in a.multiples.split(",")]
    specs = [s for m in a.methods.split(",") for s in (m, m + "+logn")]
    seconds = {length: 0.0 for length in lengths}
    hashes = set()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in specs:
            out = os.path.join(tmp, "r.json")
            cmd = [stretch, "eval", "-m", a.model, "--text", a.text, "--lengths", ",".join(map(str, lengths)),
                   "--score", f"last:{a.last}", "--tokens", str(a.last * a.samples), "--pos", spec,
                   "--threads", str(a.threads), "--json", out]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            results = json.load(open(out))["results"]
            cells = []
            for r in results:
                seconds[r["length"]] += r["seconds"]
                hashes.add(r["targets_hash"])
                cells.append(f"{r['loss']:.4f}")
                print(f"{spec} L={r['length']}: {r['loss']:.4f} ({r['tokens']} tokens, {r['seconds']:.1f} s)",
                      file=sys.stderr)
            rows.append(f"| `{spec}` | " + " | ".join(cells) + " |")
    if len(hashes) != 1:
        sys.exit(f"g3_table.py: the cells scored different targets ({len(hashes)} hashes)")
    print("| method | " + " | ".join(f"{length} ({length // a.ctx}x)" for length in lengths) + " |")
    print("|---|" + "---:|" * len(lengths))
    print("\n".join(rows))
    print("| run time (s) | " + " | ".join(f"{seconds[length]:.0f}" for length in lengths) + " |")
    print(f"\n(targets hash {hashes.pop()}, {a.samples} sample(s) x the last {a.last} tokens)")


if __name__ == "__main__":
    main()
