// The per-row passes of the fused attention (attention.cpp, attention_backward.cpp) over one tile
// row of n logits: the online softmax's maximum and exponentials, the relu^2 normaliser (methods.md
// D5) and the two Jacobians of the backward. Vectorised with Google Highway and dispatched at run
// time to the best instruction set the CPU has (AVX-512, AVX2, SSE4 or the portable fallback), in
// f32 and f64 alike, so the f64 finite-difference checks run this same code.
#pragma once

#include <cstdint>

namespace stretch::cpu {

// max_j x_j (-infinity for an all-masked row).
template <class T>
T row_max(const T* x, std::int64_t n);

// x_j <- exp(x_j - shift), exactly 0 where x_j = -infinity (a masked key); returns sum_j x_j.
template <class T>
T exp_shifted(T* x, std::int64_t n, T shift);

// x_j <- relu(x_j)^2 * inv_n.
template <class T>
void relu2_row(T* x, std::int64_t n, T inv_n);

// The softmax Jacobian on a row: g_j <- factor * p_j * (g_j - delta), with delta = sum_j p_j g_j
// (= dO_i . O_i, FlashAttention-2, arXiv 2307.08691, eq. in sec. 3.1.2).
template <class T>
void softmax_grad_row(const T* p, T* g, std::int64_t n, T delta, T factor);

// relu^2's Jacobian on a row: g_j <- factor * relu(x_j) * g_j (factor = 2 c_i scale / n_i).
template <class T>
void relu2_grad_row(const T* x, T* g, std::int64_t n, T factor);

}  // namespace stretch::cpu
