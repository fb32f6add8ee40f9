// FLASH's causal linear attention over previous chunks (methods.md D6, arXiv 2202.10447 with Su's
// token-count normaliser, kexue.fm/archives/8934). Per sequence, chunks of c rows, g = 0, 1, ...:
//   out_g = Q_g M_g / (g c),   M_g = sum_{h<g} K_h^T V_h   [S, E],   out_0 = 0
// (g c is the number of tokens summed: methods.md's (g-1)c with 1-based g). A partial last chunk
// reads the complete chunks before it; its own keys never count. M is a running sum over the chunks:
// O(S E) state per sequence, O(T S E) work, instead of attention's O(T^2).
#pragma once

#include <cstdint>

namespace stretch::cpu {

// q, k [B, T, S]; v, out [B, T, E] (row-major). Sequences run in parallel on the pool.
template <class T>
void chunked_linear_attention_forward(const T* q, const T* k, const T* v, T* out, std::int64_t batch,
                                      std::int64_t time, std::int64_t key_dim, std::int64_t value_dim,
                                      std::int64_t chunk);

// Gradients accumulate (+=) into dq, dk, dv from dout. Two passes per sequence recompute the M_g
// instead of storing them: forward for dQ_g = dout_g M_g^T / (g c), then backward over the chunks
// with R_h = sum_{g>h} Q_g^T dout_g / (g c): dK_h = V_h R_h^T, dV_h = K_h R_h.
template <class T>
void chunked_linear_attention_backward(const T* q, const T* k, const T* v, const T* dout, T* dq, T* dk, T* dv,
                                       std::int64_t batch, std::int64_t time, std::int64_t key_dim,
                                       std::int64_t value_dim, std::int64_t chunk);

}  // namespace stretch::cpu
