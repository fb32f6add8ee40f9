// Causal multi-head self-attention with grouped-query heads, materialising one T_q x T_k score
// matrix per head (methods.md eq. 0.2 with rho = rel, no bias, softmax):
//   S = scale * Q_h K_g^T (+ causal mask),  P = softmax_rows(S) (f32/f64),  O_h = P V_g,
// query head h reads K/V head g = h / (H / H_kv). Queries are the last T_q of T_k positions (a KV
// cache decode has T_q < T_k). Memory is O(T_q * T_k) per head; the tiled online-softmax kernel
// that removes it is a later piece of work.
#pragma once

#include <cstdint>

namespace stretch::cpu {

struct attention_dims {
    std::int64_t batch = 1;
    std::int64_t time_q = 0;   // query rows
    std::int64_t time_k = 0;   // key rows (>= time_q); query i sits at position time_k - time_q + i
    std::int64_t heads = 1;
    std::int64_t heads_kv = 1;
    std::int64_t head_dim = 0;
};

// q [B, T_q, H, D], k/v [B, T_k, H_kv, D], out [B, T_q, H, D].
// probs [B, H, T_q, T_k] receives P when not null (kept for the backward).
template <class T>
void attention_forward(const T* q, const T* k, const T* v, T* out, T* probs, const attention_dims& dims, T scale);

// Gradients accumulate (+=) into dq, dk, dv from dout, using P saved by the forward.
template <class T>
void attention_backward(const T* q, const T* k, const T* v, const T* probs, const T* dout, T* dq, T* dk, T* dv,
                        const attention_dims& dims, T scale);

}  // namespace stretch::cpu
