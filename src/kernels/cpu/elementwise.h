// Element-wise kernels of the Llama block: SwiGLU (Shazeer 2020, "GLU Variants Improve
// Transformer") and the embedding lookup. silu(z) = z * sigmoid(z).
#pragma once

#include <cstdint>

namespace stretch::cpu {

// y = silu(a) * b over n elements.
template <class T>
void swiglu_forward(const T* a, const T* b, T* y, std::int64_t n);
// da += dy * b * silu'(a);  db += dy * silu(a).
template <class T>
void swiglu_backward(const T* a, const T* b, const T* dy, T* da, T* db, std::int64_t n);

// y[i, :] = table[tokens[i], :] for i < n; table is [V, C]. Token ids are checked by the caller.
template <class T>
void embedding_forward(const T* table, const std::int32_t* tokens, T* y, std::int64_t n, std::int64_t c);
// dtable[tokens[i], :] += dy[i, :]; channels are split over threads so each row sums in order.
template <class T>
void embedding_backward(const std::int32_t* tokens, const T* dy, T* dtable, std::int64_t n, std::int64_t c);

}  // namespace stretch::cpu
