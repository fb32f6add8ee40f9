// RMSNorm over the last dimension (Zhang & Sennrich 2019; the llama2.c / Llama layout):
//   y = g * x / sqrt(mean(x^2) + eps)
// Rows are split over the thread pool; the gain gradient is reduced per thread and then summed in
// thread order, so it is deterministic for a fixed thread count. Not LayerNorm (no mean, no bias).
#pragma once

#include <cstdint>

namespace stretch::cpu {

// x, y: [rows, C]; g: [C] or null (no gain); rstd: [rows] saved for the backward (may be null).
template <class T>
void rmsnorm_forward(const T* x, const T* g, T* y, T* rstd, std::int64_t rows, std::int64_t c, double eps);

// dx[rows, C] += ...; dg[C] += ... (dg may be null).
template <class T>
void rmsnorm_backward(const T* x, const T* g, const T* rstd, const T* dy, T* dx, T* dg, std::int64_t rows,
                      std::int64_t c);

}  // namespace stretch::cpu
