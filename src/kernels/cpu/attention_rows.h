// The per-row passes of the fused attention (attention.cpp, attention_backward.cpp) over one tile
// row of n logits: the online softmax's maximum and exponentials, the relu^2 normaliser (methods.md
// D5) and the two Jacobians of the backward; and the two products of a tile with only a few query
// rows (decode: one position's GQA group). Vectorised with Google Highway and dispatched at run
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

// A tile with at most this many query rows (decode: the query heads of one K/V head at one position)
// takes the two products below instead of the f32 GEMM library: there the library's cost per call
// exceeded the work (oneDNN's sgemm was 70 % of decode time after 8192 cached tokens, on tiles of
// 3 x 256 x 64), and one pass over each key and value row is what bounds the work.
constexpr std::int64_t few_query_rows = 8;

// out[r * out_stride + j] = a_r . b_j for r < rows, j < cols: a is [rows, dim] contiguous, b's rows
// are b_stride apart (the logits of a tile).
template <class T>
void few_rows_dot(const T* a, std::int64_t rows, const T* b, std::int64_t b_stride, std::int64_t cols,
                  std::int64_t dim, T* out, std::int64_t out_stride);

// acc[r * dim + e] += sum_j p[r * p_stride + j] v[j * v_stride + e] for r < rows, j < cols, e < dim
// (a tile's probabilities times its values).
template <class T>
void few_rows_accumulate(const T* p, std::int64_t p_stride, std::int64_t rows, const T* v, std::int64_t v_stride,
                         std::int64_t cols, std::int64_t dim, T* acc);

}  // namespace stretch::cpu
