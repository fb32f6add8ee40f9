"""llama.cpp's own ggml quantiser and Q5_0 dequantiser, called through ctypes from the libggml-base.so
that PyPI llama-cpp-python builds and installs beside its module (llama_cpp/lib/). Used by
make_arch_fixtures.py and make_dequant_fixture.py so that fixtures are cross-checked against
llama.cpp's C code, not only against gguf-py's numpy ports of it.
Needs numpy and llama-cpp-python (the fixtures used Debian's /usr/bin/python3, llama-cpp-python 0.3.16).
"""
import ctypes
from pathlib import Path

import numpy as np

GGML_TYPE = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q5_0": 6, "Q5_1": 7, "Q8_0": 8}
BLOCK = {"Q5_0": (32, 22), "Q8_0": (32, 34)}  # values per block, bytes per block (ggml-common.h)


def _lib():
    import llama_cpp
    lib = ctypes.CDLL(str(Path(llama_cpp.__file__).parent / "lib" / "libggml-base.so"))
    lib.ggml_quantize_chunk.restype = ctypes.c_size_t
    lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                        ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
    lib.dequantize_row_q5_0.restype = None
    lib.dequantize_row_q5_0.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
    return lib


def quantize(x, type_name):
    """ggml_quantize_chunk (no importance matrix: the *_ref quantisers) of a row-major [rows, n] f32
    array; returns uint8 [rows, n/32*bytes_per_block], the layout gguf.GGUFWriter.add_tensor takes."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    rows, n = x.shape
    per_block, block_bytes = BLOCK[type_name]
    out = np.zeros((rows, n // per_block * block_bytes), dtype=np.uint8)
    written = _lib().ggml_quantize_chunk(GGML_TYPE[type_name], x.ctypes.data, out.ctypes.data, 0, rows, n, None)
    assert written == out.size, (written, out.size)
    return out


def dequantize_q5_0(raw):
    """ggml's dequantize_row_q5_0 (ggml-quants.c) of raw Q5_0 blocks; returns f32 values."""
    raw = np.ascontiguousarray(raw, dtype=np.uint8).ravel()
    n = raw.size // 22 * 32
    out = np.zeros(n, dtype=np.float32)
    _lib().dequantize_row_q5_0(raw.ctypes.data, out.ctypes.data, n)
    return out
