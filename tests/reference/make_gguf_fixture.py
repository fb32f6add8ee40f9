#!/usr/bin/env python3
"""Writes tests/fixtures/gguf/reference_v3.gguf with the `gguf` package llama.cpp publishes (an
implementation independent of ours), plus reference_v3.json with the values the C++ test expects.

Not run by the tests or CI: the generated files are committed. Re-run after changing the fixture:
    pip install gguf numpy && python3 tests/reference/make_gguf_fixture.py
Expected values are computed here from the raw bits (numpy for f16, bit shifts for bf16), not read
back through any GGUF reader, except the absolute data offsets, which come from gguf.GGUFReader.
"""
import importlib.metadata
import json
import struct
from pathlib import Path

import gguf
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "tests" / "fixtures" / "gguf"
GGUF_PATH = OUT_DIR / "reference_v3.gguf"
JSON_PATH = OUT_DIR / "reference_v3.json"
T = gguf.GGUFValueType

# (key, gguf value type, value, element type for arrays); written in this order after
# general.architecture, which GGUFWriter always adds first.
METADATA = [
    ("test.u8", T.UINT8, 200, None),
    ("test.i8", T.INT8, -100, None),
    ("test.u16", T.UINT16, 60000, None),
    ("test.i16", T.INT16, -30000, None),
    ("test.u32", T.UINT32, 4000000000, None),
    ("test.i32", T.INT32, -2000000000, None),
    ("test.f32", T.FLOAT32, 0.15625, None),
    ("test.bool_true", T.BOOL, True, None),
    ("test.bool_false", T.BOOL, False, None),
    ("test.string", T.STRING, "hello, gguf \u00e9\u4e16", None),
    ("test.u64", T.UINT64, 18000000000000000000, None),
    ("test.i64", T.INT64, -9000000000000000000, None),
    ("test.f64", T.FLOAT64, 0.1, None),
    ("test.array_i32", T.ARRAY, [1, -2, 3, 2147483647, -2147483648], T.INT32),
    ("test.array_string", T.ARRAY, ["alpha", "", "g\u00e4mma", "<s>"], T.STRING),
    ("test.array_f32", T.ARRAY, [0.5, -1.25, 3.0], T.FLOAT32),
    ("test.array_u64", T.ARRAY, [0, 1, 18446744073709551615], T.UINT64),
]
TYPE_NAMES = {T.UINT8: "u8", T.INT8: "i8", T.UINT16: "u16", T.INT16: "i16", T.UINT32: "u32",
              T.INT32: "i32", T.FLOAT32: "f32", T.BOOL: "bool", T.STRING: "string",
              T.UINT64: "u64", T.INT64: "i64", T.FLOAT64: "f64", T.ARRAY: "array"}


def bf16_to_float(bits: int) -> float:
    return struct.unpack("<f", struct.pack("<I", bits << 16))[0]


def main() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(GGUF_PATH), arch="stretch-test")
    expected_kv = [{"key": "general.architecture", "type": "string", "value": "stretch-test"}]
    for key, vtype, val, sub in METADATA:
        writer.add_key_value(key, val, vtype, sub_type=sub)
        entry = {"key": key, "type": TYPE_NAMES[vtype], "value": val}
        if sub is not None:
            entry["elem"] = TYPE_NAMES[sub]
        expected_kv.append(entry)

    tensors = []
    # f32, 2-D: numpy shape is outermost-first, like ours; GGUF stores ne reversed.
    w = (np.arange(15, dtype=np.float32).reshape(3, 5) - 7.0) / np.float32(8.0)
    writer.add_tensor("weight_f32", w)
    tensors.append({"name": "weight_f32", "type": "f32", "shape": [3, 5],
                    "values": [float(x) for x in w.reshape(-1)]})

    # f16, 1-D: normals, a subnormal, the smallest subnormal, -0, the largest finite value.
    h = np.array([1.0, -2.5, 0.333, 6.1e-5, 5.96e-8, -0.0, 65504.0, 1e-3], dtype=np.float16)
    writer.add_tensor("vec_f16", h)
    tensors.append({"name": "vec_f16", "type": "f16", "shape": [8],
                    "values": [float(x) for x in h.astype(np.float32)]})

    # bf16, 2-D, from raw bits (the package passes uint8 bytes through for raw dtypes).
    bits = np.array([0x3F80, 0xC040, 0x0001, 0x7F7F, 0x8000, 0x3EAA, 0x4049, 0x0080], dtype=np.uint16)
    raw = bits.astype("<u2").view(np.uint8).reshape(2, 8)
    writer.add_tensor("mat_bf16", raw, raw_dtype=gguf.GGMLQuantizationType.BF16)
    tensors.append({"name": "mat_bf16", "type": "bf16", "shape": [2, 4],
                    "values": [bf16_to_float(int(b)) for b in bits]})

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    # Absolute data offsets as the package's own reader sees them (a cross-check on layout).
    reader = gguf.GGUFReader(str(GGUF_PATH))
    offsets = {t.name: int(t.data_offset) for t in reader.tensors}
    for t in tensors:
        t["file_offset"] = offsets[t["name"]]

    doc = {"version": 3, "alignment": 32, "file_size": GGUF_PATH.stat().st_size,
           "gguf_package_version": importlib.metadata.version("gguf"),
           "kv": expected_kv, "tensors": tensors}
    JSON_PATH.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {GGUF_PATH} ({doc['file_size']} bytes) and {JSON_PATH}")


if __name__ == "__main__":
    main()
