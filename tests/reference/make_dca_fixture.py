#!/usr/bin/env python3
"""Writes tests/fixtures/dca/positions.json: the relative positions of Dual Chunk Attention as vLLM
computes them, for the C++ tests of `dca` (tests/variants/test_dca.cpp, test_variants.cpp).

Not run by the tests or CI: the generated file is committed. Re-run after changing the cases:
    python3 tests/reference/make_dca_fixture.py
It writes the fixture itself (no arguments; stdout gets a one-line summary) and is deterministic.
Needs only numpy.

What is transcribed, independently of stretch's src/variants/position/dca.cpp (which folds the three
attentions into two score sets; nothing here does):
  - vllm/model_executor/layers/rotary_embedding/dual_chunk_rope.py, DualChunkRotaryEmbedding
    (vllm-project/vllm, read at commit 07b13497a9b52274d334090a9a8e04d5ec9ca7e9):
    _compute_cos_sin_cache's position tables
        chunk_len = chunk_size - local_size
        q_t  = arange(chunk_len)
        qc_t = (arange(chunk_len) + chunk_len).clamp(max=chunk_size)
        k_t  = arange(max_position_embeddings) % chunk_len
    and forward_native's lookups: key k_t[p]; query q_t[p % chunk_len] (intra), qc_t[p % chunk_len]
    (succ), qc_t[chunk_len - 1] for every token (inter).
  - vllm/attention/backends/dual_chunk_flash_attn.py (read at commit 006e0acbee67701b91189a2a254142977f853829):
    _dual_chunk_flash_attn_prefill_func's key ranges per query chunk [begin, end) with
    prev_chunk_end_pos = (begin // chunk_len) * chunk_len: intra keys [prev_chunk_end_pos, end)
    (causal), succ keys [prev_chunk_end_pos - chunk_len, prev_chunk_end_pos) when that start is
    >= 0, inter keys [0, prev_chunk_end_pos - chunk_len) when that end is > 0 (the code's
    `prev_chunk_end_pos - chunk_len * 2 >= 0`); and DualChunkFlashAttentionMetadata.decode_metadata's
    ranges for one query after cache_seq_len tokens: chunk_num_curr = (cache_seq_len - 1) // chunk_len,
    intra keys from chunk_num_curr * chunk_len, succ keys the chunk_len before that when
    chunk_num_curr >= 1, inter keys the first (chunk_num_curr - 1) * chunk_len.
The three attentions' outputs are merged by log-sum-exp (_merge_attn_outputs), which equals one
softmax over the union of their scores; so a pair's effective relative position is the query
position of its range minus the key position. The prefill and decode rules are both evaluated and
must agree; the fixture holds, per case, rho[i][j] for 0 <= j <= i < length, integers. The optional
sparse (vertical/slash) attention and the length-dependent logit scaling_factor are not positions
and are left out.
"""
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT_PATH = ROOT / "tests" / "fixtures" / "dca" / "positions.json"

# (chunk_size, local_size, length): local < chunk_len (the usual case), local 1 (ChunkLlama's
# defaults for a 16-token training length: 3/4 and 1/16 of it), local >= chunk_len (the inter query
# is then 2 chunk_len - 1), local 0, and a chunk covering the whole sequence (plain RoPE).
CASES = [(12, 3, 64), (12, 1, 64), (10, 6, 40), (16, 0, 40), (64, 4, 64), (40, 8, 130)]


def position_tables(chunk_size, local_size, max_positions):
    chunk_len = chunk_size - local_size
    q_t = np.arange(chunk_len, dtype=np.int64)
    qc_t = np.minimum(np.arange(chunk_len, dtype=np.int64) + chunk_len, chunk_size)
    k_t = np.arange(max_positions, dtype=np.int64) % chunk_len
    return chunk_len, q_t, qc_t, k_t


def prefill_rho(chunk_size, local_size, length):
    chunk_len, q_t, qc_t, k_t = position_tables(chunk_size, local_size, length)
    rho = np.full((length, length), np.iinfo(np.int64).min, dtype=np.int64)
    begin = 0
    while begin < length:
        prev_chunk_end_pos = (begin // chunk_len) * chunk_len
        end = min(prev_chunk_end_pos + chunk_len, length)
        for p in range(begin, end):
            q_intra = q_t[p % chunk_len]
            q_succ = qc_t[p % chunk_len]
            q_inter = qc_t[chunk_len - 1]
            for j in range(prev_chunk_end_pos, p + 1):  # causal inside the chunk
                rho[p, j] = q_intra - k_t[j]
            if prev_chunk_end_pos - chunk_len >= 0:
                for j in range(prev_chunk_end_pos - chunk_len, prev_chunk_end_pos):
                    rho[p, j] = q_succ - k_t[j]
            if prev_chunk_end_pos - chunk_len * 2 >= 0:
                for j in range(0, prev_chunk_end_pos - chunk_len):
                    rho[p, j] = q_inter - k_t[j]
        begin = end
    return rho


def decode_rho(chunk_size, local_size, length):
    chunk_len, q_t, qc_t, k_t = position_tables(chunk_size, local_size, length)
    rho = np.full((length, length), np.iinfo(np.int64).min, dtype=np.int64)
    for p in range(length):
        cache_seq_len = p + 1
        chunk_num_curr = (cache_seq_len - 1) // chunk_len
        intra_start = chunk_num_curr * chunk_len
        for j in range(intra_start, cache_seq_len):
            rho[p, j] = q_t[p % chunk_len] - k_t[j]
        succ_len = (chunk_num_curr - max(chunk_num_curr - 1, 0)) * chunk_len
        succ_start = max(chunk_num_curr - 1, 0) * chunk_len
        for j in range(succ_start, succ_start + succ_len):
            rho[p, j] = qc_t[p % chunk_len] - k_t[j]
        for j in range(0, max(chunk_num_curr - 1, 0) * chunk_len):
            rho[p, j] = qc_t[chunk_len - 1] - k_t[j]
    return rho


def main():
    cases = []
    for chunk_size, local_size, length in CASES:
        rho = prefill_rho(chunk_size, local_size, length)
        assert np.array_equal(rho, decode_rho(chunk_size, local_size, length)), (chunk_size, local_size)
        lower = [[int(rho[i, j]) for j in range(i + 1)] for i in range(length)]
        assert all(x != np.iinfo(np.int64).min for row in lower for x in row), "a causal pair without a range"
        cases.append({"chunk_size": chunk_size, "local_size": local_size, "length": length, "rho": lower})
    doc = {"source": "tests/reference/make_dca_fixture.py (vLLM DualChunkRotaryEmbedding, dual chunk flash attention)",
           "cases": cases}
    OUT_PATH.parent.mkdir(parents=True, exist_ok=True)
    OUT_PATH.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {OUT_PATH.relative_to(ROOT)}: {len(cases)} cases")


if __name__ == "__main__":
    main()
