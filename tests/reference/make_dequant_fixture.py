#!/usr/bin/env python3
"""Writes tests/fixtures/dequant/: GGUF tensor data of every type stretch dequantises, with the f32
values llama.cpp's Python `gguf` package (gguf-py, gguf.quants) gives for it, for the C++ test
tests/kernels/cpu/test_dequant.cpp. gguf-py's numpy dequantisers are written independently of
ggml's C code and of stretch, and agree with ggml bit for bit; for Q5_0 that is checked here when
llama-cpp-python is installed: ggml's own quantiser (ggml_quantize_chunk) must give the same
bytes and ggml's dequantize_row_q5_0 the same values (tests/reference/ggml_lib.py).

Not run by the tests or CI: the generated files are committed. Re-run after changing the cases:
    /usr/bin/python3 tests/reference/make_dequant_fixture.py [SMOLLM2_MODEL [GEMMA3_MODEL]]
Deterministic (seeded numpy Generator). Needs numpy and gguf (tested with gguf 0.19.0), and
optionally llama-cpp-python (0.3.16) for the Q5_0 cross-check. Debian's /usr/bin/python3 has numpy.

Files, all little-endian:
  <type>.bin           raw tensor data, 512 values (two 256-value rows) of ggml type <type>
  <type>.expected.f32  gguf.quants.dequantize of it, 512 f32
for type in f32, f16, bf16, q8_0, q4_0, q4_1, q5_0 (gguf.quants.quantize of a fixed random array) and
q4_k, q6_k (gguf-py has no quantiser for these: random blocks with finite f16 super-scales, one of
them subnormal, dequantised by gguf-py).

With MODEL (default ~/.cache/stretch/SmolLM2-135M-Instruct.Q4_1.gguf, from scripts/get_smollm2.sh)
present, also:
  smollm2_rows.json    the model's sha256 and, per tensor: type, shape, the rows taken and their
                       offset in smollm2_rows.f32; the float64 sum and sum of |x| of the whole
                       tensor, dequantised by gguf-py
  smollm2_rows.f32     those rows dequantised by gguf-py (token_embd.weight is Q8_0,
                       blk.0.attn_q.weight Q4_1)
and with GEMMA3_MODEL (default ~/.cache/stretch/gemma-3-270m-q4_k_m.gguf, scripts/get_gemma3.sh)
the same pair gemma3_rows.json / gemma3_rows.f32 for its Q5_0 (blk.0.attn_q.weight,
blk.0.ffn_up.weight), Q8_0 (blk.0.attn_v.weight), Q4_K (blk.0.attn_output.weight) and Q6_K
(blk.0.ffn_down.weight) tensors.
"""
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gguf import GGUFReader
from gguf.quants import dequantize, quantize

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "dequant"
CACHE = Path.home() / ".cache" / "stretch"
MODELS = {  # fixture stem: (default path, rows taken per tensor)
    "smollm2": (CACHE / "SmolLM2-135M-Instruct.Q4_1.gguf",
                {"token_embd.weight": [0, 1, 2, 17, 4242, 49151], "blk.0.attn_q.weight": [0, 1, 300, 575]}),
    "gemma3": (CACHE / "gemma-3-270m-q4_k_m.gguf",
               {"blk.0.attn_q.weight": [0, 1, 511, 1023], "blk.0.ffn_up.weight": [0, 2047],
                "blk.0.attn_v.weight": [0, 255], "blk.0.attn_output.weight": [0, 639],
                "blk.0.ffn_down.weight": [0, 639]}),
}


def source_values(rng):
    """512 f32 values in 16 blocks of 32 with magnitudes from 1e-6 (f16 subnormals) to 1e3, one
    block of zeros (a zero scale) and one constant block (Q4_1's d = 0)."""
    x = rng.standard_normal(512).astype(np.float32)
    scales = 10.0 ** rng.uniform(-6, 3, 16)
    x = (x.reshape(16, 32) * scales[:, None].astype(np.float32)).astype(np.float32)
    x[3] = 0.0
    x[9] = np.float32(0.3125)
    return x.reshape(2, 256)


def random_blocks(rng, type_size, n_blocks, scale_offsets):
    """Random block bytes; the f16 fields at scale_offsets get finite values (block 1's first one a
    subnormal, so that path is covered too)."""
    blocks = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    for b in range(n_blocks):
        for k, off in enumerate(scale_offsets):
            v = np.float16(rng.standard_normal() * 0.05)
            if b == 1 and k == 0:
                v = np.array([0x0123], dtype=np.uint16).view(np.float16)[0]
            blocks[b, off:off + 2] = np.array([v], dtype=np.float16).view(np.uint8)
    return blocks.reshape(2, -1)  # two rows of one block each


def check_q5_0_against_ggml(x, raw, expected):
    """ggml's quantiser and dequantiser (libggml-base from llama-cpp-python) agree with gguf-py."""
    try:
        import ggml_lib
    except ImportError:
        print("llama-cpp-python not installed: q5_0 not cross-checked against ggml", file=sys.stderr)
        return
    assert np.array_equal(ggml_lib.quantize(x, "Q5_0"), raw), "ggml_quantize_chunk and gguf-py differ on Q5_0"
    assert np.array_equal(ggml_lib.dequantize_q5_0(raw).view(np.uint32), expected.ravel().view(np.uint32)), \
        "dequantize_row_q5_0 and gguf-py differ"


def write_types(rng):
    x = source_values(rng)
    data = {name: quantize(x, t) for name, t in
            (("f32", T.F32), ("f16", T.F16), ("bf16", T.BF16), ("q8_0", T.Q8_0), ("q4_0", T.Q4_0), ("q4_1", T.Q4_1),
             ("q5_0", T.Q5_0))}
    data["q4_k"] = random_blocks(rng, 144, 2, [0, 2])  # d, dmin
    data["q6_k"] = random_blocks(rng, 210, 2, [208])   # d
    qtypes = {"f32": T.F32, "f16": T.F16, "bf16": T.BF16, "q8_0": T.Q8_0, "q4_0": T.Q4_0, "q4_1": T.Q4_1,
              "q5_0": T.Q5_0, "q4_k": T.Q4_K, "q6_k": T.Q6_K}
    for name, raw in data.items():
        raw = np.ascontiguousarray(raw)
        expected = np.asarray(dequantize(raw.view(np.uint8) if name in ("f32", "f16") else raw, qtypes[name]),
                              dtype=np.float32)
        assert expected.size == 512 and np.all(np.isfinite(expected)), name
        if name == "q5_0":
            check_q5_0_against_ggml(x, raw, expected)
        (OUT / f"{name}.bin").write_bytes(raw.tobytes())
        (OUT / f"{name}.expected.f32").write_bytes(expected.astype("<f4").tobytes())


def write_model_rows(stem, model, wanted):
    reader = GGUFReader(str(model))
    entries, values, offset = [], [], 0
    for t in reader.tensors:
        if t.name not in wanted:
            continue
        full = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32)  # [rows, cols]
        if t.tensor_type == T.Q5_0:
            check_q5_0_against_ggml_rows(t, full)
        rows = wanted[t.name]
        values.append(full[rows])
        entries.append({
            "tensor": t.name, "type": t.tensor_type.name.lower(),
            "shape": [int(n) for n in reversed(t.shape)],  # outermost first, as stretch
            "rows": rows, "offset": offset,
            "sum": float(full.astype(np.float64).sum()), "sum_abs": float(np.abs(full.astype(np.float64)).sum()),
        })
        offset += full[rows].size
    assert len(entries) == len(wanted)
    sha = hashlib.sha256(model.read_bytes()).hexdigest()
    doc = {"source": "tests/reference/make_dequant_fixture.py (gguf-py dequantize)", "model": model.name,
           "sha256": sha, "tensors": entries}
    (OUT / f"{stem}_rows.json").write_text(json.dumps(doc, indent=1) + "\n")
    (OUT / f"{stem}_rows.f32").write_bytes(np.concatenate([v.ravel() for v in values]).astype("<f4").tobytes())


def check_q5_0_against_ggml_rows(tensor, full):
    try:
        import ggml_lib
    except ImportError:
        return
    got = ggml_lib.dequantize_q5_0(np.asarray(tensor.data)).reshape(full.shape)
    assert np.array_equal(got.view(np.uint32), full.view(np.uint32)), f"{tensor.name}: ggml and gguf-py differ"


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    write_types(np.random.default_rng(5))
    for k, (stem, (default, wanted)) in enumerate(MODELS.items()):
        model = Path(sys.argv[1 + k]) if len(sys.argv) > 1 + k else default
        if model.exists():
            write_model_rows(stem, model, wanted)
        else:
            print(f"{model} not found (scripts/get_{stem}.sh fetches it): {stem} rows not written", file=sys.stderr)
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {OUT.relative_to(ROOT)}: {len(list(OUT.iterdir()))} files, {total} bytes")


if __name__ == "__main__":
    main()
