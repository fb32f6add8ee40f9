#!/usr/bin/env python3
"""methods.md G3 for one model: the loss on the same last N tokens of each sample given L tokens of
context, L = several multiples of the training context, for several --pos methods each with and
without +logn, as a Markdown table (rows: methods; columns: lengths; a last row with each column's
run time). One `stretch eval --score last:N --json` per method and missing length; the script checks
that every cell scored the same targets (the hash stretch records) before printing.

--results FILE keeps every measured cell (method, length: loss, seconds, targets hash, the run's
settings) and is rewritten after each cell: a run that is stopped, or a later session, measures
only the cells still missing; cells not measured yet print as "-". Cells of other settings (model,
text, N, samples) are refused rather than mixed.

usage: scripts/g3_table.py --model M --text F --ctx N --multiples 1,2,4 --last 1024 --samples 2
                           [--methods default,ntk,yarn,rerope,leaky_rerope,self_extend] [--threads 2]
                           [--results FILE] [--print-only]
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


def load_results(path, settings):
    if not path or not os.path.exists(path):
        return {}
    saved = json.load(open(path))
    if saved["settings"] != settings:
        sys.exit(f"g3_table.py: {path} holds cells of {saved['settings']}, expected {settings}")
    return {(c["spec"], c["length"]): c for c in saved["cells"]}


def save_results(path, settings, cells):
    if not path:
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"settings": settings, "cells": sorted(cells.values(), key=lambda c: (c["spec"], c["length"]))}, f,
                  indent=1)
    os.replace(tmp, path)


def measure(a, spec, lengths, sample_tokens):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "r.json")
        cmd = [stretch, "eval", "-m", a.model, "--text", a.text, "--lengths", ",".join(map(str, lengths)),
               "--score", f"last:{a.last}", "--tokens", str(a.last * a.samples), "--pos", spec,
               "--sample-tokens", str(sample_tokens),
               "--threads", str(a.threads), "--json", out]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return json.load(open(out))["results"]


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
    p.add_argument("--results", help="JSON file of measured cells, read and extended")
    p.add_argument("--print-only", action="store_true", help="measure nothing: print the table of --results")
    a = p.parse_args()
    lengths = [a.ctx * int(m) for m in a.multiples.split(",")]
    specs = [s for m in a.methods.split(",") for s in (m, m + "+logn")]
    # Every cell's samples are the longest length + 1 tokens: the same targets at every length.
    settings = {"model": os.path.basename(a.model), "text": os.path.basename(a.text), "last": a.last,
                "samples": a.samples, "sample_tokens": max(lengths) + 1}
    cells = load_results(a.results, settings)
    for spec in [] if a.print_only else specs:
        for length in [n for n in lengths if (spec, n) not in cells]:  # one cell at a time, each saved
            [r] = measure(a, spec, [length], max(lengths) + 1)
            cells[(spec, length)] = {"spec": spec, "length": length, "loss": r["loss"], "seconds": r["seconds"],
                                     "tokens": r["tokens"], "targets_hash": r["targets_hash"], "threads": a.threads}
            print(f"{spec} L={length}: {r['loss']:.4f} ({r['tokens']} tokens, {r['seconds']:.1f} s)", file=sys.stderr)
            save_results(a.results, settings, cells)
    shown = [cells[(s, n)] for s in specs for n in lengths if (s, n) in cells]
    hashes = {c["targets_hash"] for c in shown}
    if len(hashes) > 1:
        sys.exit(f"g3_table.py: the cells scored different targets ({len(hashes)} hashes)")
    print("| method | " + " | ".join(f"{length} ({length // a.ctx}x)" for length in lengths) + " |")
    print("|---|" + "---:|" * len(lengths))
    for spec in specs:
        row = [f"{cells[(spec, n)]['loss']:.4f}" if (spec, n) in cells else "-" for n in lengths]
        print(f"| `{spec}` | " + " | ".join(row) + " |")
    seconds = [sum(cells[(s, n)]["seconds"] for s in specs if (s, n) in cells) for n in lengths]
    print("| run time (s) | " + " | ".join(f"{t:.0f}" for t in seconds) + " |")
    print(f"\n(targets hash {hashes.pop() if hashes else '-'}, {a.samples} sample(s) x the last {a.last} tokens)")


if __name__ == "__main__":
    main()
