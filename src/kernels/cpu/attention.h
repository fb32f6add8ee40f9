// Causal multi-head self-attention with grouped-query heads, fused: tiles of query rows x keys with
// an online softmax (Milakov & Gimelshein 2018, arXiv 1805.02867; FlashAttention, arXiv 2205.14135)
// and a FlashAttention-2 backward (arXiv 2307.08691) that recomputes each tile's probabilities from
// q, k and the forward's per-row log-sum-exp. Memory is O(tile) per thread plus O(T) per head: no
// T_q x T_k buffer exists anywhere. It evaluates methods.md eq. (0.2) for every variant, given as data:
//   S_ij = c_i * scale * q_i . k_j                      (near pairs, and all pairs of most variants)
//   S_ij = c_i * scale * qf_i . kf_j   if j < first_near_i      (two-score variants: B9, B10, B16, B17,
//                                                                 dca, string)
//   S_ij += -slope_h (i - j)                                      (ALiBi, C5)
//   masked unless j <= i and (j >= band_start(i) or j < n_sink)  (B13, B17, chunked)
//   with band_start(i) = max(0, i - window + 1 if window > 0, chunk floor(i / chunk) if chunk > 0),
//   P = softmax_rows(S), or with relu2 divisors n_i: P_ij = relu(S_ij)^2 / n_i (D5);
//   with learned sinks (gpt-oss): P_ij = exp(S_ij) / (exp(s_h) + sum_j exp(S_ij)), the sink's own
//   probability exp(s_h - L_i) weighting no value;
//   O_h = P V_g,
// query head h reads K/V head g = h / (H / H_kv); i and j are positions, query row r sits at
// i = T_k - T_q + r (a KV-cache decode has T_q < T_k). The rotations that make q, k, qf, kf are the
// caller's (model/transformer.cpp). Tiles the rules make invisible are never computed (a window or
// a chunk costs O(T w), not O(T^2)); two-score variants compute the far scores only on tiles holding
// far pairs and the near ones only on tiles holding near pairs, so ReRoPE pays twice only on the
// tiles straddling i - j = w (methods.md B9, "tiled fast path") and DCA on those straddling a chunk
// boundary.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/cpu/kv_format.h"

namespace stretch::cpu {

struct attention_dims {
    std::int64_t batch = 1;
    std::int64_t time_q = 0;   // query rows
    std::int64_t time_k = 0;   // key rows (>= time_q); query i sits at position time_k - time_q + i
    std::int64_t heads = 1;
    std::int64_t heads_kv = 1;
    std::int64_t head_dim = 0;
};

// What a variant changes in eq. (0.2) besides the rotations.
struct attention_rules {
    bool two_score() const { return !first_near.empty(); }
    bool restricted() const { return window > 0 || chunk > 0; }
    // The first key of query position i's visible band (sinks aside).
    std::int64_t band_start(std::int64_t i) const {
        std::int64_t from = 0;
        if (window > 0) from = std::max(from, i - window + 1);
        if (chunk > 0) from = std::max(from, i / chunk * chunk);
        return from;
    }

    std::int64_t window = 0;          // > 0: key j visible to query i only if i - j < window
    std::int64_t chunk = 0;           // > 0: key j visible to query i only if j / chunk == i / chunk
    std::int64_t n_sink = 0;          // with a window or chunk: keys j < n_sink stay visible
    // [T_q] query row r scores the keys j < first_near[r] with q_far . k_far, the others with q . k;
    // empty: one score set. A variant's far keys are always a prefix of the keys.
    std::vector<std::int64_t> first_near;
    std::vector<double> query_scale;  // [T_q] logit factor c_i per query row; empty: all 1
    std::vector<double> head_slopes;  // [H] ALiBi: b_ij = -slope_h (i - j) added to the logits; empty: none
    std::vector<double> relu2_divisor;  // [T_q] n_i of the relu^2 normaliser; empty: softmax
    // [H] learned sink logit s_h of each query head, added to the softmax's denominator once per row
    // (variants/attention/learned_sinks.cpp); empty: none. Softmax only.
    std::vector<double> sink_logits;
};

// The second (far) score operands of a two-score variant, laid out as q and k; null otherwise.
template <class T>
struct far_operands {
    const T* q = nullptr;  // [B, T_q, H, D]
    const T* k = nullptr;  // [B, T_k, H_kv, D]
};

// q [B, T_q, H, D], k/v [B, T_k, H_kv, D], out [B, T_q, H, D]. When log_sum_exp [B, H, T_q] is not
// null and the normaliser is the softmax, it receives L_i = log sum_j exp(S_ij) per row (plus
// exp(s_h) with a learned sink), all the backward needs besides the output (relu^2 needs nothing: P
// is a function of S alone).
// k and v may be a KV cache's rows in a storage type of its own (kv_format.h, T = float): each key
// and value tile is then dequantised into the thread's scratch as it is read, never the whole cache.
template <class T>
void attention_forward(const T* q, kv_rows<T> k, kv_rows<T> v, T* out, T* log_sum_exp, const attention_dims& dims,
                       T scale, const attention_rules& rules = {}, far_operands<T> far = {});

// Gradients accumulate (+=) into dq, dk, dv (and dq_far, dk_far for a two-score variant) from dout,
// given the forward's output and log_sum_exp (softmax; unused with relu^2). With learned sinks the
// gradient of s_h accumulates into d_sink [H]: dL/ds_h = -sum_i p_sink,i D_i, p_sink,i = exp(s_h - L_i),
// D_i = dO_i . O_i (the sink's dP is 0: it carries no value); dQ, dK, dV keep their form, L_i
// including the sink.
template <class T>
void attention_backward(const T* q, const T* k, const T* v, const T* out, const T* log_sum_exp, const T* dout,
                        T* dq, T* dk, T* dv, const attention_dims& dims, T scale, const attention_rules& rules = {},
                        far_operands<T> far = {}, T* dq_far = nullptr, T* dk_far = nullptr, T* d_sink = nullptr);

}  // namespace stretch::cpu
