#!/usr/bin/env python3
"""A LoRA adapter stretch wrote, run by llama.cpp: `stretch finetune --method lora` leaves in its
output folder adapter.gguf (llama.cpp's adapter format, train/lora.h) and model.gguf (the same
adapters merged into the base's matrices, W + alpha/r B A). This script loads the base model with the
adapter in llama.cpp through llama-cpp-python (`lora_path`, scale 1) and compares, on the first N_CTX
tokens of TEXT:
  - llama.cpp's logits of base + adapter with llama.cpp's logits of stretch's merged model.gguf (the
    adapter's names, shapes, alpha and rank read as stretch means them: max |difference| over max
    |logit|; f32 products in another order: ~1e-6 expected, 1e-4 is the stated tolerance);
  - the same against the base alone (how far the adapter moved the logits: agreement is not the
    adapter doing nothing);
  - the perplexity of base + adapter in llama.cpp (llama-perplexity's protocol, llama_cpp_perplexity.py's
    code: chunks of N_CTX, the second half scored) with `stretch ppl` of model.gguf on the same
    chunks (relative difference), beside the same two engines' gap on the base alone.
Prints one JSON object with the numbers and "pass": logits within 1e-4 and perplexities within 1e-3.
A quantised base is first written out dequantised to f32 (gguf-py's dequantisers, every other field
as it was), and so is the merged model (whose untouched matrices, e.g. a quantised embedding, stay
quantised): llama.cpp quantises the activations of every quantised product to 8 bits, stretch's
prefill multiplies dequantised weights in f32, so only on f32 weights do the two compute the same
sums; `stretch ppl` still reads the files it wrote and the quantised base itself.

usage: /usr/bin/python3 tests/reference/lora_in_llama_cpp.py BASE.gguf RUN_DIR TEXT N_CTX N_CHUNKS [STRETCH]
(numpy and llama-cpp-python; STRETCH defaults to build/stretch). For a base stretch trained (its byte
vocabulary reads in llama.cpp) the run is, e.g.:
  build/stretch train --preset tiny --steps 200 --data ../shared/data/austen-emma.txt \\
      --val ../shared/data/austen-persuasion.txt --out /tmp/base
  build/stretch finetune -m /tmp/base --method lora --lora-rank 4 --context 32 --steps 50 --set lr=1e-2 \\
      --data ../shared/data/austen-persuasion.txt --val ../shared/data/austen-emma.txt --out /tmp/lora
  /usr/bin/python3 tests/reference/lora_in_llama_cpp.py /tmp/base/model.gguf /tmp/lora \\
      ../shared/data/austen-northangerabbey.txt 32 8
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter
from gguf.quants import dequantize
from llama_cpp import Llama, llama_cpp

HERE = os.path.dirname(os.path.abspath(__file__))
# F32 KV cache, one decode of the whole window from an empty cache (make_arch_fixtures.py's settings).
SETTINGS = dict(n_threads=2, flash_attn=False, type_k=0, type_v=0, logits_all=True, verbose=False)


def logits(model, lora, tokens):
    extra = {"lora_path": lora} if lora else {}
    llm = Llama(model_path=model, n_ctx=len(tokens), n_batch=len(tokens), n_ubatch=len(tokens), **SETTINGS, **extra)
    llm.eval(tokens)
    return np.array(llm.scores[:len(tokens)], dtype=np.float64), llm


def dequantised(path, folder):
    """`path` as a GGUF whose quantised tensors are f32 (the dequantised values), or `path` itself when
    none is quantised."""
    reader = GGUFReader(path)
    plain = (GGMLQuantizationType.F32, GGMLQuantizationType.F16)
    if all(t.tensor_type in plain for t in reader.tensors):
        return path
    out = os.path.join(folder, "f32-" + os.path.basename(path))
    writer = GGUFWriter(out, reader.fields["general.architecture"].contents())
    for field in reader.fields.values():
        if field.name == "general.architecture" or field.name.startswith("GGUF."):
            continue
        kind = field.types[0]
        writer.add_key_value(field.name, field.contents(), kind,
                             sub_type=field.types[-1] if kind == GGUFValueType.ARRAY else None)
    for t in reader.tensors:
        if t.tensor_type in plain:
            writer.add_tensor(t.name, np.array(t.data), raw_dtype=t.tensor_type)
        else:
            writer.add_tensor(t.name, dequantize(t.data, t.tensor_type).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out


def perplexity(llm, tokens, n_ctx, n_chunks):
    """llama-perplexity's protocol on llama.cpp's logits (llama_cpp_perplexity.py)."""
    add_bos = bool(llama_cpp.llama_vocab_get_add_bos(llama_cpp.llama_model_get_vocab(llm.model)))
    nll, count = 0.0, 0
    for c in range(n_chunks):
        chunk = tokens[c * n_ctx:(c + 1) * n_ctx]
        batch = list(chunk)
        if add_bos:
            batch[0] = llm.token_bos()
        llm.reset()
        llm.eval(batch)
        for j in range(n_ctx // 2, n_ctx - 1):
            z = llm.scores[j].astype(np.float64)
            m = z.max()
            nll += m + np.log(np.exp(z - m).sum()) - z[chunk[j + 1]]
            count += 1
    return float(np.exp(nll / count))


def stretch_ppl(stretch, model, text, n_ctx, n_chunks):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "ppl.json")
        subprocess.run([stretch, "ppl", "-m", model, "-f", text, "-c", str(n_ctx), "--chunks", str(n_chunks),
                        "--threads", "2", "--json", out], check=True, capture_output=True, text=True)
        return json.load(open(out))["results"][0]["ppl"]


def main():
    base, run, text, n_ctx, n_chunks = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    stretch = sys.argv[6] if len(sys.argv) > 6 else os.path.join(HERE, "..", "..", "build", "stretch")
    adapter, merged = os.path.join(run, "adapter.gguf"), os.path.join(run, "model.gguf")
    with tempfile.TemporaryDirectory() as folder:
        peer_base, peer_merged = dequantised(base, folder), dequantised(merged, folder)
        probe = Llama(model_path=peer_base, n_ctx=n_ctx, verbose=False)
        tokens = probe.tokenize(open(text, "rb").read(), add_bos=False, special=True)
        window = tokens[:n_ctx]
        with_adapter, llm = logits(peer_base, adapter, window)
        from_merge, _ = logits(peer_merged, None, window)
        alone, plain = logits(peer_base, None, window)
        scale = np.abs(with_adapter).max()
        adapter_vs_merge = float(np.abs(with_adapter - from_merge).max() / scale)
        adapter_effect = float(np.abs(with_adapter - alone).max() / scale)
        n_chunks = min(n_chunks, len(tokens) // n_ctx)
        peer_ppl = perplexity(llm, tokens, n_ctx, n_chunks)
        peer_base_ppl = perplexity(plain, tokens, n_ctx, n_chunks)
    ours, ours_base = (stretch_ppl(stretch, model, text, n_ctx, n_chunks) for model in (merged, base))
    ppl_difference = abs(ours - peer_ppl) / peer_ppl
    base_gap = abs(ours_base - peer_base_ppl) / peer_base_ppl
    print(json.dumps({
        "engine": "llama.cpp via llama-cpp-python " + __import__("llama_cpp").__version__,
        "base": os.path.basename(base), "dequantised_for_llama_cpp": peer_base != base,
        "text": os.path.basename(text), "n_ctx": n_ctx, "chunks": n_chunks,
        "max_logit": float(scale),
        "adapter_vs_merged_model": adapter_vs_merge, "adapter_vs_base_alone": adapter_effect,
        "ppl": {"llama_cpp_base_plus_adapter": peer_ppl, "stretch_merged_model": ours,
                "relative_difference": ppl_difference},
        "ppl_base_alone": {"llama_cpp": peer_base_ppl, "stretch": ours_base, "relative_difference": base_gap},
        "tolerances": "adapter_vs_merged_model < 1e-4 (f32 sums in another order: ~1e-6 expected), ppl "
                      "relative_difference < 1e-3; the adapter must move the logits (adapter_vs_base_alone > 1e-3)",
        "pass": adapter_vs_merge < 1e-4 and ppl_difference < 1e-3 and adapter_effect > 1e-3,
    }, indent=1))


if __name__ == "__main__":
    main()
