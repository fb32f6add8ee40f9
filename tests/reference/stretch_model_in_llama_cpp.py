#!/usr/bin/env python3
"""A model stretch trained, run by llama.cpp: loads the GGUF stretch wrote (Llama architecture, its
byte vocabulary stored as a GPT-2 BPE vocabulary of the 256 byte symbols without merges) in
llama.cpp through llama-cpp-python, and compares llama.cpp's perplexity with `stretch ppl`'s on the
same text and settings (llama-perplexity's protocol: chunks of N_CTX tokens, the second half of
each scored). Prints one JSON object: both results, the tokenisations' lengths (equal when llama.cpp
reads the text byte for byte) and the relative difference of the perplexities.

usage: /usr/bin/python3 tests/reference/stretch_model_in_llama_cpp.py MODEL.gguf TEXT N_CTX N_CHUNKS [STRETCH]
(Debian's python3 with python3-numpy and llama-cpp-python 0.3.16; STRETCH defaults to build/stretch).
The checked-in result docs/results/demo_in_llama_cpp.json is this script's output for the demo's model
(runs/default/model.gguf after `bash scripts/demo.sh`) on ../shared/data/austen-persuasion.txt.
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    model, text, n_ctx, n_chunks = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    stretch = sys.argv[5] if len(sys.argv) > 5 else os.path.join(HERE, "..", "..", "build", "stretch")
    peer = json.loads(subprocess.run([sys.executable, os.path.join(HERE, "llama_cpp_perplexity.py"), model, text,
                                      n_ctx, n_chunks], check=True, capture_output=True, text=True).stdout)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "ppl.json")
        run = subprocess.run([stretch, "ppl", "-m", model, "-f", text, "-c", n_ctx, "--chunks", n_chunks, "--threads",
                              "2", "--json", out], check=True, capture_output=True, text=True)
        ours = json.load(open(out))["results"][0]
    text_bytes = os.path.getsize(text)
    print(json.dumps({
        "model": os.path.basename(model), "text": os.path.basename(text), "text_bytes": text_bytes,
        "n_ctx": int(n_ctx), "chunks": int(n_chunks),
        "llama_cpp": {"ppl": peer["ppl"], "tokens_total": peer["tokens_total"], "engine": peer["engine"],
                      "settings": peer["settings"]},
        "stretch": {"ppl": ours["ppl"], "tokens": ours["tokens"], "line": run.stdout.strip()},
        "relative_difference": abs(ours["ppl"] - peer["ppl"]) / peer["ppl"],
    }, indent=1))


if __name__ == "__main__":
    main()
