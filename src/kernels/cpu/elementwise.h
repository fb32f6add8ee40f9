// Element-wise kernels of the Llama block: SwiGLU (Shazeer 2020, "GLU Variants Improve
// Transformer") and the embedding lookup; and of the GAU block (methods.md D4): phi = silu, the
// per-dimension scale and offset that make Q and K from the shared Z, and the gate U ⊙ (A V).
// silu(z) = z * sigmoid(z). Every kernel splits its work over the thread pool.
#pragma once

#include <cstdint>

namespace stretch::cpu {

// y = silu(a) * b over n elements.
template <class T>
void swiglu_forward(const T* a, const T* b, T* y, std::int64_t n);
// da += dy * b * silu'(a);  db += dy * silu(a).
template <class T>
void swiglu_backward(const T* a, const T* b, const T* dy, T* da, T* db, std::int64_t n);

// y = gelu_tanh(a) * b over n elements (GeGLU, Shazeer 2020; Gemma), with GELU's tanh form
// 0.5 a (1 + tanh(sqrt(2/pi) (a + 0.044715 a^3))) = a sigmoid(2u), u = sqrt(2/pi) (a + 0.044715 a^3)
// (Hendrycks & Gimpel 2016), the form Gemma was trained with (gelu_pytorch_tanh).
template <class T>
void geglu_forward(const T* a, const T* b, T* y, std::int64_t n);
// da += dy * b * gelu_tanh'(a);  db += dy * gelu_tanh(a).
template <class T>
void geglu_backward(const T* a, const T* b, const T* dy, T* da, T* db, std::int64_t n);

// y = silu(x) over n elements.
template <class T>
void silu_forward(const T* x, T* y, std::int64_t n);
// dx += dy * silu'(x).
template <class T>
void silu_backward(const T* x, const T* dy, T* dx, std::int64_t n);

// y[r, j] = gamma[j] x[r, j] + beta[j] for r < rows, j < c.
template <class T>
void scale_offset_forward(const T* x, const T* gamma, const T* beta, T* y, std::int64_t rows, std::int64_t c);
// dx += gamma ⊙ dy, dgamma[j] += sum_r x[r, j] dy[r, j], dbeta[j] += sum_r dy[r, j]; a null output is
// skipped. Channels are split over threads so that each sum runs over the rows in order.
template <class T>
void scale_offset_backward(const T* x, const T* gamma, const T* dy, T* dx, T* dgamma, T* dbeta, std::int64_t rows,
                           std::int64_t c);

// y = a ⊙ b over n elements; da += dy ⊙ b, db += dy ⊙ a (a null output is skipped).
template <class T>
void multiply_forward(const T* a, const T* b, T* y, std::int64_t n);
template <class T>
void multiply_backward(const T* a, const T* b, const T* dy, T* da, T* db, std::int64_t n);

// y[i, :] = table[tokens[i], :] for i < n; table is [V, C]. Token ids are checked by the caller.
template <class T>
void embedding_forward(const T* table, const std::int32_t* tokens, T* y, std::int64_t n, std::int64_t c);
// dtable[tokens[i], :] += dy[i, :]; channels are split over threads so each row sums in order.
template <class T>
void embedding_backward(const std::int32_t* tokens, const T* dy, T* dtable, std::int64_t n, std::int64_t c);

}  // namespace stretch::cpu
