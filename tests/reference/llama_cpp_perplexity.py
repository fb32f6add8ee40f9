#!/usr/bin/env python3
"""Reference perplexity from llama.cpp (through the PyPI package llama-cpp-python, which builds
llama.cpp from source), with llama-perplexity's protocol: tokenize the whole text with llama.cpp's
tokenizer (BOS when the vocabulary adds one), cut into non-overlapping chunks of n_ctx tokens,
replace each chunk's first token by BOS when the vocabulary adds one, evaluate each chunk from an
empty KV cache, and score predictions n_ctx/2 .. n_ctx-2 (tools/perplexity/perplexity.cpp).
The NLL is computed here from llama.cpp's logits in float64.

usage: /usr/bin/python3 tests/reference/llama_cpp_perplexity.py MODEL.gguf TEXT N_CTX N_CHUNKS > fixture.json
(any interpreter with numpy and llama-cpp-python; the fixtures used Debian's /usr/bin/python3 with
python3-numpy and llama-cpp-python 0.3.16 built from its sdist). llama.cpp's context defaults are
kept, as llama-perplexity keeps them: F16 KV cache, no flash attention, n_ubatch 512, full-size
SWA cache; the JSON records them under "settings".
Checked-in fixtures, both with 2 threads and ../shared/data/wikitext2-test.txt:
  tests/fixtures/ppl/smollm2_wikitext2_2048.json  SmolLM2-135M-Instruct.Q4_1.gguf (scripts/get_smollm2.sh)
  tests/fixtures/ppl/gemma3_wikitext2_2048.json   gemma-3-270m-q4_k_m.gguf (scripts/get_gemma3.sh)
Memory: llama.cpp's logits buffer and llama-cpp-python's copy are n_ctx x n_vocab f32 each (2 GiB
each for Gemma 3's 262,144 tokens at 2048); rows are widened to float64 one at a time.
"""
import json
import sys

import numpy as np
from llama_cpp import Llama, llama_cpp


def main():
    model_path, text_path, n_ctx, n_chunks = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    llm = Llama(model_path=model_path, n_ctx=n_ctx, n_batch=n_ctx, n_threads=2, logits_all=True, verbose=False)
    text = open(text_path, "rb").read()
    add_bos = bool(llama_cpp.llama_vocab_get_add_bos(llama_cpp.llama_model_get_vocab(llm.model)))
    tokens = llm.tokenize(text, add_bos=add_bos, special=True)
    bos = llm.token_bos()
    n_chunks = min(n_chunks, len(tokens) // n_ctx)
    first = n_ctx // 2
    nll, nll2, count, chunk_ppl = 0.0, 0.0, 0, []
    for c in range(n_chunks):
        chunk = tokens[c * n_ctx:(c + 1) * n_ctx]
        batch = list(chunk)
        if add_bos:
            batch[0] = bos
        llm.reset()
        llm.eval(batch)
        for j in range(first, n_ctx - 1):
            z = llm.scores[j].astype(np.float64)
            m = z.max()
            lse = m + np.log(np.exp(z - m).sum())
            loss = lse - z[chunk[j + 1]]
            nll += loss
            nll2 += loss * loss
            count += 1
        chunk_ppl.append(float(np.exp(nll / count)))
        print(f"[{c + 1}]{chunk_ppl[-1]:.4f}", file=sys.stderr, flush=True)
    mean = nll / count
    var = nll2 / count - mean * mean
    ppl = float(np.exp(mean))
    json.dump({"engine": "llama.cpp via llama-cpp-python " + __import__("llama_cpp").__version__,
               "model": model_path.split("/")[-1], "text": text_path.split("/")[-1], "n_ctx": n_ctx,
               "chunks": n_chunks, "tokens_total": len(tokens), "add_bos": add_bos, "scored": count,
               "settings": {"n_threads": 2, "n_batch": n_ctx, "n_ubatch": 512, "type_k": "f16", "type_v": "f16",
                            "flash_attn": False, "swa_full": True},
               "ppl": ppl, "ppl_error": float(np.sqrt(var / (count - 1)) * ppl), "chunk_ppl": chunk_ppl},
              sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
