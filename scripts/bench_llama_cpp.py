#!/usr/bin/env python3
"""The llama.cpp peer of `stretch bench --model` (benchmarks.md): prefill and decode tokens/s of a
GGUF file through llama-cpp-python (pip install llama-cpp-python), with the same token ids, thread
count and token counts as src/eval/gguf_bench.cpp, printed as one JSON object.

Figures (each the best of --repeat runs, like stretch's):
  prefill_tokens_per_s         `prefill` tokens evaluated in one batch (n_batch = n_ubatch >= prefill)
  decode_tokens_per_s          `decode` tokens, one at a time, after that prefill
  cached_decode_tokens_per_s   `cached_decode` tokens, one at a time, after `cached` tokens in the cache
Token i of a run is 1 + (i * 7919) mod (vocab - 1): no tokenizer, the same ids as stretch.
--flash-attn 0|1 sets llama.cpp's flash attention (off is llama-cpp-python's default); `stretch bench`
runs both and keeps the faster per figure (issue 19: each peer at its best).
"""
import argparse
import json
import time

import llama_cpp


def token_ids(first, count, vocab):
    return [1 + (i * 7919) % (vocab - 1) for i in range(first, first + count)]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--prefill", type=int, default=512)
    p.add_argument("--decode", type=int, default=128)
    p.add_argument("--cached", type=int, default=8192)
    p.add_argument("--cached-decode", type=int, default=32)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--flash-attn", type=int, choices=(0, 1), default=0)
    a = p.parse_args()

    batch = max(512, a.prefill)
    llm = llama_cpp.Llama(model_path=a.model, n_ctx=max(a.prefill + a.decode, a.cached + a.cached_decode),
                          n_batch=batch, n_ubatch=batch, n_threads=a.threads, n_threads_batch=a.threads,
                          flash_attn=bool(a.flash_attn), logits_all=False, verbose=False)
    vocab = llm.n_vocab()

    def timed(tokens):
        start = time.perf_counter()
        llm.eval(tokens)
        return time.perf_counter() - start

    def decode(first, count):
        return sum(timed(token_ids(first + i, 1, vocab)) for i in range(count))

    prefill_s, decode_s, cached_s = [], [], []
    for _ in range(a.repeat):
        llm.reset()
        prefill_s.append(timed(token_ids(0, a.prefill, vocab)))
        decode_s.append(decode(a.prefill, a.decode))
    llm.reset()
    llm.eval(token_ids(0, a.cached, vocab))  # in batches of n_batch, untimed
    for _ in range(a.repeat):
        llm.n_tokens = a.cached  # back to the cached prefix: eval drops the cache past n_tokens
        cached_s.append(decode(a.cached, a.cached_decode))
    print(json.dumps({
        "peer": "llama.cpp (llama-cpp-python %s)" % llama_cpp.__version__,
        "threads": a.threads,
        "flash_attn": a.flash_attn,
        "prefill": a.prefill, "decode": a.decode, "cached": a.cached, "cached_decode": a.cached_decode,
        "prefill_tokens_per_s": a.prefill / min(prefill_s),
        "decode_tokens_per_s": a.decode / min(decode_s),
        "cached_decode_tokens_per_s": a.cached_decode / min(cached_s),
    }))


if __name__ == "__main__":
    main()
