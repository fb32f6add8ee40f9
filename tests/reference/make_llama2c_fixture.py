#!/usr/bin/env python3
"""Writes tests/fixtures/llama2c/stories260K.json: the header and, per weight, shape, a few values
and a checksum of ../shared/models/stories260K.bin (karpathy's tinyllamas stories260K in llama2.c's
legacy checkpoint format), read here with numpy independently of stretch, for the C++ test
tests/io/test_llama2c.cpp.

Not run by the tests or CI: the generated file is committed. Re-run with
    python3 tests/reference/make_llama2c_fixture.py [CHECKPOINT]
Deterministic. Needs numpy.

The layout is llama2.c run.c's (read_checkpoint, memory_map_weights): int32 header dim, hidden_dim,
n_layers, n_heads, n_kv_heads, vocab_size (negative: unshared classifier), seq_len; then f32
token_embedding, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3 (each [n_layers, ...]), rms_final,
two freq_cis tables of seq_len * head_size / 2 floats, and wcls when unshared. Weights are named
with GGUF llama names, as stretch's reader names them. Per weight: `samples` are [flat index,
value] pairs (first, last, and four seeded random positions), `bits_sum` the sum of the f32 bit
patterns as uint32, modulo 2^64 (covers every value, independent of summation order).
"""
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT.parent / "shared" / "models" / "stories260K.bin"
OUT_PATH = ROOT / "tests" / "fixtures" / "llama2c" / "stories260K.json"


def read(path):
    raw = path.read_bytes()
    dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len = np.frombuffer(raw, "<i4", 7).tolist()
    shared = vocab > 0
    vocab = abs(vocab)
    head_size = dim // n_heads
    kv_dim = head_size * n_kv_heads
    floats = np.frombuffer(raw, "<f4", offset=28)
    at = 0

    def take(shape):
        nonlocal at
        n = int(np.prod(shape))
        a = floats[at:at + n].reshape(shape)
        at += n
        return a

    w = {"token_embd.weight": take((vocab, dim))}
    for file_name, gguf_name, shape in (("rms_att", "attn_norm", (dim,)), ("wq", "attn_q", (dim, dim)),
                                        ("wk", "attn_k", (kv_dim, dim)), ("wv", "attn_v", (kv_dim, dim)),
                                        ("wo", "attn_output", (dim, dim)), ("rms_ffn", "ffn_norm", (dim,)),
                                        ("w1", "ffn_gate", (hidden, dim)), ("w2", "ffn_down", (dim, hidden)),
                                        ("w3", "ffn_up", (hidden, dim))):
        stacked = take((n_layers, *shape))
        for layer in range(n_layers):
            w[f"blk.{layer}.{gguf_name}.weight"] = stacked[layer]
    w["output_norm.weight"] = take((dim,))
    at += 2 * seq_len * head_size // 2  # freq_cis_real, freq_cis_imag (unused)
    if not shared:
        w["output.weight"] = take((vocab, dim))
    assert at == floats.size, (at, floats.size)
    header = {"dim": dim, "hidden_dim": hidden, "n_layers": n_layers, "n_heads": n_heads, "n_kv_heads": n_kv_heads,
              "vocab_size": vocab, "seq_len": seq_len, "shared_classifier": shared}
    return header, w, hashlib.sha256(raw).hexdigest(), len(raw)


def main():
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    header, weights, sha, size = read(path)
    rng = np.random.default_rng(260)
    tensors = []
    for name, a in weights.items():  # file order, as stretch lists them
        flat = a.ravel()
        picks = sorted({0, flat.size - 1, *rng.integers(0, flat.size, 4).tolist()})
        tensors.append({
            "name": name,
            "shape": list(a.shape),
            "samples": [[i, float(flat[i])] for i in picks],
            "bits_sum": int(flat.view("<u4").astype(np.uint64).sum(dtype=np.uint64)),
        })
    doc = {"source": "tests/reference/make_llama2c_fixture.py (numpy)", "file": path.name, "bytes": size,
           "sha256": sha, "header": header, "tensors": tensors}
    OUT_PATH.parent.mkdir(parents=True, exist_ok=True)
    OUT_PATH.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT_PATH.relative_to(ROOT)}: {len(tensors)} tensors, {OUT_PATH.stat().st_size} bytes")


if __name__ == "__main__":
    main()
