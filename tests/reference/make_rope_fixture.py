#!/usr/bin/env python3
"""Writes tests/fixtures/rope/hf_frequencies.json: RoPE inverse frequencies and attention factors of
Hugging Face transformers' RoPE utilities for `linear`, `dynamic`, `yarn`, `llama3` and `longrope`,
computed here independently of stretch, for the C++ test tests/variants/test_hf_frequencies.cpp.

Not run by the tests or CI: the generated file is committed. Re-run after changing the cases:
    python3 tests/reference/make_rope_fixture.py
It writes the fixture itself (no arguments; stdout gets a one-line summary) and is deterministic:
same numpy and Python, same bytes. Needs only numpy.

What is transcribed. The functions below are a line-by-line numpy transcription of
`src/transformers/modeling_rope_utils.py` of huggingface/transformers:
  - the current form (rope_parameters dict; yarn with `truncate`, `mscale`, `mscale_all_dim`,
    `original_max_position_embeddings`, and `factor = max_position_embeddings / original` when
    factor is None; longrope choosing long_factor iff `seq_len > original_max_position_embeddings`),
    read at commit 26892c16b782513fdf938920653228ef63a19d7d of the fork zucchini-nlp/transformers
    (which tracks upstream main): `_compute_linear_scaling_rope_parameters`,
    `_compute_dynamic_ntk_parameters`, `_compute_yarn_parameters` (find_correction_dim,
    find_correction_range, linear_ramp_factor, get_mscale), `_compute_longrope_parameters`,
    `_compute_llama3_parameters`, and `RotaryEmbeddingConfigMixin.standardize_rope_params`
    (original_max_position_embeddings defaults to max_position_embeddings for llama3/yarn/longrope);
  - `_compute_default_rope_parameters` from huggingface/transformers itself, commits
    0044e3b3facff1a1ad60b235c69d5b45beae75a4 and ef46806472a64b0013ed413781e3afed82bfa047
    (inv_freq = 1 / base ** (arange(0, dim, 2) / dim)); the newer file inlines the same line.
Python control flow (the `or 32` defaults, `if mscale and mscale_all_dim`, `if seq_len and ...`,
`max(seq_len, max_position_embeddings)`, the `min == max` guard) is kept as written there.

Precision. HF computes inv_freq in float32 torch tensors (scalars such as attention_factor in
Python float64). This script computes everything in float64 (numpy float64 arrays, Python floats),
because the point is to check stretch's float64 formulas, not float32 rounding; with float32 the
comparison could not be tighter than ~1e-7.

Mapping to stretch (recorded per case): HF `dim` = rotary dims (head_dim * partial_rotary_factor) =
stretch n_rot; `rope_theta` = base; `max_position_embeddings` = n_ctx_train unless a case says
otherwise (yarn/longrope with factor derived from max_position_embeddings / original); HF `seq_len`
= the `length` stretch's frequencies() receives (dynamic mode=hf, longrope select=by_length), or the
planned target_length (dynamic mode=request, longrope select=by_context). For longrope HF derives
its factor from max_position_embeddings / original_max_position_embeddings; the cases pass stretch
the same ratio as `factor` (stretch uses it only for the default attention factor).
"""
import json
import math
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT_PATH = ROOT / "tests" / "fixtures" / "rope" / "hf_frequencies.json"


# ---- HF modeling_rope_utils.py, transcribed (float64) -------------------------------------------

def _default_inv_freq(base, dim):
    # inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    return 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.int64).astype(np.float64) / dim))


def compute_linear(cfg, seq_len=None):
    p = cfg["rope_parameters"]
    factor = p["factor"]
    base, dim = p["rope_theta"], cfg["dim"]
    attention_factor = 1.0  # Unused in this type of RoPE
    inv_freq = _default_inv_freq(base, dim)
    inv_freq = inv_freq / factor
    return inv_freq, attention_factor


def compute_dynamic(cfg, seq_len=None):
    p = cfg["rope_parameters"]
    base, dim = p["rope_theta"], cfg["dim"]
    factor = p["factor"]
    attention_factor = 1.0  # Unused in this type of RoPE
    # seq_len: default to max_position_embeddings, e.g. at init time
    if seq_len is None:
        seq_len = cfg["max_position_embeddings"]
    else:
        seq_len = max(seq_len, cfg["max_position_embeddings"])
    base = base * ((factor * seq_len / cfg["max_position_embeddings"]) - (factor - 1)) ** (dim / (dim - 2))
    inv_freq = 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.int64).astype(np.float64) / dim))
    return inv_freq, attention_factor


def compute_yarn(cfg, seq_len=None):
    p = cfg["rope_parameters"]
    base, dim = p["rope_theta"], cfg["dim"]
    factor = p.get("factor")
    attention_factor = p.get("attention_factor")
    mscale = p.get("mscale")
    mscale_all_dim = p.get("mscale_all_dim")
    original_max_position_embeddings = p["original_max_position_embeddings"]

    # NOTE (HF): DeepSeek-V3 uses max_position_embeddings / original when factor is absent.
    if factor is None:
        factor = cfg["max_position_embeddings"] / original_max_position_embeddings

    def get_mscale(scale, mscale=1):
        if scale <= 1:
            return 1.0
        return 0.1 * mscale * math.log(scale) + 1.0

    if attention_factor is None:
        if mscale and mscale_all_dim:
            attention_factor = float(get_mscale(factor, mscale) / get_mscale(factor, mscale_all_dim))
        else:
            attention_factor = get_mscale(factor)

    beta_fast = p.get("beta_fast") or 32
    beta_slow = p.get("beta_slow") or 1

    def find_correction_dim(num_rotations, dim, base, max_position_embeddings):
        return (dim * math.log(max_position_embeddings / (num_rotations * 2 * math.pi))) / (2 * math.log(base))

    def find_correction_range(low_rot, high_rot, dim, base, max_position_embeddings, truncate):
        low = find_correction_dim(low_rot, dim, base, max_position_embeddings)
        high = find_correction_dim(high_rot, dim, base, max_position_embeddings)
        if truncate:
            low = math.floor(low)
            high = math.ceil(high)
        return max(low, 0), min(high, dim - 1)

    def linear_ramp_factor(min, max, dim):
        if min == max:
            max += 0.001  # Prevent singularity
        linear_func = (np.arange(dim, dtype=np.float64) - min) / (max - min)
        return np.clip(linear_func, 0, 1)

    pos_freqs = base ** (np.arange(0, dim, 2).astype(np.float64) / dim)
    inv_freq_extrapolation = 1.0 / pos_freqs
    inv_freq_interpolation = 1.0 / (factor * pos_freqs)

    truncate = p.get("truncate", True)
    low, high = find_correction_range(beta_fast, beta_slow, dim, base, original_max_position_embeddings, truncate)

    inv_freq_extrapolation_factor = 1 - linear_ramp_factor(low, high, dim // 2)
    inv_freq = (inv_freq_interpolation * (1 - inv_freq_extrapolation_factor)
                + inv_freq_extrapolation * inv_freq_extrapolation_factor)
    return inv_freq, attention_factor


def compute_longrope(cfg, seq_len=None):
    p = cfg["rope_parameters"]
    base, dim = p["rope_theta"], cfg["dim"]
    long_factor = p["long_factor"]
    short_factor = p["short_factor"]
    factor = p.get("factor")
    attention_factor = p.get("attention_factor")
    original_max_position_embeddings = p["original_max_position_embeddings"]

    # NOTE (HF): Phi3 derives factor from max_position_embeddings / original_max_position_embeddings.
    if factor is None:
        factor = cfg["max_position_embeddings"] / original_max_position_embeddings

    if attention_factor is None:
        if factor <= 1.0:
            attention_factor = 1.0
        else:
            attention_factor = math.sqrt(1 + math.log(factor) / math.log(original_max_position_embeddings))

    if seq_len and seq_len > original_max_position_embeddings:
        ext_factors = np.array(long_factor, dtype=np.float64)
    else:
        ext_factors = np.array(short_factor, dtype=np.float64)
    inv_freq_shape = np.arange(0, dim, 2, dtype=np.int64).astype(np.float64) / dim
    inv_freq = 1.0 / (ext_factors * base ** inv_freq_shape)
    return inv_freq, attention_factor


def compute_llama3(cfg, seq_len=None):
    p = cfg["rope_parameters"]
    base, dim = p["rope_theta"], cfg["dim"]
    attention_factor = 1.0  # Unused in this type of RoPE
    inv_freq = 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.int64).astype(np.float64) / dim))

    factor = p["factor"]
    low_freq_factor = p["low_freq_factor"]
    high_freq_factor = p["high_freq_factor"]
    old_context_len = p["original_max_position_embeddings"]

    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor

    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = np.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
    is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    inv_freq_llama = np.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)
    return inv_freq_llama, attention_factor


ROPE_INIT_FUNCTIONS = {
    "linear": compute_linear,
    "dynamic": compute_dynamic,
    "yarn": compute_yarn,
    "longrope": compute_longrope,
    "llama3": compute_llama3,
}


def standardize(cfg):
    """RotaryEmbeddingConfigMixin.standardize_rope_params: original_max_position_embeddings defaults to
    max_position_embeddings for llama3, yarn and longrope."""
    p = cfg["rope_parameters"]
    if p["rope_type"] in ("llama3", "yarn", "longrope"):
        p.setdefault("original_max_position_embeddings", cfg["max_position_embeddings"])
    return cfg


# ---- cases ---------------------------------------------------------------------------------------

def num(x):
    """A number as stretch's spec parser reads it back exactly (shortest round-trip repr)."""
    if isinstance(x, int) or float(x).is_integer():
        return str(int(x))
    return repr(float(x))


def spec_text(name, params):
    if not params:
        return name
    items = []
    for k, v in params.items():
        if isinstance(v, list):
            items.append(f"{k}=" + ";".join(num(x) for x in v))
        elif isinstance(v, str):
            items.append(f"{k}={v}")
        else:
            items.append(f"{k}={num(v)}")
    return name + ":" + ",".join(items)


CASES = []


def add(name, method, *, dim, base, n_ctx_train, length, target_length=None, spec=None, hf=None,
        max_position_embeddings=None, seq_len="length"):
    """spec: stretch parameters (dict, in spec order); hf: HF rope_parameters (without rope_type/theta);
    seq_len: HF's seq_len ("length" = the length passed to frequencies(), or a number)."""
    target_length = length if target_length is None else target_length
    cfg = standardize({
        "dim": dim,
        "max_position_embeddings": n_ctx_train if max_position_embeddings is None else max_position_embeddings,
        "rope_parameters": {"rope_type": method, "rope_theta": float(base), **(hf or {})},
    })
    hf_seq_len = length if seq_len == "length" else seq_len
    inv_freq, attention_factor = ROPE_INIT_FUNCTIONS[method](cfg, seq_len=hf_seq_len)
    assert inv_freq.shape == (dim // 2,) and inv_freq.dtype == np.float64
    CASES.append({
        "name": name,
        "method": method,
        "spec": spec_text(method, spec or {}),
        "context": {"n_ctx_train": n_ctx_train, "n_rot": dim, "base": float(base), "target_length": target_length},
        "length": length,
        "hf": {"dim": dim, "max_position_embeddings": cfg["max_position_embeddings"], "seq_len": hf_seq_len,
               "rope_parameters": cfg["rope_parameters"]},
        "inv_freq": [float(x) for x in inv_freq],
        "attention_factor": float(attention_factor),
    })


MODELS = [  # (dim, base, n_ctx_train)
    (8, 100.0, 16),
    (32, 10000.0, 256),
    (64, 10000.0, 4096),
    (128, 500000.0, 8192),
]

# linear: factor 1 (identity), 4, 16 on every model shape.
for dim, base, n in MODELS:
    for f in (1.0, 4.0, 16.0):
        add(f"linear_d{dim}_b{int(base)}_n{n}_f{num(f)}", "linear", dim=dim, base=base, n_ctx_train=n,
            length=n * int(f), spec={"factor": f}, hf={"factor": f})
add("linear_d64_f2.5", "linear", dim=64, base=10000.0, n_ctx_train=4096, length=10240,
    spec={"factor": 2.5}, hf={"factor": 2.5})

# dynamic (mode=hf): seq_len below, at and above max_position_embeddings (= n_ctx_train).
for dim, base, n in MODELS:
    for f in (2.0, 4.0, 8.0):
        for label, L in (("below", n // 2), ("at", n), ("above", 3 * n + 1)):
            add(f"dynamic_d{dim}_n{n}_f{num(f)}_{label}", "dynamic", dim=dim, base=base, n_ctx_train=n,
                length=L, target_length=4 * n, spec={"factor": f}, hf={"factor": f})
# dynamic with a non-integer factor and a length not a multiple of n.
add("dynamic_d32_f1.5_above", "dynamic", dim=32, base=10000.0, n_ctx_train=256, length=777,
    spec={"factor": 1.5}, hf={"factor": 1.5})
# dynamic mode=request: HF's seq_len is the planned length (target_length), not the current one.
add("dynamic_request_d64_f4", "dynamic", dim=64, base=10000.0, n_ctx_train=4096, length=100,
    target_length=12000, spec={"factor": 4.0, "mode": "request"}, hf={"factor": 4.0}, seq_len=12000)
add("dynamic_request_d64_f4_short_plan", "dynamic", dim=64, base=10000.0, n_ctx_train=4096, length=5000,
    target_length=2048, spec={"factor": 4.0, "mode": "request"}, hf={"factor": 4.0}, seq_len=2048)

# yarn: default betas at several factors and shapes.
for dim, base, n in MODELS:
    for f in (4.0, 8.0, 16.0, 32.0):
        add(f"yarn_d{dim}_b{int(base)}_n{n}_f{num(f)}", "yarn", dim=dim, base=base, n_ctx_train=n,
            length=n * int(f), spec={"factor": f}, hf={"factor": f})
add("yarn_d64_f1_identity", "yarn", dim=64, base=10000.0, n_ctx_train=4096, length=4096,
    spec={"factor": 1.0}, hf={"factor": 1.0})
# custom betas.
add("yarn_d64_f8_beta16_2", "yarn", dim=64, base=10000.0, n_ctx_train=4096, length=32768,
    spec={"factor": 8.0, "beta_fast": 16.0, "beta_slow": 2.0}, hf={"factor": 8.0, "beta_fast": 16.0, "beta_slow": 2.0})
add("yarn_d128_f4_beta64_0.5", "yarn", dim=128, base=500000.0, n_ctx_train=8192, length=32768,
    spec={"factor": 4.0, "beta_fast": 64.0, "beta_slow": 0.5}, hf={"factor": 4.0, "beta_fast": 64.0, "beta_slow": 0.5})
add("yarn_d32_f8_beta_fast16", "yarn", dim=32, base=10000.0, n_ctx_train=256, length=2048,
    spec={"factor": 8.0, "beta_fast": 16.0}, hf={"factor": 8.0, "beta_fast": 16.0})
# original_max_position_embeddings different from n_ctx_train.
add("yarn_d64_f8_orig512", "yarn", dim=64, base=10000.0, n_ctx_train=4096, length=4096,
    spec={"factor": 8.0, "beta_fast": 16.0, "original_max_position_embeddings": 512},
    hf={"factor": 8.0, "beta_fast": 16.0, "original_max_position_embeddings": 512})
add("yarn_d128_f4_orig32768", "yarn", dim=128, base=1000000.0, n_ctx_train=131072, length=131072,
    spec={"factor": 4.0, "original_max_position_embeddings": 32768},
    hf={"factor": 4.0, "original_max_position_embeddings": 32768})
# truncate = false (unrounded correction range).
for dim, base, n in MODELS:
    add(f"yarn_d{dim}_n{n}_f8_notrunc", "yarn", dim=dim, base=base, n_ctx_train=n, length=8 * n,
        spec={"factor": 8.0, "truncate": "false"}, hf={"factor": 8.0, "truncate": False})
add("yarn_d64_f16_notrunc_beta24_3_orig2048", "yarn", dim=64, base=10000.0, n_ctx_train=4096, length=65536,
    spec={"factor": 16.0, "original_max_position_embeddings": 2048, "beta_fast": 24.0, "beta_slow": 3.0,
          "truncate": "false"},
    hf={"factor": 16.0, "original_max_position_embeddings": 2048, "beta_fast": 24.0, "beta_slow": 3.0,
        "truncate": False})
# explicit attention_factor.
add("yarn_d64_f8_attn1.25", "yarn", dim=64, base=10000.0, n_ctx_train=4096, length=32768,
    spec={"factor": 8.0, "attention_factor": 1.25}, hf={"factor": 8.0, "attention_factor": 1.25})
add("yarn_d32_f4_attn0.9", "yarn", dim=32, base=10000.0, n_ctx_train=256, length=1024,
    spec={"factor": 4.0, "attention_factor": 0.9}, hf={"factor": 4.0, "attention_factor": 0.9})
# DeepSeek-style mscale / mscale_all_dim (rope head dim 64, L_orig 4096, factor 40).
for ms, ms_all in ((0.707, 0.707), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, 0.707), (0.707, 1.0), (0.707, 0.0)):
    spec = {"factor": 40.0, "original_max_position_embeddings": 4096, "beta_fast": 32.0, "beta_slow": 1.0}
    hf = dict(spec)
    if ms != 0.0:
        spec["mscale"] = ms
    if ms_all != 0.0:
        spec["mscale_all_dim"] = ms_all
    hf["mscale"], hf["mscale_all_dim"] = ms, ms_all  # HF: set explicitly, 0.0 is falsy like unset
    add(f"yarn_deepseek_ms{num(ms)}_all{num(ms_all)}", "yarn", dim=64, base=10000.0, n_ctx_train=163840,
        length=163840, max_position_embeddings=163840, spec=spec, hf=hf)
# degenerate correction ranges: L_orig < 2 pi beta_slow puts both bounds below pair 0. With
# beta_slow = 3, ceil(dim(3)) = 0 = low, so HF's `min == max` guard adds 0.001; with beta_slow = 10,
# high = -1 < low = 0 and the ramp is 0 everywhere (every pair extrapolates).
add("yarn_degenerate_low_eq_high", "yarn", dim=8, base=100.0, n_ctx_train=16, length=64,
    spec={"factor": 4.0, "beta_slow": 3.0}, hf={"factor": 4.0, "beta_slow": 3.0})
add("yarn_degenerate_high_below_low", "yarn", dim=8, base=100.0, n_ctx_train=16, length=64,
    spec={"factor": 4.0, "beta_slow": 10.0}, hf={"factor": 4.0, "beta_slow": 10.0})
# factor left to stretch's default (s = target / n_ctx_train) and to HF's (max_position / original).
add("yarn_auto_factor_d64_s4", "yarn", dim=64, base=10000.0, n_ctx_train=4096, length=16384, target_length=16384,
    spec={}, hf={"original_max_position_embeddings": 4096}, max_position_embeddings=16384)
add("yarn_auto_factor_d32_s6", "yarn", dim=32, base=10000.0, n_ctx_train=256, length=1536, target_length=1536,
    spec={"beta_fast": 8.0}, hf={"original_max_position_embeddings": 256, "beta_fast": 8.0},
    max_position_embeddings=1536)

# llama3: Llama 3.1 (dim 128, theta 500000, factor 8, low 1, high 4, original 8192; context 131072).
LLAMA31 = {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}
add("llama3_llama31", "llama3", dim=128, base=500000.0, n_ctx_train=131072, length=131072,
    spec=LLAMA31, hf=LLAMA31, max_position_embeddings=131072)
add("llama3_llama31_orig_auto", "llama3", dim=128, base=500000.0, n_ctx_train=8192, length=65536,
    spec={"factor": 8.0}, hf={"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0})
# Llama 3.2 uses factor 32.
add("llama3_factor32", "llama3", dim=64, base=500000.0, n_ctx_train=131072, length=131072,
    spec={"factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
    hf={"factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192})
# smaller shapes whose pairs fall in all three bands.
add("llama3_d32_n256_f4", "llama3", dim=32, base=10000.0, n_ctx_train=256, length=1024,
    spec={"factor": 4.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0},
    hf={"factor": 4.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0})
add("llama3_d8_n16_f2_low0.5_high8", "llama3", dim=8, base=100.0, n_ctx_train=16, length=32,
    spec={"factor": 2.0, "low_freq_factor": 0.5, "high_freq_factor": 8.0},
    hf={"factor": 2.0, "low_freq_factor": 0.5, "high_freq_factor": 8.0})
add("llama3_d64_n4096_f16_low2_high6", "llama3", dim=64, base=10000.0, n_ctx_train=4096, length=65536,
    spec={"factor": 16.0, "low_freq_factor": 2.0, "high_freq_factor": 6.0, "original_max_position_embeddings": 2048},
    hf={"factor": 16.0, "low_freq_factor": 2.0, "high_freq_factor": 6.0, "original_max_position_embeddings": 2048})
add("llama3_d128_f1_identity", "llama3", dim=128, base=500000.0, n_ctx_train=8192, length=8192,
    spec={"factor": 1.0}, hf={"factor": 1.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0})


# longrope: explicit per-pair lists (Phi-3 shape: short near 1, long rising with the pair index).
def longrope_lists(dim, s):
    n = dim // 2
    short = [round(1.0 + 0.01 * t + 0.003 * (t % 3), 6) for t in range(n)]
    long = [round(1.0 + (s - 1.0) * (t / (n - 1)) ** 1.7 + 0.0137 * t, 6) for t in range(n)]
    return short, long


def add_longrope(name, *, dim, base, n_ctx_train, orig, max_pos, length, target_length=None, extra=None,
                 hf_extra=None, select=None, seq_len="length", stretch_factor=True):
    s = max_pos / orig
    short, long = longrope_lists(dim, s)
    spec = {"short_factor": short, "long_factor": long}
    if stretch_factor:
        spec["factor"] = s
    if orig != n_ctx_train:
        spec["original_max_position_embeddings"] = orig
    spec.update(extra or {})
    if select:
        spec["select"] = select
    hf = {"short_factor": short, "long_factor": long, "original_max_position_embeddings": orig}
    hf.update(hf_extra or {})
    add(name, "longrope", dim=dim, base=base, n_ctx_train=n_ctx_train, length=length, target_length=target_length,
        spec=spec, hf=hf, max_position_embeddings=max_pos, seq_len=seq_len)


# Phi-3-mini-128k shape: dim 96, theta 10000, original 4096, max_position_embeddings 131072 (s = 32).
for label, L in (("short", 2048), ("at_orig", 4096), ("long", 4097), ("far", 131072)):
    add_longrope(f"longrope_phi3_d96_{label}", dim=96, base=10000.0, n_ctx_train=4096, orig=4096, max_pos=131072,
                 length=L)
for dim, base, n in MODELS:
    for label, L in (("short", n // 2), ("long", 4 * n)):
        add_longrope(f"longrope_d{dim}_n{n}_s4_{label}", dim=dim, base=base, n_ctx_train=n, orig=n, max_pos=4 * n,
                     length=L)
# original set explicitly, different from n_ctx_train (the model's context is the extended one).
add_longrope("longrope_orig_explicit_long", dim=64, base=10000.0, n_ctx_train=32768, orig=2048, max_pos=32768,
             length=3000)
add_longrope("longrope_orig_explicit_short", dim=64, base=10000.0, n_ctx_train=32768, orig=2048, max_pos=32768,
             length=2048)
# explicit attention_factor.
add_longrope("longrope_attn1.2_long", dim=32, base=10000.0, n_ctx_train=256, orig=256, max_pos=2048, length=1000,
             extra={"attention_factor": 1.2}, hf_extra={"attention_factor": 1.2})
# HF factor given explicitly (equal to stretch's), not derived.
add_longrope("longrope_hf_factor_explicit", dim=32, base=10000.0, n_ctx_train=256, orig=256, max_pos=1024,
             length=300, hf_extra={"factor": 6.0}, extra={"factor": 6.0})
# no extension (s = 1): attention factor 1.
add_longrope("longrope_s1_short", dim=32, base=10000.0, n_ctx_train=256, orig=256, max_pos=256, length=200)
# factor left to stretch's default s = target_length / n_ctx_train (HF: max_position / original).
add_longrope("longrope_auto_factor", dim=32, base=10000.0, n_ctx_train=256, orig=256, max_pos=2048, length=2048,
             target_length=2048, stretch_factor=False)
# select = by_context: HF's seq_len is the planned context (target_length), not the current length.
add_longrope("longrope_by_context_long", dim=64, base=10000.0, n_ctx_train=4096, orig=4096, max_pos=16384,
             length=100, target_length=8192, select="by_context", seq_len=8192)
add_longrope("longrope_by_context_short", dim=64, base=10000.0, n_ctx_train=4096, orig=4096, max_pos=16384,
             length=9000, target_length=4096, select="by_context", seq_len=4096)


def main():
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    doc = {
        "source": "tests/reference/make_rope_fixture.py: float64 numpy transcription of huggingface/transformers "
                  "src/transformers/modeling_rope_utils.py (see the script's header for the commits)",
        "numpy_version": np.__version__,
        "cases": CASES,
    }
    OUT_PATH.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, indent=1, allow_nan=False) + "\n"
    OUT_PATH.write_text(text)
    counts = {}
    for c in CASES:
        counts[c["method"]] = counts.get(c["method"], 0) + 1
    print(f"wrote {OUT_PATH.relative_to(ROOT)}: {len(CASES)} cases {counts}")


if __name__ == "__main__":
    main()
