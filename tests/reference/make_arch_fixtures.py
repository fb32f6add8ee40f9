#!/usr/bin/env python3
"""Writes tests/fixtures/arch/: for each architecture stretch reads (llama, gemma3, qwen2, qwen3,
phi3) a tiny random-weight GGUF with a valid tokenizer, and the logits llama.cpp computes for a
fixed 40-token sequence at every position.

Per architecture <name>:
  <name>.gguf  written with PyPI `gguf` (gguf-py); F32 tensors, a 300-odd token vocabulary
               (SentencePiece "llama" with byte fallback, or byte-level BPE "gpt2" for qwen2/qwen3),
               a few layers shaped to exercise what the architecture has (list in ARCHS below).
               gemma3_q5_0.gguf is gemma3 with its matrices quantised by llama.cpp's own
               ggml_quantize_chunk to Q5_0 (attn_q, attn_k, ffn_gate, ffn_up, attn_v of even layers)
               and Q8_0 (token_embd, attn_output, ffn_down, attn_v of odd layers), as Gemma-3-270M
               mixes them; gguf-py's quantiser must give the same bytes.
  <name>.json  tokens, "logits" [position][vocab] from llama.cpp through PyPI llama-cpp-python,
               the settings it ran with, and "logits_f64": this script's own float64 numpy forward
               of the same file (written from llama.cpp's graph, see forward()), with the largest
               difference between the two. The difference is llama.cpp's f32 arithmetic plus, for
               gemma3, its f16-table GELU (ggml-cpu/vec.h GGML_GELU_FP16) and, for the quantised
               file, its Q8_0 rounding of activations before each quantised matmul; tests state
               their tolerance against "logits" from it.

llama.cpp is made to compute in f32 where it can: F32 weights, KV cache type_k = type_v = F32 (the
default is F16), flash attention off (it casts K and V to F16), all 40 tokens in one ubatch, and a
full-size SWA cache; 2 threads.

Not run by the tests or CI: the generated files are committed. Re-run with Debian's interpreter,
which has python3-numpy:
    /usr/bin/python3 -m pip install --break-system-packages gguf==0.19.0 scikit-build-core
    CMAKE_ARGS="-DLLAVA_BUILD=OFF" /usr/bin/python3 -m pip install --break-system-packages \
        --no-deps --no-build-isolation llama-cpp-python==0.3.16      # compiles llama.cpp, ~20 min
    /usr/bin/python3 tests/reference/make_arch_fixtures.py
Deterministic: fixed seeds; llama.cpp's logits are reproducible on one machine (they may differ in
the last bits across CPUs, as ggml's SIMD paths do).
"""
import hashlib
import importlib.metadata
import json
import math
import sys
from pathlib import Path

import gguf
import numpy as np
from gguf import GGMLQuantizationType as Q

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ggml_lib  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "arch"
N_TOKENS = 40
N_CTX_TRAIN = 256

# What each tiny model exercises. head_dim != n_embd/n_head where the architecture allows it.
ARCHS = {
    # NORM (interleaved) RoPE, GQA 4:2, untied output, SentencePiece with BOS.
    "llama": dict(n_embd=64, n_head=4, n_head_kv=2, head_dim=16, n_ff=96, n_layer=3, rope_base=10000.0,
                  eps=1e-5, tied=False, tokenizer="spm", add_bos=True, seed=1),
    # NEOX RoPE, q/k/v biases, GQA, tied output, byte-level BPE without BOS.
    "qwen2": dict(n_embd=64, n_head=4, n_head_kv=2, head_dim=16, n_ff=128, n_layer=3, rope_base=1e6,
                  eps=1e-6, tied=True, tokenizer="bpe", add_bos=False, seed=2),
    # QK-norm, head_dim 32 != 64/4, GQA, untied, BPE.
    "qwen3": dict(n_embd=64, n_head=4, n_head_kv=2, head_dim=32, n_ff=128, n_layer=3, rope_base=1e6,
                  eps=1e-6, tied=False, tokenizer="bpe", add_bos=False, seed=3),
    # Sandwich norms, QK-norm, GeGLU, sqrt(n_embd) embedding scale, head_dim 16 != 32/4, GQA 4:2,
    # 7 layers: 0-4 and 6 sliding (window 8, base 10000 hard-coded), 5 global (base 1e6); tied.
    # Every matrix row is a multiple of 32 long, so the Q5_0/Q8_0 variant can quantise it.
    "gemma3": dict(n_embd=32, n_head=4, n_head_kv=2, head_dim=16, n_ff=64, n_layer=7, rope_base=1e6,
                   eps=1e-6, tied=True, tokenizer="spm_gemma", add_bos=True, window=8, seed=4),
    # Fused qkv (GQA 4:2) and fused gate|up, NEOX RoPE, untied, SentencePiece without BOS.
    "phi3": dict(n_embd=64, n_head=4, n_head_kv=2, head_dim=16, n_ff=96, n_layer=3, rope_base=10000.0,
                 eps=1e-5, tied=False, tokenizer="spm_phi3", add_bos=False, seed=5),
}
GEMMA3_SWA_PERIOD = 6          # llama-model.cpp load_hparams: set_swa_pattern(6)
GEMMA3_SWA_ROPE_BASE = 10000.0  # llama-model.cpp load_hparams: rope_freq_base_train_swa
NEOX = {"qwen2", "qwen3", "gemma3", "phi3"}  # llama_model_rope_type; llama is NORM

# ---- tokenizers -------------------------------------------------------------------------------

PIECES = ["\u2581", "\u2581t", "he", "\u2581the", "\u2581a", "in", "er", "an", "on", "re", "\u2581of", "\u2581and",
          "ed", "\u2581to", "\u2581in", "is", "it", "ar", "or", "en", "\u2581s", "\u2581w", "ou", "es", "at", "\u2581b",
          "\u2581c", "\u2581f", "\u2581m", "\u2581p", "\u2581h", "ing", "\u2581was", "\u2581he", "\u2581her", "\u2581Emma"]


def spm_vocab(style):
    """A SentencePiece ("llama") vocabulary: specials, the 256 byte tokens, then PIECES by score.
    Gemma's order puts <pad> <eos> <bos> <unk> first; Phi-3's ends with <|endoftext|> (its EOS),
    which llama.cpp looks up by text for any model whose general.name contains "phi3"
    (llama-vocab.cpp, per-token attributes)."""
    T = gguf.TokenType
    specials = ([("<pad>", T.CONTROL), ("<eos>", T.CONTROL), ("<bos>", T.CONTROL), ("<unk>", T.UNKNOWN)]
                if style == "spm_gemma" else [("<unk>", T.UNKNOWN), ("<s>", T.CONTROL), ("</s>", T.CONTROL)])
    tokens = specials + [(f"<0x{b:02X}>", T.BYTE) for b in range(256)] + [(p, T.NORMAL) for p in PIECES]
    scores = [0.0] * (len(specials) + 256) + [-float(i) for i in range(len(PIECES))]
    ids = {"bos": 2, "eos": 1, "unk": 3, "pad": 0} if style == "spm_gemma" else {"bos": 1, "eos": 2, "unk": 0}
    if style == "spm_phi3":
        tokens.append(("<|endoftext|>", T.CONTROL))
        scores.append(0.0)
        ids["eos"] = len(tokens) - 1
    return tokens, scores, ids


def vocab(cfg):
    """(tokens with types, special ids) of cfg's tokenizer."""
    if cfg["tokenizer"] == "bpe":
        tokens, _, ids = bpe_vocab()
    else:
        tokens, _, ids = spm_vocab(cfg["tokenizer"])
    return tokens, ids


def byte_level_chars():
    """GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 + n."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars, n = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + n)
            n += 1
    return [chars[b] for b in range(256)]


BPE_MERGES = ["\u0120 t", "h e", "\u0120t he", "i n", "e r", "a n", "o n", "r e", "\u0120 a", "\u0120 o", "o f",
              "\u0120o f", "e d", "a r", "o r", "e n", "\u0120 s", "\u0120 w", "o u", "e s", "a t", "in g"]


def bpe_vocab():
    T = gguf.TokenType
    merged = [m.replace(" ", "") for m in BPE_MERGES]
    tokens = [(c, T.NORMAL) for c in byte_level_chars()] + [(m, T.NORMAL) for m in merged]
    tokens.append(("<|endoftext|>", T.CONTROL))
    eot = len(tokens) - 1
    return tokens, BPE_MERGES, {"bos": eot, "eos": eot}


def add_tokenizer(writer, cfg):
    if cfg["tokenizer"] == "bpe":
        tokens, merges, ids = bpe_vocab()
        writer.add_tokenizer_model("gpt2")
        writer.add_tokenizer_pre("qwen2")
        writer.add_token_list([t for t, _ in tokens])
        writer.add_token_types([ty for _, ty in tokens])
        writer.add_token_merges(merges)
    else:
        gemma = cfg["tokenizer"] == "spm_gemma"
        tokens, scores, ids = spm_vocab(cfg["tokenizer"])
        writer.add_tokenizer_model("llama")
        writer.add_tokenizer_pre("default")
        writer.add_token_list([t for t, _ in tokens])
        writer.add_token_scores(scores)
        writer.add_token_types([ty for _, ty in tokens])
        writer.add_add_space_prefix(not gemma)
        if "unk" in ids:
            writer.add_unk_token_id(ids["unk"])
        if "pad" in ids:
            writer.add_pad_token_id(ids["pad"])
    writer.add_bos_token_id(ids["bos"])
    writer.add_eos_token_id(ids["eos"])
    writer.add_add_bos_token(cfg["add_bos"])
    writer.add_add_eos_token(False)
    return tokens, ids


# ---- weights ----------------------------------------------------------------------------------

def make_weights(arch, cfg, n_vocab):
    """Row-major [out, in] f32 matrices ~ N(0, 1/in) so activations stay O(1); norm weights
    1 + N(0, 0.1^2) (gemma3's as stored in GGUF, the +1 already added); biases N(0, 0.1^2)."""
    rng = np.random.default_rng(cfg["seed"])
    E, H, KV, D, F = cfg["n_embd"], cfg["n_head"], cfg["n_head_kv"], cfg["head_dim"], cfg["n_ff"]

    def mat(n_out, n_in):
        return (rng.standard_normal((n_out, n_in)) / math.sqrt(n_in)).astype(np.float32)

    def norm(n):
        return (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)

    def bias(n):
        return (0.1 * rng.standard_normal(n)).astype(np.float32)

    embd_std = 1.0 / math.sqrt(E) if arch == "gemma3" else 0.5  # gemma3 scales it by sqrt(n_embd)
    w = {"token_embd.weight": (embd_std * rng.standard_normal((n_vocab, E))).astype(np.float32),
         "output_norm.weight": norm(E)}
    if not cfg["tied"]:
        w["output.weight"] = mat(n_vocab, E)
    for il in range(cfg["n_layer"]):
        p = f"blk.{il}."
        w[p + "attn_norm.weight"] = norm(E)
        if arch == "phi3":
            w[p + "attn_qkv.weight"] = mat(H * D + 2 * KV * D, E)
        else:
            w[p + "attn_q.weight"] = mat(H * D, E)
            w[p + "attn_k.weight"] = mat(KV * D, E)
            w[p + "attn_v.weight"] = mat(KV * D, E)
        if arch == "qwen2":
            w[p + "attn_q.bias"], w[p + "attn_k.bias"], w[p + "attn_v.bias"] = bias(H * D), bias(KV * D), bias(KV * D)
        if arch in ("qwen3", "gemma3"):
            w[p + "attn_q_norm.weight"], w[p + "attn_k_norm.weight"] = norm(D), norm(D)
        w[p + "attn_output.weight"] = mat(E, H * D)
        w[p + "ffn_norm.weight"] = norm(E)
        if arch == "phi3":
            w[p + "ffn_up.weight"] = mat(2 * F, E)  # gate rows first, then up
        else:
            w[p + "ffn_gate.weight"] = mat(F, E)
            w[p + "ffn_up.weight"] = mat(F, E)
        w[p + "ffn_down.weight"] = mat(E, F)
        if arch == "gemma3":
            w[p + "post_attention_norm.weight"], w[p + "post_ffw_norm.weight"] = norm(E), norm(E)
    return w


def gemma3_quant_type(name):
    """Q5_0 / Q8_0 per matrix as Gemma-3-270M's file mixes them; None keeps F32 (norms)."""
    if name == "token_embd.weight" or name.endswith(("attn_output.weight", "ffn_down.weight")):
        return "Q8_0"
    if name.endswith(("attn_q.weight", "attn_k.weight", "ffn_gate.weight", "ffn_up.weight")):
        return "Q5_0"
    if name.endswith("attn_v.weight"):
        return "Q5_0" if int(name.split(".")[1]) % 2 == 0 else "Q8_0"
    return None


def quantise(weights):
    """llama.cpp's quantisation of the gemma3 matrices; returns the raw blocks and the f32 values
    they stand for (gguf-py's dequantiser, checked against ggml's for Q5_0)."""
    raw, values = {}, {}
    for name, x in weights.items():
        qtype = gemma3_quant_type(name)
        if qtype is None:
            values[name] = x
            continue
        blocks = ggml_lib.quantize(x, qtype)
        assert np.array_equal(blocks, gguf.quants.quantize(x, Q[qtype])), f"gguf-py and ggml quantise {name} differently"
        deq = np.asarray(gguf.quants.dequantize(blocks, Q[qtype]), dtype=np.float32).reshape(x.shape)
        if qtype == "Q5_0":
            assert np.array_equal(deq.ravel(), ggml_lib.dequantize_q5_0(blocks)), f"Q5_0 dequantisers differ on {name}"
        raw[name] = (blocks, qtype)
        values[name] = deq
    return raw, values


# ---- the GGUF ---------------------------------------------------------------------------------

def write_gguf(path, arch, cfg, weights, raw=None):
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_name(f"stretch tiny {arch} fixture")
    writer.add_context_length(N_CTX_TRAIN)
    writer.add_embedding_length(cfg["n_embd"])
    writer.add_block_count(cfg["n_layer"])
    writer.add_feed_forward_length(cfg["n_ff"])
    writer.add_head_count(cfg["n_head"])
    writer.add_head_count_kv(cfg["n_head_kv"])
    writer.add_layer_norm_rms_eps(cfg["eps"])
    writer.add_rope_freq_base(cfg["rope_base"])
    if cfg["head_dim"] != cfg["n_embd"] // cfg["n_head"] or arch == "gemma3":
        writer.add_key_length(cfg["head_dim"])
        writer.add_value_length(cfg["head_dim"])
    if arch in ("llama", "phi3"):
        writer.add_rope_dimension_count(cfg["head_dim"])
    if arch == "gemma3":
        writer.add_sliding_window(cfg["window"])
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q5_0 if raw else gguf.LlamaFileType.ALL_F32)
    add_tokenizer(writer, cfg)
    for name, x in weights.items():
        if raw and name in raw:
            blocks, qtype = raw[name]
            writer.add_tensor(name, blocks, raw_dtype=Q[qtype])
        else:
            writer.add_tensor(name, x)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


# ---- float64 reference forward (llama.cpp's graph, src/llama-model.cpp llm_build_*) -------------

def rms(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope(x, base, neox):
    """x [T, heads, D] rotated at positions 0..T-1; NEOX pairs (i, i+D/2), NORM pairs (2i, 2i+1)."""
    T, _, D = x.shape
    theta = np.arange(T)[:, None] * base ** (-np.arange(0, D, 2) / D)[None, :]  # [T, D/2]
    cos, sin = np.cos(theta)[:, None, :], np.sin(theta)[:, None, :]
    if neox:
        a, b = x[..., :D // 2], x[..., D // 2:]
        return np.concatenate([a * cos - b * sin, a * sin + b * cos], axis=-1)
    a, b = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2], out[..., 1::2] = a * cos - b * sin, a * sin + b * cos
    return out


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * x * (1.0 + 0.044715 * x * x)))


def gelu_ggml_cpu(x):
    """ggml-cpu's GELU (vec.h, GGML_GELU_FP16): x rounded to f16, GELU of it looked up in an f16
    table; 0 below -10 and x above 10."""
    x16 = x.astype(np.float16).astype(np.float64)
    y16 = gelu_tanh(x16).astype(np.float16).astype(np.float64)
    return np.where(x <= -10.0, 0.0, np.where(x >= 10.0, x, y16))


def q8_0_round(x):
    """The activation rounding ggml-cpu applies before a Q5_0/Q8_0 matmul (quantize_row_q8_0:
    blocks of 32 along the last axis, d = max|x|/127 stored as f16, q = round(x/d))."""
    b = x.astype(np.float32).reshape(-1, 32).astype(np.float64)
    d = np.abs(b).max(axis=1, keepdims=True) / 127.0
    q = np.round(b * np.where(d > 0, 1.0 / np.where(d > 0, d, 1.0), 0.0))
    return (q * d.astype(np.float16).astype(np.float64)).reshape(x.shape)


def silu(x):
    return x / (1.0 + np.exp(-x))


def is_sliding(arch, il):
    return arch == "gemma3" and il % GEMMA3_SWA_PERIOD < GEMMA3_SWA_PERIOD - 1


def forward(arch, cfg, w, tokens, gelu=gelu_tanh, rounded_inputs=()):
    """Logits [T, n_vocab] in float64 from the f32 weights w. gelu and rounded_inputs (matrices
    whose input goes through q8_0_round) let it imitate ggml-cpu's roundings, to show where the
    difference from llama.cpp comes from."""
    w = {k: v.astype(np.float64) for k, v in w.items()}

    def lin(x, name):  # x [.., in] @ W[out, in]^T
        return (q8_0_round(x) if name in rounded_inputs else x) @ w[name].T

    E, H, KV, D, F, eps = cfg["n_embd"], cfg["n_head"], cfg["n_head_kv"], cfg["head_dim"], cfg["n_ff"], cfg["eps"]
    T = len(tokens)
    x = w["token_embd.weight"][tokens]  # [T, E]
    if arch == "gemma3":
        x = x * math.sqrt(E)
    pos_i, pos_j = np.arange(T)[:, None], np.arange(T)[None, :]
    for il in range(cfg["n_layer"]):
        p = f"blk.{il}."
        a = rms(x, w[p + "attn_norm.weight"], eps)
        if arch == "phi3":
            qkv = lin(a, p + "attn_qkv.weight")
            q, k, v = qkv[:, :H * D], qkv[:, H * D:(H + KV) * D], qkv[:, (H + KV) * D:]
        else:
            q, k, v = lin(a, p + "attn_q.weight"), lin(a, p + "attn_k.weight"), lin(a, p + "attn_v.weight")
        if arch == "qwen2":
            q, k, v = q + w[p + "attn_q.bias"], k + w[p + "attn_k.bias"], v + w[p + "attn_v.bias"]
        q, k, v = q.reshape(T, H, D), k.reshape(T, KV, D), v.reshape(T, KV, D)
        if arch in ("qwen3", "gemma3"):
            q, k = rms(q, w[p + "attn_q_norm.weight"], eps), rms(k, w[p + "attn_k_norm.weight"], eps)
        sliding = is_sliding(arch, il)
        base = GEMMA3_SWA_ROPE_BASE if sliding else cfg["rope_base"]
        q, k = rope(q, base, arch in NEOX), rope(k, base, arch in NEOX)
        visible = pos_j <= pos_i
        if sliding:
            visible &= pos_i - pos_j < cfg["window"]  # is_masked_swa: p1 - p0 >= n_swa is masked
        out = np.empty((T, H, D))
        for h in range(H):
            kh = h // (H // KV)
            s = q[:, h] @ k[:, kh].T / math.sqrt(D)
            s = np.where(visible, s, -np.inf)
            s = np.exp(s - s.max(axis=1, keepdims=True))
            out[:, h] = (s / s.sum(axis=1, keepdims=True)) @ v[:, kh]
        o = lin(out.reshape(T, H * D), p + "attn_output.weight")
        if arch == "gemma3":
            o = rms(o, w[p + "post_attention_norm.weight"], eps)
        h_res = x + o
        f_in = rms(h_res, w[p + "ffn_norm.weight"], eps)
        if arch == "phi3":
            up = lin(f_in, p + "ffn_up.weight")
            f = silu(up[:, :F]) * up[:, F:]
        else:
            act = gelu if arch == "gemma3" else silu
            f = act(lin(f_in, p + "ffn_gate.weight")) * lin(f_in, p + "ffn_up.weight")
        f = lin(f, p + "ffn_down.weight")
        if arch == "gemma3":
            f = rms(f, w[p + "post_ffw_norm.weight"], eps)
        x = h_res + f
    return lin(rms(x, w["output_norm.weight"], eps), "output.weight" if "output.weight" in w else "token_embd.weight")


# ---- llama.cpp ----------------------------------------------------------------------------------

SETTINGS = dict(n_ctx=64, n_batch=64, n_ubatch=64, n_threads=2, flash_attn=False, swa_full=True,
                type_k=0, type_v=0)  # type 0 = GGML_TYPE_F32


def llama_cpp_logits(path, tokens):
    from llama_cpp import Llama, llama_cpp
    llm = Llama(model_path=str(path), logits_all=True, verbose=False, **SETTINGS)
    add_bos = bool(llama_cpp.llama_vocab_get_add_bos(llama_cpp.llama_model_get_vocab(llm.model)))
    probe = llm.tokenize("the Emma\n".encode("utf-8"), add_bos=add_bos, special=True)  # the vocabulary works
    llm.eval(tokens)
    logits = np.array(llm.scores[:len(tokens)], dtype=np.float32)
    return logits, add_bos, probe


def distance(logits, ref):
    diff = np.abs(logits.astype(np.float64) - ref)
    return {"max_abs": float(diff.max()), "rms": float(np.sqrt((diff ** 2).mean())), "logit_std": float(ref.std()),
            "argmax_agree": int((logits.argmax(1) == ref.argmax(1)).sum())}


def rounded(a, digits):
    return [[float(f"{v:.{digits}g}") for v in row] for row in a]


def make(name, arch, cfg, quantised=False):
    gguf_path = OUT / f"{name}.gguf"
    tokens_def, ids = vocab(cfg)
    n_vocab = len(tokens_def)
    weights = make_weights(arch, cfg, n_vocab)
    raw, values = quantise(weights) if quantised else (None, weights)
    write_gguf(gguf_path, arch, cfg, weights, raw)

    ordinary = [i for i, (_, ty) in enumerate(tokens_def) if ty in (gguf.TokenType.NORMAL, gguf.TokenType.BYTE)]
    rng = np.random.default_rng(100 + cfg["seed"])
    tokens = [int(t) for t in rng.choice(ordinary, size=N_TOKENS - int(cfg["add_bos"]))]
    if cfg["add_bos"]:
        tokens = [ids["bos"]] + tokens

    logits, add_bos, probe = llama_cpp_logits(gguf_path, tokens)
    assert add_bos == cfg["add_bos"], (name, add_bos)
    ref = forward(arch, cfg, values, tokens)
    spread = distance(logits, ref)
    # The same forward with ggml-cpu's f16 GELU and Q8_0 activation rounding: what is left is f32
    # arithmetic and the rounding decisions that flip between f32 and float64 inputs.
    imitated = forward(arch, cfg, values, tokens, gelu=gelu_ggml_cpu, rounded_inputs=set(raw or ()))
    spread["with_ggml_roundings_imitated"] = distance(logits, imitated)
    swa = [il for il in range(cfg["n_layer"]) if is_sliding(arch, il)]
    doc = {
        "generator": "tests/reference/make_arch_fixtures.py",
        "arch": arch,
        "gguf": gguf_path.name,
        "gguf_sha256": hashlib.sha256(gguf_path.read_bytes()).hexdigest(),
        "versions": {"llama_cpp_python": importlib.metadata.version("llama_cpp_python"),
                     "gguf": importlib.metadata.version("gguf"), "numpy": np.__version__},
        "config": {k: v for k, v in cfg.items() if k != "seed"} | {"n_vocab": n_vocab},
        "sliding_layers": swa,
        "rope": "neox" if arch in NEOX else "norm",
        "tensor_types": {n: (raw[n][1] if raw and n in raw else "F32") for n in weights},
        "llama_cpp_settings": SETTINGS | {"type_k": "f32", "type_v": "f32", "logits_all": True,
                                          "note": "one llama_decode of all tokens from an empty cache"},
        "add_bos": add_bos,
        "tokenize_probe": {"text": "the Emma\n", "ids": probe},
        "tokens": tokens,
        "logits": rounded(logits, 9),
        "logits_f64": rounded(ref, 12),
        "llama_cpp_vs_f64": spread,
    }
    (OUT / f"{name}.json").write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    im = spread["with_ggml_roundings_imitated"]
    print(f"{name}: {gguf_path.stat().st_size} bytes gguf, llama.cpp vs float64 max |d| {spread['max_abs']:.2e} "
          f"rms {spread['rms']:.2e} (logit std {spread['logit_std']:.2f}), argmax agree {spread['argmax_agree']}/{len(tokens)}; "
          f"imitating ggml's roundings: max {im['max_abs']:.2e} rms {im['rms']:.2e}")
    return spread


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    names = sys.argv[1:] or list(ARCHS) + ["gemma3_q5_0"]
    for name in names:
        if name == "gemma3_q5_0":
            make(name, "gemma3", ARCHS["gemma3"], quantised=True)
        else:
            make(name, name, ARCHS[name])


if __name__ == "__main__":
    main()
