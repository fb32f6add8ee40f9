#!/usr/bin/env python3
"""Perplexity of one model at several multiples of its training context for several --pos methods,
each with and without +logn, as a Markdown table (rows: methods; columns: context sizes; a last row
with the run time of each column). Runs `stretch ppl --json` once per cell.

usage: scripts/ppl_table.py --model M [--tokenizer T] --text F --ctx N --multiples 1,2,4,8
                            [--methods default,ntk,yarn,rerope,leaky_rerope] [--chunks K] [--threads 2]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
stretch = os.path.join(here, "..", "build", "stretch")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--tokenizer")
    p.add_argument("--text", required=True)
    p.add_argument("--ctx", type=int, required=True, help="the model's training context")
    p.add_argument("--multiples", default="1,2,4,8")
    p.add_argument("--methods", default="default,ntk,yarn,rerope,leaky_rerope")
    p.add_argument("--chunks", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    multiples = [int(x) for x in a.multiples.split(",")]
    specs = [s for m in a.methods.split(",") for s in (m, m + "+logn")]
    seconds = {m: 0.0 for m in multiples}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in specs:
            cells = []
            for m in multiples:
                out = os.path.join(tmp, "r.json")
                cmd = [stretch, "ppl", "-m", a.model, "-f", a.text, "-c", str(a.ctx * m), "--pos", spec,
                       "--threads", str(a.threads), "--json", out]
                if a.tokenizer:
                    cmd += ["--tokenizer", a.tokenizer]
                if a.chunks:
                    cmd += ["--chunks", str(a.chunks)]
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                r = json.load(open(out))["results"][0]
                seconds[m] += r["seconds"]
                cells.append(f"{r['ppl']:.3f}")
                print(f"{spec} x{m}: {r['ppl']:.4f} ({r['chunks']} chunks, {r['seconds']:.1f} s)", file=sys.stderr)
            rows.append(f"| `{spec}` | " + " | ".join(cells) + " |")
    print("| method | " + " | ".join(f"{a.ctx * m} ({m}x)" for m in multiples) + " |")
    print("|---|" + "---:|" * len(multiples))
    print("\n".join(rows))
    print("| run time (s) | " + " | ".join(f"{seconds[m]:.0f}" for m in multiples) + " |")


if __name__ == "__main__":
    main()
